"""User documents and the failed-login log that rate-limits password guessing.

A missing user is None here; the services raise NotFound.
"""

from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from oktapi.errors import Conflict
from oktapi.repositories.base import new_id, utc_now
from oktapi.scope import Page

COLLECTION = "users"
LOGIN_FAILURES = "login_failures"


class UserRepository:
    """Users are an admin-only resource, so these methods take no Principal."""

    def __init__(self, db: Database) -> None:
        self._users = db[COLLECTION]

    def get(self, user_id: str) -> dict[str, Any] | None:
        return self._users.find_one({"_id": user_id})

    def find_by_username(self, username: str) -> dict[str, Any] | None:
        return self._users.find_one({"username": username})

    def list_page(self, page: Page) -> list[dict[str, Any]]:
        return list(
            self._users.find(
                {},
                sort=[("username", ASCENDING), ("_id", ASCENDING)],
                skip=page.offset,
                limit=page.limit,
            )
        )

    def create(
        self, *, username: str, password_hash: str, role: str, client_ids: list[str]
    ) -> dict[str, Any]:
        now = utc_now()
        user = {
            "_id": new_id(),
            "username": username,
            "password_hash": password_hash,
            "role": role,
            "client_ids": client_ids,
            "disabled": False,
            "token_version": 0,
            "created_at": now,
            "updated_at": now,
        }
        try:
            self._users.insert_one(user)
        except DuplicateKeyError:
            raise Conflict(f"The username {username!r} is taken") from None
        return user

    def update(
        self, user_id: str, changes: dict[str, Any], *, revoke_tokens: bool = False
    ) -> dict[str, Any] | None:
        """Apply `changes`; `revoke_tokens` bumps token_version so earlier tokens stop working.

        The updated user, or None if there is no such user.
        """
        user = self.get(user_id)
        if user is None:
            return None
        changes = {**changes, "updated_at": utc_now()}
        update: dict[str, Any] = {"$set": changes}
        if revoke_tokens:
            update["$inc"] = {"token_version": 1}
        result = self._users.update_one({"_id": user_id}, update)
        if result.matched_count == 0:
            return None  # deleted meanwhile
        updated = {**user, **changes}
        if revoke_tokens:
            updated["token_version"] = user.get("token_version", 0) + 1
        return updated

    def upgrade_password_hash(self, user_id: str, *, old: str, new: str) -> None:
        """Store a re-hash of the same password, unless the password changed meanwhile."""
        self._users.update_one(
            {"_id": user_id, "password_hash": old}, {"$set": {"password_hash": new}}
        )

    def add_client(self, user_id: str, client_id: str) -> None:
        self._users.update_one(
            {"_id": user_id},
            {"$addToSet": {"client_ids": client_id}, "$set": {"updated_at": utc_now()}},
        )

    def delete(self, user_id: str) -> dict[str, Any] | None:
        """The deleted user, or None if there was none."""
        return self._users.find_one_and_delete({"_id": user_id})


class LoginFailureRepository:
    """Failed logins per (username, client address) and per address; in the database so every
    worker agrees."""

    def __init__(self, db: Database) -> None:
        self._failures = db[LOGIN_FAILURES]

    def recent(self, key: str, since: datetime) -> list[datetime]:
        """When `key` failed since `since`, oldest first."""
        found = self._failures.find(
            {"key": key, "at": {"$gte": since}}, sort=[("at", ASCENDING)], projection={"at": True}
        )
        return [failure["at"] for failure in list(found)]

    def recent_from(self, address: str, since: datetime) -> list[datetime]:
        """When any username failed from `address` since `since`, oldest first."""
        found = self._failures.find(
            {"address": address, "at": {"$gte": since}},
            sort=[("at", ASCENDING)],
            projection={"at": True},
        )
        return [failure["at"] for failure in list(found)]

    def count_since(self, key: str, since: datetime) -> int:
        return self._failures.count_documents({"key": key, "at": {"$gte": since}})

    def count_from(self, address: str, since: datetime) -> int:
        return self._failures.count_documents({"address": address, "at": {"$gte": since}})

    def record(self, key: str, address: str, at: datetime) -> str:
        """Log an attempt as failed (until it succeeds); returns its id."""
        attempt_id = new_id()
        self._failures.insert_one({"_id": attempt_id, "key": key, "address": address, "at": at})
        return attempt_id

    def remove(self, attempt_id: str) -> None:
        self._failures.delete_one({"_id": attempt_id})

    def clear(self, key: str) -> None:
        self._failures.delete_many({"key": key})

    def forget_before(self, cutoff: datetime) -> int:
        """Drop failures too old to matter, so the log stays small; returns how many."""
        return self._failures.delete_many({"at": {"$lt": cutoff}}).deleted_count
