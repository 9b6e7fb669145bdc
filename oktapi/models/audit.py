"""Audit trail entries as the API shows them: who did what, when, to which client or plan."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AuditEntryPublic(BaseModel):
    """One append-only record; `changes` holds what changed (never a password or its hash)."""

    model_config = ConfigDict(extra="ignore")

    id: str
    at: datetime
    user_id: str | None = None
    username: str
    action: str
    client_id: str | None = None
    plan_id: str | None = None
    target_id: str | None = None
    changes: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> "AuditEntryPublic":
        return cls(id=document["_id"], **{k: v for k, v in document.items() if k != "_id"})
