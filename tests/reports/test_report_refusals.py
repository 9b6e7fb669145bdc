"""What would be recorded wrongly is refused: every problem listed, each naming its row and column."""

from pathlib import Path

import pytest

from oktapi.reports import ReportRejected, read_report

FIXTURES = Path(__file__).parent.parent / "fixtures" / "reports"


def _problems(content: bytes | str, **kwargs: object) -> list[tuple[str, list]]:
    """(msg, loc) of every problem, in the FastAPI validation shape the API answers."""
    options: dict = {"currency": "EUR", "timestep_days": 1, **kwargs}
    raw = content.encode() if isinstance(content, str) else content
    with pytest.raises(ReportRejected) as caught:
        read_report(raw, **options)
    assert all(entry["type"] == "value_error" for entry in caught.value.detail)
    return [(entry["msg"], entry["loc"]) for entry in caught.value.detail]


def _fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_link_clicks_are_not_conversions() -> None:
    problems = _problems(_fixture("meta_ads_link_clicks.csv"))
    msg, loc = problems[0]
    assert loc == ["body", "rows", 2, "indicator"]
    assert "'actions:link_click' is not a conversion or purchase" in msg and msg.startswith("row 2")


def test_mixed_result_types_are_not_added_up() -> None:
    problems = _problems(_fixture("meta_ads_mixed_results.csv"))
    assert len(problems) == 1
    msg, loc = problems[0]
    assert loc == ["body", "rows", 3, "indicator"]
    assert "mixes result types" in msg and "fb_pixel_lead' in row(s) 3" in msg


def test_meta_results_without_their_indicator_are_refused() -> None:
    text = "Reporting starts,Reporting ends,Campaign name,Results,Amount spent (EUR)\n"
    text += "2026-12-01,2026-12-01,Traffic,1543,80.00\n"
    [(msg, loc)] = _problems(text)
    assert loc == ["body", "header", "conversions"] and "'Result indicator'" in msg


def test_meta_results_counted_without_an_indicator_in_the_row() -> None:
    text = "Reporting starts,Reporting ends,Campaign name,Results,Result indicator,Amount spent (EUR)\n"
    text += "2026-12-01,2026-12-01,A,,,1.00\n2026-12-01,2026-12-01,B,7,,2.00\n"
    [(msg, loc)] = _problems(text)
    assert loc == ["body", "rows", 3, "indicator"] and "has no Result indicator" in msg


def test_a_multi_day_range_on_a_daily_plan_names_each_row() -> None:
    problems = _problems(_fixture("meta_ads_three_days.csv"))
    assert [loc for _, loc in problems] == [["body", "rows", 2, "end"], ["body", "rows", 3, "end"]]
    assert "covers 3 days (2026-12-01 to 2026-12-03)" in problems[0][0]
    assert "By time → Day" in problems[0][0]


def test_a_range_ending_before_it_starts() -> None:
    text = "Reporting starts,Reporting ends,Campaign name,Purchases,Amount spent (EUR)\n"
    text += "2026-12-03,2026-12-01,A,1,1.00\n"
    [(msg, loc)] = _problems(text, timestep_days=None)
    assert loc == ["body", "rows", 2, "end"] and "is before" in msg


def test_another_currency_in_the_header() -> None:
    [(msg, loc)] = _problems(_fixture("meta_ads_usd.csv"))
    assert loc == ["body", "header", "spend"]
    assert "'Amount spent (USD)' is in USD but the client's currency is EUR" in msg


def test_another_currency_in_a_currency_column_or_a_cell() -> None:
    text = "Day,Campaign,Currency code,Cost,Conversions,Conv. value\n"
    text += "2026-12-01,A,USD,1.00,1,1.00\n2026-12-01,B,EUR,USD 4.00,1,£2.00\n"
    problems = _problems(text)
    assert [loc for _, loc in problems] == [
        ["body", "rows", 2, "currency"],
        ["body", "rows", 3, "spend"],
        ["body", "rows", 3, "revenue"],
    ]
    assert "Currency code is 'USD' but the client's currency is EUR" in problems[0][0]
    assert "is in GBP" in problems[2][0]


def test_an_ambiguous_date_order_is_refused_naming_the_column() -> None:
    [(msg, loc)] = _problems(_fixture("microsoft_ads_ambiguous_dates.csv"))
    assert loc == ["body", "header", "date"]
    assert "column 'Gregorian date'" in msg and "'12/1/2026' (row 8)" in msg
    assert "YYYY-MM-DD" in msg


