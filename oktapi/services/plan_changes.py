"""Changes to a running plan: its settings and its campaigns' rules, each one conditional write.

A change reads the plan (caught up with its records), applies itself to the engine state and
writes the new state with ``PlanRepository.apply_change``: conditional on the plan's ``version``
and ``changes`` counter, so it cannot race a close (a close it overtakes is redone, see
services/timesteps.py) or another change; the loser reads again and tries again. When no result
of the open timestep has arrived, its allocation is recomputed (and the write also requires that
no part arrived meanwhile); otherwise that allocation stands as given, the change applies from
the next timestep and the answer says so in ``note``. A refused change writes nothing.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pymongo.database import Database

from oktapi.engine import AI, Campaign, State, get_policy
from oktapi.errors import Conflict, Invalid, NotFound
from oktapi.models.plan_changes import PlanCampaignUpdate, PlanUpdate
from oktapi.models.plans import MAX_PLAN_CAMPAIGNS
from oktapi.repositories.audit import AuditRepository
from oktapi.repositories.base import utc_now
from oktapi.repositories.campaigns import CampaignRepository
from oktapi.repositories.plans import PlanRepository
from oktapi.scope import Principal
from oktapi.services.plan_answers import allocation_document, current_campaign_ids, rules_of
from oktapi.services.plan_audit import audit_allocation
from oktapi.services.plans import MAX_HISTORY_CELLS
from oktapi.services.state_codec import load_state, stored_state
from oktapi.services.timesteps import load_plan

# Changes and closes of one plan take turns; each loss costs a re-read.
MAX_ATTEMPTS = 8
BOUNDS = ("min_budget", "max_budget")


@dataclass
class Edit:
    """What one change does: plan fields, an engine step, and what the audit entry says."""

    action: str
    audit: dict[str, Any]
    fields: dict[str, Any] = field(default_factory=dict)
    engine: Callable[[State], None] | None = None
    loc: tuple[str, ...] = ("body",)
    target_id: str | None = None


def change_plan(
    *, db: Database, principal: Principal, plan_id: str, body: PlanUpdate
) -> tuple[dict[str, Any], str | None]:
    """PATCH /plans/{id}: (the plan after, a note when the open timestep keeps its allocation)."""
    wanted = body.changes()
    return _change(db, principal, plan_id, lambda plan: _plan_edit(plan, wanted))


def add_campaign(
    *, db: Database, principal: Principal, plan_id: str, campaign_id: str
) -> tuple[dict[str, Any], str | None]:
    """POST /plans/{id}/campaigns: a campaign of the plan's client joins from the open timestep."""

    def edit(plan: dict[str, Any]) -> Edit:
        found = CampaignRepository(db).list_by_ids(principal, plan["client_id"], [campaign_id])
        if not found:
            raise Invalid(
                f"campaign {campaign_id!r} is not a campaign of this plan's client",
                loc=("body", "campaign_id"),
            )
        return _add_edit(plan, found[0])

    plan, note = _change(db, principal, plan_id, edit)
    missing, deleting = CampaignRepository(db).unavailable_for_plan(
        plan["client_id"], [campaign_id]
    )
    if missing or deleting:  # deleted while it joined: take it back out (see repositories)
        _change(db, principal, plan_id, lambda p: _remove_edit(p, campaign_id))
        raise Conflict(f"campaign {campaign_id!r} is being deleted; it was not added")
    return plan, note


def update_campaign(
    *,
    db: Database,
    principal: Principal,
    plan_id: str,
    campaign_id: str,
    body: PlanCampaignUpdate,
) -> tuple[dict[str, Any], str | None]:
    """PATCH /plans/{id}/campaigns/{cid}: pause, lock, or plan-level bounds (null: cleared)."""
    wanted = body.changes()

    def edit(plan: dict[str, Any]) -> Edit:
        _must_be_current(plan, campaign_id)
        own = CampaignRepository(db).get(principal, campaign_id) or {}
        return _rules_edit(plan, campaign_id, wanted, own)

    return _change(db, principal, plan_id, edit)


def remove_campaign(
    *, db: Database, principal: Principal, plan_id: str, campaign_id: str
) -> tuple[dict[str, Any], str | None]:
    """DELETE /plans/{id}/campaigns/{cid}: out of future timesteps, its history kept."""

    def edit(plan: dict[str, Any]) -> Edit:
        _must_be_current(plan, campaign_id)
        return _remove_edit(plan, campaign_id)

    return _change(db, principal, plan_id, edit)


