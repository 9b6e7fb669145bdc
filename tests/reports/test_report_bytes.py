"""Whatever bytes arrive, the reader answers with rows or with ReportRejected, never a crash."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oktapi.reports import MAX_CELL_CHARS, Report, ReportRejected, read_report
from oktapi.reports import text as report_text

HEADER = "date,campaign,spend,conversions\n"


def _message(content: bytes) -> str:
    with pytest.raises(ReportRejected) as caught:
        read_report(content, currency="EUR", timestep_days=1)
    return " | ".join(entry["msg"] for entry in caught.value.detail)


def test_a_utf16_byte_order_mark_with_an_odd_byte_count() -> None:
    content = ("\ufeff" + HEADER).encode("utf-16-le") + b"\x00"
    assert "UTF-16 (little-endian) byte-order mark but has an odd number of bytes" in _message(
        content
    )
    assert "big-endian" in _message(b"\xfe\xff\x00a\x00")


def test_utf16_that_does_not_decode() -> None:
    content = b"\xff\xfe" + "date,".encode("utf-16-le") + b"\x00\xd8\x41\x00"  # lone surrogate
    assert "not valid UTF-16 (little-endian) text" in _message(content)


def test_bytes_that_are_not_utf8() -> None:
    message = _message(HEADER.encode() + b"2026-12-01,Caf\xe9,1,1\n")
    assert "byte 46 (0xe9) is not valid UTF-8" in message and "CSV UTF-8" in message


def test_a_cell_over_the_csv_limit_is_named_by_its_row() -> None:
    content = (HEADER + '2026-12-01,"' + "x" * (MAX_CELL_CHARS + 1) + '",1,1\n').encode()
    assert f"row 2: a cell is longer than {MAX_CELL_CHARS:,} characters" in _message(content)
    unquoted = (HEADER + "2026-12-01," + "x" * (MAX_CELL_CHARS + 1) + ",1,1\n").encode()
    assert "row 2: a cell is longer than" in _message(unquoted)


def test_a_huge_line_instead_of_a_header_gives_a_short_answer() -> None:
    message = _message(("x" * (MAX_CELL_CHARS + 1) + ",y\n2026-12-01,A,1,1\n").encode())
    assert message.startswith("missing column(s): timestep (or date), campaign, spend")
    assert len(message) < 1000


def test_the_number_of_rows_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report_text, "MAX_DATA_ROWS", 3)
    content = (HEADER + "2026-12-01,A,1,1\n" * 4).encode()
    assert "more than 3 rows" in _message(content)
    assert len(read_report((HEADER + "2026-12-01,A,1,1\n" * 3).encode(), currency="EUR").rows) == 1


def _reads_or_refuses(content: bytes) -> None:
    try:
        report = read_report(content, currency="EUR", timestep_days=1)
    except ReportRejected as rejected:
        assert rejected.detail and all(isinstance(e["msg"], str) for e in rejected.detail)
        for entry in rejected.detail:
            entry["msg"].encode("utf-8")  # the answer can be sent as JSON
            assert "could not be read (" not in entry["msg"]  # the reader's own bug net
    else:
        assert isinstance(report, Report) and report.rows


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise_anything_else(content: bytes) -> None:
    _reads_or_refuses(content)


_CELL = st.text(alphabet=st.sampled_from(list("0123456789.,;-/ \t\"'€$:Total-Dec,\r\n\x00é")))
_HEADERS = st.sampled_from(
    [
        HEADER,
        "Day,Campaign,Campaign ID,Currency code,Cost,Conversions,Conv. value\n",
        "Reporting starts,Reporting ends,Campaign name,Results,Result indicator,Amount spent (EUR)\n",
        "By Day,Campaign name,Cost,Conversions,Total purchase value\n",
        '"Report Aggregation: Daily"\n\nGregorian date,Campaign name,Spend,Conversions,Revenue\n',
        "timestep;campaign;spend;conversions;revenue\n",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    _HEADERS,
    st.lists(st.lists(_CELL, max_size=8), max_size=12),
    st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-be"]),
    st.booleans(),
)
def test_report_shaped_text_never_raises_anything_else(
    header: str, rows: list[list[str]], encoding: str, cut: bool
) -> None:
    text = header + "".join(",".join(cells) + "\n" for cells in rows)
    content = text.encode(encoding)
    if encoding == "utf-16-be":
        content = b"\xfe\xff" + content
    _reads_or_refuses(content[:-1] if cut and content else content)
