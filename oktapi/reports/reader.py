"""One entry point: an uploaded report's bytes → normalised daily rows, or every problem in it.

Pure: no database, no web framework. The caller matches campaigns and timesteps to its plan.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from oktapi.reports.conventions import METRICS, Record, date_order, decimal_mark
from oktapi.reports.formats.base import header_currency, normal_header
from oktapi.reports.formats.meta_ads import is_conversion
from oktapi.reports.header import (
    check_header,
    column_name,
    locate_header,
    refuse_unknown_header,
    results_need_indicator,
)
from oktapi.reports.problems import Problem, ReportRejected, quoted, ranges
from oktapi.reports.text import decode, rows
from oktapi.reports.values import (
    DATE_EXAMPLE,
    MAX_VALUE,
    NONE_MARKS,
    DateOrder,
    DecimalMark,
    numeric_parts,
    parse_date,
    parse_number,
    split_currency,
)

_MANGLED_ID = re.compile(r"^\d(?:[.,]\d+)?[eE]\+?\d+$")


@dataclass(frozen=True)
class ReportRow:
    """One campaign's results over one day (or one timestep of the plan, for plain files)."""

    source_rows: tuple[int, ...]  # file line numbers (1-based); several when rows were summed
    start: date | None  # first day covered; None when the file gives timesteps
    end: date | None  # last day covered; == start for a daily row
    timestep: int | None  # a plain file's `timestep` column
    campaign: str  # the campaign name (or id) as written, trimmed
    external_id: str | None  # the platform's campaign id, when the file has the column
    spend: float
    conversions: float
    revenue: float
    currency: str | None  # as the file states it (checked equal to the client's), or None

    @property
    def row(self) -> int:
        return self.source_rows[0]


@dataclass(frozen=True)
class Report:
    platform: str  # google_ads, meta_ads, tiktok_ads, microsoft_ads or plain
    rows: tuple[ReportRow, ...]  # in file order, one per (day or timestep, campaign)
    summed: tuple[tuple[int, ...], ...]  # file rows added up because they share day and campaign
    currency: str | None  # the file's currency if it names one


def read_report(
    content: bytes,
    *,
    currency: str,
    timestep_days: int | None = None,
    date_order: DateOrder | None = None,
    refuse_duplicates: bool = False,
) -> Report:
    """Read a platform's report download (or the plain columns) as daily rows.

    `currency` is the client's; `timestep_days == 1` refuses rows covering several days (for
    longer timesteps the caller checks that start and end fall in one timestep). `date_order`
    settles 03/04/2026-style dates when the file cannot. Raises ReportRejected listing every
    problem; never anything else.
    """
    report, problems = read_report_with_problems(
        content,
        currency=currency,
        timestep_days=timestep_days,
        date_order=date_order,
        refuse_duplicates=refuse_duplicates,
    )
    if problems:
        raise ReportRejected(problems)
    return report


def read_report_with_problems(
    content: bytes,
    *,
    currency: str,
    timestep_days: int | None = None,
    date_order: DateOrder | None = None,
    refuse_duplicates: bool = False,
) -> tuple[Report, list[Problem]]:
    """The rows that read, and the problems of those that did not (so a caller checking more,
    such as campaign matching, can list everything at once). Raises ReportRejected only when
    nothing can be read: undecodable bytes, no header, a broken CSV line, too many rows."""
    reader = _Reader(currency.strip().upper(), timestep_days, date_order, refuse_duplicates)
    try:
        return reader.read(content), reader.problems
    except ReportRejected:
        raise
    except (RecursionError, MemoryError, ValueError, IndexError, KeyError, TypeError) as error:
        raise ReportRejected(  # a bug, but the caller still gets a 4xx-shaped refusal
            [(f"the file could not be read ({type(error).__name__})", ("body",))]
        ) from error


