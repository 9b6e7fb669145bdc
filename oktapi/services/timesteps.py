"""A plan's timestep loop: take results (whole or in parts), close a timestep exactly once, repair.

How a timestep is closed (the database decides who wins, not a Python check):
1. The plan document holds the engine state after allocating timestep k, with ``version = k``.
   Parts of k (some campaigns' figures) wait in ``plan.parts``, added only while ``version = k``
   and no report import is being applied (csv_apply.py).
2. The report that completes k computes the next state -- first learning the restatements the
   state has not learnt yet (``restatements_learned`` .. ``restatements``, in order), then k's
   results -- and inserts the ``plan_timesteps`` close record ``<plan_id>:k`` (results, the
   allocation given, the answer, and ``restatements_applied``: how far it learnt restatements).
   Only one insert can succeed; a loser compares its numbers with the stored ones: same → same
   answer, different → 409.
3. The winner stores k's figure sets in the results store (first reports, revision 0; inserts
   that already happened are skipped), then advances the plan with a conditional update on
   ``version = k`` (adding k's spend to ``budget_spent`` rather than setting it, so a
   restatement counted meanwhile keeps its delta).

If the process dies between 2 and 3, the record exists but the plan still says k. Every read goes
through ``catch_up``, which redoes a restatement the plan has not counted (see ``figures``),
then recomputes k+1 from the stored state, the recorded results and the restatements up to the
record's ``restatements_applied`` (the engine is deterministic: all draws come from the state's
own generator) and applies step 3. So a plan and its records always agree once read.

Plan changes (services/plan_changes.py) move the plan's ``changes`` counter by a conditional
update on ``version = k`` and ``changes = c``; the record notes the ``changes_applied`` it was
computed from and step 3 requires it. A change that lands between steps 2 and 3 has overtaken
the close: nobody was answered from that record (the answer follows step 3), so its writer
takes it back (``void_timestep``) and closes k again from the changed plan. A writer that died
there leaves a record ``catch_up`` takes back once it is VOID_AFTER_SECONDS old.

A part posted again (other figures for a campaign whose part is in) between a close's read and
step 3 overtakes that close the same way: the record notes the stored parts it took
(``from_parts``), step 3 requires them unchanged, and the close is redone with the part that was
answered "waiting" last, never closed without it.
"""

import logging
import time
from datetime import timedelta
from typing import Any

import numpy as np
from pymongo.database import Database

from oktapi.engine import AI, State
from oktapi.errors import Conflict, InvalidMany, NotFound
from oktapi.models.plans import AllocationPublic, CampaignResult, PlanPublic, ResultsWaiting
from oktapi.repositories.audit import AuditRepository
from oktapi.repositories.base import utc_now
from oktapi.repositories.plans import (
    PlanRepository,
    TimestepAlreadyRecorded,
    timestep_record_id,
)
from oktapi.repositories.results import ResultRepository
from oktapi.scope import Principal
from oktapi.services.figures import (
    apply_restatement,
    engine_restatement,
    results_difference,
    store_first_report,
)
from oktapi.services.plan_answers import allocation_document, plan_public
from oktapi.services.plan_audit import audit_closed_timestep
from oktapi.services.result_checks import (
    budgets_of,
    engine_results,
    missing_campaigns,
    normalise_results,
    not_open_problems,
    overspend_problems,
)
from oktapi.services.state_codec import load_state, stored_state

logger = logging.getLogger(__name__)

# A plan lags its records by one timestep (and one restatement) at most; the bound guards a loop.
MAX_CATCH_UP = 4
# A close overtaken by a plan change is redone; a request gives up (409, retry) after this many.
MAX_CLOSE_ATTEMPTS = 8
VOID_AFTER_SECONDS = 60

Answer = AllocationPublic | PlanPublic | ResultsWaiting


def load_plan(
    db: Database, principal: Principal, plan_id: str, *, with_state: bool = True
) -> dict[str, Any]:
    """The plan the caller may see, caught up with its records; NotFound otherwise."""
    plan = PlanRepository(db).get(principal, plan_id, with_state=with_state)
    if plan is None:
        raise NotFound("Plan")
    return catch_up(db, plan)