def apply_campaign_bounds(
    *, db: Database, principal: Principal, campaign: dict[str, Any], changes: dict[str, Any]
) -> Callable[[], None]:
    """A campaign's own new bounds, checked against each active plan it is in; returns the step
    that applies them from each plan's open timestep (plan-level bounds win). Checking first
    means a bound one plan cannot take refuses the whole edit (422), nothing written."""
    bounds = {key: changes[key] for key in BOUNDS if key in changes}
    plan_ids = [
        plan["_id"]
        for plan in PlanRepository(db).active_with_campaign(campaign["_id"])
        if not rules_of(plan, campaign["_id"]).get("removed")
    ]
    if not bounds or not plan_ids:
        return lambda: None
    own = {**campaign, **bounds}

    def edit(plan: dict[str, Any]) -> Edit | None:
        rules = rules_of(plan, campaign["_id"])
        if all(rules.get(key) is not None for key in bounds):
            return None  # the plan's own bounds win
        return _rules_edit(plan, campaign["_id"], {}, own, action="plan.campaign_bounds_followed")

    for plan_id in plan_ids:
        plan = load_plan(db, principal, plan_id)
        made = edit(plan) if plan["status"] == "active" else None
        if made is not None:
            try:
                _engine_step(plan, made)
            except Invalid as error:
                raise Invalid(
                    f"plan {plan['name']!r} ({plan_id}) cannot take this bound: {error.detail}",
                    loc=("body", next(iter(bounds))),
                ) from None

    def apply() -> None:
        for plan_id in plan_ids:
            _change(db, principal, plan_id, edit, missing_ok=True)

    return apply


# --- the one write path --------------------------------------------------------------------


def _change(
    db: Database,
    principal: Principal,
    plan_id: str,
    make: Callable[[dict[str, Any]], Edit | None],
    *,
    missing_ok: bool = False,
) -> tuple[dict[str, Any], str | None]:
    repo = PlanRepository(db)
    for _ in range(MAX_ATTEMPTS):
        try:
            plan = load_plan(db, principal, plan_id)
        except NotFound:
            if missing_ok:
                return {}, None
            raise
        if missing_ok and plan["status"] != "active":
            return plan, None
        _must_be_running(plan)
        edit = make(plan)
        if edit is None:
            return plan, None
        fields, note, recompute = _engine_step(plan, edit)
        changes = plan.get("changes", 0)
        if repo.apply_change(plan_id, plan["version"], changes, fields, no_parts=recompute):
            after = {**plan, **fields, "changes": changes + 1}
            _audit(db, principal, after, edit, recompute)
            return after, note
    raise Conflict("the plan is being changed or reported by many requests at once; retry")


def _engine_step(plan: dict[str, Any], edit: Edit) -> tuple[dict[str, Any], str | None, bool]:
    """(plan fields to write, note, whether the open allocation was recomputed); 422 if the
    engine refuses the change."""
    fields = {**edit.fields, "updated_at": utc_now()}
    if edit.engine is None:
        return fields, None, False
    timestep = plan["version"]
    arrived = sorted(plan.get("parts") or {})
    state = load_state(plan["state"])
    try:
        edit.engine(state)
        if not arrived:
            allocation = AI(state).reallocate()
    except ValueError as error:
        raise Invalid(str(error), loc=edit.loc) from None
    fields["state"] = stored_state(state)
    if arrived:
        note = (
            f"results of timestep {timestep} have already arrived for {len(arrived)} "
            f"campaign(s), so its allocation stays as given; the change applies from timestep "
            f"{timestep + 1}"
        )
        return fields, note, False
    fields["allocation"] = allocation_document({**plan, **fields}, state, allocation)
    return fields, None, True


def _audit(
    db: Database, principal: Principal, plan: dict[str, Any], edit: Edit, recompute: bool
) -> None:
    audit = AuditRepository(db)
    audit.append(
        actor=principal,
        action=edit.action,
        client_id=plan["client_id"],
        plan_id=plan["_id"],
        target_id=edit.target_id or plan["_id"],
        changes={**edit.audit, "timestep": plan["version"], "recomputed": recompute},
    )
    if recompute:
        audit_allocation(audit, principal, plan, plan["allocation"], change=plan["changes"])


def _must_be_running(plan: dict[str, Any]) -> None:
    if plan["status"] == "stopped":
        raise Conflict("the plan is stopped: it cannot be changed any more (stopping is final)")
    if plan["status"] == "finished" or plan["version"] >= plan["timesteps"]:
        raise Conflict(
            f"the plan is finished: all {plan['timesteps']} timesteps have been reported, there "
            "is nothing left to change"
        )


