"""Plans: the optimisation loop (allocate, report, learn) persisted so that each timestep counts once.

How a timestep is closed (the database decides who wins, not a Python check):
1. The plan document holds the engine state after allocating timestep k, with ``version = k``.
2. A report for k computes the next state, then inserts the ``plan_timesteps`` record
   ``<plan_id>:k`` (results, the allocation given, the answer). Only one insert can succeed;
   a loser compares its numbers with the stored ones: same → same answer, different → 409.
3. The winner advances the plan with a conditional update on ``version = k``.

If the process dies between 2 and 3, the record exists but the plan still says k. Every read goes
through ``_catch_up``, which recomputes k+1 from the stored state and the recorded results (the
engine is deterministic: all draws come from the state's own generator) and applies the same
conditional update. So a plan and its records always agree once read.
"""

import base64
import logging
import math
import secrets
from datetime import date, timedelta
from typing import Any

import numpy as np
from pymongo.database import Database

from oktapi.deps import Page, Principal
from oktapi.engine import AI, DEFAULT_POLICY, Allocation, Campaign, Results, State, get_policy
from oktapi.engine.state import HISTORY_COLUMNS, min_budget_excess
from oktapi.errors import Conflict, Invalid, NotFound
from oktapi.models.plans import (
    AllocationPublic,
    CampaignResult,
    HistoryEntry,
    PlanCreate,
    PlanHistory,
    PlanPublic,
)
from oktapi.repositories.audit import AuditRepository
from oktapi.repositories.base import new_id, utc_now
from oktapi.repositories.campaigns import CampaignRepository
from oktapi.repositories.clients import ClientRepository
from oktapi.repositories.plans import PlanRepository, TimestepAlreadyRecorded

logger = logging.getLogger(__name__)

# The engine history (4 numbers per campaign and timestep, packed as base64 float64) lives in the
# plan document, which MongoDB caps at 16 MB; this bound keeps it under 9 MB.
MAX_HISTORY_CELLS = 200_000
# Seeds drawn for the caller stay below 2**53 so JavaScript dashboards can echo them exactly.
GENERATED_SEED_LIMIT = 2**53
# Platforms overdeliver a little: more than twice the budget (or a cent over a zero budget) is
# a typo or a wrong campaign, and learning from it would mislead the policy.
OVERSPEND_FACTOR = 2.0
OVERSPEND_SLACK = 0.01
# A plan lags its records by one timestep at most; the bound only guards against a loop.
MAX_CATCH_UP = 3
EXPLANATION_FIELDS = ("expected", "lower", "upper", "marginal_return")
HISTORY_ENCODING = "float64-base64"


class InvalidMany(Invalid):
    """Several problems answered at once, in FastAPI's validation shape."""

    def __init__(self, problems: list[tuple[str, tuple[str | int, ...]]]) -> None:
        super().__init__(problems[0][0], problems[0][1])
        self.detail = [
            {"type": "value_error", "loc": list(loc), "msg": message} for message, loc in problems
        ]


# --- create -----------------------------------------------------------------------------------


