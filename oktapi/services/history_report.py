"""A platform report read as campaign history: daily rows of the client's campaigns, or a 422.

The file is read by ``oktapi.reports`` exactly as a plan import reads it (formats, locales,
currencies, refusals); what differs is the mapping: rows keep their day (no plan timesteps), each
day and campaign appears once, and every row must have a date.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

from oktapi.reports import DateOrder, ReportRejected, match_rows, read_report_with_problems
from oktapi.services.csv_report import CsvRejected, Problem, ranges


@dataclass(frozen=True)
class HistoryRow:
    """One campaign's figures on one day, and the file lines they came from."""

    campaign_id: str
    day: date
    spend: float
    conversions: float
    revenue: float
    lines: tuple[int, ...]


@dataclass(frozen=True)
class HistoryReport:
    platform: str
    rows: list[HistoryRow]
    unknown_campaigns: list[str]


def future_day(label: str, day: date, latest: date) -> str | None:
    """The message for a day after ``latest`` (today), or None: results exist for ended days."""
    if day <= latest:
        return None
    return (
        f"{label}: {day.isoformat()} is in the future (today is {latest.isoformat()} UTC); "
        "send days that have ended"
    )


def parse_history_report(
    content: bytes,
    *,
    campaigns: list[dict[str, Any]],
    currency: str,
    latest: date,
    ignore_unknown: bool = False,
    date_order: DateOrder | None = None,
) -> HistoryReport:
    """Daily rows matched to ``campaigns`` (by platform id, id or name) up to ``latest``, or
    every problem of the file at once (its reading, its campaigns, its days)."""
    try:
        report, problems = read_report_with_problems(
            content,
            currency=currency,
            timestep_days=1,
            date_order=date_order,
            refuse_duplicates=True,
        )
    except ReportRejected as rejected:  # unreadable as a whole (no known header, encoding...)
        raise CsvRejected(rejected.problems) from None
    for row in report.rows:
        if row.start is None:
            message: str | None = (
                f"row {row.row}: history is kept by day; the file gives timesteps, use a date "
                "column instead"
            )
        else:
            message = future_day(f"row {row.row}", row.start, latest)
        if message:
            problems.append((message, ("body", "rows", row.row, "date")))
    try:
        matched = match_rows(
            report.rows, campaigns, ignore_unknown=ignore_unknown, scope="the client's campaigns"
        )
    except ReportRejected as rejected:
        raise CsvRejected(sorted(problems + rejected.problems, key=_row_order)) from None
    rows: list[HistoryRow] = []
    for campaign_id, row in matched.rows:
        if row.start is None:
            continue  # refused above
        if len(row.source_rows) > 1:  # two names of one campaign (its id and its name)
            problems.append(
                (
                    f"rows {ranges(sorted(row.source_rows))}: the same campaign on "
                    f"{row.start.isoformat()} more than once; send each day once",
                    ("body", "rows", row.source_rows[1], "date"),
                )
            )
            continue
        rows.append(
            HistoryRow(
                campaign_id, row.start, row.spend, row.conversions, row.revenue, row.source_rows
            )
        )
    if problems:
        raise CsvRejected(sorted(problems, key=_row_order))
    return HistoryReport(report.platform, rows, list(matched.unknown))


def _row_order(problem: Problem) -> tuple[int, int]:
    """Problems of the whole file first, then by row (as the plan import lists them)."""
    loc = problem[1]
    row = loc[2] if len(loc) > 2 and loc[1] == "rows" and isinstance(loc[2], int) else None
    return (0, 0) if row is None else (1, row)
