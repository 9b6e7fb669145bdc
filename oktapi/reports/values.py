"""Numbers and dates as the platforms write them, in the locale the file was exported in."""

import math
import re
from collections.abc import Iterable
from datetime import date
from typing import Literal

DateOrder = Literal["dmy", "mdy"]
DecimalMark = Literal[".", ","]

MAX_VALUE = 1e12  # spend, revenue or conversions beyond this is not a day of advertising

# Symbols whose currency is certain; "$" and "¥" name several, so they are only stripped.
CURRENCY_SYMBOLS = {"€": "EUR", "£": "GBP", "₹": "INR", "₩": "KRW", "₺": "TRY", "₽": "RUB"}
_STRIPPED_SYMBOLS = "$¥¢" + "".join(CURRENCY_SYMBOLS)
_CODE = re.compile(r"^([A-Za-z]{3})\s*(?=[\d.,])|(?<=[\d.,])\s*([A-Za-z]{3})$")
_SPACES = re.compile(r"[\s\u00a0\u202f]")
_GROUPING = "'\u2019 \u00a0\u202f"  # 1'234.56 (Swiss), 1 234,56 (French) besides the other mark
_SCIENTIFIC = re.compile(r"^\d+(\.\d+)?[eE][+-]?\d+$")
NONE_MARKS = (
    "",
    "--",
    "-",
    "\u2014",
    "\u2013",
    "n/a",
    "N/A",
)  # how exports write "nothing that day"


def split_currency(text: str) -> tuple[str, str | None]:
    """'€1.234,50' → ('1.234,50', 'EUR'); 'USD 12.00' → ('12.00', 'USD'); symbols like $ → None."""
    text = text.strip()
    if text[:1].isdigit() and text[-1:].isdigit():
        return text, None  # no symbol or code around it: the usual cell
    currency = None
    match = _CODE.search(text)
    if match:
        currency = (match.group(1) or match.group(2)).upper()
        text = (text[: match.start()] + text[match.end() :]).strip()
    if text and text[0] in _STRIPPED_SYMBOLS:
        currency = currency or CURRENCY_SYMBOLS.get(text[0])
        text = text[1:].strip()
    elif text and text[-1] in _STRIPPED_SYMBOLS:
        currency = currency or CURRENCY_SYMBOLS.get(text[-1])
        text = text[:-1].strip()
    return text, currency


def decimal_evidence(text: str) -> DecimalMark | None:
    """Which decimal mark a cell shows beyond doubt; None when '1,234' could be either."""
    text, _ = split_currency(text)
    text = _SPACES.sub("", text)
    comma, point = text.rfind(","), text.rfind(".")
    if comma >= 0 and point >= 0:
        return "," if comma > point else "."
    pairs: tuple[tuple[DecimalMark, DecimalMark], ...] = ((",", "."), (".", ","))
    for mark, other in pairs:
        if text.count(mark) > 1:
            return other  # several marks can only be thousands separators
        position = text.rfind(mark)
        if position >= 0 and len(text) - position - 1 != 3:
            return mark  # 41,50 or 0.5: not a group of three digits
    return None


def decide_decimal_mark(cells: Iterable[str], delimiter: str) -> DecimalMark | None:
    """The file's decimal mark from its numbers; None when its numbers show both marks."""
    seen = {mark for mark in map(decimal_evidence, cells) if mark is not None}
    if len(seen) > 1:
        return None
    if seen:
        return seen.pop()
    return "," if delimiter == ";" else "."


def _number_pattern(mark: DecimalMark) -> re.Pattern[str]:
    group = re.escape(("," if mark == "." else ".") + _GROUPING)
    return re.compile(r"^(\d{1,3}(?:[" + group + r"]\d{3})+|\d+)?(" + re.escape(mark) + r"\d*)?$")


_NUMBER_PATTERNS = {mark: _number_pattern(mark) for mark in (".", ",")}
_PLAIN_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")
_NOT_DIGIT = re.compile(r"\D")


def parse_number(text: str, mark: DecimalMark) -> float | None:
    """A number >= 0 written with `mark` as decimal separator and the other as grouping."""
    if mark == "." and _PLAIN_NUMBER.match(text):
        return float(text)  # the common case, kept fast for files of many thousand rows
    text, _ = split_currency(text)
    if mark == "." and _SCIENTIFIC.match(text):
        value = float(text)
        return value if math.isfinite(value) else None
    match = _NUMBER_PATTERNS[mark].match(text)
    if not match or not any(char.isdigit() for char in text):
        return None
    whole = _NOT_DIGIT.sub("", match.group(1) or "0")
    fraction = (match.group(2) or "")[1:]
    value = float(f"{whole}.{fraction or '0'}")
    return value if math.isfinite(value) else None


# --- dates -------------------------------------------------------------------------------------

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:\s*[AaPp][Mm])?(?:Z|[+-]\d{2}:?\d{2})?)?"
_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})" + _TIME + "$")
_NUMERIC = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})" + _TIME + "$")
_WEEKDAY = re.compile(r"^(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+", re.IGNORECASE)
_MONTH_FIRST = re.compile(r"^([A-Za-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})$")
_DAY_FIRST = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?[\s-]+([A-Za-z]+)\.?[\s,-]+(\d{4})$")

DATE_EXAMPLE = "2026-12-01, Dec 1, 2026 or 01/12/2026"


def numeric_parts(text: str) -> tuple[int, int] | None:
    """The first two numbers of a date like 03/04/2026, whose order the file must settle."""
    match = _NUMERIC.match(text.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def decide_date_order(parts: Iterable[tuple[int, int]]) -> tuple[set[DateOrder], bool]:
    """The orders the file's numeric dates prove, and whether any date would need one."""
    proven: set[DateOrder] = set()
    needed = False
    for first, second in parts:
        if first > 12 >= second:
            proven.add("dmy")
        elif second > 12 >= first:
            proven.add("mdy")
        if first != second:
            needed = True
    return proven, needed


def parse_date(text: str, order: DateOrder | None) -> date | None:
    """A calendar day from ISO, 'Dec 1, 2026', '1 Dec 2026', or numeric in the given order."""
    text = _WEEKDAY.sub("", text.strip())
    try:
        if match := _ISO.match(text):
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        if match := _NUMERIC.match(text):
            first, second, year = (int(group) for group in match.groups())
            if first == second:
                order = order or "dmy"  # 1/1/2026 reads the same either way
            if order is None:
                return None
            year += 2000 if year < 100 else 0
            day, month = (first, second) if order == "dmy" else (second, first)
            return date(year, month, day)
        if match := _MONTH_FIRST.match(text):
            named = _MONTHS.get(match.group(1).lower())
            return date(int(match.group(3)), named, int(match.group(2))) if named else None
        if match := _DAY_FIRST.match(text):
            named = _MONTHS.get(match.group(2).lower())
            return date(int(match.group(3)), named, int(match.group(1))) if named else None
    except ValueError:
        return None  # 2026-02-30, month 13
    return None
