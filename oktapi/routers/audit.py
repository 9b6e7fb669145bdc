"""GET /audit: the append-only trail, scoped by the repository to what the caller may read."""

from typing import Annotated

from fastapi import APIRouter, Query

from oktapi.deps import CurrentPrincipal, DbDep, PageDep, SettingsDep
from oktapi.models.audit import AuditEntryPublic
from oktapi.repositories.audit import AuditRepository

router = APIRouter(tags=["audit"])

# Ids are short hex strings; a bound keeps a hostile filter from costing anything.
FilterValue = Annotated[str | None, Query(min_length=1, max_length=200)]


@router.get("/audit")
def list_audit_entries(
    principal: CurrentPrincipal,
    db: DbDep,
    settings: SettingsDep,
    page: PageDep,
    client_id: FilterValue = None,
    plan_id: FilterValue = None,
    user_id: FilterValue = None,
    action: FilterValue = None,
) -> list[AuditEntryPublic]:
    """Newest first; admins see every entry, managers only the entries of their own clients."""
    filters = {
        field: value
        for field, value in (
            ("client_id", client_id),
            ("plan_id", plan_id),
            ("user_id", user_id),
            ("action", action),
        )
        if value is not None
    }
    entries = AuditRepository(db).list(
        principal, page, filters, retention_days=settings.audit_retention_days
    )
    return [AuditEntryPublic.from_document(entry) for entry in entries]
