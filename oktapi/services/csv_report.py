"""A platform report read as one plan's figures: per timestep and campaign, or a 422 naming rows.

The file itself is read by ``oktapi.reports`` (formats, locales, dates, currencies, refusals);
this module maps its daily rows onto the plan's timesteps and campaigns. What the figures do to
a plan is the import service's business (``csv_import``).
"""

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from oktapi.errors import Invalid, InvalidMany
from oktapi.reports import DateOrder, ReportRejected, read_and_match

MAX_LISTED_PROBLEMS = 50

Problem = tuple[str, tuple[str | int, ...]]


class CsvRejected(InvalidMany):
    """The whole file is refused; the detail names every bad row (up to a limit)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems, limit=MAX_LISTED_PROBLEMS)


@dataclass
class ParsedReport:
    """Per timestep and campaign the summed numbers, and which file rows they came from."""

    rows: int
    platform: str = "plain"
    totals: dict[int, dict[str, dict[str, float]]] = field(default_factory=dict)
    source_rows: dict[tuple[int, str], list[int]] = field(default_factory=dict)
    unknown_campaigns: list[str] = field(default_factory=list)


def parse_report(
    content: bytes,
    *,
    campaigns: list[dict[str, Any]],
    currency: str,
    timesteps: int,
    start: date | None,
    timestep_days: int,
    open_timestep: int = 0,
    ignore_unknown: bool = False,
    date_order: DateOrder | None = None,
    check_complete: bool = True,
) -> ParsedReport:
    """Rows → per-timestep, per-campaign totals (rows of one timestep and campaign add up).

    A file may name only some campaigns of a closed timestep (a restatement) and of its last
    timestep (a part); a timestep the file closes and then goes past must name every campaign
    (unless ``check_complete`` is False: the caller knows which campaigns each timestep needs).
    """
    try:
        report, matched = read_and_match(
            content,
            currency=currency,
            campaigns=campaigns,
            timestep_days=timestep_days,
            date_order=date_order,
            ignore_unknown=ignore_unknown,
        )
    except ReportRejected as rejected:
        raise CsvRejected(list(rejected.problems)) from None
    parsed = ParsedReport(
        rows=len(matched.rows), platform=report.platform, unknown_campaigns=matched.unknown
    )
    problems: list[Problem] = []
    for campaign_id, row in matched.rows:
        timestep = _row_timestep(row, start, timestep_days, timesteps, problems)
        if timestep is None:
            continue
        totals = parsed.totals.setdefault(timestep, {}).setdefault(
            campaign_id, {"spend": 0.0, "conversions": 0.0, "revenue": 0.0}
        )
        totals["spend"] += row.spend
        totals["conversions"] += row.conversions
        totals["revenue"] += row.revenue
        parsed.source_rows.setdefault((timestep, campaign_id), []).extend(row.source_rows)
    if parsed.rows == 0 and not problems:
        raise Invalid(
            "the file has no rows for this plan's campaigns"
            + (f" (ignored: {', '.join(matched.unknown)})" if matched.unknown else ""),
            ("body",),
        )
    names = {c["_id"]: c["name"] for c in campaigns}
    last = max(parsed.totals, default=0)
    for timestep, by_campaign in sorted(parsed.totals.items()):
        absent = [c["_id"] for c in campaigns if c["_id"] not in by_campaign]
        if check_complete and absent and open_timestep <= timestep < last:
            rows = sorted(
                r for (t, _), lines in parsed.source_rows.items() if t == timestep for r in lines
            )
            problems.append(
                (
                    f"timestep {timestep} (rows {ranges(rows)}) has no row for campaign(s) "
                    f"{', '.join(names[cid] for cid in absent)}; a timestep the file goes past "
                    "must name every campaign of the plan",
                    ("body", "timestep", timestep),
                )
            )
    if problems:
        raise CsvRejected(sorted(problems, key=lambda problem: str(problem[1])))
    return parsed


def _row_timestep(
    row: Any, start: date | None, timestep_days: int, timesteps: int, problems: list[Problem]
) -> int | None:
    """The row's timestep: its timestep column, or its days mapped through the plan's start."""
    line = row.row
    if row.timestep is not None:
        timestep = int(row.timestep)
        column = "timestep"
    elif start is None:
        problems.append(
            (
                f"row {line}: the file has dates but the plan has no start date; add a "
                "timestep column",
                ("body", "rows", line, "date"),
            )
        )
        return None
    else:
        column = "date"
        offset = (row.start - start).days
        if offset < 0:
            problems.append(
                (
                    f"row {line}: {row.start.isoformat()} is before the plan's start "
                    f"{start.isoformat()}",
                    ("body", "rows", line, "date"),
                )
            )
            return None
        timestep = offset // timestep_days
        if (row.end - start).days // timestep_days != timestep:
            problems.append(
                (
                    f"row {line}: {row.start.isoformat()} to {row.end.isoformat()} spans more "
                    f"than one of the plan's {timestep_days}-day timesteps; download the report "
                    "broken down by day",
                    ("body", "rows", line, "date"),
                )
            )
            return None
    if not 0 <= timestep < timesteps:
        problems.append(
            (
                f"row {line}: timestep {timestep} is outside the plan (0 to {timesteps - 1})",
                ("body", "rows", line, column),
            )
        )
        return None
    return timestep


def ranges(numbers: list[int]) -> str:
    """2, 3, 4, 7 → '2-4, 7' so long files name rows compactly."""
    parts: list[list[int]] = []
    for number in numbers:
        if parts and parts[-1][1] == number - 1:
            parts[-1][1] = number
        else:
            parts.append([number, number])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in parts)
