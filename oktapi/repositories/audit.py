"""The append-only audit trail: inserts and scoped reads, never updates or deletes."""

import uuid
from datetime import UTC, datetime
from typing import Any

from pymongo import DESCENDING
from pymongo.database import Database

from oktapi.deps import Page, Principal

COLLECTION = "audit"


class AuditRepository:
    def __init__(self, db: Database) -> None:
        self._entries = db[COLLECTION]

    def append(
        self,
        *,
        actor: Principal | None,
        action: str,
        client_id: str | None = None,
        plan_id: str | None = None,
        target_id: str | None = None,
        changes: dict[str, Any] | None = None,
    ) -> None:
        self._entries.insert_one(
            {
                "_id": uuid.uuid4().hex,
                "at": datetime.now(UTC),
                "user_id": actor.user_id if actor else None,
                "username": actor.username if actor else "system",
                "action": action,
                "client_id": client_id,
                "plan_id": plan_id,
                "target_id": target_id,
                "changes": changes or {},
            }
        )

    def list(
        self, principal: Principal, page: Page, filters: dict[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """Entries the caller may read: admins everything, managers their clients' entries only."""
        query: dict[str, Any] = dict(filters or {})
        if not principal.is_admin:
            query = {"$and": [query, principal.client_filter()]}
        return list(
            self._entries.find(
                query,
                sort=[("at", DESCENDING), ("_id", DESCENDING)],
                skip=page.offset,
                limit=page.limit,
            )
        )
