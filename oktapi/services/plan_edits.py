"""What each plan change does, checked before anything is written: plan fields, an engine step
and what the audit entry says (services/plan_changes.py writes it). 422/409 name what to fix."""

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from oktapi.engine import AI, Campaign, State, get_policy
from oktapi.errors import Conflict, Invalid
from oktapi.models.plans import MAX_PLAN_CAMPAIGNS
from oktapi.services.plan_answers import current_campaign_ids, rules_of
from oktapi.services.plans import MAX_HISTORY_CELLS

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


def plan_edit(plan: dict[str, Any], wanted: dict[str, Any]) -> Edit | None:
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
        new_total = float(total_budget) if "total_budget" in wanted else None
        new_length = int(timesteps) if "timesteps" in wanted else None
        engine_steps.append(
            lambda state: AI(state).change_budget(total_budget=new_total, timesteps=new_length)
        )
    if "policy_params" in wanted:
        merged = {**plan["policy_params"], **wanted["policy_params"]}
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


def add_edit(plan: dict[str, Any], campaign: dict[str, Any]) -> Edit:
    campaign_id = campaign["_id"]
    names = {**(plan.get("campaign_names") or {}), campaign_id: campaign["name"]}
    joining = Campaign(
        campaign_id,
        float(campaign.get("min_budget") or 0.0),
        campaign.get("max_budget"),
        platform=campaign.get("platform") or None,
    )
    if campaign_id in plan["campaign_ids"]:
        if not rules_of(plan, campaign_id).get("removed"):
            raise Conflict(f"campaign {campaign_id!r} is already in this plan")
        rules = {**(plan.get("campaign_rules") or {}), campaign_id: {}}  # back on its own terms
        return Edit(
            action="plan.campaign_added",
            audit={"campaign_id": campaign_id, "name": campaign["name"], "returned": True},
            fields={"campaign_names": names, "campaign_rules": rules},
            engine=lambda state: _join(state, joining),
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
    return Edit(
        action="plan.campaign_added",
        audit={"campaign_id": campaign_id, "name": campaign["name"]},
        fields={"campaign_ids": [*plan["campaign_ids"], campaign_id], "campaign_names": names},
        engine=lambda state: _join(state, joining),
        loc=("body", "campaign_id"),
        target_id=campaign_id,
    )


def _join(state: State, campaign: Campaign) -> None:
    AI(state).add_campaign(campaign)


def remove_edit(plan: dict[str, Any], campaign_id: str) -> Edit:
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


def rules_edit(
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
            locked=None if locked is None else float(locked),
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
