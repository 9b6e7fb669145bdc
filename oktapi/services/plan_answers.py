"""The shapes a plan is answered in: the public plan, allocation documents, history entries."""

import math
from datetime import date, timedelta
from typing import Any

from oktapi.engine import Allocation, State
from oktapi.models.plans import AllocationPublic, HistoryEntry, PlanCampaignPublic, PlanPublic

EXPLANATION_FIELDS = ("expected", "lower", "upper", "marginal_return", "maturity")
RULE_FIELDS = ("paused", "removed", "locked_budget", "min_budget", "max_budget")


def expected_campaigns(allocation: dict[str, Any] | None) -> list[str]:
    """Campaigns whose results close a timestep: those of its allocation, paused ones excepted."""
    if allocation is None:
        return []
    return [item["campaign_id"] for item in allocation["allocations"] if not item.get("paused")]


def rules_of(plan: dict[str, Any], campaign_id: str) -> dict[str, Any]:
    """The plan's own rules for one campaign (services/plan_changes.py writes them)."""
    return (plan.get("campaign_rules") or {}).get(campaign_id) or {}


def current_campaign_ids(plan: dict[str, Any]) -> list[str]:
    """The plan's campaigns, those removed from it left out."""
    return [cid for cid in plan["campaign_ids"] if not rules_of(plan, cid).get("removed")]


def open_allocation(plan: dict[str, Any]) -> dict[str, Any] | None:
    """The open timestep's allocation as stored, with each campaign's name as it is now (a
    campaign renamed after the allocation was computed shows its new name)."""
    allocation = plan.get("allocation")
    if allocation is None:
        return None
    names = plan.get("campaign_names") or {}
    items = [
        {**item, "campaign_name": names[item["campaign_id"]]}
        if item["campaign_id"] in names
        else item
        for item in allocation["allocations"]
    ]
    return {**allocation, "allocations": items}


def plan_public(plan: dict[str, Any], note: str | None = None) -> PlanPublic:
    allocation = open_allocation(plan)
    active = plan["version"] < plan["timesteps"] and plan["status"] == "active"
    parts = plan.get("parts") or {}
    names = plan.get("campaign_names") or {}
    return PlanPublic(
        id=plan["_id"],
        client_id=plan["client_id"],
        name=plan["name"],
        campaign_ids=current_campaign_ids(plan),
        total_budget=plan["total_budget"],
        timesteps=plan["timesteps"],
        start=plan.get("start"),
        timestep_days=plan["timestep_days"],
        objective=plan["objective"],
        policy=plan["policy"],
        policy_params=plan["policy_params"],
        step=plan["step"],
        seed=plan["seed"],
        status=plan["status"],
        timestep=plan["version"],
        budget_spent=plan["budget_spent"],
        budget_remaining=max(plan["total_budget"] - plan["budget_spent"], 0.0),
        allocation=AllocationPublic.model_validate(allocation) if allocation else None,
        missing=[c for c in expected_campaigns(allocation) if c not in parts] if active else None,
        campaigns=[
            PlanCampaignPublic(
                campaign_id=cid,
                campaign_name=names.get(cid),
                **{key: value for key, value in rules_of(plan, cid).items() if key in RULE_FIELDS},
            )
            for cid in plan["campaign_ids"]
        ],
        note=note,
        learned_from=plan.get("learned_from"),
        created_at=plan["created_at"],
        updated_at=plan["updated_at"],
    )


def allocation_document(
    plan: dict[str, Any], state: State, allocation: Allocation
) -> dict[str, Any]:
    """The allocation as stored and answered: plain floats, explanations only when given."""
    explanations: list[dict[str, Any] | None] = list(allocation.explanations or [])
    explanations = explanations or [None] * len(state.campaigns)
    names = plan.get("campaign_names") or {}
    items = []
    for campaign, budget, explanation in zip(
        state.campaigns, allocation.budgets.tolist(), explanations, strict=True
    ):
        rules = rules_of(plan, campaign.id)
        if rules.get("removed"):
            continue
        item: dict[str, Any] = {"campaign_id": campaign.id, "budget": budget}
        if campaign.id in names:
            item["campaign_name"] = names[campaign.id]
        if rules.get("paused"):
            item["paused"] = True
        elif rules.get("locked_budget") is not None:
            item["locked"] = True
        if explanation:
            for field in EXPLANATION_FIELDS:
                item[field] = _finite_or_none(explanation.get(field))
        items.append(item)
    document: dict[str, Any] = {
        "timestep": allocation.timestep,
        "allocations": items,
        "timestep_budget": float(allocation.timestep_budget),
        "note": allocation.note,
    }
    if plan.get("start"):
        first = date.fromisoformat(plan["start"]) + timedelta(
            days=allocation.timestep * plan["timestep_days"]
        )
        document["period_start"] = first.isoformat()
        document["period_end"] = (first + timedelta(days=plan["timestep_days"] - 1)).isoformat()
    return document


def _finite_or_none(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def closed_entry(record: dict[str, Any]) -> HistoryEntry:
    """A closed timestep: the allocation given, the latest figures and how often they changed.

    The close record holds the figures as first reported (``results``) and, for the campaigns a
    restatement changed, their latest figures (``latest``, kept with its ``revision``).
    """
    latest = record.get("latest") or {}
    return HistoryEntry(
        timestep=record["timestep"],
        allocation=AllocationPublic.model_validate(record["allocation"]),
        results=[latest.get(row["campaign_id"], row) for row in record["results"]],
        reported_at=record["reported_at"],
        revision=record.get("revision", 0),
        restated_at=record.get("restated_at"),
    )


def open_entry(plan: dict[str, Any]) -> HistoryEntry:
    """The open timestep: its allocation, no results yet."""
    return HistoryEntry(
        timestep=plan["version"],
        allocation=AllocationPublic.model_validate(open_allocation(plan)),
        results=None,
        reported_at=None,
    )
