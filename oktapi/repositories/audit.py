"""The audit trail: inserts and scoped reads; entries are never changed, only expired.

Listing newest-first must not cost more as the log grows, on every backend. MongoDB sorts from
its (…, at, _id) indexes; the embedded store and mongomock have hash indexes only (equality and
``$in``): a filtered listing reads only the matching entries, and for the whole log every entry
also carries its UTC ``day`` and a listing asks for the newest days first — the last 2, then 4,
8, … days — until the page is full. A page then reads the entries of the days it covers, not
the whole log; only a page that reaches the end of the retained log reads all of it.
"""

import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pymongo import DESCENDING
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from oktapi.scope import Page, Principal

COLLECTION = "audit"
DUPLICATE_KEY = 11000
NEWEST_FIRST = [("at", DESCENDING), ("_id", DESCENDING)]
# Writers' clocks may run a little ahead of the reader's.
CLOCK_SKEW = timedelta(days=1)

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
        document = self._document(
            actor=actor,
            action=action,
            client_id=client_id,
            plan_id=plan_id,
            target_id=target_id,
            changes=changes,
            event_id=event_id,
        )
        try:
            self._entries.insert_one(document)
        except DuplicateKeyError:
            if event_id is None:
                raise

    def append_many(self, events: list[dict[str, Any]]) -> None:
        """Record events that each have an ``event_id`` (``append``'s keywords), each at most once."""
        if not events:
            return
        try:
            self._entries.insert_many([self._document(**event) for event in events], ordered=False)
        except BulkWriteError as error:
            if any(e.get("code") != DUPLICATE_KEY for e in error.details.get("writeErrors", [])):
                raise

    @staticmethod
    def _document(
        *,
        actor: Principal | None,
        action: str,
        client_id: str | None = None,
        plan_id: str | None = None,
        target_id: str | None = None,
        changes: dict[str, Any] | None = None,
        event_id: str | None = None,
    ) -> dict[str, Any]:
        stamp = _write_stamp()
        at = datetime.fromtimestamp(stamp / 1e9, UTC)
        document = {
            # Time-ordered id: the tie-breaker for entries stored with the same millisecond.
            "_id": event_id or f"{stamp:016x}{uuid.uuid4().hex[:16]}",
            "at": at,
            "day": day_of(at),
            "user_id": actor.user_id if actor else None,
            "username": actor.username if actor else "system",
            "action": action,
            "client_id": client_id,
            "plan_id": plan_id,
            "target_id": target_id,
            "changes": changes or {},
        }
        return document

    def _page(self, query: dict[str, Any], page: Page) -> list[dict[str, Any]]:
        return list(
            self._entries.find(query, sort=NEWEST_FIRST, skip=page.offset, limit=page.limit)
        )

    def list(
        self,
        principal: Principal,
        page: Page,
        filters: dict[str, str] | None = None,
        *,
        retention_days: int,
    ) -> list[dict[str, Any]]:
        """Entries the caller may read: admins everything, managers their clients' entries only.

        A filter (a manager's clients, or a field) is served by its index; the whole log is
        read newest days first, widening the window until it holds the page (module docstring).
        """
        query: dict[str, Any] = dict(filters or {})
        if not principal.is_admin:
            query = {"$and": [query, principal.client_filter()]}
        if query:
            return self._page(query, page)
        newest = datetime.now(UTC) + CLOCK_SKEW
        span = retention_days + 2 * CLOCK_SKEW.days
        days = 2  # tomorrow (a writer's clock ahead) and today
        while True:
            window = [day_of(newest - timedelta(days=back)) for back in range(min(days, span))]
            entries = self._page({"day": {"$in": window}}, page)
            if len(entries) == page.limit or days >= span:
                return entries
            days *= 2

    def forget_before(self, cutoff: datetime, *, recent_days: int | None = None) -> int:
        """Delete entries older than ``cutoff``; returns how many.

        With ``recent_days``, only the days just before the cutoff are looked at (an indexed
        query, for the periodic sweep); without it, the whole log (at start-up).
        """
        if recent_days is None:
            return self._entries.delete_many({"at": {"$lt": cutoff}}).deleted_count
        expired_days = [day_of(cutoff - timedelta(days=back)) for back in range(1, recent_days)]
        deleted = self._entries.delete_many({"day": {"$in": expired_days}}).deleted_count
        boundary = {"day": day_of(cutoff), "at": {"$lt": cutoff}}
        return deleted + self._entries.delete_many(boundary).deleted_count

    def add_missing_days(self) -> int:
        """Give entries written before ``day`` existed their day, so listings find them (once)."""
        added = 0
        for entry in self._entries.find({"day": {"$exists": False}}, projection={"at": True}):
            self._entries.update_one({"_id": entry["_id"]}, {"$set": {"day": day_of(entry["at"])}})
            added += 1
        return added


def day_of(moment: datetime) -> str:
    """The UTC calendar day of ``moment`` (naive datetimes are UTC), as stored in ``day``."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return date(moment.year, moment.month, moment.day).isoformat()