def create_plan(
    *,
    db: Database,
    principal: Principal,
    client_id: str,
    body: PlanCreate,
    plan_id: str | None = None,
) -> dict[str, Any]:
    """Validate everything a plan depends on, then store it with the allocation for timestep 0.

    ``plan_id`` is the id an idempotency claim reserved (services/idempotency.py).
    """
    client = ClientRepository(db).get(principal, client_id)
    campaigns = CampaignRepository(db).list_by_ids(principal, client_id, body.campaign_ids)
    found = {campaign["_id"] for campaign in campaigns}
    unknown = [cid for cid in body.campaign_ids if cid not in found]
    if unknown:
        raise Invalid(
            f"these campaign ids are not campaigns of this client: {', '.join(unknown)}",
            loc=("body", "campaign_ids"),
        )
    policy_name = body.policy or DEFAULT_POLICY
    try:
        policy = get_policy(policy_name)
    except ValueError as error:
        raise Invalid(str(error), loc=("body", "policy")) from None
    try:
        policy_params = policy.validate_params(body.policy_params)
    except ValueError as error:
        raise Invalid(str(error), loc=("body", "policy_params")) from None
    _check_min_budgets_fit(campaigns, body.total_budget, body.timesteps)
    cells = body.timesteps * len(campaigns)
    if cells > MAX_HISTORY_CELLS:
        raise Invalid(
            f"timesteps x campaigns is {body.timesteps} x {len(campaigns)} = {cells}; a plan may "
            f"have at most {MAX_HISTORY_CELLS} (its history is kept in one document): use fewer "
            "timesteps or split the campaigns over several plans",
            loc=("body", "timesteps"),
        )
    seed = body.seed if body.seed is not None else secrets.randbelow(GENERATED_SEED_LIMIT)
    try:
        state = State.create(
            [
                Campaign(c["_id"], float(c.get("min_budget") or 0.0), c.get("max_budget"))
                for c in campaigns
            ],
            body.total_budget,
            body.timesteps,
            objective=body.objective,
            policy=policy_name,
            policy_params=policy_params,
            step=body.step,
            seed=seed,
        )
    except ValueError as error:
        raise Invalid(str(error)) from None
    now = utc_now()
    plan: dict[str, Any] = {
        "_id": plan_id or new_id(),
        "client_id": client["_id"],
        "name": body.name or f"Plan of {now.date().isoformat()}",
        "campaign_ids": [c["_id"] for c in campaigns],
        "total_budget": body.total_budget,
        "timesteps": body.timesteps,
        "start": body.start.isoformat() if body.start else None,
        "timestep_days": body.timestep_days,
        "objective": body.objective,
        "policy": policy_name,
        "policy_params": policy_params,
        "step": body.step,
        "seed": seed,
        "status": "active",
        "version": 0,
        "budget_spent": 0.0,
        "created_at": now,
        "updated_at": now,
        "created_by": principal.user_id,
    }
    allocation = AI(state).allocate()
    plan["allocation"] = _allocation_document(plan, state, allocation)
    plan["state"] = stored_state(state)
    repo = PlanRepository(db)
    repo.insert(plan)
    audit = AuditRepository(db)
    audit.append(
        actor=principal,
        action="plan.created",
        client_id=plan["client_id"],
        plan_id=plan["_id"],
        target_id=plan["_id"],
        changes={
            key: plan[key]
            for key in ("name", "campaign_ids", "total_budget", "timesteps", "policy", "seed")
        },
    )
    _audit_allocation(audit, principal, plan, plan["allocation"])
    return plan


def _check_min_budgets_fit(campaigns: list[dict], total_budget: float, timesteps: int) -> None:
    min_budgets = [float(c.get("min_budget") or 0.0) for c in campaigns]
    excess = min_budget_excess(min_budgets, total_budget, timesteps)
    if excess > 0:
        timestep_budget = total_budget / timesteps
        raise Invalid(
            f"the campaigns' min_budget sum to {sum(min_budgets):g} per timestep, {excess:g} "
            f"more than a timestep's budget of {timestep_budget:g} (total_budget / timesteps): "
            "raise total_budget, use fewer timesteps or lower the campaigns' min_budget",
            loc=("body", "total_budget"),
        )


# --- read -------------------------------------------------------------------------------------


def get_plan(*, db: Database, principal: Principal, plan_id: str) -> dict[str, Any]:
    """The plan (caught up with its records), or NotFound for unknown and foreign ids alike."""
    plan = PlanRepository(db).get(principal, plan_id)
    if plan is None:
        raise NotFound("Plan")
    return _catch_up(db, plan)


def get_allocation(*, db: Database, principal: Principal, plan_id: str) -> dict[str, Any]:
    plan = get_plan(db=db, principal=principal, plan_id=plan_id)
    if plan["allocation"] is None:
        raise Conflict(
            f"the plan is finished: all {plan['timesteps']} timesteps have been reported"
        )
    return plan["allocation"]


def list_plans(
    *, db: Database, principal: Principal, client_id: str, page: Page
) -> list[dict[str, Any]]:
    ClientRepository(db).get(principal, client_id)
    repo = PlanRepository(db)
    plans = repo.list_for_client(principal, client_id, page)
    lagging = repo.pending_timesteps([p for p in plans if p["version"] < p["timesteps"]])
    if not lagging:
        return plans
    return [
        _catch_up(db, repo.get_unscoped(p["_id"]) or p) if p["_id"] in lagging else p for p in plans
    ]