def _must_be_current(plan: dict[str, Any], campaign_id: str) -> None:
    if campaign_id not in plan["campaign_ids"]:
        raise NotFound("Campaign")
    if rules_of(plan, campaign_id).get("removed"):
        raise Conflict(
            f"campaign {campaign_id!r} was removed from this plan; add it again with POST "
            f"/plans/{plan['_id']}/campaigns"
        )


# --- the edits ----------------------------------------------------------------------------------


def _plan_edit(plan: dict[str, Any], wanted: dict[str, Any]) -> Edit | None:
    """PATCH /plans/{id}: checks every field first (422 naming it), then one edit for all."""
    before = {key: plan.get(key) for key in wanted}
    fields: dict[str, Any] = {}
    engine_steps: list[Callable[[State], None]] = []
    if "status" in wanted:
        fields.update(status="stopped", allocation=None)
    if "name" in wanted:
        fields["name"] = wanted["name"]
    if "total_budget" in wanted or "timesteps" in wanted:
        total_budget = wanted.get("total_budget", plan["total_budget"])
        timesteps = wanted.get("timesteps", plan["timesteps"])
        _check_budget_and_length(plan, total_budget, timesteps, wanted)
        fields.update(total_budget=total_budget, timesteps=timesteps)
        engine_steps.append(
            lambda state: AI(state).change_budget(
                total_budget=float(total_budget), timesteps=int(timesteps)
            )
        )
    if "policy_params" in wanted:
        merged = {**plan["policy_params"], **wanted["policy_params"]}
        merged = {key: value for key, value in merged.items() if value is not None}
        try:
            params = get_policy(plan["policy"]).validate_params(merged)
        except ValueError as error:
            raise Invalid(str(error), loc=("body", "policy_params")) from None
        fields["policy_params"] = params

        def set_params(state: State) -> None:
            state.policy_params = params

        engine_steps.insert(0, set_params)
    if not fields:
        return None
    after = {key: fields.get(key, plan.get(key)) for key in wanted}
    stopping = fields.get("status") == "stopped"

    def engine(state: State) -> None:
        for step in engine_steps:
            step(state)

    return Edit(
        action="plan.stopped" if stopping else "plan.updated",
        audit={"before": before, "after": after},
        fields=fields,
        engine=engine if engine_steps and not stopping else None,
        loc=("body", next(key for key in wanted if key != "name")) if engine_steps else ("body",),
    )


def _check_budget_and_length(
    plan: dict[str, Any], total_budget: float, timesteps: int, wanted: dict[str, Any]
) -> None:
    spent = plan["budget_spent"]
    if "total_budget" in wanted and total_budget < spent:
        raise Invalid(
            f"total_budget {total_budget:g} is below what the plan has already spent "
            f"({spent:g}): ask for at least {spent:g}",
            loc=("body", "total_budget"),
        )
    closed = plan["version"]
    if "timesteps" in wanted and timesteps <= closed:
        raise Invalid(
            f"timesteps {timesteps} is not beyond the {closed} timestep(s) already closed: ask "
            f"for at least {closed + 1}, or stop the plan with status 'stopped'",
            loc=("body", "timesteps"),
        )
    if timesteps * len(plan["campaign_ids"]) > MAX_HISTORY_CELLS:
        raise Invalid(
            f"timesteps x campaigns would be {timesteps} x {len(plan['campaign_ids'])}, more "
            f"than {MAX_HISTORY_CELLS} (its history is kept in one document): use fewer timesteps",
            loc=("body", "timesteps"),
        )
    if plan.get("start"):
        start = date.fromisoformat(plan["start"])
        days = timesteps * plan["timestep_days"]
        if (date.max - start).days < days - 1:
            raise Invalid(
                f"{timesteps} timesteps of {plan['timestep_days']} days from start "
                f"{plan['start']} would end after {date.max.isoformat()}: use fewer timesteps",
                loc=("body", "timesteps"),
            )


