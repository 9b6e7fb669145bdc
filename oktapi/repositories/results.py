"""The results store: every campaign's figures for every closed timestep, and every restatement.

One document per figure set (plan, timestep, campaign) in ``plan_results`` under
``_id = "<plan_id>:<timestep>:<campaign_id>"``, holding the latest figures, their ``revision``
(restatements that changed them) and ``observed_at`` (the plan version when they were reported).
Each restatement is one document in ``plan_restatements`` under ``_id = "<plan_id>:r<seq>"``,
``seq`` counting the plan's restatements: what changed (before and after), when, by whom and
from which source. Exactly once is the database's: only one insert per ``seq`` can succeed, and
figure sets move on only by a conditional update on their revision.

A campaign's history (days before or outside any plan, ``POST /campaigns/{id}/history``) is in
the same collection: one figure set per campaign and day under ``_id = "<campaign_id>:<date>"``,
``plan_id`` null, ``date`` an ISO day. A restatement of a day moves it from its revision to the
next in one conditional write that also appends the figures it replaces to its ``revisions``.
"""

from collections.abc import Iterable
from typing import Any

from pymongo import ASCENDING
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from oktapi.errors import NotFound
from oktapi.repositories.base import scoped
from oktapi.repositories.clients import ClientRepository
from oktapi.scope import Page, Principal

FIGURE_SETS = "plan_results"
RESTATEMENTS = "plan_restatements"
DUPLICATE_KEY = 11000


def figure_set_id(plan_id: str, timestep: int, campaign_id: str) -> str:
    return f"{plan_id}:{timestep}:{campaign_id}"


def timestep_key(plan_id: str, timestep: int) -> str:
    """What a history page looks figure sets up by: one indexed value per (plan, timestep)."""
    return f"{plan_id}:{timestep}"


def history_day_id(campaign_id: str, day: str) -> str:
    return f"{campaign_id}:{day}"


def restatement_id(plan_id: str, seq: int) -> str:
    return f"{plan_id}:r{seq}"


class RestatementAlreadyRecorded(Exception):
    """Another request recorded a restatement under this sequence number first."""


class ResultRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._figures = db[FIGURE_SETS]
        self._restatements = db[RESTATEMENTS]

    # --- figure sets ---------------------------------------------------------------------------

    def insert_figure_sets(self, documents: list[dict[str, Any]]) -> None:
        """Store first reports; the ones already stored (a retry, a crash repair) stay as they are.

        Taken back (NotFound) if their plan was deleted meanwhile, its sweep maybe before this
        write: a plan's deletion (and its client's) removes the plan before its figure sets.
        """
        if not documents:
            return
        try:
            self._figures.insert_many(documents, ordered=False)
        except BulkWriteError as error:
            others = [
                e for e in error.details.get("writeErrors", []) if e.get("code") != DUPLICATE_KEY
            ]
            if others:
                raise
        plan_ids = sorted({document["plan_id"] for document in documents})
        live = self._db["plans"].find({"_id": {"$in": plan_ids}}, projection={"_id": True})
        gone = sorted(set(plan_ids) - {plan["_id"] for plan in live})
        if gone:
            self.delete_for_plans(gone)
            raise NotFound("Plan")

    def delete_first_reports(self, plan_id: str, timestep: int, campaign_ids: list[str]) -> None:
        """Figure sets of a close record taken back (never restated: the timestep stayed open)."""
        ids = [figure_set_id(plan_id, timestep, campaign_id) for campaign_id in campaign_ids]
        if ids:
            self._figures.delete_many({"_id": {"$in": ids}, "revision": {"$in": [0, None]}})

    def figure_sets(self, plan_id: str, timesteps: list[int]) -> list[dict[str, Any]]:
        """The figure sets of the given timesteps: one indexed lookup per timestep, so the cost
        is the page's, whatever the plan's length (no query on plan_id alone)."""
        if not timesteps:
            return []
        keys = [timestep_key(plan_id, timestep) for timestep in timesteps]
        wanted: Any = keys[0] if len(keys) == 1 else {"$in": keys}
        return list(self._figures.find({"timestep_key": wanted}))

    def move_figure_set(
        self, document_id: str, expected_revision: int, changes: dict[str, Any]
    ) -> bool:
        """Apply one restatement to a figure set; False if it already moved past that revision."""
        result = self._figures.update_one(
            {"_id": document_id, "revision": expected_revision}, {"$set": changes}
        )
        return result.matched_count == 1

    def confirm_figure_sets(self, document_ids: list[str], revision: int, observed_at: int) -> None:
        """Figure sets seen again unchanged at ``observed_at``, those still at ``revision``."""
        self._figures.update_many(
            {"_id": {"$in": document_ids}, "revision": revision},
            {"$set": {"observed_at": observed_at}},
        )

    def figure_sets_of_campaigns(
        self, plan_id: str, timesteps: Iterable[int], campaign_ids: list[str]
    ) -> list[dict[str, Any]]:
        """The figure sets of some timesteps of a plan, for the given campaigns only."""
        keys = [timestep_key(plan_id, timestep) for timestep in timesteps]
        if not keys or not campaign_ids:
            return []
        return list(
            self._figures.find(
                {"timestep_key": {"$in": keys}, "campaign_id": {"$in": campaign_ids}}
            )
        )

    # --- campaign history (days outside plans) -------------------------------------------------

    def history_page(
        self, principal: Principal, campaign_id: str, page: Page
    ) -> tuple[int, list[dict[str, Any]]]:
        """(days recorded, one page of them oldest first) of a campaign the caller may see."""
        query = scoped(principal, {"campaign_id": campaign_id, "plan_id": None})
        total = self._figures.count_documents(query)
        rows = self._figures.find(
            query, sort=[("date", ASCENDING)], skip=page.offset, limit=page.limit
        )
        return total, list(rows)

    def history_days(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """The recorded days among ``ids`` (``history_day_id``), by id."""
        if not ids:
            return {}
        return {doc["_id"]: doc for doc in self._figures.find({"_id": {"$in": ids}})}

    def insert_history_days(self, documents: list[dict[str, Any]]) -> set[str]:
        """Store new days; returns the ids another request stored first (to restate instead)."""
        if not documents:
            return set()
        try:
            self._figures.insert_many(documents, ordered=False)
        except BulkWriteError as error:
            errors = error.details.get("writeErrors", [])
            if any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            return {documents[e["index"]]["_id"] for e in errors}
        return set()

    def restate_history_day(
        self,
        document_id: str,
        expected_revision: int,
        changes: dict[str, Any],
        replaced: dict[str, Any],
    ) -> bool:
        """Move a day to its next revision, keeping the figures it replaces; False if it moved."""
        result = self._figures.update_one(
            {"_id": document_id, "revision": expected_revision},
            {
                "$set": {**changes, "revision": expected_revision + 1},
                "$push": {"revisions": replaced},
            },
        )
        return result.matched_count == 1

    def history_before(
        self, campaign_ids: list[str], first_day: str, before_day: str
    ) -> list[dict[str, Any]]:
        """Recorded days of these campaigns from ``first_day`` up to ``before_day`` (excluded)."""
        if not campaign_ids:
            return []
        return list(
            self._figures.find(
                {
                    "campaign_id": {"$in": campaign_ids},
                    "plan_id": None,
                    "date": {"$gte": first_day, "$lt": before_day},
                }
            )
        )

    def delete_history(self, campaign_id: str) -> None:
        self._figures.delete_many({"campaign_id": campaign_id, "plan_id": None})

    # --- restatements --------------------------------------------------------------------------

    def insert_restatement(self, record: dict[str, Any]) -> None:
        """Record a restatement (the commit point); taken back if its client went meanwhile."""
        record = {**record, "_id": restatement_id(record["plan_id"], record["seq"])}
        try:
            self._restatements.insert_one(record)
        except DuplicateKeyError:
            raise RestatementAlreadyRecorded from None
        client_live = ClientRepository(self._db).is_live(record["client_id"])
        if not client_live or not self._db["plans"].find_one(
            {"_id": record["plan_id"]}, projection={"_id": True}
        ):
            self._restatements.delete_one({"_id": record["_id"]})  # client or plan deleted
            raise NotFound("Plan")

    def get_restatement(self, plan_id: str, seq: int) -> dict[str, Any] | None:
        return self._restatements.find_one({"_id": restatement_id(plan_id, seq)})

    def restatements(self, plan_id: str, start: int, stop: int) -> list[dict[str, Any]]:
        """Restatements ``start`` .. ``stop - 1`` of a plan, in order."""
        if stop <= start:
            return []
        ids = [restatement_id(plan_id, seq) for seq in range(start, stop)]
        found = {r["seq"]: r for r in self._restatements.find({"_id": {"$in": ids}})}
        return [found[seq] for seq in range(start, stop) if seq in found]

    def pending_restatements(self, plans: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Restatements recorded but not yet counted by their plan (a crash between two writes)."""
        wanted = [restatement_id(plan["_id"], plan.get("restatements", 0)) for plan in plans]
        if not wanted:
            return {}
        return {r["plan_id"]: r for r in self._restatements.find({"_id": {"$in": wanted}})}

    def delete_for_plans(self, plan_ids: list[str]) -> None:
        if plan_ids:
            self._figures.delete_many({"plan_id": {"$in": plan_ids}})
            self._restatements.delete_many({"plan_id": {"$in": plan_ids}})
