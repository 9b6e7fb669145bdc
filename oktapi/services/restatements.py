"""Restating a closed timestep: the figures a platform shows now replace those first reported.

A restatement changes no engine state by itself: it is recorded (the commit point), applied to
the results store and counted on the plan (see ``figures``); the plan learns from it at its next
close, which applies the restatements its state has not learnt yet before the new results.

Figures restated as they were recorded change nothing a caller sees (no revision, the same
answer), but when they were recorded at an earlier plan version they are kept as a confirmation
(a restatement record without changes): that a figure stopped growing is what the engine learns
how mature young figures are from. A retry at the same version records nothing.
"""

from typing import Any

from pymongo.database import Database

from oktapi.errors import Conflict, InvalidMany, NotFound
from oktapi.models.plans import CampaignResult, HistoryEntry
from oktapi.repositories.base import utc_now
from oktapi.repositories.plans import PlanRepository
from oktapi.repositories.results import RestatementAlreadyRecorded, ResultRepository
from oktapi.scope import Principal
from oktapi.services.figures import apply_restatement, current_figures, restatement_changes
from oktapi.services.plan_answers import closed_entry
from oktapi.services.result_checks import budgets_of, overspend_problems
from oktapi.services.result_checks import normalise_results as _normalise
from oktapi.services.timesteps import catch_up, load_plan

# Concurrent restatements of one plan take sequence numbers in turn; each loss costs a re-read.
MAX_ATTEMPTS = 16


def restate_results(
    *,
    db: Database,
    principal: Principal,
    plan_id: str,
    timestep: int,
    results: list[CampaignResult],
) -> HistoryEntry:
    """PUT /plans/{id}/results/{timestep}: the timestep's history entry after the restatement."""
    plan = load_plan(db, principal, plan_id, with_state=False)
    entries = _normalise(plan, results)
    return restate_timestep(
        db=db, principal=principal, plan=plan, timestep=timestep, entries=entries
    )


def check_restatable(plan: dict[str, Any], timestep: int) -> None:
    """409 unless ``timestep`` is closed."""
    if timestep >= plan["timesteps"]:
        raise Conflict(
            f"timestep {timestep} is beyond the plan (timesteps 0 to {plan['timesteps'] - 1})"
        )
    if timestep >= plan["version"]:
        raise Conflict(
            f"timestep {timestep} is not closed yet: report it with POST "
            f"/plans/{plan['_id']}/results; only closed timesteps can be restated"
        )


def restate_timestep(
    *,
    db: Database,
    principal: Principal,
    plan: dict[str, Any],
    timestep: int,
    entries: list[dict[str, Any]],
    source: str = "api",
) -> HistoryEntry:
    """Record one restatement of ``timestep`` (only the campaigns whose figures change)."""
    check_restatable(plan, timestep)
    repo = PlanRepository(db)
    record = _closed_record(db, plan["_id"], timestep)
    reported = {row["campaign_id"] for row in record["results"]}
    absent: list[tuple[str, tuple[str | int, ...]]] = [
        (
            f"campaign {entry['campaign_id']!r} has no results in timestep {timestep} (paused "
            "then, or added to the plan later): there is nothing to restate",
            ("body", "results", index, "campaign_id"),
        )
        for index, entry in enumerate(entries)
        if entry["campaign_id"] not in reported
    ]
    if absent:
        raise InvalidMany(absent)
    overspent = overspend_problems(budgets_of(record["allocation"]), entries, timestep)
    if overspent:
        raise InvalidMany([(msg, ("body", "results", index, "spend")) for index, msg in overspent])
    store = ResultRepository(db)
    for _ in range(MAX_ATTEMPTS):
        figures = current_figures(db, plan, record)
        changes, confirmed, spend_delta = restatement_changes(
            figures, entries, timestep, plan["version"]
        )
        if not changes and not confirmed:
            # The figures may be another request's restatement half applied (figure sets
            # written, close record not yet): finish it first, so every caller answers alike.
            catch_up(db, repo.get_unscoped(plan["_id"], with_state=False) or plan)
            return timestep_entry(db, plan, timestep)
        restatement = restatement_record(
            plan,
            record,
            changes,
            confirmed,
            spend_delta,
            by=principal.user_id,
            by_username=principal.username,
            source=source,
        )
        try:
            store.insert_restatement(restatement)
        except RestatementAlreadyRecorded:
            # Another restatement took this number: finish it, then look again at what changes.
            plan = catch_up(db, repo.get_unscoped(plan["_id"], with_state=False) or plan)
            record = repo.get_timestep(plan["_id"], timestep) or record
            continue
        apply_restatement(db, plan, restatement)
        # Answer from this restatement, not from a re-read that a later one may have overtaken.
        return closed_entry(_as_restated(record, restatement))
    raise Conflict("the plan is being restated by many requests at once; retry")


def restatement_record(
    plan: dict[str, Any],
    record: dict[str, Any],
    changes: list[dict[str, Any]],
    confirmed: list[dict[str, Any]],
    spend_delta: float,
    *,
    by: str,
    by_username: str,
    source: str,
) -> dict[str, Any]:
    """The next restatement of the plan (``seq`` = the plan's count) for one closed timestep."""
    return {
        "plan_id": plan["_id"],
        "client_id": plan["client_id"],
        "seq": plan.get("restatements", 0),
        "timestep": record["timestep"],
        "changes": changes,
        "confirmed": confirmed,
        "timestep_revision": int(record.get("revision", 0)) + bool(changes),
        "spend_delta": spend_delta,
        "observed_at": plan["version"],
        "at": utc_now(),
        "by": by,
        "by_username": by_username,
        "source": source,
    }


def _as_restated(record: dict[str, Any], restatement: dict[str, Any]) -> dict[str, Any]:
    """The close record as this restatement leaves it. Its sequence number was free, so every
    earlier restatement had been applied to ``record`` when it was read (see restate_timestep)."""
    if not restatement["changes"]:
        return record
    latest = dict(record.get("latest") or {})
    for change in restatement["changes"]:
        latest[change["campaign_id"]] = {"campaign_id": change["campaign_id"], **change["after"]}
    return {
        **record,
        "latest": latest,
        "revision": restatement["timestep_revision"],
        "restated_at": restatement["at"],
    }


def timestep_entry(db: Database, plan: dict[str, Any], timestep: int) -> HistoryEntry:
    """One closed timestep's history entry, read from its close record."""
    return closed_entry(_closed_record(db, plan["_id"], timestep))


def _closed_record(db: Database, plan_id: str, timestep: int) -> dict[str, Any]:
    """A closed timestep's record; 404 if the plan was deleted meanwhile (records go with it)."""
    repo = PlanRepository(db)
    record = repo.get_timestep(plan_id, timestep)
    if record is None:  # closed timesteps always have their record once the plan is caught up
        if repo.get_unscoped(plan_id, with_state=False) is None:
            raise NotFound("Plan")
        raise Conflict(f"timestep {timestep} is not closed yet")
    return record