def _add_edit(plan: dict[str, Any], campaign: dict[str, Any]) -> Edit:
    campaign_id = campaign["_id"]
    names = {**(plan.get("campaign_names") or {}), campaign_id: campaign["name"]}
    rules = dict(plan.get("campaign_rules") or {})
    if campaign_id in plan["campaign_ids"]:
        if not rules_of(plan, campaign_id).get("removed"):
            raise Conflict(f"campaign {campaign_id!r} is already in this plan")
        rules[campaign_id] = {**rules[campaign_id], "removed": False}
        return Edit(
            action="plan.campaign_added",
            audit={"campaign_id": campaign_id, "returned": True},
            fields={"campaign_names": names, "campaign_rules": rules},
            engine=lambda state: AI(state).set_campaign_constraints(
                plan["campaign_ids"].index(campaign_id), removed=False
            ),
            loc=("body", "campaign_id"),
            target_id=campaign_id,
        )
    count = len(plan["campaign_ids"]) + 1
    if count > MAX_PLAN_CAMPAIGNS or count * plan["timesteps"] > MAX_HISTORY_CELLS:
        raise Invalid(
            f"the plan would have {count} campaigns over {plan['timesteps']} timesteps; at "
            f"most {MAX_PLAN_CAMPAIGNS} campaigns and {MAX_HISTORY_CELLS} timesteps x campaigns",
            loc=("body", "campaign_id"),
        )
    joining = Campaign(
        campaign_id,
        float(campaign.get("min_budget") or 0.0),
        campaign.get("max_budget"),
        platform=campaign.get("platform") or None,
    )
    return Edit(
        action="plan.campaign_added",
        audit={"campaign_id": campaign_id, "name": campaign["name"]},
        fields={"campaign_ids": [*plan["campaign_ids"], campaign_id], "campaign_names": names},
        engine=lambda state: AI(state).add_campaign(joining),
        loc=("body", "campaign_id"),
        target_id=campaign_id,
    )


def _remove_edit(plan: dict[str, Any], campaign_id: str) -> Edit:
    if current_campaign_ids(plan) == [campaign_id]:
        raise Conflict(
            "this is the plan's last campaign: a plan needs one; stop the plan instead "
            f'(PATCH /plans/{plan["_id"]} {{"status": "stopped"}})'
        )
    rules = dict(plan.get("campaign_rules") or {})
    rules[campaign_id] = {**rules.get(campaign_id, {}), "removed": True}
    index = plan["campaign_ids"].index(campaign_id)
    return Edit(
        action="plan.campaign_removed",
        audit={"campaign_id": campaign_id},
        fields={"campaign_rules": rules},
        engine=lambda state: AI(state).remove_campaign(index),
        target_id=campaign_id,
    )


def _rules_edit(
    plan: dict[str, Any],
    campaign_id: str,
    wanted: dict[str, Any],
    own: dict[str, Any],
    *,
    action: str = "plan.campaign_updated",
) -> Edit | None:
    """The plan's rules for one campaign after ``wanted``; the engine gets the bounds that apply
    (the plan's, else the campaign's own ``own``) and the lock. 422 naming the field at fault."""
    before = rules_of(plan, campaign_id)
    rules = {**before, **wanted}
    if not wanted and not any(key in own for key in BOUNDS):
        return None
    min_budget = _bound(rules.get("min_budget"), own.get("min_budget"), 0.0)
    max_budget = _bound(rules.get("max_budget"), own.get("max_budget"), math.inf)
    if min_budget > max_budget:
        field_name = "min_budget" if "min_budget" in wanted else "max_budget"
        raise Invalid(
            f"min_budget ({min_budget:g}) would exceed max_budget ({max_budget:g}) for campaign "
            f"{campaign_id!r} (a bound left null is the campaign's own)",
            loc=("body", field_name),
        )
    locked = rules.get("locked_budget")
    if locked is not None and not min_budget <= locked <= max_budget:
        raise Invalid(
            f"locked_budget {locked:g} is outside the campaign's bounds in this plan "
            f"[{min_budget:g}, {max_budget:g}]: lock it within them or change the bounds",
            loc=("body", "locked_budget"),
        )
    index = plan["campaign_ids"].index(campaign_id)
    all_rules = {**(plan.get("campaign_rules") or {}), campaign_id: rules}

    def engine(state: State) -> None:
        AI(state).set_campaign_constraints(
            index,
            paused=bool(rules.get("paused", False)),
            locked=math.nan if locked is None else float(locked),
            min_budget=min_budget,
            max_budget=None if math.isinf(max_budget) else max_budget,
        )

    return Edit(
        action=action,
        audit={
            "campaign_id": campaign_id,
            "before": before,
            "after": rules,
            "applied": {
                "paused": bool(rules.get("paused", False)),
                "locked_budget": locked,
                "min_budget": min_budget,
                "max_budget": None if math.isinf(max_budget) else max_budget,
            },
        },
        fields={"campaign_rules": all_rules},
        engine=engine,
        loc=("body", next(iter(wanted), "locked_budget")),
        target_id=campaign_id,
    )


def _bound(plan_value: float | None, own_value: float | None, default: float) -> float:
    if plan_value is not None:
        return float(plan_value)
    return default if own_value is None else float(own_value)
