"""Idempotency keys of plan creations: one claim per (user, key), settled by a unique index.

A claim names the plan id its creation will use, so a retry finds that plan once it exists.
"""

from datetime import datetime
from typing import Any

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from oktapi.repositories.base import new_id, utc_now

COLLECTION = "idempotency_keys"


class IdempotencyRepository:
    def __init__(self, db: Database) -> None:
        self._keys = db[COLLECTION]

    def claim(
        self, *, user_id: str, key: str, client_id: str, fingerprint: str
    ) -> dict[str, Any] | None:
        """Take the key for a new plan id; None if someone (this user, earlier) holds it."""
        claim = {
            "_id": new_id(),
            "user_id": user_id,
            "key": key,
            "client_id": client_id,
            "fingerprint": fingerprint,
            "plan_id": new_id(),
            "created_at": utc_now(),
        }
        try:
            self._keys.insert_one(claim)
        except DuplicateKeyError:
            return None
        return claim

    def get(self, user_id: str, key: str) -> dict[str, Any] | None:
        return self._keys.find_one({"user_id": user_id, "key": key})

    def take_over(self, claim: dict[str, Any], stale_before: datetime) -> dict[str, Any] | None:
        """A claim whose creation died before storing its plan, re-aimed at a fresh plan id."""
        fresh = {"plan_id": new_id(), "created_at": utc_now()}
        result = self._keys.update_one(
            {"_id": claim["_id"], "plan_id": claim["plan_id"], "created_at": {"$lt": stale_before}},
            {"$set": fresh},
        )
        return {**claim, **fresh} if result.matched_count == 1 else None

    def release(self, claim: dict[str, Any]) -> None:
        """Give the key back after a refused creation, so a corrected retry can use it."""
        self._keys.delete_one({"_id": claim["_id"], "plan_id": claim["plan_id"]})

    def forget_before(self, cutoff: datetime) -> int:
        return self._keys.delete_many({"created_at": {"$lt": cutoff}}).deleted_count
