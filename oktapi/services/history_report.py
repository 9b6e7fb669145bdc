"""A platform report read as campaign history: daily rows of the client's campaigns, or a 422.

The file is read by ``oktapi.reports`` exactly as a plan import reads it (formats, locales,
currencies, refusals); what differs is the mapping: rows keep their day (no plan timesteps), each
day and campaign appears once, and every row must have a date.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

from oktapi.reports import DateOrder, ReportRejected, read_and_match
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


def parse_history_report(
    content: bytes,
    *,
    campaigns: list[dict[str, Any]],
    currency: str,
    ignore_unknown: bool = False,
    date_order: DateOrder | None = None,
) -> HistoryReport:
    """Daily rows matched to ``campaigns`` (by platform id, id or name), or every problem."""
    try:
        report, matched = read_and_match(
            content,
            currency=currency,
            campaigns=campaigns,
            timestep_days=1,
            date_order=date_order,
            refuse_duplicates=True,
            ignore_unknown=ignore_unknown,
            scope="the client's campaigns",
        )
    except ReportRejected as rejected:
        raise CsvRejected(list(rejected.problems)) from None
    problems: list[Problem] = []
    rows: list[HistoryRow] = []
    for campaign_id, row in matched.rows:
        if row.start is None:
            problems.append(
                (
                    f"row {row.row}: history is kept by day; the file gives timesteps, "
                    "use a date column instead",
                    ("body", "rows", row.row, "timestep"),
                )
            )
            continue
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
        raise CsvRejected(problems)
    return HistoryReport(report.platform, rows, list(matched.unknown))
