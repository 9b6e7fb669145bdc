"""Campaign history: daily results from before a plan, by JSON or CSV, restated when sent again.

Days live in the results store beside plan figures (``repositories/results.py``), one figure set
per campaign and day. An upload is checked in full first (dates not in the future, each day once,
figures finite and >= 0: a 422 naming every bad row, nothing stored), then applied day by day:
a new day is inserted at revision 0; a day sent with other figures moves to its next revision in
one conditional write that keeps what it replaces; a day sent as recorded changes nothing. A
retry of the same upload therefore changes nothing, and two concurrent uploads of one day are
applied one after the other (the loser re-reads and restates).
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from pymongo.database import Database

from oktapi.errors import Conflict, Invalid, NotFound, must_exist
from oktapi.models.history import (
    CampaignHistory,
    HistoryDay,
    HistoryDayPublic,
    HistoryUploadPublic,
)
from oktapi.reports import DateOrder
from oktapi.repositories.audit import AuditRepository
from oktapi.repositories.base import utc_now
from oktapi.repositories.campaigns import CampaignRepository
from oktapi.repositories.clients import ClientRepository
from oktapi.repositories.results import ResultRepository, history_day_id
from oktapi.scope import Page, Principal
from oktapi.services.csv_report import CsvRejected, ranges
from oktapi.services.figures import RESULT_FIELDS, restated_figures
from oktapi.services.history_report import future_day, parse_history_report

# Concurrent restatements of one day take revisions in turn; each loss costs a re-read.
MAX_ATTEMPTS = 16
# Days whose before/after an audit entry lists (each day keeps its own trail in ``revisions``):
# keeps an entry of a 200,000-row file far below MongoDB's 16 MB document limit.
MAX_AUDITED_RESTATEMENTS = 1000

Problem = tuple[str, tuple[str | int, ...]]


@dataclass(frozen=True)
class DayFigures:
    """One campaign's figures of one day as sent, and where in the upload they were."""

    campaign_id: str
    day: date
    figures: dict[str, Any]
    loc: tuple[str | int, ...]  # the upload's location of the row, for messages
    label: str  # "results[3]" or "row 7"


@dataclass
class Applied:
    """What an upload did, per campaign: days added, restated (before, after), unchanged."""

    added: dict[str, list[str]] = field(default_factory=dict)
    restated: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    unchanged: dict[str, list[str]] = field(default_factory=dict)


def today() -> date:
    """The latest day that may have results: today in UTC (a day later is in the future)."""
    return datetime.now(UTC).date()


# --- the routes --------------------------------------------------------------------------------


def record_history(
    *, db: Database, principal: Principal, campaign_id: str, days: list[HistoryDay]
) -> HistoryUploadPublic:
    """POST /campaigns/{id}/history: store the days (all or none), restating those recorded."""
    campaign = must_exist(CampaignRepository(db).get(principal, campaign_id), "Campaign")
    rows = [
        DayFigures(
            campaign_id,
            day.date,
            {name: getattr(day, name) for name in RESULT_FIELDS},
            ("body", "results", index, "date"),
            f"results[{index}]",
        )
        for index, day in enumerate(days)
    ]
    return _upload(db, principal, campaign["client_id"], rows, source="api")


def import_history_csv(
    *,
    db: Database,
    principal: Principal,
    client_id: str,
    content: bytes,
    ignore_unknown: bool = False,
    date_order: DateOrder | None = None,
) -> HistoryUploadPublic:
    """POST /clients/{id}/history/csv: a platform report's days for any of the client's campaigns."""
    client = must_exist(ClientRepository(db).get(principal, client_id), "Client")
    report = parse_history_report(
        content,
        campaigns=CampaignRepository(db).all_for_client(principal, client_id),
        currency=client.get("currency") or "USD",
        latest=today(),
        ignore_unknown=ignore_unknown,
        date_order=date_order,
    )
    if not report.rows:
        ignored = f" (ignored: {', '.join(report.unknown_campaigns)})"
        raise Invalid(
            "the file has no rows for the client's campaigns"
            + (ignored if report.unknown_campaigns else ""),
            ("body",),
        )
    rows = [
        DayFigures(
            row.campaign_id,
            row.day,
            {
                "spend": row.spend,
                "conversions": row.conversions,
                "revenue": row.revenue,
                "clicks": None,
                "impressions": None,
            },
            ("body", "rows", row.lines[0], "date"),
            f"row {ranges(list(row.lines))}",
        )
        for row in report.rows
    ]
    answer = _upload(db, principal, client_id, rows, source="csv")
    return answer.model_copy(
        update={"platform": report.platform, "ignored_campaigns": report.unknown_campaigns}
    )


def get_history(
    *, db: Database, principal: Principal, campaign_id: str, page: Page
) -> CampaignHistory:
    """GET /campaigns/{id}/history: one page of the recorded days, oldest first."""
    must_exist(CampaignRepository(db).get(principal, campaign_id), "Campaign")
    total, documents = ResultRepository(db).history_page(principal, campaign_id, page)
    return CampaignHistory(
        campaign_id=campaign_id,
        total=total,
        entries=[HistoryDayPublic.model_validate(doc) for doc in documents],
    )


