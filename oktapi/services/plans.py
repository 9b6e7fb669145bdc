"""Plans: create, read and list. The timestep loop lives in ``timesteps``, answers in ``plan_answers``."""

import secrets
from typing import Any

from pymongo.database import Database

from oktapi.currency import minor_unit_decimals
from oktapi.engine import AI, DEFAULT_POLICY, Campaign, State, get_policy
from oktapi.engine.state import min_budget_excess
from oktapi.engine.warm_start import warm_start
from oktapi.errors import Conflict, Invalid, must_exist
from oktapi.models.plans import PlanCreate, PlanHistory
from oktapi.repositories.audit import AuditRepository
from oktapi.repositories.base import new_id, utc_now
from oktapi.repositories.campaigns import CampaignRepository
from oktapi.repositories.clients import ClientRepository
from oktapi.repositories.plans import PlanRepository
from oktapi.repositories.results import ResultRepository
from oktapi.scope import Page, Principal
from oktapi.services.plan_answers import (
    allocation_document,
    closed_entry,
    open_allocation,
    open_entry,
)
from oktapi.services.plan_audit import audit_allocation
from oktapi.services.prior_days import prior_days
from oktapi.services.state_codec import stored_state
from oktapi.services.timesteps import catch_up, load_plan

# The engine history (4 numbers per campaign and timestep, packed as base64 float64) lives in the
# plan document, which MongoDB caps at 16 MB; this bound keeps it under 9 MB.
MAX_HISTORY_CELLS = 200_000
# Seeds drawn for the caller stay below 2**53 so JavaScript dashboards can echo them exactly.
GENERATED_SEED_LIMIT = 2**53


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
    client = must_exist(ClientRepository(db).get(principal, client_id), "Client")
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
                Campaign(
                    c["_id"],
                    float(c.get("min_budget") or 0.0),
                    c.get("max_budget"),
                    platform=c.get("platform") or None,
                )
                for c in campaigns
            ],
            body.total_budget,
            body.timesteps,
            objective=body.objective,
            policy=policy_name,
            policy_params=policy_params,
            step=body.step,
            seed=seed,
            decimals=minor_unit_decimals(client.get("currency") or "USD"),
        )
    except ValueError as error:
        raise Invalid(str(error)) from None
    now = utc_now()
    learned = prior_days(
        db=db,
        principal=principal,
        client_id=client["_id"],
        campaign_ids=[c["_id"] for c in campaigns],
        start=body.start or now.date(),
        timestep_days=body.timestep_days,
    )
    prior_timesteps = warm_start(state, learned.prior, body.timestep_days)
    plan: dict[str, Any] = {
        "_id": plan_id or new_id(),
        "client_id": client["_id"],
        "name": body.name or f"Plan of {now.date().isoformat()}",
        "campaign_ids": [c["_id"] for c in campaigns],
        "campaign_names": {c["_id"]: c["name"] for c in campaigns},
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
        # What the first allocation learnt from before the plan (services/prior_days.py).
        "learned_from": {
            "timesteps": prior_timesteps,
            "history_days": learned.history_days,
            "history_campaign_ids": learned.history_campaign_ids,
            "plan_days": learned.plan_days,
            "plan_ids": learned.plan_ids,
        },
    }
    allocation = AI(state).allocate()
    plan["allocation"] = allocation_document(plan, state, allocation)
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
            for key in (
                "name",
                "campaign_ids",
                "total_budget",
                "timesteps",
                "policy",
                "seed",
                "learned_from",
            )
        },
    )
    audit_allocation(audit, principal, plan, plan["allocation"])
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
    """The plan (caught up with its records, without its engine state), or NotFound."""
    return load_plan(db, principal, plan_id, with_state=False)


def get_allocation(*, db: Database, principal: Principal, plan_id: str) -> dict[str, Any]:
    plan = get_plan(db=db, principal=principal, plan_id=plan_id)
    if plan["status"] == "stopped":
        raise Conflict(f"the plan was stopped at timestep {plan['version']}: no more allocations")
    allocation = open_allocation(plan)
    if allocation is None:
        raise Conflict(
            f"the plan is finished: all {plan['timesteps']} timesteps have been reported"
        )
    return allocation


def delete_plan(*, db: Database, principal: Principal, plan_id: str) -> None:
    """The plan and its records go (close records, figure sets, restatements, idempotency
    keys); the audit trail keeps what happened."""
    plan = must_exist(PlanRepository(db).delete(principal, plan_id), "Plan")
    AuditRepository(db).append(
        actor=principal,
        action="plan.deleted",
        client_id=plan["client_id"],
        plan_id=plan_id,
        target_id=plan_id,
        changes={
            key: plan.get(key)
            for key in ("name", "status", "total_budget", "timesteps", "budget_spent", "version")
        },
    )


def list_plans(
    *, db: Database, principal: Principal, client_id: str, page: Page
) -> list[dict[str, Any]]:
    must_exist(ClientRepository(db).get(principal, client_id), "Client")
    repo = PlanRepository(db)
    plans = repo.list_for_client(principal, client_id, page)
    lagging = set(repo.pending_timesteps([p for p in plans if p["version"] < p["timesteps"]]))
    lagging |= set(ResultRepository(db).pending_restatements(plans))
    lagging |= {p["_id"] for p in plans if p.get("pending_import") or p.get("bounds_pending")}
    if not lagging:
        return plans
    return [catch_up(db, p) if p["_id"] in lagging else p for p in plans]


def get_history(
    *, db: Database, principal: Principal, plan_id: str, offset: int, limit: int
) -> PlanHistory:
    """One page of timesteps: closed ones with their latest figures, then the open one if any.

    Reads only the page: its close records (which carry the latest figures), by id, never the
    engine state.
    """
    plan = get_plan(db=db, principal=principal, plan_id=plan_id)
    closed = list(range(offset, min(offset + limit, plan["version"])))
    records = PlanRepository(db).get_timesteps(plan_id, closed)
    entries = [closed_entry(records[t]) for t in closed if t in records]
    open_index = plan["version"] - offset
    if plan["allocation"] is not None and open_index >= 0 and len(entries) < limit:
        entries.append(open_entry(plan))
    return PlanHistory(
        plan_id=plan["_id"], status=plan["status"], timestep=plan["version"], entries=entries
    )