def get_history(
    *, db: Database, principal: Principal, plan_id: str, offset: int, limit: int
) -> PlanHistory:
    """Closed timesteps with their results, then the open one (results null) if any."""
    plan = get_plan(db=db, principal=principal, plan_id=plan_id)
    records = PlanRepository(db).list_timesteps(plan_id, skip=offset, limit=limit)
    entries = [
        HistoryEntry(
            timestep=record["timestep"],
            allocation=AllocationPublic.model_validate(record["allocation"]),
            results=record["results"],
            reported_at=record["reported_at"],
        )
        for record in records
        if record["timestep"] < plan["version"]
    ]
    open_index = plan["version"] - offset
    if plan["allocation"] is not None and open_index >= 0 and len(entries) < limit:
        entries.append(
            HistoryEntry(
                timestep=plan["version"],
                allocation=AllocationPublic.model_validate(plan["allocation"]),
                results=None,
                reported_at=None,
            )
        )
    return PlanHistory(
        plan_id=plan["_id"], status=plan["status"], timestep=plan["version"], entries=entries
    )


def plan_public(plan: dict[str, Any]) -> PlanPublic:
    allocation = plan.get("allocation")
    return PlanPublic(
        id=plan["_id"],
        client_id=plan["client_id"],
        name=plan["name"],
        campaign_ids=plan["campaign_ids"],
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
        created_at=plan["created_at"],
        updated_at=plan["updated_at"],
    )


# --- report results ---------------------------------------------------------------------------


def post_results(
    *,
    db: Database,
    principal: Principal,
    plan_id: str,
    timestep: int,
    results: list[CampaignResult],
) -> AllocationPublic | PlanPublic:
    """Learn from timestep k once; answer the allocation for k+1 (or the finished plan)."""
    plan = get_plan(db=db, principal=principal, plan_id=plan_id)
    normalised = normalise_results(plan, results)
    return report_timestep(
        db=db, principal=principal, plan=plan, timestep=timestep, results=normalised
    )


def normalise_results(plan: dict[str, Any], results: list[CampaignResult]) -> list[dict[str, Any]]:
    """One entry per campaign of the plan, in the plan's order; 422 naming what is wrong."""
    position = {cid: index for index, cid in enumerate(plan["campaign_ids"])}
    by_campaign: dict[str, dict[str, Any]] = {}
    problems: list[tuple[str, tuple[str | int, ...]]] = []
    for index, entry in enumerate(results):
        if entry.campaign_id not in position:
            problems.append(
                (
                    f"campaign {entry.campaign_id!r} is not in this plan",
                    ("body", "results", index, "campaign_id"),
                )
            )
        elif entry.campaign_id in by_campaign:
            problems.append(
                (
                    f"campaign {entry.campaign_id!r} appears more than once; report it once",
                    ("body", "results", index, "campaign_id"),
                )
            )
        else:
            by_campaign[entry.campaign_id] = _result_document(entry)
    missing = [cid for cid in plan["campaign_ids"] if cid not in by_campaign]
    if missing:
        problems.append(
            (
                f"results are missing for campaign(s) {', '.join(missing)}; report every campaign "
                "of the plan (spend 0 and conversions 0 if it did not run)",
                ("body", "results"),
            )
        )
    if problems:
        raise InvalidMany(problems)
    return [by_campaign[cid] for cid in plan["campaign_ids"]]


def _result_document(entry: CampaignResult) -> dict[str, Any]:
    return {
        "campaign_id": entry.campaign_id,
        "spend": float(entry.spend),
        "conversions": int(entry.conversions),
        "revenue": float(entry.revenue),
        "clicks": entry.clicks,
        "impressions": entry.impressions,
    }


def overspend_problems(
    budgets: list[float], results: list[dict[str, Any]], timestep: int
) -> list[tuple[int, str]]:
    """(campaign index, message) for each campaign that spent far more than it was given."""
    problems = []
    for index, (budget, result) in enumerate(zip(budgets, results, strict=True)):
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


