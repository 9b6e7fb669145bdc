"""Each platform's download, as a buyer gets it, reads as the daily rows the platform shows."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oktapi.reports import Report, read_report

FIXTURES = Path(__file__).parent.parent / "fixtures" / "reports"
NOV30, DEC1, DEC2 = date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2)


def _read(name: str, **kwargs: object) -> Report:
    options: dict = {"timestep_days": 1, **kwargs}
    return read_report((FIXTURES / name).read_bytes(), currency="EUR", **options)


def _table(report: Report) -> list[tuple]:
    return [
        (r.row, r.start, r.campaign, r.external_id, r.spend, r.conversions, r.revenue)
        for r in report.rows
    ]


def test_google_ads_csv_with_title_range_thousands_fractions_dashes_and_totals() -> None:
    report = _read("google_ads_campaigns.csv")
    assert report.platform == "google_ads" and report.currency == "EUR"
    assert _table(report) == [
        (4, NOV30, "Brand Search", "17701234501", 1234.56, 41.5, 2075.0),
        (5, NOV30, "Generic Search", "17701234502", 412.10, 3.25, 180.0),
        (6, DEC1, "Brand Search", "17701234501", 1180.0, 39.0, 1950.5),
        (7, DEC1, "Generic Search", "17701234502", 0.0, 0.0, 0.0),  # "--" value: none
    ]
    assert all(r.end == r.start and r.currency == "EUR" for r in report.rows)


def test_google_ads_days_written_with_month_names() -> None:
    report = _read("google_ads_month_names.csv")
    assert _table(report) == [
        (4, DEC1, "Brand Search", None, 1180.0, 39.0, 1950.5),
        (5, DEC2, "Brand Search", None, 990.25, 12.75, 610.0),
        (6, DEC1, "Generic Search", None, 15.0, 0.0, 0.0),
    ]


def test_google_ads_excel_export_is_utf16_tab_separated() -> None:
    raw = (FIXTURES / "google_ads_excel_utf16le.csv").read_bytes()
    assert raw.startswith(b"\xff\xfe")
    report = _read("google_ads_excel_utf16le.csv")
    assert _table(report) == [
        (4, NOV30, "Brand Search", "17701234501", 1234.56, 41.5, 2075.0),
        (5, DEC1, "Café Crème \u2013 Génériques", "17701234503", 87.2, 2.0, 0.0),
    ]


def test_google_ads_with_semicolons_and_decimal_commas() -> None:
    report = _read("google_ads_semicolon_comma_decimals.csv")
    assert _table(report) == [
        (4, DEC1, "Brand Search", None, 1234.56, 41.5, 2075.0),
        (5, DEC1, "Generic Search", None, 412.10, 3.0, 180.0),
    ]


def test_meta_ads_manager_daily_export_with_an_empty_results_day() -> None:
    report = _read("meta_ads_daily.csv")
    assert report.platform == "meta_ads" and report.currency == "EUR"
    assert _table(report) == [
        (2, DEC1, "Prospecting - Lookalike", "120210000000000101", 150.23, 12.0, 980.40),
        (3, DEC1, "Retargeting", "120210000000000102", 20.0, 0.0, 0.0),  # Meta leaves it empty
        (4, DEC2, "Prospecting - Lookalike", "120210000000000101", 149.80, 9.0, 702.0),
        (5, DEC2, "Retargeting", "120210000000000102", 21.50, 3.0, 240.0),
    ]


def test_meta_ranges_over_several_days_are_returned_when_timesteps_are_longer() -> None:
    report = _read("meta_ads_three_days.csv", timestep_days=None)
    assert [(r.start, r.end, r.conversions) for r in report.rows] == [
        (DEC1, date(2026, 12, 3), 31.0),
        (DEC1, date(2026, 12, 3), 8.0),
    ]
    weekly = read_report(
        (FIXTURES / "meta_ads_three_days.csv").read_bytes(), currency="eur", timestep_days=7
    )
    assert weekly.rows[0].end == date(2026, 12, 3)  # the caller checks it is in one timestep


def test_tiktok_ads_manager_export_skips_its_total_row() -> None:
    report = _read("tiktok_ads_daily.csv")
    assert report.platform == "tiktok_ads"
    assert _table(report) == [
        (2, DEC1, "Spark Ads - Winter", "1790000000000001", 210.45, 14.0, 1120.0),
        (3, DEC1, "Catalog Sales", "1790000000000002", 95.0, 0.0, 0.0),
        (4, DEC2, "Spark Ads - Winter", "1790000000000001", 198.10, 11.0, 880.0),
    ]


@pytest.mark.parametrize(
    ("header", "platform"),
    [
        ("Day,Campaign name,Cost,Conversions,Conv. value", "google_ads"),
        ("Day,Campaign,Cost,Conversions", "google_ads"),
        ("Date,Campaign name,Cost,Conversions,Total purchase value", "tiktok_ads"),
        ("By Day,Campaign,Cost,Conversions", "tiktok_ads"),
    ],
)
def test_google_and_tiktok_headers_are_told_apart(header: str, platform: str) -> None:
    report = read_report(f"{header}\n2026-12-01,A,1.00,1,0\n".encode(), currency="EUR")
    assert report.platform == platform and report.rows[0].spend == 1.0


def test_microsoft_advertising_preamble_dates_and_copyright_footer() -> None:
    report = _read("microsoft_ads_campaigns.csv")
    assert report.platform == "microsoft_ads"
    assert _table(report) == [
        (12, NOV30, "Bing - Brand", "604001", 288.40, 17.0, 1030.0),  # 11/30: month first
        (13, DEC1, "Bing - Brand", "604001", 270.15, 15.5, 940.25),
        (14, DEC1, "Bing - Generic", "604002", 55.0, 0.0, 0.0),
    ]


def test_microsofts_report_time_line_settles_the_date_order() -> None:
    text = (FIXTURES / "microsoft_ads_ambiguous_dates.csv").read_bytes()
    text = text.replace(b"Report Time: 12/1/2026", b"Report Time: 11/25/2026 - 12/1/2026")
    report = read_report(text, currency="EUR", timestep_days=1)
    assert [r.start for r in report.rows] == [DEC1, DEC1]


def test_meta_broken_down_by_day_and_purchases_without_results() -> None:
    text = (
        "Reporting starts,Reporting ends,Day,Campaign name,Amount spent (EUR),Purchases,"
        "Website purchases conversion value\n"
        "2026-12-01,2026-12-07,2026-12-01,A,10.00,2,40.00\n"
        "2026-12-01,2026-12-07,2026-12-02,A,11.00,,\n"
    )
    report = read_report(text.encode(), currency="EUR", timestep_days=1)
    assert [(r.start, r.end, r.conversions, r.revenue) for r in report.rows] == [
        (DEC1, DEC1, 2.0, 40.0),
        (DEC2, DEC2, 0.0, 0.0),
    ]


def test_an_ambiguous_date_order_can_be_told() -> None:
    report = _read("microsoft_ads_ambiguous_dates.csv", date_order="mdy")
    assert [r.start for r in report.rows] == [DEC1, DEC1]
    report = _read("microsoft_ads_ambiguous_dates.csv", date_order="dmy")
    assert [r.start for r in report.rows] == [date(2026, 1, 12)] * 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("date,campaign,spend,conversions\n2026-12-01,A,10,1\n", (DEC1, None, "A", 10.0, 1.0, 0.0)),
        (
            "Timestep,CAMPAIGN,Spend,Conversions,Revenue,Clicks\n3,A,10,1,5,99\n",
            (None, 3, "A", 10.0, 1.0, 5.0),
        ),
        (
            "My export\n\nDATE;Campaign;Spend;Conversions;Revenue\n01/12/2026;A;1.234,5;2;€10,00\n"
            "13/12/2026;A;1;0;0\n",
            (DEC1, None, "A", 1234.5, 2.0, 10.0),
        ),
        (
            "date,campaign,campaign id,spend,conversions,revenue\n2026-12-01, A ,c-1,$10,1.5,\n",
            (DEC1, None, "A", 10.0, 1.5, 0.0),
        ),
    ],
)
def test_plain_columns_are_still_read(text: str, expected: tuple) -> None:
    report = read_report(text.encode(), currency="EUR", timestep_days=1)
    assert report.platform == "plain"
    first = report.rows[0]
    assert (
        first.start,
        first.timestep,
        first.campaign,
        first.spend,
        first.conversions,
        first.revenue,
    ) == expected


def test_rows_of_the_same_day_and_campaign_add_up_and_are_reported() -> None:
    text = (
        "Day,Campaign,Campaign ID,Device,Cost,Conversions,Conv. value\n"
        "2026-12-01,Brand,11,Mobile,10.00,1.50,20.00\n"
        "2026-12-01,Brand,11,Desktop,5.00,0.50,--\n"
        "2026-12-01,Generic,12,Mobile,3.00,0.00,0.00\n"
    )
    report = read_report(text.encode(), currency="EUR", timestep_days=1)
    assert report.summed == ((2, 3),)
    assert [(r.source_rows, r.spend, r.conversions, r.revenue) for r in report.rows] == [
        ((2, 3), 15.0, 2.0, 20.0),
        ((4,), 3.0, 0.0, 0.0),
    ]


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: text.encode("utf-8"),
        lambda text: text.encode("utf-8-sig"),
        lambda text: text.encode("utf-16"),  # LE with BOM on this machine
        lambda text: b"\xfe\xff" + text.encode("utf-16-be"),
        lambda text: b"\xff\xfe" + text.encode("utf-16-le"),
        lambda text: text.replace("\n", "\r\n").encode("utf-8"),
    ],
)
def test_every_encoding_platforms_and_spreadsheets_write(encode) -> None:  # type: ignore[no-untyped-def]
    text = "date,campaign,spend,conversions\n2026-12-01,Crème brûlée,10,1\n"
    report = read_report(encode(text), currency="EUR")
    assert [(r.campaign, r.spend) for r in report.rows] == [("Crème brûlée", 10.0)]


def test_ids_a_spreadsheet_mangled_are_dropped_so_campaigns_stay_apart() -> None:
    text = (
        "Reporting starts,Reporting ends,Campaign name,Campaign ID,Purchases,Amount spent (EUR)\n"
        "2026-12-01,2026-12-01,Prospecting,1.20210E+17,2,10.00\n"
        "2026-12-01,2026-12-01,Retargeting,1.20210E+17,1,5.00\n"
        "2026-12-01,2026-12-01,Brand,--,0,1.00\n"
    )
    report = read_report(text.encode(), currency="EUR", timestep_days=1)
    assert [(r.campaign, r.external_id, r.spend) for r in report.rows] == [
        ("Prospecting", None, 10.0),
        ("Retargeting", None, 5.0),
        ("Brand", None, 1.0),
    ]


_MONEY = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False)
_COUNT = st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False)


def _written(value: Decimal, locale: str) -> str:
    """1234567.5 as Google Ads writes it: 1,234,567.50 (en) or 1.234.567,50 (de)."""
    text = f"{value:,.2f}"
    return text if locale == "en" else text.translate(str.maketrans(",.", ".,"))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(_MONEY, _COUNT, _MONEY), min_size=1, max_size=15),
    st.sampled_from(["en", "de"]),
    st.sampled_from(["utf-8", "utf-16"]),
)
def test_numbers_as_platforms_write_them_read_back_exactly(
    rows: list[tuple[Decimal, Decimal, Decimal]], locale: str, encoding: str
) -> None:
    delimiter = "," if locale == "en" else ";"
    lines = [
        "Campaign report",
        delimiter.join(["Day", "Campaign", "Cost", "Conversions", "Conv. value"]),
    ]
    for index, numbers in enumerate(rows):
        cells = [f"2026-12-{1 + index:02d}", f"Campaign {index}"]
        cells += [f'"{_written(value, locale)}"' for value in numbers]
        lines.append(delimiter.join(cells))
    content = "\n".join(lines).encode(encoding)
    report = read_report(content, currency="EUR", timestep_days=1)
    assert [(r.spend, r.conversions, r.revenue) for r in report.rows] == [
        tuple(float(value) for value in numbers) for numbers in rows
    ]
