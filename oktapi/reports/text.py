"""Bytes to text and text to rows, refusing what cannot be read instead of failing on it."""

import csv
import io
from collections.abc import Iterator

from oktapi.reports.problems import ReportRejected

MAX_CELL_CHARS = 131_072  # the csv module's default field limit, kept process-wide as it is
MAX_DATA_ROWS = 200_000  # far above a 1,000-day by 20-campaign file; a larger file is split


def decode(content: bytes) -> str:
    """UTF-8 (with or without BOM), or UTF-16 LE/BE with a BOM, as platforms and Excel write them."""
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        order = "little-endian" if content.startswith(b"\xff\xfe") else "big-endian"
        if len(content) % 2:
            _refuse(
                f"the file starts with a UTF-16 ({order}) byte-order mark but has an odd number "
                f"of bytes ({len(content)}): it was cut off or is not UTF-16 text; download it again"
            )
        try:
            return content.decode("utf-16")
        except UnicodeDecodeError as error:
            _refuse(
                f"the file is not valid UTF-16 ({order}) text (bytes {error.start}-{error.end - 1} "
                "do not decode); download it again"
            )
    if _looks_like_utf16_without_bom(content):
        try:
            return content.decode("utf-16-le")
        except UnicodeDecodeError:
            pass  # reported below as not UTF-8
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        _refuse(
            f"the file is not UTF-8 or UTF-16 text: byte {error.start} (0x{content[error.start]:02x}) "
            "is not valid UTF-8; save the report as CSV UTF-8 (or download it again)"
        )
    raise AssertionError("unreachable")  # pragma: no cover


def _looks_like_utf16_without_bom(content: bytes) -> bool:
    """ASCII text saved as UTF-16 LE without a BOM: every second byte of the start is NUL."""
    head = content[:400]
    return len(content) % 2 == 0 and len(head) >= 8 and head[1::2].count(0) == len(head) // 2


def _refuse(message: str) -> None:
    raise ReportRejected([(message, ("body",))])


def first_cells(line: str, delimiter: str) -> list[str]:
    """The cells of one line, or [] when it is not one CSV line (a quote left open, a huge cell)."""
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return []


def rows(text: str, delimiter: str, first_line: int) -> Iterator[tuple[int, list[str]]]:
    """(line number in the file, cells) for each row; `text` starts at line `first_line` (1-based).

    A csv error (a cell over MAX_CELL_CHARS, usually a quote left open) and a file with more
    than MAX_DATA_ROWS rows are refused with the line where they happen.
    """
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    count = 0
    while True:
        line = first_line + reader.line_num  # where the next record starts
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            if "field larger than field limit" in str(error):
                message = (
                    f"row {line}: a cell is longer than {MAX_CELL_CHARS:,} characters (is a quote "
                    "left open?); no report cell is that long"
                )
            else:
                message = f"row {line}: not readable as CSV ({error})"
            raise ReportRejected([(message, ("body", "rows", line))]) from None
        count += 1
        if count > MAX_DATA_ROWS + 1:
            raise ReportRejected(
                [
                    (
                        f"the file has more than {MAX_DATA_ROWS:,} rows; split it into smaller "
                        "date ranges",
                        ("body",),
                    )
                ]
            )
        yield line, cells