# --- checking and applying an upload -----------------------------------------------------------


def day_problems(rows: list[DayFigures], latest: date) -> list[Problem]:
    """Days after ``latest`` and days sent twice for one campaign, each named by its row."""
    problems: list[Problem] = []
    first_seen: dict[tuple[str, date], DayFigures] = {}
    for row in rows:
        message = future_day(row.label, row.day, latest)
        if message:
            problems.append((message, row.loc))
        key = (row.campaign_id, row.day)
        if key in first_seen:
            problems.append(
                (
                    f"{row.label}: {row.day.isoformat()} is already in {first_seen[key].label}; "
                    "send each day once",
                    row.loc,
                )
            )
        else:
            first_seen[key] = row
    return problems


def _upload(
    db: Database, principal: Principal, client_id: str, rows: list[DayFigures], *, source: str
) -> HistoryUploadPublic:
    problems = day_problems(rows, today())
    if problems:
        raise CsvRejected(problems)
    applied = Applied()
    store = ResultRepository(db)
    by_campaign: dict[str, list[DayFigures]] = {}
    for row in rows:
        by_campaign.setdefault(row.campaign_id, []).append(row)
    for days in by_campaign.values():
        _apply(store, principal, client_id, days, applied, source)
    campaigns = CampaignRepository(db)
    for campaign_id in by_campaign:
        if not campaigns.is_live(campaign_id):  # deleted meanwhile: take its days back
            store.delete_history(campaign_id)
            raise NotFound("Campaign")
    _audit(db, principal, client_id, applied, source)
    days_sent = sorted(row.day for row in rows)
    return HistoryUploadPublic(
        rows=len(rows),
        campaign_ids=list(by_campaign),
        added=sum(len(days) for days in applied.added.values()),
        restated=sum(len(days) for days in applied.restated.values()),
        unchanged=sum(len(days) for days in applied.unchanged.values()),
        first_day=days_sent[0],
        last_day=days_sent[-1],
    )


def _new_document(
    principal: Principal, client_id: str, row: DayFigures, now: datetime, source: str
) -> dict[str, Any]:
    return {
        "_id": history_day_id(row.campaign_id, row.day.isoformat()),
        "plan_id": None,
        "client_id": client_id,
        "campaign_id": row.campaign_id,
        "date": row.day.isoformat(),
        **row.figures,
        "revision": 0,
        "revisions": [],
        "reported_at": now,
        "reported_by": principal.user_id,
        "source": source,
    }


def _apply(
    store: ResultRepository,
    principal: Principal,
    client_id: str,
    days: list[DayFigures],
    applied: Applied,
    source: str,
) -> None:
    """Insert the new days of one campaign, restate the changed ones (each write conditional)."""
    campaign_id = days[0].campaign_id
    now = utc_now()
    pending = {history_day_id(campaign_id, row.day.isoformat()): row for row in days}
    for _ in range(MAX_ATTEMPTS):
        recorded = store.history_days(list(pending))
        fresh = [
            _new_document(principal, client_id, row, now, source)
            for day_id, row in pending.items()
            if day_id not in recorded
        ]
        taken = store.insert_history_days(fresh)  # stored meanwhile by another upload
        for document in fresh:
            if document["_id"] not in taken:
                applied.added.setdefault(campaign_id, []).append(document["date"])
                del pending[document["_id"]]
        for day_id, current in recorded.items():
            row = pending[day_id]
            after = restated_figures(current, row.figures)
            if after is None:
                applied.unchanged.setdefault(campaign_id, []).append(current["date"])
                del pending[day_id]
                continue
            before = {name: current.get(name) for name in RESULT_FIELDS}
            replaced = {
                "revision": int(current["revision"]),
                **before,
                "at": current.get("restated_at") or current["reported_at"],
                "source": current.get("source", "api"),
            }
            changes = {**after, "restated_at": now, "restated_by": principal.user_id}
            changes["source"] = source
            if store.restate_history_day(day_id, int(current["revision"]), changes, replaced):
                applied.restated.setdefault(campaign_id, {})[current["date"]] = {
                    "before": before,
                    "after": after,
                }
                del pending[day_id]
        if not pending:
            return
    raise Conflict("these days are being restated by many requests at once; retry")


def _audit(
    db: Database, principal: Principal, client_id: str, applied: Applied, source: str
) -> None:
    """One entry per campaign whose history changed: the days added and each restatement."""
    audit = AuditRepository(db)
    for campaign_id in sorted(set(applied.added) | set(applied.restated)):
        added = sorted(applied.added.get(campaign_id, []))
        restated = applied.restated.get(campaign_id, {})
        listed = dict(sorted(restated.items())[:MAX_AUDITED_RESTATEMENTS])
        audit.append(
            actor=principal,
            action="campaign.history_recorded",
            client_id=client_id,
            target_id=campaign_id,
            changes={
                "source": source,
                "added": len(added),
                "first_added": added[0] if added else None,
                "last_added": added[-1] if added else None,
                "restated": listed,
                "restated_not_listed": len(restated) - len(listed),
            },
        )
