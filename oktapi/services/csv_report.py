"""Reading a platform report (Google Ads, Meta Ads Manager exports, plain columns) into figures.

Pure parsing: bytes in, per-timestep per-campaign totals out, or a 422 naming every bad row. What
the figures do to a plan is the import service's business (``csv_import``).
"""

import csv
import io
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date

from oktapi.errors import Invalid, InvalidMany
from oktapi.models.plans import MAX_COUNT

MAX_LISTED_PROBLEMS = 50
MAX_PREAMBLE_LINES = 10  # title and date-range lines an export may put above its header
DELIMITERS = (",", ";", "\t")
MAX_MONEY = 1e12

# Header names after lower-casing and collapsing spaces/underscores/dashes, per field we read.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "timestep": ("timestep", "time step"),
    "date": ("date", "day", "reporting starts"),
    "campaign": ("campaign", "campaign id", "campaign name"),
    "spend": ("spend", "cost", "amount spent"),
    "conversions": ("conversions", "results", "purchases"),
    "revenue": (
        "revenue",
        "conversion value",
        "conv. value",
        "conversions value",
        "total conversion value",
        "purchases conversion value",
    ),
}
_NUMBER = re.compile(r"^[+]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_GROUPED_NUMBER = re.compile(r"^\d{1,3}(,\d{3})+(\.\d*)?$")  # 1,234.50 as Google Ads writes it


class CsvRejected(InvalidMany):
    """The whole file is refused; the detail names every bad row (up to a limit)."""

    def __init__(self, problems: list[tuple[str, tuple[str | int, ...]]]) -> None:
        super().__init__(problems, limit=MAX_LISTED_PROBLEMS)


@dataclass
class ParsedReport:
    """Per timestep and campaign the summed numbers, and which file rows they came from."""

    rows: int
    totals: dict[int, dict[str, dict[str, float]]] = field(default_factory=dict)
    source_rows: dict[tuple[int, str], list[int]] = field(default_factory=dict)


def decode(content: bytes) -> str:
    """UTF-8 (with or without BOM) or UTF-16 with BOM, as spreadsheet exports come."""
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return content.decode("utf-16")
        except UnicodeDecodeError as error:
            raise Invalid(
                f"the file starts with a UTF-16 byte-order mark but is not UTF-16 text "
                f"({error.reason} at byte {error.start}): export it again as UTF-16 or UTF-8",
                ("body",),
            ) from None
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid(
            "the file is not UTF-8 (or UTF-16 with a byte-order mark) text", ("body",)
        ) from None


def _normal_header(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", name.strip().lower())


def _find_columns(header: list[str]) -> dict[str, int]:
    normal = [_normal_header(name) for name in header]
    columns: dict[str, int] = {}
    for wanted, aliases in COLUMN_ALIASES.items():
        for alias in aliases:
            matches = [
                i for i, name in enumerate(normal) if name == alias or name.startswith(alias + " (")
            ]
            if matches:
                columns[wanted] = matches[0]
                break
    return columns


def _has_required_columns(columns: dict[str, int]) -> bool:
    return {"campaign", "spend", "conversions"} <= set(columns) and bool(
        {"timestep", "date"} & set(columns)
    )


def _locate_header(lines: list[str]) -> tuple[int, str]:
    """The header line and delimiter; exports often start with a title and a date-range line."""
    for index, line in enumerate(lines[:MAX_PREAMBLE_LINES]):
        for delimiter in DELIMITERS:
            try:
                cells = next(csv.reader([line], delimiter=delimiter), [])
            except csv.Error:
                continue  # not a header; the main reader names the problem
            if _has_required_columns(_find_columns(cells)):
                return index, delimiter
    first = next((i for i, line in enumerate(lines) if line.strip()), 0)
    sample = "".join(lines[first : first + 20])
    try:
        return first, csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        return first, ","


def _is_total_row(row: list[str], columns: dict[str, int]) -> bool:
    """Summary rows ("Total: Campaigns", no day) that Google Ads appends to its exports."""
    index = columns.get("timestep", columns.get("date"))
    key = row[index].strip() if index is not None and index < len(row) else ""
    if key not in ("", "--") and not key.casefold().startswith("total"):
        return False
    return any(cell.strip().casefold().startswith("total") for cell in row)


def _number(text: str) -> float | None:
    text = text.strip()
    if _GROUPED_NUMBER.match(text):
        text = text.replace(",", "")
    if not _NUMBER.match(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def parse_report(
    text: str,
    *,
    campaign_ids: list[str],
    campaign_names: dict[str, str],
    timesteps: int,
    start: date | None,
    timestep_days: int,
    open_timestep: int = 0,
) -> ParsedReport:
    """Rows → per-timestep, per-campaign totals (rows of the same day and campaign add up).

    A file may name only some campaigns of a closed timestep (a restatement) and of its last
    timestep (a part); a timestep the file closes and then goes past must name every campaign.
    """
    lines = text.splitlines(keepends=True)
    header_index, delimiter = _locate_header(lines)
    reader = csv.reader(io.StringIO("".join(lines[header_index:])), delimiter=delimiter)
    rows = _readable_rows(reader, header_index)
    header = next(rows, None)
    if not header:
        raise Invalid(
            "the file is empty: expected a header row and one row per campaign and timestep"
        )
    columns = _find_columns(header)
    missing = [name for name in ("campaign", "spend", "conversions") if name not in columns]
    if "timestep" not in columns and "date" not in columns:
        missing.insert(0, "timestep (or date)")
    if missing:
        raise Invalid(
            f"missing column(s): {', '.join(missing)}; found: {', '.join(h.strip() for h in header)}",
            ("body", "header"),
        )
    if "timestep" not in columns and start is None:
        raise Invalid(
            "the file has dates but the plan has no start date; add a timestep column",
            ("body", "header"),
        )
    by_name: dict[str, list[str]] = defaultdict(list)
    for campaign_id, name in campaign_names.items():
        by_name[name.strip().casefold()].append(campaign_id)
    known_ids = set(campaign_ids)

    report = ParsedReport(rows=0)
    problems: list[tuple[str, tuple[str | int, ...]]] = []
    for row in rows:
        line_number = header_index + reader.line_num
        if not any(cell.strip() for cell in row) or _is_total_row(row, columns):
            continue
        report.rows += 1

        def cell(name: str, row: list[str] = row) -> str:
            index = columns.get(name)
            return row[index].strip() if index is not None and index < len(row) else ""

        def problem(message: str, column: str, line: int = line_number) -> None:
            problems.append((f"row {line}: {message}", ("body", "rows", line, column)))

        timestep = _row_timestep(cell, columns, start, timestep_days, timesteps, problem)
        campaign_id = _row_campaign(cell("campaign"), known_ids, by_name, problem)
        numbers: dict[str, float] = {}
        for name, required in (("spend", True), ("conversions", True), ("revenue", False)):
            raw = cell(name)
            if raw == "" and not required:
                numbers[name] = 0.0
                continue
            value = _number(raw)
            if value is None:
                problem(f"{name} {raw!r} is not a number >= 0", name)
            elif name == "conversions" and value > MAX_COUNT:
                problem(f"conversions {raw!r} is too large", name)
            elif value > MAX_MONEY:
                problem(f"{name} {raw!r} is too large", name)
            else:
                numbers[name] = value
        if timestep is None or campaign_id is None or len(numbers) < 3:
            continue
        totals = report.totals.setdefault(timestep, {}).setdefault(
            campaign_id, {"spend": 0.0, "conversions": 0.0, "revenue": 0.0}
        )
        for name, value in numbers.items():
            totals[name] += value
        report.source_rows.setdefault((timestep, campaign_id), []).append(line_number)
    if report.rows == 0 and not problems:
        raise Invalid("the file has a header but no rows", ("body",))
    last = max(report.totals, default=0)
    for timestep, by_campaign in sorted(report.totals.items()):
        absent = [cid for cid in campaign_ids if cid not in by_campaign]
        if absent and open_timestep <= timestep < last:
            names = ", ".join(campaign_names.get(cid, cid) for cid in absent)
            rows = sorted(
                r for (t, _), lines in report.source_rows.items() if t == timestep for r in lines
            )
            problems.append(
                (
                    f"timestep {timestep} (rows {ranges(rows)}) has no row for campaign(s) {names}; "
                    "a timestep the file goes past must name every campaign of the plan",
                    ("body", "timestep", timestep),
                )
            )
    if problems:
        raise CsvRejected(problems)
    return report


def _readable_rows(reader: Iterator[list[str]], header_index: int) -> Iterator[list[str]]:
    """The reader's rows; what the csv module cannot read (a cell over its size limit) is a 422."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            line = header_index + reader.line_num  # type: ignore[attr-defined]
            reason = str(error)
            if "field limit" in reason:
                reason = f"a cell is longer than {csv.field_size_limit():,} characters"
            raise Invalid(
                f"row {line}: cannot be read as CSV: {reason}", ("body", "rows", line)
            ) from None
        yield row


def _row_timestep(
    cell: Callable[[str], str],
    columns: dict[str, int],
    start: date | None,
    timestep_days: int,
    timesteps: int,
    problem: Callable[[str, str], None],
) -> int | None:
    """The row's timestep, from the timestep column or the date mapped through the plan's start."""
    if "timestep" in columns:
        raw = cell("timestep")
        value = _number(raw)
        if value is None or not value.is_integer():
            problem(f"timestep {raw!r} is not a whole number", "timestep")
            return None
        timestep = int(value)
    else:
        raw = cell("date")
        try:
            day = date.fromisoformat(raw.replace("/", "-"))
        except ValueError:
            problem(f"date {raw!r} is not a date like 2027-01-31", "date")
            return None
        if start is None:  # parse_report refuses dates without a start first
            return None
        offset = (day - start).days
        if offset < 0:
            problem(f"date {raw} is before the plan's start {start.isoformat()}", "date")
            return None
        timestep = offset // timestep_days
    if not 0 <= timestep < timesteps:
        problem(f"timestep {timestep} is outside the plan (0 to {timesteps - 1})", "timestep")
        return None
    return timestep


def _row_campaign(
    raw: str,
    known_ids: set[str],
    by_name: dict[str, list[str]],
    problem: Callable[[str, str], None],
) -> str | None:
    if raw in known_ids:
        return raw
    matches = by_name.get(raw.casefold(), [])
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        problem(f"campaign name {raw!r} matches several campaigns; use the campaign id", "campaign")
    else:
        problem(f"campaign {raw!r} is not a campaign of this plan (by name or id)", "campaign")
    return None


def ranges(numbers: list[int]) -> str:
    """2, 3, 4, 7 → '2-4, 7' so long files name rows compactly."""
    parts: list[str] = []
    for number in numbers:
        if parts and parts[-1][1] == number - 1:
            parts[-1] = (parts[-1][0], number)
        else:
            parts.append((number, number))  # type: ignore[arg-type]
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in parts)  # type: ignore[misc]