def report_timestep(
    *,
    db: Database,
    principal: Principal,
    plan: dict[str, Any],
    timestep: int,
    results: list[dict[str, Any]],
) -> AllocationPublic | PlanPublic:
    """Close ``timestep`` with ``results`` exactly once (see the module docstring)."""
    version, timesteps = plan["version"], plan["timesteps"]
    if timestep < version:
        return _replay(db, principal, plan, timestep, results)
    if timestep >= timesteps:
        raise Conflict(
            f"timestep {timestep} is past the plan's last timestep ({timesteps - 1})"
            + ("; the plan is finished" if version >= timesteps else "")
        )
    if timestep > version:
        raise Conflict(f"timestep {timestep} is not open yet: report timestep {version} first")
    budgets = [entry["budget"] for entry in plan["allocation"]["allocations"]]
    overspent = overspend_problems(budgets, results, timestep)
    if overspent:
        raise InvalidMany([(msg, ("body", "results", index, "spend")) for index, msg in overspent])
    changes = _advance_changes(plan, results)
    record = {
        "plan_id": plan["_id"],
        "client_id": plan["client_id"],
        "timestep": timestep,
        "allocation": plan["allocation"],
        "results": results,
        "next_allocation": changes["allocation"],
        "budget_spent": changes["budget_spent"],
        "reported_at": changes["updated_at"],
        "reported_by": principal.user_id,
        "reported_by_username": principal.username,
    }
    repo = PlanRepository(db)
    try:
        repo.insert_timestep(record)
    except TimestepAlreadyRecorded:
        return _replay(db, principal, plan, timestep, results)
    repo.advance(plan["_id"], timestep, changes)
    _audit_closed_timestep(db, plan, record)
    return _answer(db, principal, plan["_id"], record)


def _replay(
    db: Database,
    principal: Principal,
    plan: dict[str, Any],
    timestep: int,
    results: list[dict[str, Any]],
) -> AllocationPublic | PlanPublic:
    """A closed timestep reported again: the same answer for the same numbers, 409 otherwise."""
    record = PlanRepository(db).get_timestep(plan["_id"], timestep)
    if record is None:  # cannot happen while records are only ever inserted
        raise Conflict(f"timestep {timestep} is closed")
    difference = results_difference(record["results"], results)
    if difference:
        raise Conflict(
            f"timestep {timestep} was already reported with different numbers ({difference}); "
            "a closed timestep cannot change"
        )
    _audit_closed_timestep(db, plan, record)
    return _answer(db, principal, plan["_id"], record)


def _answer(
    db: Database, principal: Principal, plan_id: str, record: dict[str, Any]
) -> AllocationPublic | PlanPublic:
    if record["next_allocation"] is not None:
        return AllocationPublic.model_validate(record["next_allocation"])
    return plan_public(get_plan(db=db, principal=principal, plan_id=plan_id))


def results_difference(stored: list[dict[str, Any]], posted: list[dict[str, Any]]) -> str | None:
    """The first number that differs between two normalised reports, or None if they agree."""
    for old, new in zip(stored, posted, strict=True):
        for field in ("spend", "conversions", "revenue", "clicks", "impressions"):
            before, after = old.get(field), new.get(field)
            if before is None or after is None:
                same = before is None and after is None
            else:
                same = math.isclose(before, after, rel_tol=1e-9, abs_tol=1e-9)
            if not same:
                return f"campaign {old['campaign_id']!r}: {field} {before} recorded, {after} posted"
    return None


# --- moving a plan forward --------------------------------------------------------------------


def _advance_changes(plan: dict[str, Any], results: list[dict[str, Any]]) -> dict[str, Any]:
    """The plan fields after learning from ``results``: a pure function of the stored state."""
    state = load_state(plan["state"])
    ai = AI(state)
    ai.update(
        Results(
            spend=np.array([r["spend"] for r in results], dtype=np.float64),
            conversions=np.array([r["conversions"] for r in results], dtype=np.float64),
            revenue=np.array([r["revenue"] for r in results], dtype=np.float64),
        )
    )
    allocation = None if state.finished else _allocation_document(plan, state, ai.allocate())
    return {
        "state": stored_state(state),
        "version": state.timestep,
        "budget_spent": state.budget_spent,
        "allocation": allocation,
        "status": "finished" if state.finished else "active",
        "updated_at": utc_now(),
    }


