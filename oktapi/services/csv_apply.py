"""A checked platform report applied to a plan whole or not at all, whatever else posts meanwhile.

A file may close several timesteps, restate closed ones and report part of the open one. Applied
one by one (each exactly once, as timesteps.py and restatements.py do) it could stop half way: a
concurrent post may win one of its timesteps, a crash may land between two. So an import is one
batch with one commit point, on the same documents as the timestep loop:

1. Staging. The importer has checked the file against the plan at version ``v`` and replayed the
   engine once over the timesteps it closes, learning restatements up to the plan's count ``L``
   as a close at ``v`` would (``replay_closes``). It stores the batch's inputs in
   ``plan_imports`` (repositories/imports.py; read by nobody yet) and holds their lease.
2. Commit: one conditional update of the plan, still at ``v`` (and at its ``changes`` counter)
   with no import pending and, when the file closes ``v``, none of the parts of ``v`` it read
   replaced since, sets ``pending_import`` (and, when the file closes nothing, adds its part of
   ``v``). From then on no part of ``v`` is written until the mark is cleared. An import that
   loses (the plan moved on) discards its staging and starts again from a fresh read, where its
   rows of timesteps closed meanwhile restate them, as if it had come second.
3. Finish, by whoever holds the lease: the importer, or after a crash the next reader once the
   lease has run out (every read goes through ``timesteps.catch_up``, which calls
   ``finish_pending``; readers wait while the holder is alive):
   a. the close record of ``v``, carrying the import's id. If another request recorded ``v``
      first (it read the plan before the commit), the batch is void: the mark is cleared,
      nothing else was written, and the importer starts again;
   b. the close records of ``v+1 ..`` (a finisher that is not the importer recomputes them from
      the stored state and the staged figures: the engine is deterministic), their figure sets
      and their audit entries, inserts that a redo skips;
   c. the restatements, one ``plan_restatements`` record each, numbered in turn with any other
      restatement as PUT's are. The closes in (a) and (b) learnt restatements up to ``L`` only,
      so the plan learns these at its next close, like a PUT that arrives during a close;
   d. one conditional update (``version = v``, the mark still ours) moves the plan to ``v+n``
      with its new state, allocation, spend and the file's part of ``v+n``, and clears the mark;
      a batch without closes only clears it.
Until (d) the plan still reads as version ``v``, and a post for ``v`` that arrives after the
commit -- a whole timestep or a part, even one that read the plan before it -- waits for the
batch and is then answered from its record (same numbers, or 409).
"""

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
from pymongo.database import Database

from oktapi.engine import AI, State
from oktapi.errors import Conflict, NotFound
from oktapi.repositories.audit import AuditRepository
from oktapi.repositories.base import new_id, utc_now
from oktapi.repositories.imports import ImportRepository, staged_id
from oktapi.repositories.plans import PlanRepository, TimestepAlreadyRecorded
from oktapi.repositories.results import RestatementAlreadyRecorded, ResultRepository
from oktapi.services.figures import (
    apply_restatement,
    current_figures,
    first_report_documents,
    restatement_changes,
)
from oktapi.services.plan_answers import allocation_document
from oktapi.services.plan_audit import closed_timestep_events
from oktapi.services.restatements import restatement_record
from oktapi.services.result_checks import engine_results
from oktapi.services.state_codec import stored_state
from oktapi.services.timesteps import learned_state

logger = logging.getLogger(__name__)

# A finisher renews its lease as it goes; one that died is replaced once the lease runs out.
LEASE_SECONDS = 10.0
RENEW_EVERY = 50  # timesteps replayed between looks at the lease
# A reader waits this long for a live finisher before answering 409 (retry).
WAIT_SECONDS = 120.0
POLL_SECONDS = 0.05
# Restatements of other requests may take the batch's sequence numbers; each loss costs a re-read.
MAX_RESTATE_ATTEMPTS = 64
# Staging of an attempt that died before its commit is swept by the plan's next import.
STALE_AFTER = timedelta(hours=1)
CHUNK = 100  # timesteps per staged document

