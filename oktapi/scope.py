"""Who is calling and what they may see, below the web layer.

The routers build a `Principal` from the token (oktapi/deps.py) and a `Page` from the query
string; services and repositories take both as plain values and know nothing of FastAPI.
"""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Principal:
    """Who is calling and which clients they may see; repositories scope every query with it."""

    user_id: str
    username: str
    role: str
    client_ids: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def can_see(self, client_id: str) -> bool:
        return self.is_admin or client_id in self.client_ids

    def client_filter(self, field: str = "client_id") -> dict[str, Any]:
        """The MongoDB filter that limits rows to the caller's clients (empty for admins)."""
        if self.is_admin:
            return {}
        return {field: {"$in": sorted(self.client_ids)}}


@dataclass(frozen=True)
class Page:
    """One page of a listing: at most `limit` rows after skipping `offset`."""

    limit: int
    offset: int