def test_a_file_mixing_day_first_and_month_first_dates() -> None:
    text = "date,campaign,spend,conversions\n25/12/2026,A,1,1\n12/25/2026,A,1,1\n"
    [(msg, loc)] = _problems(text)
    assert loc == ["body", "header", "date"]
    assert "day first (row 2" in msg and "month first (row 3" in msg


def test_missing_columns_of_a_recognised_platform() -> None:
    [(msg, loc)] = _problems("Reporting starts,Campaign name,Amount spent (EUR)\n2026-12-01,A,1\n")
    assert loc == ["body", "header"]
    assert msg.startswith("missing column(s): results; found: Reporting starts")
    assert "(read as a Meta Ads Manager report)" in msg


def test_weekly_rows_are_refused_with_the_way_to_get_days() -> None:
    [(msg, loc)] = _problems(_fixture("google_ads_weekly.csv"))
    assert loc == ["body", "header", "date"]
    assert "'Week': each row is a total over a week" in msg and "Segment → Time → Day" in msg


def test_microsoft_weekly_aggregation_is_refused() -> None:
    text = _fixture("microsoft_ads_campaigns.csv").replace(
        b"Aggregation: Daily", b"Aggregation: Weekly"
    )
    [(msg, loc)] = _problems(text)
    assert loc == ["body", "header", "date"] and "'Weekly'" in msg


def test_duplicates_are_refused_only_when_asked() -> None:
    text = "date,campaign,spend,conversions\n2026-12-01,A,1,1\n2026-12-01, a ,2,1\n"
    assert read_report(text.encode(), currency="EUR").summed == ((2, 3),)
    [(msg, loc)] = _problems(text, refuse_duplicates=True)
    assert loc == ["body", "rows", 3, "campaign"] and "already in row 2" in msg


def test_every_bad_cell_of_a_file_is_listed_at_once() -> None:
    text = (
        "Day,Campaign,Cost,Conversions,Conv. value\n"
        "2026-12-01,A,lots,1,0\n"  # row 2
        "2026-13-01,B,1.00,1,0\n"  # row 3
        "2026-12-01,,1.00,1,0\n"  # row 4
        "2026-12-02,C,1.00,-2,0\n"  # row 5
        "2026-12-02,D,1.00,1,2e400\n"  # row 6
    )
    problems = _problems(text)
    assert [loc for _, loc in problems] == [
        ["body", "rows", 2, "spend"],
        ["body", "rows", 3, "date"],
        ["body", "rows", 4, "campaign"],
        ["body", "rows", 5, "conversions"],
        ["body", "rows", 6, "revenue"],
    ]
    messages = [msg for msg, _ in problems]
    assert messages[0] == "row 2: Cost 'lots' is not a number >= 0"
    assert messages[1].startswith("row 3: Day '2026-13-01' is not a date like")
    assert messages[2] == "row 4: Campaign is empty"
    assert "'-2' is not a number >= 0" in messages[3]


def test_numbers_in_two_locales_in_one_file() -> None:
    text = 'date,campaign,spend,conversions\n2026-12-01,A,"1,234.50",1\n2026-12-02,A,"12,5",1\n'
    [(msg, loc)] = _problems(text)
    assert loc == ["body", "rows", 3]
    assert "both with '.' as decimal mark (row 2) and with ',' (row 3)" in msg


def test_a_plain_file_with_an_empty_spend() -> None:
    [(msg, loc)] = _problems("date,campaign,spend,conversions\n2026-12-01,A,,1\n")
    assert loc == ["body", "rows", 2, "spend"] and "spend is empty" in msg


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "the file is empty"),
        ("\n\n", "the file is empty"),
        ("timestep,campaign,spend,conversions\n", "has a header but no rows"),
        (
            "timestep,campaign,spend\n0,A,1\n",
            "missing column(s): conversions; found",
        ),
        ("campaign,spend,conversions\nA,1,1\n", "timestep (or date)"),
        ("hello,world\n1,2\n", "missing column(s): timestep (or date), campaign, spend"),
        ("timestep,campaign,spend,conversions\n1.5,A,1,1\n", "'1.5' is not a whole number"),
    ],
)
def test_files_that_are_not_reports(text: str, fragment: str) -> None:
    assert fragment in " | ".join(msg for msg, _ in _problems(text))


def test_the_listing_is_capped_and_says_how_many_more() -> None:
    text = "date,campaign,spend,conversions\n" + "2026-12-01,A,x,1\n" * 80
    detail = _problems(text)
    assert len(detail) == 51 and detail[-1][0] == "... and 30 more problems"