ResultsFor = Callable[[int, dict[str, Any]], list[dict[str, Any]] | None]


@dataclass
class Batch:
    """What an import applies to a plan checked at ``plan["version"]``.

    ``closes``: each closed timestep's figures in the plan's campaign order, stamped as stored;
    ``part``: figures of the open timestep after them (by campaign); ``restatements``: (closed
    timestep, the file's figures) in order; ``records`` and ``changes``: what ``replay_closes``
    computed (close records and the plan fields after them).
    """

    plan: dict[str, Any]
    stamp: dict[str, Any]
    closes: list[list[dict[str, Any]]] = field(default_factory=list)
    part: dict[str, dict[str, Any]] = field(default_factory=dict)
    restatements: list[tuple[int, list[dict[str, Any]]]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    changes: dict[str, Any] = field(default_factory=dict)
    import_id: str = field(default_factory=new_id)
    owner: str = field(default_factory=new_id)

    @property
    def empty(self) -> bool:
        return not (self.closes or self.part or self.restatements)


def replay_closes(
    plan: dict[str, Any],
    state: State,
    results_for: ResultsFor,
    stamp: dict[str, Any],
    learnt_up_to: int,
    renew: Callable[[], None] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Close records from ``state`` (the plan's, restatements learnt up to ``learnt_up_to``),
    one engine step each, and the plan fields after the last.

    ``results_for(index, allocation given)`` is the figures that close timestep ``version +
    index`` (the campaigns of that allocation, in its order), or None to stop there.
    """
    ai = AI(state)
    allocation = plan["allocation"]
    records: list[dict[str, Any]] = []
    while allocation is not None:
        index = len(records)
        results = results_for(index, allocation)
        if results is None:
            break
        if renew is not None and index and index % RENEW_EVERY == 0:
            renew()
        ai.update(engine_results(plan["campaign_ids"], results))
        next_allocation = (
            None if state.finished else allocation_document(plan, state, ai.allocate())
        )
        records.append(
            {
                "plan_id": plan["_id"],
                "client_id": plan["client_id"],
                "timestep": plan["version"] + index,
                "allocation": allocation,
                "results": results,
                "next_allocation": next_allocation,
                "restatements_applied": learnt_up_to,
                "changes_applied": plan.get("changes", 0),
                "revision": 0,
                **stamp,
            }
        )
        allocation = next_allocation
    changes = {
        "state": stored_state(state),
        "version": state.timestep,
        "allocation": allocation,
        "status": "finished" if state.finished else "active",
        "restatements_learned": learnt_up_to,
        "updated_at": stamp["reported_at"],
    }
    return records, changes


def apply(db: Database, batch: Batch) -> bool:
    """Stage, commit and finish ``batch``: True once applied whole, False if nothing was (the
    plan moved on first, or another request closed its first timestep): read and try again."""
    plan = batch.plan
    repo = ImportRepository(db)
    for stale in repo.stale(plan["_id"], utc_now() - STALE_AFTER):
        repo.discard(stale)
    header, documents = _staging(batch)
    repo.stage(header, documents)
    part = {} if batch.closes else batch.part
    if repo.commit(plan, batch.import_id, part, closes=bool(batch.closes)) is None:
        repo.discard(batch.import_id)
        return False
    return _finish(db, plan, header, batch, batch.owner)


def finish_pending(
    db: Database, plan: dict[str, Any], import_id: str, *, with_state: bool
) -> dict[str, Any]:
    """Finish the import ``import_id`` the plan is (or was) marked with, or wait for the request
    finishing it; the plan read again after it (``with_state`` or without)."""
    # _StagingGone: finished by another request, or the plan deleted; the read below tells which.
    with contextlib.suppress(_StagingGone):
        _finish_pending(db, plan, import_id)
    fresh = PlanRepository(db).get_unscoped(plan["_id"], with_state=with_state)
    if fresh is None:
        raise NotFound("Plan")
    return fresh


def _finish_pending(db: Database, plan: dict[str, Any], import_id: str) -> None:
    repo = ImportRepository(db)
    plans = PlanRepository(db)
    owner = new_id()
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        header = repo.take_lease(import_id, owner, utc_now(), LEASE_SECONDS)
        fresh = plans.get_unscoped(plan["_id"], with_state=header is not None)
        if fresh is None or fresh.get("pending_import") != import_id:
            return  # finished (or voided) meanwhile
        if header is not None:
            _finish(db, fresh, header, None, owner)
            return
        if repo.header(import_id) is None:  # a mark without its batch: nothing to finish
            logger.error("plan %s: import %s has no staging; mark cleared", plan["_id"], import_id)
            repo.release(plan["_id"], import_id)
            return
        if time.monotonic() > deadline:
            raise Conflict("a report import is still being applied to this plan; retry shortly")
        time.sleep(POLL_SECONDS)


def _staging(batch: Batch) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The header and the chunks of a batch (a chunk is a few timesteps' figures: each document
    stays far below MongoDB's 16 MB whatever the file; a 1,000-timestep file is ten of them)."""
    plan = batch.plan
    common = {"import_id": batch.import_id, "plan_id": plan["_id"], "client_id": plan["client_id"]}
    documents = [
        {
            "_id": staged_id(batch.import_id, kind, i // CHUNK),
            **common,
            "figures": items[i : i + CHUNK],
        }
        for kind, items in (("c", batch.closes), ("r", batch.restatements))
        for i in range(0, len(items), CHUNK)
    ]
    now = utc_now()
    header = {
        "_id": batch.import_id,
        "kind": "header",
        "plan_id": plan["_id"],
        "client_id": plan["client_id"],
        "version": plan["version"],
        "restatements_applied": plan.get("restatements", 0),
        "closes": len(batch.closes),
        "restatements": len(batch.restatements),
        "part": batch.part,
        "stamp": batch.stamp,
        "staged_at": now,
        "lease_owner": batch.owner,
        "lease_until": now + timedelta(seconds=LEASE_SECONDS),
    }
    return header, documents


class _StagingGone(Exception):
    """The batch's staging was swept while this finisher read it: another finisher completed
    the batch, or the plan was deleted."""


def _unstage(repo: ImportRepository, header: dict[str, Any], kind: str) -> list[Any]:
    """The staged closes ("c") or restatements ("r") of a batch, in order."""
    count = header["closes" if kind == "c" else "restatements"]
    ids = [staged_id(header["_id"], kind, chunk) for chunk in range(-(-count // CHUNK))]
    staged = repo.staged(ids)
    if len(staged) < len(ids):
        raise _StagingGone
    return [item for chunk_id in ids for item in staged[chunk_id]["figures"]]


def _finish(
    db: Database,
    plan: dict[str, Any],
    header: dict[str, Any],
    batch: Batch | None,
    owner: str,
) -> bool:
    """Steps 3a-3d of the module docstring; ``batch`` is None for a finisher that is not the
    importer (it reads the staging and recomputes). False if the batch turned out void."""
    repo = ImportRepository(db)
    import_id, version = header["_id"], header["version"]

    renewed = [time.monotonic()]

    def renew() -> None:
        """Keep the lease, writing at most a few times per lease period."""
        if time.monotonic() - renewed[0] > LEASE_SECONDS / 4:
            repo.take_lease(import_id, owner, utc_now(), LEASE_SECONDS)
            renewed[0] = time.monotonic()

    if header["closes"]:
        if batch is not None:
            records, changes = batch.records, batch.changes
        else:
            records, changes = _recompute(db, plan, header, _unstage(repo, header, "c"), renew)
        if not _record_first(db, plan, header, records[0]):
            repo.release(plan["_id"], import_id)
            repo.discard(import_id)
            return False
        repo.insert_timesteps(records[1:])
        renew()
        ResultRepository(db).insert_figure_sets(
            [doc for record in records for doc in first_report_documents(plan, record)]
        )
        AuditRepository(db).append_many(
            [event for record in records for event in closed_timestep_events(plan, record)]
        )
        renew()
    if batch is not None:
        restatements = batch.restatements
    else:
        restatements = [(t, entries) for t, entries in _unstage(repo, header, "r")]
    _restate(db, plan["_id"], header, restatements, renew)
    if header["closes"]:
        spend = float(
            np.sum([row["spend"] for r in records for row in r["results"]], dtype=np.float64)
        )
        repo.advance(plan["_id"], version, import_id, {**changes, "parts": header["part"]}, spend)
    else:
        repo.release(plan["_id"], import_id)
    repo.discard(import_id)
    return True


def _recompute(
    db: Database,
    plan: dict[str, Any],
    header: dict[str, Any],
    closes: list[list[dict[str, Any]]],
    renew: Callable[[], None],
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The importer's replay again, from the plan's state and the staged figures."""
    learnt_up_to = header["restatements_applied"]
    state = learned_state(plan, ResultRepository(db), learnt_up_to)
    stamp = {**header["stamp"], "import_id": header["_id"]}

    def staged_results(index: int, _: dict[str, Any]) -> list[dict[str, Any]] | None:
        return closes[index] if index < len(closes) else None

    return replay_closes(plan, state, staged_results, stamp, learnt_up_to, renew=renew)


def _record_first(
    db: Database, plan: dict[str, Any], header: dict[str, Any], record: dict[str, Any]
) -> bool:
    """Insert the close record of the batch's first timestep; False if another request's is there."""
    repo = PlanRepository(db)
    try:
        repo.insert_timestep(record)
    except TimestepAlreadyRecorded:
        existing = repo.get_timestep(plan["_id"], record["timestep"])
        return existing is not None and existing.get("import_id") == header["_id"]
    return True


def _restate(
    db: Database,
    plan_id: str,
    header: dict[str, Any],
    restatements: list[tuple[int, list[dict[str, Any]]]],
    renew: Callable[[], None],
) -> None:
    """Step 3c: each restatement numbered in turn with other requests' (as restatements.py)."""
    plans, store = PlanRepository(db), ResultRepository(db)
    stamp = header["stamp"]
    for timestep, entries in restatements:
        for _ in range(MAX_RESTATE_ATTEMPTS):
            plan = plans.get_unscoped(plan_id, with_state=False)
            if plan is None or plan.get("pending_import") != header["_id"]:
                return  # another finisher completed the batch
            uncounted = store.get_restatement(plan_id, plan.get("restatements", 0))
            if uncounted is not None:  # another request's, half applied: finish it first
                apply_restatement(db, plan, uncounted)
                continue
            record = plans.get_timestep(plan_id, timestep)
            if record is None:
                raise Conflict(f"timestep {timestep} is not closed yet")
            figures = current_figures(db, plan, record)
            changes, confirmed, spend_delta = restatement_changes(
                figures, entries, timestep, plan["version"]
            )
            if not changes and not confirmed:
                break
            restatement = restatement_record(
                plan,
                record,
                changes,
                confirmed,
                spend_delta,
                by=stamp["reported_by"],
                by_username=stamp["reported_by_username"],
                source=stamp["source"],
            )
            try:
                store.insert_restatement({**restatement, "import_id": header["_id"]})
            except RestatementAlreadyRecorded:
                continue
            apply_restatement(db, plan, restatement)
            break
        else:
            raise Conflict(
                "the plan is being restated by many requests at once; the file is recorded and "
                "will finish applying on the plan's next read"
            )
        renew()