def post_results(
    *,
    db: Database,
    principal: Principal,
    plan_id: str,
    timestep: int,
    results: list[CampaignResult],
) -> Answer:
    """Take timestep k's results (all campaigns or a part); the part that completes k closes it."""
    plan = load_plan(db, principal, plan_id)
    part = normalise_results(plan, results)
    return report_timestep(db=db, principal=principal, plan=plan, timestep=timestep, part=part)


def report_timestep(
    *,
    db: Database,
    principal: Principal,
    plan: dict[str, Any],
    timestep: int,
    part: list[dict[str, Any]],
    source: str = "api",
    attempt: int = 0,
) -> Answer:
    """Record ``part`` of ``timestep``; close it exactly once when complete (module docstring)."""
    version, timesteps = plan["version"], plan["timesteps"]
    if timestep < version:
        return _replay(db, principal, plan, timestep, part)
    if plan["status"] == "stopped":
        raise Conflict(
            f"the plan was stopped at timestep {version}: it takes no more results (closed "
            f"timesteps can still be restated: PUT /plans/{plan['_id']}/results/<timestep>)"
        )
    if timestep >= timesteps:
        raise Conflict(
            f"timestep {timestep} is past the plan's last timestep ({timesteps - 1})"
            + ("; the plan is finished" if version >= timesteps else "")
        )
    if timestep > version:
        raise Conflict(f"timestep {timestep} is not open yet: report timestep {version} first")
    not_open = not_open_problems(plan, part)
    if not_open:
        raise InvalidMany(not_open)
    overspent = overspend_problems(budgets_of(plan["allocation"]), part, timestep)
    if overspent:
        raise InvalidMany([(msg, ("body", "results", index, "spend")) for index, msg in overspent])
    now = utc_now()
    stamped = {
        row["campaign_id"]: {
            **row,
            "reported_at": now,
            "reported_by": principal.user_id,
            "source": source,
        }
        for row in part
    }
    stored_parts = plan.get("parts") or {}
    parts = {**stored_parts, **stamped}
    if missing_campaigns(plan, parts):
        after = PlanRepository(db).add_part(plan["_id"], version, plan.get("changes", 0), stamped)
        if after is None:  # closed or changed meanwhile: answer from the plan as it is now
            return _again(db, principal, plan, timestep, part, source, attempt)
        parts = stored_parts = after.get("parts") or {}
        missing = missing_campaigns(plan, parts)
        if missing:
            return ResultsWaiting(timestep=timestep, status="waiting", missing=missing)
    given = [item["campaign_id"] for item in plan["allocation"]["allocations"]]
    results = [parts[campaign_id] for campaign_id in given if campaign_id in parts]
    # The stored parts this close takes (not this post's own): posted again before the close
    # advances the plan, they make it redo the close (module docstring).
    from_parts = {
        campaign_id: stored_parts[campaign_id]
        for campaign_id in given
        if campaign_id in stored_parts and campaign_id not in stamped
    }
    return _close(db, principal, plan, timestep, results, from_parts, part, source, attempt)


def _again(
    db: Database,
    principal: Principal,
    plan: dict[str, Any],
    timestep: int,
    part: list[dict[str, Any]],
    source: str,
    attempt: int,
) -> Answer:
    """Report ``part`` again on the plan as it is now (closed, changed or voided meanwhile)."""
    if attempt >= MAX_CLOSE_ATTEMPTS:
        raise Conflict("the plan changed while these results were recorded; post them again")
    if attempt:
        time.sleep(0.01 * attempt)  # a void by another request takes a few writes
    fresh = load_plan(db, principal, plan["_id"])
    return report_timestep(
        db=db,
        principal=principal,
        plan=fresh,
        timestep=timestep,
        part=part,
        source=source,
        attempt=attempt + 1,
    )


