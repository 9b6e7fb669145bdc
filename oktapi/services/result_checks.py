"""Checks of reported results before they are recorded: campaigns in the plan and open, spend
not far above the budget, and the figures as the engine takes them."""

from typing import Any

import numpy as np

from oktapi.engine import Results
from oktapi.errors import InvalidMany
from oktapi.models.plans import CampaignResult
from oktapi.services.figures import result_document
from oktapi.services.plan_answers import expected_campaigns

# Platforms overdeliver a little: more than twice the budget (or a cent over a zero budget) is
# a typo or a wrong campaign, and learning from it would mislead the policy.
OVERSPEND_FACTOR = 2.0
OVERSPEND_SLACK = 0.01


def normalise_results(plan: dict[str, Any], results: list[CampaignResult]) -> list[dict[str, Any]]:
    """The entries as stored, in the order sent; 422 naming campaigns not in the plan or repeated."""
    known = set(plan["campaign_ids"])
    seen: set[str] = set()
    problems: list[tuple[str, tuple[str | int, ...]]] = []
    documents = []
    for index, entry in enumerate(results):
        loc = ("body", "results", index, "campaign_id")
        if entry.campaign_id not in known:
            problems.append((f"campaign {entry.campaign_id!r} is not in this plan", loc))
        elif entry.campaign_id in seen:
            problems.append(
                (f"campaign {entry.campaign_id!r} appears more than once; report it once", loc)
            )
        else:
            seen.add(entry.campaign_id)
            documents.append(result_document(entry))
    if problems:
        raise InvalidMany(problems)
    return documents


def overspend_problems(
    budgets: dict[str, float], results: list[dict[str, Any]], timestep: int
) -> list[tuple[int, str]]:
    """(entry index, message) for each campaign that spent far more than it was given."""
    problems = []
    for index, result in enumerate(results):
        budget = budgets[result["campaign_id"]]
        limit = max(OVERSPEND_FACTOR * budget, budget + OVERSPEND_SLACK)
        if result["spend"] > limit:
            problems.append(
                (
                    index,
                    f"campaign {result['campaign_id']!r} spent {result['spend']:g}, more than "
                    f"twice its budget of {budget:g} for timestep {timestep}; check the numbers "
                    "(platforms overdeliver a little, not that much)",
                )
            )
    return problems


def budgets_of(allocation: dict[str, Any]) -> dict[str, float]:
    return {item["campaign_id"]: item["budget"] for item in allocation["allocations"]}


def missing_campaigns(plan: dict[str, Any], parts: dict[str, Any] | None = None) -> list[str]:
    """Campaigns of the open timestep whose results have not arrived (empty once finished)."""
    if plan["version"] >= plan["timesteps"] or plan["status"] != "active":
        return []
    received = (plan.get("parts") or {}) if parts is None else parts
    return [cid for cid in expected_campaigns(plan["allocation"]) if cid not in received]


def engine_results(campaign_ids: list[str], rows: list[dict[str, Any]]) -> Results:
    """Figures by campaign as the engine takes them: one column per campaign of the state, zeros
    for a campaign that reported nothing (paused, removed or added after the timestep)."""
    position = {campaign_id: index for index, campaign_id in enumerate(campaign_ids)}
    figures = np.zeros((3, len(campaign_ids)), dtype=np.float64)
    for row in rows:
        index = position[row["campaign_id"]]
        figures[:, index] = (row["spend"], row["conversions"], row["revenue"] or 0.0)
    return Results(spend=figures[0], conversions=figures[1], revenue=figures[2])


def not_open_problems(plan: dict[str, Any], part: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    """Campaigns of ``part`` that have no budget in the open timestep (removed or not yet added)."""
    given = set(budgets_of(plan["allocation"]))
    return [
        (
            f"campaign {row['campaign_id']!r} has no budget in timestep {plan['version']} (removed "
            "from the plan, or added after it opened): leave it out",
            ("body", "results", index, "campaign_id"),
        )
        for index, row in enumerate(part)
        if row["campaign_id"] not in given
    ]
