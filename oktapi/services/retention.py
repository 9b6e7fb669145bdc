"""How long the audit trail, failed logins and idempotency keys are kept, and their expiry.

MongoDB expires them itself through TTL indexes; on the embedded store (and mongomock) they are
swept: the whole of each collection once at start-up, then every RETENTION_SWEEP_SECONDS the
days that just passed the retention limit (an indexed query, so the sweep stays cheap).
"""

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from pymongo.database import Database

from oktapi.repositories.audit import AuditRepository
from oktapi.repositories.idempotency import IdempotencyRepository
from oktapi.repositories.imports import ImportRepository
from oktapi.repositories.indexes import ensure_indexes
from oktapi.repositories.users import LoginFailureRepository
from oktapi.settings import Settings
from oktapi.storage import Storage

logger = logging.getLogger(__name__)

DAY_SECONDS = 24 * 3600
IDEMPOTENCY_KEY_SECONDS = DAY_SECONDS
RETENTION_SWEEP_SECONDS = 3600
# How far behind the cutoff the periodic audit sweep looks (days missed while the server was
# down are caught by the full sweep at the next start).
SWEEP_LOOKBACK_DAYS = 7


def expiry_seconds(settings: Settings) -> dict[str, int]:
    """Seconds each expiring collection keeps a document, by collection."""
    return {
        "audit": settings.audit_retention_days * DAY_SECONDS,
        "login_failures": settings.login_failure_retention_days * DAY_SECONDS,
        "idempotency_keys": IDEMPOTENCY_KEY_SECONDS,
    }


def prepare_storage(storage: Storage, settings: Settings) -> None:
    """Indexes (TTL ones where the backend honours them), older audit entries dated, a sweep."""
    native = storage.expires_documents
    ensure_indexes(storage.db, expire_after=expiry_seconds(settings) if native else None)
    AuditRepository(storage.db).add_missing_days()
    if storage.backend == "embedded":  # one process: an import lease it finds is a dead one's
        ImportRepository(storage.db).expire_leases()
    if not native:
        sweep_expired(storage.db, settings, whole=True)


def sweep_expired(
    db: Database, settings: Settings, *, now: datetime | None = None, whole: bool = False
) -> dict[str, int]:
    """Delete what is past its retention; returns how many documents per collection."""
    now = now or datetime.now(UTC)
    cutoffs = {
        name: now - timedelta(seconds=seconds) for name, seconds in expiry_seconds(settings).items()
    }
    deleted = {
        "audit": AuditRepository(db).forget_before(
            cutoffs["audit"], recent_days=None if whole else SWEEP_LOOKBACK_DAYS
        ),
        "login_failures": LoginFailureRepository(db).forget_before(cutoffs["login_failures"]),
        "idempotency_keys": IdempotencyRepository(db).forget_before(cutoffs["idempotency_keys"]),
    }
    if any(deleted.values()):
        logger.info("retention sweep deleted %s", deleted)
    return deleted


async def sweep_periodically(db: Database, settings: Settings) -> None:
    """Run the sweep every RETENTION_SWEEP_SECONDS until cancelled (at shutdown)."""
    while True:
        await asyncio.sleep(RETENTION_SWEEP_SECONDS)
        try:
            await asyncio.to_thread(sweep_expired, db, settings)
        except Exception:  # a failed sweep must not stop the next one
            logger.exception("retention sweep failed")
