"""What a report decides once for the whole file: its records, decimal mark and date order."""

import re
from dataclasses import dataclass

from oktapi.reports.header import column_name
from oktapi.reports.problems import Problem, ReportRejected, quoted
from oktapi.reports.values import (
    DateOrder,
    DecimalMark,
    decide_date_order,
    decimal_evidence,
    numeric_parts,
)

METRICS = ("spend", "conversions", "revenue")
_PREAMBLE_DATE = re.compile(r"(?<![\d/.-])\d{1,2}/\d{1,2}/\d{4}(?![\d/])")


@dataclass
class Record:
    """One data line of the file: its line number and its cells by field."""

    line: int
    cells: dict[str, str]


def decimal_mark(records: list[Record], delimiter: str, problems: list[Problem]) -> DecimalMark:
    """The decimal mark the numbers prove (refused, with the problems so far, when mixed)."""
    evidence: dict[str, int] = {}
    for record in records:
        for field in METRICS:
            mark = decimal_evidence(record.cells.get(field, ""))
            if mark is not None:
                evidence.setdefault(mark, record.line)
    if len(evidence) > 1:
        raise ReportRejected(
            [
                *problems,
                (
                    f"numbers are written both with '.' as decimal mark (row "
                    f"{evidence['.']}) and with ',' (row {evidence[',']}): export the "
                    "report again in one format",
                    ("body", "rows", max(evidence.values())),
                ),
            ]
        )
    if evidence:
        return "," if "," in evidence else "."
    return "," if delimiter == ";" else "."


def date_order(
    records: list[Record],
    preamble: list[str],
    header: list[str],
    columns: dict[str, int],
    given: DateOrder | None,
    problems: list[Problem],
) -> tuple[DateOrder | None, bool]:
    """Day or month first, as the file proves it (a day above 12 in a row or the preamble), and
    whether the file's order is refused as a whole (ambiguous or inconsistent dates)."""
    fields = [field for field in ("date", "end") if field in columns]
    if not fields or "timestep" in columns or given is not None:
        return given, False
    # "Report Time: 11/25/2026 - 12/1/2026" above Microsoft's header writes dates the same way
    cells = [
        (line, match.group())
        for line, text in enumerate(preamble, start=1)
        for match in _PREAMBLE_DATE.finditer(text)
    ]
    cells += [(record.line, record.cells[field]) for record in records for field in fields]
    seen: dict[DateOrder, tuple[int, str]] = {}
    ambiguous: tuple[int, str] | None = None
    for line, raw in cells:
        parts = numeric_parts(raw)
        if parts is None:
            continue
        proven, needed = decide_date_order([parts])
        for order in proven:
            seen.setdefault(order, (line, raw))
        if needed and not proven and ambiguous is None and line > len(preamble):
            ambiguous = (line, raw)
    name = column_name(header, columns, "date")
    refused = len(seen) > 1 or (not seen and ambiguous is not None)
    if len(seen) > 1:
        (dmy_line, dmy), (mdy_line, mdy) = seen["dmy"], seen["mdy"]
        problems.append(
            (
                f"column {name!r}: dates are written day first (row {dmy_line}: "
                f"{quoted(dmy)}) and month first (row {mdy_line}: {quoted(mdy)}); "
                "export the report again with one date format",
                ("body", "header", "date"),
            )
        )
        return None, refused
    if seen:
        return next(iter(seen)), refused
    if ambiguous is not None:
        line, raw = ambiguous
        problems.append(
            (
                f"column {name!r}: dates like {quoted(raw)} (row {line}) can be read day "
                "first or month first, and no date in the file has a day above 12 to tell "
                "which; export the report with dates as YYYY-MM-DD (or tell the import the "
                "order: date_order=dmy or date_order=mdy)",
                ("body", "header", "date"),
            )
        )
    return None, refused
