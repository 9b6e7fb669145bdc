"""A report's campaigns → the client's campaigns: by platform id, by Oktopus id, then by name."""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from oktapi.reports.problems import Problem, ReportRejected, quoted, ranges
from oktapi.reports.reader import Report, ReportRow, read_report_with_problems
from oktapi.reports.values import DateOrder


@dataclass(frozen=True)
class MatchedRows:
    rows: list[tuple[str, ReportRow]]  # (campaign id, row), rows of one day and campaign summed
    unknown: list[str]  # campaigns the file names that match none (when told to ignore them)


def match_rows(
    rows: Iterable[ReportRow],
    campaigns: Iterable[Mapping[str, Any]],
    *,
    ignore_unknown: bool = False,
    scope: str = "this plan's campaigns",
) -> MatchedRows:
    """Match each row to one of `campaigns` (documents with `_id`, `name`, `external_id`?).

    `scope` names the campaigns in messages ("this plan's campaigns", "the client's campaigns").

    The platform's campaign id wins when a campaign has it; else the cell may be the Oktopus
    id; else the name, ignoring case and surrounding spaces. A name shared by several
    campaigns, and (unless `ignore_unknown`) a campaign matching none, refuse the file.
    """
    by_id: dict[str, str] = {}
    by_external: dict[str, str] = {}
    by_name: dict[str, list[str]] = defaultdict(list)
    for campaign in campaigns:
        by_id[campaign["_id"]] = campaign["_id"]
        if campaign.get("external_id"):
            by_external[str(campaign["external_id"]).strip()] = campaign["_id"]
        by_name[str(campaign["name"]).strip().casefold()].append(campaign["_id"])

    problems: list[Problem] = []
    unknown: dict[str, list[int]] = {}
    combined: dict[tuple, tuple[str, ReportRow]] = {}
    for row in rows:
        names = by_name.get(row.campaign.strip().casefold(), [])
        if row.external_id and row.external_id in by_external:
            campaign_id = by_external[row.external_id]
        elif row.campaign in by_id:
            campaign_id = by_id[row.campaign]
        elif len(names) == 1:
            campaign_id = names[0]
        else:
            if names:
                problems.append(
                    (
                        f"row {row.row}: campaign name {quoted(row.campaign)} matches "
                        f"{len(names)} campaigns; give them distinct names or set their "
                        "external_id to the platform's campaign id",
                        ("body", "rows", row.row, "campaign"),
                    )
                )
            else:
                unknown.setdefault(row.campaign, []).extend(row.source_rows)
            continue
        key = (row.timestep, row.start, row.end, campaign_id)
        if key in combined:
            seen = combined[key][1]
            row = replace(
                seen,
                source_rows=(*seen.source_rows, *row.source_rows),
                spend=seen.spend + row.spend,
                conversions=seen.conversions + row.conversions,
                revenue=seen.revenue + row.revenue,
            )
        combined[key] = (campaign_id, row)
    if unknown and not ignore_unknown:
        problems += [
            (
                f"row(s) {ranges(lines)}: campaign {quoted(name)} is not one of {scope} "
                "(by platform campaign id, id or name)",
                ("body", "rows", lines[0], "campaign"),
            )
            for name, lines in unknown.items()
        ]
    if problems:
        raise ReportRejected(sorted(problems, key=lambda problem: problem[1][2]))
    return MatchedRows(rows=list(combined.values()), unknown=list(unknown))


def read_and_match(
    content: bytes,
    *,
    currency: str,
    campaigns: Iterable[Mapping[str, Any]],
    timestep_days: int | None = None,
    date_order: DateOrder | None = None,
    refuse_duplicates: bool = False,
    ignore_unknown: bool = False,
    scope: str = "this plan's campaigns",
) -> tuple[Report, MatchedRows]:
    """read_report then match_rows, refusing with the problems of both in one list."""
    report, problems = read_report_with_problems(
        content,
        currency=currency,
        timestep_days=timestep_days,
        date_order=date_order,
        refuse_duplicates=refuse_duplicates,
    )
    try:
        matched = match_rows(report.rows, campaigns, ignore_unknown=ignore_unknown, scope=scope)
    except ReportRejected as rejected:
        problems = problems + rejected.problems
    if problems:
        raise ReportRejected(sorted(problems, key=_file_order))
    return report, matched


def _file_order(problem: Problem) -> tuple[int, int]:
    """Problems of the whole file (header, columns) first, then by row."""
    loc = problem[1]
    row = loc[2] if len(loc) > 2 and loc[1] == "rows" and isinstance(loc[2], int) else None
    return (0, 0) if row is None else (1, row)