class _Reader:
    def __init__(
        self,
        currency: str,
        timestep_days: int | None,
        date_order: DateOrder | None,
        refuse_duplicates: bool,
    ) -> None:
        self.currency = currency
        self.timestep_days = timestep_days
        self.date_order = date_order
        self.refuse_duplicates = refuse_duplicates
        self.problems: list[Problem] = []
        self.order_refused = False  # the file's dates are day/month ambiguous or inconsistent

    # --- the header -----------------------------------------------------------------------

    def read(self, content: bytes) -> Report:
        text = decode(content).replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        found = locate_header(lines)
        if found is None:
            refuse_unknown_header(lines)
        index, delimiter, fmt, header = found
        self.fmt, self.header = fmt, header
        self.columns = fmt.columns(header)
        if "end" in self.columns and normal_header(header[self.columns["date"]]) == "day":
            del self.columns["end"]  # broken down by day: Reporting ends is the range's end
        preamble = lines[:index]
        self.problems += check_header(fmt, header, self.columns, self.currency, preamble)
        records = self._records("\n".join(lines[index:]), delimiter, index + 1)
        if not records and not self.problems:
            raise ReportRejected([("the file has a header but no rows", ("body",))])
        mark = decimal_mark(records, delimiter, self.problems)
        order, self.order_refused = date_order(
            records, preamble, header, self.columns, self.date_order, self.problems
        )
        parsed = [row for row in (self._row(r, mark, order) for r in records) if row is not None]
        self._check_indicators(records)
        return self._combine(parsed)

    def _name(self, field: str) -> str:
        """The file's own header for a field, as messages show it."""
        return column_name(self.header, self.columns, field)

    # --- rows -----------------------------------------------------------------------------

    def _records(self, text: str, delimiter: str, first_line: int) -> list[Record]:
        records = []
        reader = rows(text, delimiter, first_line)
        next(reader, None)  # the header itself
        for line, cells in reader:
            if not any(cell.strip() for cell in cells) or self._is_summary(cells):
                continue
            values = {
                field: cells[index].strip() if index < len(cells) else ""
                for field, index in self.columns.items()
            }
            records.append(Record(line, values))
        return records

    def _is_summary(self, cells: list[str]) -> bool:
        """Total rows ("Total: Campaigns", "Total of 3 results") and the copyright footer."""
        filled = [cell.strip() for cell in cells if cell.strip()]
        if len(filled) == 1 and filled[0].startswith(("©", "(c)", "Copyright")):
            return True
        index = self.columns.get("date", self.columns.get("timestep"))
        key = cells[index].strip() if index is not None and index < len(cells) else ""
        if key not in NONE_MARKS and not key.casefold().startswith("total"):
            return False
        return filled[0].casefold().startswith("total")

    def _row(self, record: Record, mark: DecimalMark, order: DateOrder | None) -> ReportRow | None:
        cells, line = record.cells, record.line
        before = len(self.problems)

        def problem(field: str, message: str) -> None:
            self.problems.append((f"row {line}: {message}", ("body", "rows", line, field)))

        timestep = start = end = None
        if "timestep" in self.columns:
            raw = cells["timestep"]
            if re.fullmatch(r"\d{1,9}", raw):
                timestep = int(raw)
            else:
                problem("timestep", f"timestep {quoted(raw)} is not a whole number >= 0")
        else:
            start = self._day(cells["date"], "date", order, problem)
            end = self._day(cells["end"], "end", order, problem) if "end" in self.columns else start
            if start and end:
                self._check_span(start, end, problem)

        campaign = cells.get("campaign", "")
        external_id = _external_id(cells.get("external_id", ""))
        if not campaign and not external_id:
            problem("campaign", f"{self._name('campaign')} is empty")

        row_currency = cells.get("currency", "").upper() or None
        if row_currency and row_currency != self.currency:
            problem(
                "currency",
                f"{self._name('currency')} is {quoted(row_currency)} but the client's currency "
                f"is {self.currency}: export the report in {self.currency}",
            )
        numbers = {field: self._number(cells, field, mark, problem) for field in METRICS}
        if len(self.problems) > before:
            return None
        return ReportRow(
            source_rows=(line,),
            start=start,
            end=end,
            timestep=timestep,
            campaign=campaign or external_id or "",
            external_id=external_id,
            spend=numbers["spend"] or 0.0,
            conversions=numbers["conversions"] or 0.0,
            revenue=numbers["revenue"] or 0.0,
            currency=row_currency or header_currency(self.header[self.columns["spend"]]),
        )

    def _day(
        self,
        raw: str,
        field: str,
        order: DateOrder | None,
        problem: Callable[[str, str], None],
    ) -> date | None:
        day = parse_date(raw, order)
        # a numeric date left unread because the file's order is refused as a whole is not
        # blamed again on each row
        if day is None and not (order is None and self.order_refused and numeric_parts(raw)):
            problem(field, f"{self._name(field)} {quoted(raw)} is not a date like {DATE_EXAMPLE}")
        return day

    def _check_span(self, start: date, end: date, problem: Callable[[str, str], None]) -> None:
        if end < start:
            problem("end", f"{self._name('end')} {end} is before {self._name('date')} {start}")
        elif end != start and self.timestep_days == 1:
            days = (end - start).days + 1
            problem(
                "end",
                f"the row covers {days} days ({start} to {end}) but the plan's timesteps are "
                f"one day: {self.fmt.how_to_get_days}",
            )

    def _number(
        self, cells: dict[str, str], field: str, mark: DecimalMark, problem: Callable
    ) -> float | None:
        if field not in self.columns:
            return 0.0
        raw = cells[field]
        name = self._name(field)
        if raw in NONE_MARKS:
            if self.fmt.blank_is_zero or field == "revenue":
                return 0.0
            problem(field, f"{name} is empty: write 0 if there was none")
            return None
        value = parse_number(raw, mark)
        if value is None:
            problem(field, f"{name} {quoted(raw)} is not a number >= 0")
            return None
        if value > MAX_VALUE:
            problem(field, f"{name} {quoted(raw)} is too large")
            return None
        _, stated = split_currency(raw)
        if stated and stated != self.currency and field != "conversions":
            problem(
                field,
                f"{name} {quoted(raw)} is in {stated} but the client's currency is "
                f"{self.currency}: export the report in {self.currency}",
            )
            return None
        return value

    def _check_indicators(self, records: list[Record]) -> None:
        """Meta's Results must all count one kind of conversion to be added up as conversions."""
        if "indicator" not in self.columns or not results_need_indicator(self.header, self.columns):
            return
        name = self._name("indicator")
        kinds: dict[str, list[int]] = {}
        for record in records:
            indicator = record.cells["indicator"]
            results = record.cells.get("conversions", "")
            if not indicator:
                if results not in NONE_MARKS and parse_number(results, ".") != 0:
                    self.problems.append(
                        (
                            f"row {record.line}: Results {quoted(results)} has no {name}, so "
                            "it is unknown what was counted",
                            ("body", "rows", record.line, "indicator"),
                        )
                    )
                continue
            if not is_conversion(indicator):
                self.problems.append(
                    (
                        f"row {record.line}: {name} {quoted(indicator)} is not a conversion or "
                        "purchase, so its Results cannot be read as conversions; choose a "
                        "purchase or conversion result in Ads Manager, or export the Purchases "
                        "column",
                        ("body", "rows", record.line, "indicator"),
                    )
                )
            kinds.setdefault(indicator.casefold(), []).append(record.line)
        if len(kinds) > 1:
            listed = "; ".join(
                f"{quoted(kind, 60)} in row(s) {ranges(lines)}" for kind, lines in kinds.items()
            )
            first_other = min(lines[0] for lines in list(kinds.values())[1:])
            self.problems.append(
                (
                    f"column {name!r} mixes result types ({listed}): Results of different types "
                    "cannot be added up; export one result type per file",
                    ("body", "rows", first_other, "indicator"),
                )
            )

    # --- one row per day and campaign -----------------------------------------------------

    def _combine(self, parsed: list[ReportRow]) -> Report:
        """Rows of the same day and campaign add up (platform breakdowns split a campaign's day)."""
        combined: dict[tuple, ReportRow] = {}
        for row in parsed:
            campaign_key = (
                ("id", row.external_id) if row.external_id else ("name", row.campaign.casefold())
            )
            key = (row.timestep, row.start, row.end, campaign_key)
            seen = combined.get(key)
            if seen is None:
                combined[key] = row
                continue
            if self.refuse_duplicates:
                self.problems.append(
                    (
                        f"row {row.row}: campaign {quoted(row.campaign)} on "
                        f"{row.start or f'timestep {row.timestep}'} is already in row {seen.row}",
                        ("body", "rows", row.row, "campaign"),
                    )
                )
                continue
            combined[key] = ReportRow(
                source_rows=(*seen.source_rows, row.row),
                start=seen.start,
                end=seen.end,
                timestep=seen.timestep,
                campaign=seen.campaign,
                external_id=seen.external_id,
                spend=seen.spend + row.spend,
                conversions=seen.conversions + row.conversions,
                revenue=seen.revenue + row.revenue,
                currency=seen.currency,
            )
        rows_out = tuple(combined.values())
        file_currency = next((row.currency for row in rows_out if row.currency), None)
        return Report(
            platform=self.fmt.name,
            rows=rows_out,
            summed=tuple(row.source_rows for row in rows_out if len(row.source_rows) > 1),
            currency=file_currency,
        )


def _external_id(raw: str) -> str | None:
    """The platform's campaign id, unless missing ("--") or mangled by a spreadsheet.

    Excel shows Meta's 18-digit ids as 1.20210E+17, which several campaigns then share; such an
    id is dropped so the row matches by name instead of being added to another campaign's.
    """
    if raw in NONE_MARKS or _MANGLED_ID.match(raw):
        return None
    return raw
