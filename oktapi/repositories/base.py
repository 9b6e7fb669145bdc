"""What every scoped repository shares: ids, timestamps and the caller's tenant filter."""

import uuid
from datetime import UTC, datetime
from typing import Any

from oktapi.scope import Principal


def new_id() -> str:
    """A fresh document id; a malformed id in a path then simply matches nothing (404)."""
    return uuid.uuid4().hex


def utc_now() -> datetime:
    """Millisecond precision, so every backend (MongoDB keeps milliseconds) reads back the same."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def scoped(principal: Principal, query: dict[str, Any], field: str = "client_id") -> dict[str, Any]:
    """`query` limited to the caller's clients; `$and` keeps both conditions on the same field."""
    tenant = principal.client_filter(field)
    if not tenant:
        return query
    if not query:
        return tenant
    return {"$and": [query, tenant]}