def stored_state(state: State) -> dict[str, Any]:
    """The engine state as stored: its history packed into one string per column.

    Nested lists cost one BSON element per number on every read and write of the plan; packed,
    the history is a few strings whatever its length (exact float64, base64).
    """
    document = state.to_dict()
    document["history"] = {
        "encoding": HISTORY_ENCODING,
        **{
            name: base64.b64encode(
                np.ascontiguousarray(state.history_column(name)).tobytes()
            ).decode("ascii")
            for name in HISTORY_COLUMNS
        },
    }
    return document


def load_state(document: dict[str, Any]) -> State:
    """Inverse of stored_state (plain nested lists are read as well)."""
    history = document["history"]
    if history.get("encoding") == HISTORY_ENCODING:
        rows = int(document["timestep"]) - int(document.get("history_start", 0))
        shape = (rows, len(document["campaigns"]))
        document = {
            **document,
            "history": {
                name: np.frombuffer(base64.b64decode(history[name]), dtype=np.float64).reshape(
                    shape
                )
                for name in HISTORY_COLUMNS
                if name in history
            },
        }
    return State.from_dict(document)


def _catch_up(db: Database, plan: dict[str, Any]) -> dict[str, Any]:
    """Apply a recorded timestep the plan document has not caught up with (crash recovery)."""
    repo = PlanRepository(db)
    for _ in range(MAX_CATCH_UP):
        version = plan["version"]
        if version >= plan["timesteps"]:
            return plan
        record = repo.get_timestep(plan["_id"], version)
        if record is None:
            return plan
        changes = _advance_changes(plan, record["results"])
        if changes["allocation"] != record["next_allocation"]:
            # Only possible if the engine changed between the crash and now; the recorded answer
            # was what the client saw, the recomputed one is what the state now holds.
            logger.error(
                "plan %s timestep %s: replayed allocation differs from the recorded answer",
                plan["_id"],
                version,
            )
        if repo.advance(plan["_id"], version, changes):
            _audit_closed_timestep(db, plan, record)
            plan = {**plan, **changes}
        else:
            reloaded = repo.get_unscoped(plan["_id"])
            if reloaded is None:
                raise NotFound("Plan")
            plan = reloaded
    return plan


def _allocation_document(
    plan: dict[str, Any], state: State, allocation: Allocation
) -> dict[str, Any]:
    """The allocation as stored and answered: plain floats, explanations only when given."""
    explanations = allocation.explanations or [None] * len(state.campaigns)
    items = []
    for campaign, budget, explanation in zip(
        state.campaigns, allocation.budgets.tolist(), explanations, strict=True
    ):
        item: dict[str, Any] = {"campaign_id": campaign.id, "budget": budget}
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


def _audit_allocation(
    audit: AuditRepository,
    actor: Principal | None,
    plan: dict[str, Any],
    allocation: dict[str, Any] | None,
) -> None:
    if allocation is None:
        return
    audit.append(
        actor=actor,
        action="plan.allocation_issued",
        client_id=plan["client_id"],
        plan_id=plan["_id"],
        changes={
            "timestep": allocation["timestep"],
            "budgets": {item["campaign_id"]: item["budget"] for item in allocation["allocations"]},
        },
        event_id=f"{plan['_id']}:{allocation['timestep']}:allocation_issued",
    )


def _audit_closed_timestep(db: Database, plan: dict[str, Any], record: dict[str, Any]) -> None:
    """Audit a closed timestep from its record, once: the post, a retry or a crash repair may call it."""
    reporter = Principal(
        user_id=record["reported_by"],
        username=record.get("reported_by_username") or record["reported_by"],
        role="",
        client_ids=frozenset(),
    )
    results = record["results"]
    audit = AuditRepository(db)
    audit.append(
        actor=reporter,
        action="plan.results_accepted",
        client_id=plan["client_id"],
        plan_id=plan["_id"],
        changes={
            "timestep": record["timestep"],
            "spend": sum(r["spend"] for r in results),
            "conversions": sum(r["conversions"] for r in results),
            "revenue": sum(r["revenue"] for r in results),
        },
        event_id=f"{plan['_id']}:{record['timestep']}:results_accepted",
    )
    _audit_allocation(audit, reporter, plan, record["next_allocation"])
