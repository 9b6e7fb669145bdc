"""Client documents; every read and write is limited to the caller's clients (field `_id`).

A missing client, or one the caller may not see, is None here; the services raise NotFound.

Deleting a client races with the writes that hang off it (a campaign, a plan, a timestep's
record posted at that moment). Without transactions the database settles it in two steps:
deletion first marks the client ``deleting``, then sweeps everything with its ``client_id``;
every such write checks, after it is stored, that its client is still live (``is_live``) and
takes itself back if not. A write checked before the mark is swept; one checked after it sees
the mark. Either way nothing outlives the client.
"""

from typing import Any

from pymongo import ASCENDING
from pymongo.database import Database

from oktapi.repositories.base import new_id, scoped, utc_now
from oktapi.scope import Page, Principal

COLLECTION = "clients"
SCOPE_FIELD = "_id"
# What carries a client_id and goes with the client (the audit trail stays). Plans go before what
# hangs off them: a write of a plan's records that checks its plan after it is stored (results.py)
# either lands before that sweep or finds its plan gone.
DEPENDENT_COLLECTIONS = (
    "campaigns",
    "plans",
    "plan_timesteps",
    "plan_results",
    "plan_restatements",
    "plan_imports",
    "idempotency_keys",
)


class ClientRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._clients = db[COLLECTION]

    def _scoped(self, principal: Principal, query: dict[str, Any]) -> dict[str, Any]:
        return scoped(principal, query, SCOPE_FIELD)

    def get(self, principal: Principal, client_id: str) -> dict[str, Any] | None:
        """The client, or None if it is missing or not the caller's."""
        return self._clients.find_one(self._scoped(principal, {"_id": client_id}))

    def list_page(self, principal: Principal, page: Page) -> list[dict[str, Any]]:
        return list(
            self._clients.find(
                self._scoped(principal, {}),
                sort=[("name", ASCENDING), ("_id", ASCENDING)],
                skip=page.offset,
                limit=page.limit,
            )
        )

    def is_live(self, client_id: str) -> bool:
        """The client exists and no deletion has started (the check after a dependent write)."""
        found = self._clients.find_one(
            {"_id": client_id, "deleting": {"$ne": True}}, projection={"_id": True}
        )
        return found is not None

    def existing_ids(self, client_ids: list[str]) -> set[str]:
        """Which of these ids are clients (admin-only checks, e.g. assigning clients to a user)."""
        if not client_ids:
            return set()
        found = self._clients.find({"_id": {"$in": client_ids}}, projection={"_id": True})
        return {client["_id"] for client in list(found)}

    def create(self, *, name: str, currency: str, created_by: str) -> dict[str, Any]:
        now = utc_now()
        client = {
            "_id": new_id(),
            "name": name,
            "currency": currency,
            "created_at": now,
            "updated_at": now,
            "created_by": created_by,
        }
        self._clients.insert_one(client)
        return client

    def update(
        self, principal: Principal, client_id: str, changes: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The client with `changes` applied, or None if it is missing or not the caller's."""
        client = self.get(principal, client_id)
        if client is None or not changes:
            return client
        changes = {**changes, "updated_at": utc_now()}
        result = self._clients.update_one(
            self._scoped(principal, {"_id": client_id}), {"$set": changes}
        )
        if result.matched_count == 0:
            return None  # deleted meanwhile
        return {**client, **changes}

    def delete(self, principal: Principal, client_id: str) -> dict[str, Any] | None:
        """Delete the client and everything that hangs off it; the deleted client, or None.

        Marked first, swept after (see the module docstring); an interrupted deletion is
        finished by deleting the client again.
        """
        client = self._clients.find_one_and_update(
            self._scoped(principal, {"_id": client_id}), {"$set": {"deleting": True}}
        )
        if client is None:
            return None
        plan_ids = [
            plan["_id"]
            for plan in self._db["plans"].find({"client_id": client_id}, projection={"_id": True})
        ]
        self._db["plan_timesteps"].delete_many({"plan_id": {"$in": plan_ids}})
        for collection in DEPENDENT_COLLECTIONS:
            self._db[collection].delete_many({"client_id": client_id})
        self._db["users"].update_many(
            {"client_ids": client_id}, {"$pull": {"client_ids": client_id}}
        )
        self._clients.delete_one(self._scoped(principal, {"_id": client_id}))
        return client
