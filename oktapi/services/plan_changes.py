"""Changes to a running plan: its settings and its campaigns' rules, each one conditional write.

A change reads the plan (caught up with its records), applies itself to the engine state and
writes the new state with ``PlanRepository.apply_change``: conditional on the plan's ``version``
and ``changes`` counter, so it cannot race a close (a close it overtakes is redone, see
services/timesteps.py) or another change; the loser reads again and tries again. When no result
of the open timestep has arrived, its allocation is recomputed (and the write also requires that
no part arrived meanwhile); otherwise that allocation stands as given, the change applies from
the next timestep and the answer says so in ``note``. A refused change writes nothing.
"""

import contextlib
import uuid
from collections.abc import Callable
from typing import Any

from pymongo.database import Database

from oktapi.engine import AI
from oktapi.errors import Conflict, Invalid, NotFound
from oktapi.models.plan_changes import PlanCampaignUpdate, PlanUpdate
from oktapi.repositories.audit import AuditRepository
from oktapi.repositories.base import utc_now
from oktapi.repositories.campaigns import CampaignRepository
from oktapi.repositories.plans import PlanRepository
from oktapi.scope import Principal
from oktapi.services.plan_answers import allocation_document, rules_of
from oktapi.services.plan_audit import audit_allocation
from oktapi.services.plan_edits import (
    BOUNDS,
    Edit,
    add_edit,
    plan_edit,
    remove_edit,
    rules_edit,
)
from oktapi.services.state_codec import load_state, stored_state
from oktapi.services.timesteps import load_plan

# Changes and closes of one plan take turns; each loss costs a re-read.
MAX_ATTEMPTS = 8


def change_plan(
    *, db: Database, principal: Principal, plan_id: str, body: PlanUpdate
) -> tuple[dict[str, Any], str | None]:
    """PATCH /plans/{id}: (the plan after, a note when the open timestep keeps its allocation)."""
    wanted = body.changes()
    return _change(db, principal, plan_id, lambda plan: plan_edit(plan, wanted))


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
        return add_edit(plan, found[0])

    plan, note = _change(db, principal, plan_id, edit)
    missing, deleting = CampaignRepository(db).unavailable_for_plan(
        plan["client_id"], [campaign_id]
    )
    if missing or deleting:  # deleted while it joined: take it back out (see repositories)
        _change(db, principal, plan_id, lambda p: remove_edit(p, campaign_id))
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

    def edit(plan: dict[str, Any]) -> Edit | None:
        _must_be_current(plan, campaign_id)
        own = CampaignRepository(db).get(principal, campaign_id) or {}
        return rules_edit(plan, campaign_id, wanted, own)

    return _change(db, principal, plan_id, edit)


def remove_campaign(
    *, db: Database, principal: Principal, plan_id: str, campaign_id: str
) -> tuple[dict[str, Any], str | None]:
    """DELETE /plans/{id}/campaigns/{cid}: out of future timesteps, its history kept."""

    def edit(plan: dict[str, Any]) -> Edit:
        _must_be_current(plan, campaign_id)
        return remove_edit(plan, campaign_id)

    return _change(db, principal, plan_id, edit)


def apply_campaign_bounds(
    *, db: Database, principal: Principal, campaign: dict[str, Any], changes: dict[str, Any]
) -> Callable[[], None]:
    """A campaign's own new bounds, checked against each active plan it is in; returns the step
    that applies them from each plan's open timestep (plan-level bounds win), to run once the
    campaign is written. Checking first means a bound one plan cannot take refuses the whole
    edit (422), nothing written.

    The plans are marked before the campaign is written (``bounds_pending``): a mark stays
    until the plan's engine has the campaign's bounds as stored, and every read of the plan
    finishes it first (``finish_pending_bounds``). So a follow-up that loses every race with
    closes and other changes, or a process that dies after writing the campaign, never leaves
    a plan answering under the old bound."""
    campaign_id = campaign["_id"]
    bounds = {key: changes[key] for key in BOUNDS if key in changes}
    if not bounds:
        return lambda: None
    repo = PlanRepository(db)
    plan_ids = _following(repo, campaign_id)
    own = {**campaign, **bounds}
    for plan_id in plan_ids:
        plan = load_plan(db, principal, plan_id)
        made = _bounds_edit(plan, campaign_id, own) if plan["status"] == "active" else None
        if made is not None:
            try:
                _engine_step(plan, made)
            except Invalid as error:
                raise Invalid(
                    f"plan {plan['name']!r} ({plan_id}) cannot take this bound: {_reason(error)}",
                    loc=("body", next(iter(bounds))),
                ) from None
    repo.mark_bounds_pending(plan_ids, campaign_id, _mark(principal))

    def apply() -> None:
        # Marked again (a read between the first mark and the campaign's write finished it with
        # the old bounds), with the plans that started over the campaign meanwhile.
        following = [*plan_ids, *(p for p in _following(repo, campaign_id) if p not in plan_ids)]
        repo.mark_bounds_pending(following, campaign_id, _mark(principal))
        for plan_id in following:
            # Its catch-up takes the bounds; deleted meanwhile, or busy: its next read does.
            with contextlib.suppress(NotFound, Conflict):
                load_plan(db, principal, plan_id)

    return apply