def _close(
    db: Database,
    principal: Principal,
    plan: dict[str, Any],
    timestep: int,
    results: list[dict[str, Any]],
    from_parts: dict[str, dict[str, Any]],
    part: list[dict[str, Any]],
    source: str,
    attempt: int,
) -> Answer:
    learnt_up_to = plan.get("restatements", 0)
    changes = _advance_changes(plan, results, learnt_up_to, ResultRepository(db))
    record = {
        "plan_id": plan["_id"],
        "client_id": plan["client_id"],
        "timestep": timestep,
        "allocation": plan["allocation"],
        "results": results,
        "next_allocation": changes["allocation"],
        "restatements_applied": learnt_up_to,
        "changes_applied": plan.get("changes", 0),
        "from_parts": list(from_parts),
        "revision": 0,
        "reported_at": changes["updated_at"],
        "reported_by": principal.user_id,
        "reported_by_username": principal.username,
        "source": source,
    }
    repo = PlanRepository(db)
    try:
        repo.insert_timestep(record)
    except TimestepAlreadyRecorded:
        return _again(db, principal, plan, timestep, part, source, attempt)
    if not _advance(db, plan, record, changes, from_parts):
        now = repo.get_unscoped(plan["_id"], with_state=False)
        stored = {**record, "_id": timestep_record_id(plan["_id"], timestep)}
        if now is None:  # the plan was deleted meanwhile: leave nothing of this close behind
            repo.void_timestep(stored, plan_gone=True)
            raise NotFound("Plan")
        if now["version"] == timestep:  # a plan change or a part posted again overtook it
            repo.void_timestep(stored)
        return _again(db, principal, plan, timestep, part, source, attempt)
    return _answer(db, principal, plan["_id"], record)


def _advance(
    db: Database,
    plan: dict[str, Any],
    record: dict[str, Any],
    changes: dict[str, Any],
    from_parts: dict[str, dict[str, Any]],
) -> bool:
    """Step 3 of the module docstring: figure sets, then the conditional advance, then audit."""
    store_first_report(db, plan, record)
    spend = float(np.sum([row["spend"] for row in record["results"]], dtype=np.float64))
    advanced = PlanRepository(db).advance(
        plan["_id"],
        record["timestep"],
        record.get("changes_applied", 0),
        changes,
        spend,
        from_parts,
    )
    if advanced:
        audit_closed_timestep(AuditRepository(db), plan, record)
    return advanced


def _replay(
    db: Database,
    principal: Principal,
    plan: dict[str, Any],
    timestep: int,
    part: list[dict[str, Any]],
) -> Answer:
    """A closed timestep reported again: the same answer for the same numbers, 409 otherwise."""
    record = PlanRepository(db).get_timestep(plan["_id"], timestep)
    if record is None:  # cannot happen while records are only ever inserted
        raise Conflict(f"timestep {timestep} is closed")
    difference = results_difference(record["results"], part)
    if difference:
        raise Conflict(
            f"timestep {timestep} was already reported with different numbers ({difference}); "
            f"to correct a closed timestep, restate it: PUT /plans/{plan['_id']}/results/{timestep}"
        )
    audit_closed_timestep(AuditRepository(db), plan, record)
    return _answer(db, principal, plan["_id"], record)


def _answer(
    db: Database, principal: Principal, plan_id: str, record: dict[str, Any]
) -> AllocationPublic | PlanPublic:
    if record["next_allocation"] is not None:
        return AllocationPublic.model_validate(record["next_allocation"])
    return plan_public(load_plan(db, principal, plan_id, with_state=False))


# --- moving a plan forward --------------------------------------------------------------------


def learned_state(
    plan: dict[str, Any], store: ResultRepository, learnt_up_to: int | None = None
) -> State:
    """The plan's engine state after the restatements it has not learnt yet (up to
    ``learnt_up_to``, all by default): what the next close will learn from. Changes nothing."""
    return _learned_ai(plan, store, learnt_up_to).state


def _learned_ai(
    plan: dict[str, Any], store: ResultRepository, learnt_up_to: int | None = None
) -> AI:
    """``learned_state``'s engine, ready to learn the next results (its policy built once)."""
    ai = AI(load_state(plan["state"]))
    if learnt_up_to is None:
        learnt_up_to = plan.get("restatements", 0)
    for restatement in store.restatements(
        plan["_id"], plan.get("restatements_learned", 0), learnt_up_to
    ):
        ai.restate(engine_restatement(plan["campaign_ids"], restatement))
    return ai


