"""Every query of a batch import (services/csv_apply.py): its staging, its lease, its commit.

A batch is staged in ``plan_imports``: a header ``<import_id>`` (the plan, the version it was
checked at, who holds its lease until when) and chunks of the figures of the timesteps it closes
or restates (``<import_id>:c<k>``, ``<import_id>:r<k>``), read by nobody until the plan points at
the header through ``pending_import``. The plan moves to and from that mark only by conditional updates, and
close records are inserted under the ids ``repositories/plans.py`` gives them, so a batch meets
the timestep loop's exactly-once rules on the same documents.
"""

from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.database import Database
from pymongo.errors import BulkWriteError

from oktapi.errors import NotFound
from oktapi.repositories.clients import ClientRepository
from oktapi.repositories.plans import PLAN_TIMESTEPS, PLANS, parts_unchanged, timestep_record_id
from oktapi.repositories.results import DUPLICATE_KEY

IMPORTS = "plan_imports"


def staged_id(import_id: str, kind: str, chunk: int) -> str:
    """``kind`` is "c" (timesteps the batch closes) or "r" (ones it restates)."""
    return f"{import_id}:{kind}{chunk}"


class ImportRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._imports = db[IMPORTS]
        self._plans = db[PLANS]
        self._timesteps = db[PLAN_TIMESTEPS]

    # --- staging -------------------------------------------------------------------------------

    def stage(self, header: dict[str, Any], documents: list[dict[str, Any]]) -> None:
        """Store a batch's inputs (documents first: a header is only ever read whole)."""
        if documents:
            self._imports.insert_many(documents)
        self._imports.insert_one(header)

    def header(self, import_id: str) -> dict[str, Any] | None:
        return self._imports.find_one({"_id": import_id})

    def staged(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        wanted: Any = ids[0] if len(ids) == 1 else {"$in": ids}
        return {doc["_id"]: doc for doc in self._imports.find({"_id": wanted})}

    def discard(self, import_id: str) -> None:
        self._imports.delete_many({"import_id": import_id})
        self._imports.delete_one({"_id": import_id})

    def stale(self, plan_id: str, before: datetime) -> list[str]:
        """Headers of a plan staged before ``before`` (attempts that died before their commit)."""
        found = self._imports.find(
            {"plan_id": plan_id, "kind": "header", "staged_at": {"$lt": before}},
            projection={"_id": True},
        )
        return [doc["_id"] for doc in found]

    # --- the lease: one finisher at a time -----------------------------------------------------

    def take_lease(
        self, import_id: str, owner: str, now: datetime, seconds: float
    ) -> dict[str, Any] | None:
        """The header, if ``owner`` holds the lease now (it did already, or it had expired)."""
        return self._imports.find_one_and_update(
            {
                "_id": import_id,
                "$or": [
                    {"lease_owner": {"$in": [owner, None]}},
                    {"lease_until": {"$lt": now}},
                ],
            },
            {"$set": {"lease_owner": owner, "lease_until": now + timedelta(seconds=seconds)}},
            return_document=ReturnDocument.AFTER,
        )

    def expire_leases(self) -> None:
        """End every lease (at start-up of a store only this process uses)."""
        self._imports.update_many(
            {"kind": "header", "lease_owner": {"$ne": None}}, {"$set": {"lease_owner": None}}
        )

    # --- the plan's mark -----------------------------------------------------------------------

    def commit(
        self,
        plan: dict[str, Any],
        import_id: str,
        parts: dict[str, dict[str, Any]],
        *,
        closes: bool,
    ) -> dict[str, Any] | None:
        """Mark the plan as applying ``import_id`` (with ``parts`` of the open timestep), if it
        is still at the version it was read at (and its ``changes`` counter, once plans have
        one) with no other import pending; the plan's parts after, or None.

        A batch that ``closes`` the open timestep closes it with the parts it read: it commits
        only if none of them was replaced since (a part posted again meanwhile was answered
        "waiting"; the batch is rebuilt with it rather than losing it).
        """
        changes = plan.get("changes") or {"$in": [0, None]}
        query: dict[str, Any] = {
            "_id": plan["_id"],
            "version": plan["version"],
            "changes": changes,
            "pending_import": None,
        }
        if closes:
            query.update(parts_unchanged(plan.get("parts") or {}))
        return self._plans.find_one_and_update(
            query,
            {
                "$set": {
                    "pending_import": import_id,
                    **{f"parts.{campaign_id}": doc for campaign_id, doc in parts.items()},
                }
            },
            projection={"parts": 1, "version": 1},
            return_document=ReturnDocument.AFTER,
        )

    def release(self, plan_id: str, import_id: str) -> bool:
        """Clear the mark (a batch that closes nothing, or a void one)."""
        result = self._plans.update_one(
            {"_id": plan_id, "pending_import": import_id}, {"$set": {"pending_import": None}}
        )
        return result.matched_count == 1

    def advance(
        self,
        plan_id: str,
        version: int,
        import_id: str,
        changes: dict[str, Any],
        spend: float,
    ) -> bool:
        """Move the plan from ``version`` past the batch's closes and clear the mark, once."""
        result = self._plans.update_one(
            {"_id": plan_id, "version": version, "pending_import": import_id},
            {"$set": {**changes, "pending_import": None}, "$inc": {"budget_spent": spend}},
        )
        return result.matched_count == 1

    # --- close records -------------------------------------------------------------------------

    def insert_timesteps(self, records: list[dict[str, Any]]) -> None:
        """Close records a batch computed; the ones already there (a redo) stay as they are.

        Taken back if the client went meanwhile (as ``PlanRepository.insert_timestep``)."""
        if not records:
            return
        documents = [
            {**record, "_id": timestep_record_id(record["plan_id"], record["timestep"])}
            for record in records
        ]
        try:
            self._timesteps.insert_many(documents, ordered=False)
        except BulkWriteError as error:
            others = [
                e for e in error.details.get("writeErrors", []) if e.get("code") != DUPLICATE_KEY
            ]
            if others:
                raise
        client_live = ClientRepository(self._db).is_live(records[0]["client_id"])
        if not client_live or not self._plans.find_one(
            {"_id": records[0]["plan_id"]}, projection={"_id": True}
        ):  # the client or plan went meanwhile
            self._timesteps.delete_many({"_id": {"$in": [doc["_id"] for doc in documents]}})
            raise NotFound("Plan")
