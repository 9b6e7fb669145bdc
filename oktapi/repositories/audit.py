"""The append-only audit trail: inserts and scoped reads, never updates or deletes."""

import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from pymongo import DESCENDING
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from oktapi.deps import Page, Principal

COLLECTION = "audit"

_clock_lock = threading.Lock()
_last_stamp_ns = 0


def _write_stamp() -> int:
    """Nanoseconds, strictly increasing within the process, so same-millisecond entries keep order."""
    global _last_stamp_ns
    with _clock_lock:
        _last_stamp_ns = max(time.time_ns(), _last_stamp_ns + 1)
        return _last_stamp_ns


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
        event_id: str | None = None,
    ) -> None:
        """Record one action; with ``event_id`` an event is recorded at most once (retries, repair)."""
        stamp = _write_stamp()
        document = {
            # Time-ordered id: the tie-breaker for entries stored with the same millisecond.
            "_id": event_id or f"{stamp:016x}{uuid.uuid4().hex[:16]}",
            "at": datetime.fromtimestamp(stamp / 1e9, UTC),
            "user_id": actor.user_id if actor else None,
            "username": actor.username if actor else "system",
            "action": action,
            "client_id": client_id,
            "plan_id": plan_id,
            "target_id": target_id,
            "changes": changes or {},
        }
        try:
            self._entries.insert_one(document)
        except DuplicateKeyError:
            if event_id is None:
                raise

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