def _advance_changes(
    plan: dict[str, Any], results: list[dict[str, Any]], learnt_up_to: int, store: ResultRepository
) -> dict[str, Any]:
    """The plan fields after learning restatements up to ``learnt_up_to`` and then ``results``.

    A pure function of the stored state and the stored records, so a crash repair recomputes
    exactly what the first attempt computed.
    """
    ai = _learned_ai(plan, store, learnt_up_to)
    state = ai.state
    ai.update(engine_results(plan["campaign_ids"], results))
    allocation = None if state.finished else allocation_document(plan, state, ai.allocate())
    return {
        "state": stored_state(state),
        "version": state.timestep,
        "allocation": allocation,
        "status": "finished" if state.finished else "active",
        "restatements_learned": learnt_up_to,
        "updated_at": utc_now(),
    }


def catch_up(db: Database, plan: dict[str, Any]) -> dict[str, Any]:
    """Redo what a crash left half-done: a restatement, a close, a report import (csv_apply),
    a campaign's new bounds its plans have not taken yet (plan_changes.apply_campaign_bounds)."""
    repo = PlanRepository(db)
    store = ResultRepository(db)
    with_state = "state" in plan
    for _ in range(MAX_CATCH_UP):
        restatement = store.get_restatement(plan["_id"], plan.get("restatements", 0))
        if restatement is not None:
            apply_restatement(db, plan, restatement)
            plan = _reload(repo, plan["_id"], with_state)
            continue
        version = plan["version"]
        record = repo.get_timestep(plan["_id"], version)
        if pending := plan.get("pending_import") or (record or {}).get("import_id"):
            from oktapi.services.csv_apply import finish_pending  # by its mark or its record

            plan = finish_pending(db, plan, pending, with_state=with_state)
            continue
        if version >= plan["timesteps"] or record is None:
            if not plan.get("bounds_pending"):
                return plan
            from oktapi.services.plan_changes import finish_pending_bounds  # changes read plans

            finish_pending_bounds(db, plan)
            plan = _reload(repo, plan["_id"], with_state)
            continue
        from_parts = _parts_taken(plan, record)
        if record.get("changes_applied", 0) != plan.get("changes", 0) or from_parts is None:
            # A change or a part posted again overtook this close; its writer takes it back, or
            # died (module docstring).
            if record["reported_at"] > utc_now() - timedelta(seconds=VOID_AFTER_SECONDS):
                return plan
            repo.void_timestep(record)
            plan = _reload(repo, plan["_id"], with_state)
            continue
        if "state" not in plan:
            plan = _reload(repo, plan["_id"], True)
            if plan["version"] != version:
                continue
        changes = _advance_changes(
            plan, record["results"], record.get("restatements_applied", 0), store
        )
        if changes["allocation"] != record["next_allocation"]:
            # Only possible if the engine changed between the crash and now; the recorded answer
            # was what the client saw, the recomputed one is what the state now holds.
            logger.error(
                "plan %s timestep %s: replayed allocation differs from the recorded answer",
                plan["_id"],
                version,
            )
        advanced = _advance(db, plan, record, changes, from_parts)
        if not advanced and repo.get_unscoped(plan["_id"]) is None:
            repo.void_timestep(record, plan_gone=True)  # deleted meanwhile: leave nothing behind
            raise NotFound("Plan")
        plan = _reload(repo, plan["_id"], with_state)
    return plan


def _parts_taken(plan: dict[str, Any], record: dict[str, Any]) -> dict[str, dict[str, Any]] | None:
    """The plan's stored parts a close record took, as the record has them; None if one of them
    was posted again since (the record is then overtaken, as by a plan change)."""
    parts = plan.get("parts") or {}
    rows = {row["campaign_id"]: row for row in record["results"]}
    wanted = record.get("from_parts", [])
    taken = {campaign_id: parts[campaign_id] for campaign_id in wanted if campaign_id in parts}
    if len(taken) < len(wanted) or any(part != rows[cid] for cid, part in taken.items()):
        return None
    return taken


def _reload(repo: PlanRepository, plan_id: str, with_state: bool) -> dict[str, Any]:
    plan = repo.get_unscoped(plan_id, with_state=with_state)
    if plan is None:
        raise NotFound("Plan")
    return plan
