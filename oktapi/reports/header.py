"""The header of an uploaded report: where it is, which format it is, what it lacks."""

from typing import NoReturn

from oktapi.reports.formats import FORMATS, PLAIN, ReportFormat
from oktapi.reports.formats.base import header_currency, normal_header
from oktapi.reports.formats.microsoft_ads import preamble_values
from oktapi.reports.problems import Problem, ReportRejected, quoted
from oktapi.reports.text import first_cells

MAX_PREAMBLE_LINES = 20  # Microsoft Advertising writes about ten "Key: value" lines
DELIMITERS = (",", ";", "\t")


def locate_header(lines: list[str]) -> tuple[int, str, ReportFormat, list[str]] | None:
    """The header line, its delimiter and format; exports put titles and key: value lines above."""
    for index, line in enumerate(lines[:MAX_PREAMBLE_LINES]):
        if not line.strip():
            continue
        for delimiter in DELIMITERS:
            cells = first_cells(line, delimiter)
            if len(cells) < 2:
                continue
            for fmt in FORMATS:
                if fmt.looks_like_header(cells, lines[:index]):
                    return index, delimiter, fmt, cells
    return None


def refuse_unknown_header(lines: list[str]) -> NoReturn:
    """Refuse a file whose header no format recognises, naming the columns it lacks."""
    first = next((line for line in lines if line.strip()), "")
    if not first:
        raise ReportRejected(
            [
                (
                    "the file is empty: expected a header row and one row per campaign and day",
                    ("body",),
                )
            ]
        )
    header = max((first_cells(first, d) for d in DELIMITERS), key=len)
    missing = PLAIN.missing(PLAIN.columns(header))
    shown = ", ".join(name.strip()[:40] for name in header[:30])
    raise ReportRejected(
        [
            (
                f"missing column(s): {', '.join(missing)}; found: {shown}. The file is not a "
                "Google Ads, Meta, TikTok or Microsoft Advertising report Oktopus knows, nor "
                "the plain columns date (or timestep), campaign, spend, conversions, revenue",
                ("body", "header"),
            )
        ]
    )


def column_name(header: list[str], columns: dict[str, int], field: str) -> str:
    """The file's own header for a field, as messages show it."""
    return header[columns[field]].strip()[:40]


def check_header(
    fmt: ReportFormat,
    header: list[str],
    columns: dict[str, int],
    currency: str,
    preamble: list[str],
) -> list[Problem]:
    """The header's problems: missing columns (refused at once), another currency, a report
    aggregated over more than a day, Meta's Results without their indicator."""
    problems: list[Problem] = []
    missing = fmt.missing(columns)
    if missing:
        normal = [normal_header(name) for name in header]
        for name, span in fmt.period_columns.items():
            if name in normal and "date" not in columns:
                shown = header[normal.index(name)].strip()[:40]
                raise ReportRejected(
                    [
                        (
                            f"column {shown!r}: each row is a total over {span}, but "
                            f"results are read per day; {fmt.how_to_get_days}",
                            ("body", "header", "date"),
                        )
                    ]
                )
        found = ", ".join(name.strip()[:40] for name in header[:30])
        read_as = "" if fmt is PLAIN else f" (read as a {fmt.label} report)"
        raise ReportRejected(
            [
                (
                    f"missing column(s): {', '.join(missing)}; found: {found}{read_as}",
                    ("body", "header"),
                )
            ]
        )
    for field in ("spend", "revenue"):
        if field in columns:
            stated = header_currency(header[columns[field]])
            if stated and stated != currency:
                problems.append(
                    (
                        f"column {column_name(header, columns, field)!r} is in {stated} but the client's "
                        f"currency is {currency}: export the report in {currency} "
                        f"or import it for a client in {stated}",
                        ("body", "header", field),
                    )
                )
    aggregation = preamble_values(preamble).get("report aggregation", "")
    if aggregation and aggregation.strip().lower() not in ("daily", "day"):
        problems.append(
            (
                f"the report's aggregation is {quoted(aggregation)}: each row is a total "
                f"over more than a day, but results are read per day; {fmt.how_to_get_days}",
                ("body", "header", "date"),
            )
        )
    if results_need_indicator(header, columns) and "indicator" not in columns:
        problems.append(
            (
                f"column {column_name(header, columns, 'conversions')!r} counts whatever each campaign is "
                "optimised for (link clicks, reach or purchases) and the export has no "
                "'Result indicator' column to say which; add the Result indicator column "
                "to the export, or export the Purchases column instead of Results",
                ("body", "header", "conversions"),
            )
        )
    return problems


def results_need_indicator(header: list[str], columns: dict[str, int]) -> bool:
    """Meta's `Results` column is only conversions if its indicator says so."""
    conversions = columns.get("conversions")
    return conversions is not None and normal_header(header[conversions]) == "results"