def finish_pending_bounds(db: Database, plan: dict[str, Any]) -> None:
    """Give a marked plan's engine its campaigns' bounds as stored now (``timesteps.catch_up``
    calls it on every read), from the open timestep, as ``PATCH /campaigns/{id}`` would have.

    409 if the plan keeps changing under it: the read fails rather than show the old bound."""
    repo = PlanRepository(db)
    for campaign_id in sorted(plan.get("bounds_pending") or {}):
        for _ in range(MAX_ATTEMPTS):
            if _settle_bounds(db, repo, plan["_id"], campaign_id):
                break
        else:
            raise Conflict("the plan is being changed or reported by many requests at once; retry")


def _settle_bounds(db: Database, repo: PlanRepository, plan_id: str, campaign_id: str) -> bool:
    """One attempt at taking one campaign's bound mark off the plan; False if it lost a race."""
    plan = repo.get_unscoped(plan_id)
    mark = ((plan or {}).get("bounds_pending") or {}).get(campaign_id)
    if plan is None or mark is None:
        return True  # deleted, or another read finished it
    own = CampaignRepository(db).bounds(campaign_id)
    edit = (
        None if own is None or plan["status"] != "active" else _bounds_edit(plan, campaign_id, own)
    )
    if edit is not None and _engine_has_bounds(plan, campaign_id, edit):
        edit = None
    if edit is None:
        return repo.clear_bounds_pending(plan_id, campaign_id, mark["token"])
    actor = Principal(user_id=mark["user_id"], username=mark["by"], role="", client_ids=frozenset())
    try:
        fields, _, recompute = _engine_step(plan, edit)
    except Invalid as error:  # the plan changed since the edit was checked: say so, keep it
        if not repo.clear_bounds_pending(plan_id, campaign_id, mark["token"]):
            return False
        AuditRepository(db).append(
            actor=actor,
            action="plan.campaign_bounds_refused",
            client_id=plan["client_id"],
            plan_id=plan_id,
            target_id=campaign_id,
            changes={"applied": edit.audit["applied"], "reason": _reason(error)},
        )
        return True
    changes = plan.get("changes", 0)
    if not repo.apply_change(
        plan_id,
        plan["version"],
        changes,
        fields,
        no_parts=recompute,
        settles=(campaign_id, mark["token"]),
    ):
        return False
    _audit(db, actor, {**plan, **fields, "changes": changes + 1}, edit, recompute)
    return True


def _mark(principal: Principal) -> dict[str, Any]:
    """A bound mark: a token (a newer edit's mark replaces it) and who made the edit."""
    return {"token": uuid.uuid4().hex, "user_id": principal.user_id, "by": principal.username}


def _following(repo: PlanRepository, campaign_id: str) -> list[str]:
    """The active plans that take a campaign's own bounds (not those it was removed from)."""
    return [
        plan["_id"]
        for plan in repo.active_with_campaign(campaign_id)
        if not rules_of(plan, campaign_id).get("removed")
    ]


def _bounds_edit(plan: dict[str, Any], campaign_id: str, own: dict[str, Any]) -> Edit | None:
    """The edit giving a plan a campaign's own bounds ``own``; None where nothing applies (a
    finished plan, a campaign removed from it, or one whose plan-level bounds both win)."""
    if plan["version"] >= plan["timesteps"] or campaign_id not in plan["campaign_ids"]:
        return None
    rules = rules_of(plan, campaign_id)
    if rules.get("removed") or all(rules.get(key) is not None for key in BOUNDS):
        return None
    return rules_edit(plan, campaign_id, {}, own, action="plan.campaign_bounds_followed")


def _engine_has_bounds(plan: dict[str, Any], campaign_id: str, edit: Edit) -> bool:
    """Whether the plan's engine already holds the bounds ``edit`` would give (a no-op)."""
    state = load_state(plan["state"])
    engine = state.campaigns[plan["campaign_ids"].index(campaign_id)]
    applied = edit.audit["applied"]
    return bool(
        engine.min_budget == applied["min_budget"] and engine.max_budget == applied["max_budget"]
    )


def _reason(error: Invalid) -> str:
    items: list[Any] = error.detail if isinstance(error.detail, list) else []
    return "; ".join(str(item["msg"]) for item in items)


# --- the one write path --------------------------------------------------------------------


def _change(
    db: Database,
    principal: Principal,
    plan_id: str,
    make: Callable[[dict[str, Any]], Edit | None],
) -> tuple[dict[str, Any], str | None]:
    repo = PlanRepository(db)
    for _ in range(MAX_ATTEMPTS):
        plan = load_plan(db, principal, plan_id)
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
