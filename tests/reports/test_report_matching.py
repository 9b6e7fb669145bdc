"""A report's rows find their campaign by platform id, Oktopus id or name (case and spaces aside)."""

import pytest

from oktapi.reports import ReportRejected, match_rows, read_and_match, read_report

CAMPAIGNS = [
    {"_id": "c-brand", "name": "Brand Search", "external_id": "17701234501"},
    {"_id": "c-generic", "name": "Generic Search", "external_id": None},
    {"_id": "c-meta-1", "name": "Retargeting"},
    {"_id": "c-meta-2", "name": "retargeting "},
]


def _rows(body: str):  # type: ignore[no-untyped-def]
    text = "Day,Campaign,Campaign ID,Cost,Conversions,Conv. value\n" + body
    return read_report(text.encode(), currency="EUR", timestep_days=1).rows


def test_platform_id_then_oktopus_id_then_name() -> None:
    rows = _rows(
        "2026-12-01,Renamed in Google,17701234501,10.00,1,5\n"  # the platform id wins
        "2026-12-01,  generic SEARCH ,99,4.00,0,0\n"  # no campaign has id 99: the name
        "2026-12-02,c-generic,,1.00,0,0\n"  # the Oktopus id
    )
    matched = match_rows(rows, CAMPAIGNS)
    assert [(campaign_id, row.row) for campaign_id, row in matched.rows] == [
        ("c-brand", 2),
        ("c-generic", 3),
        ("c-generic", 4),
    ]
    assert matched.unknown == []


def test_one_campaign_written_two_ways_on_one_day_is_summed() -> None:
    rows = _rows("2026-12-01,Brand Search,,10.00,1,5\n2026-12-01,x,17701234501,2.00,1,1\n")
    [(campaign_id, row)] = match_rows(rows, CAMPAIGNS).rows
    assert campaign_id == "c-brand" and row.source_rows == (2, 3) and row.spend == 12.0


def test_unknown_and_ambiguous_campaigns_are_refused_naming_rows() -> None:
    rows = _rows(
        "2026-12-01,Nobody,,1.00,0,0\n2026-12-02,Nobody,,1.00,0,0\n2026-12-01,RETARGETING,,1,0,0\n"
    )
    with pytest.raises(ReportRejected) as caught:
        match_rows(rows, CAMPAIGNS)
    assert [(e["loc"], e["msg"]) for e in caught.value.detail] == [
        (
            ["body", "rows", 2, "campaign"],
            "row(s) 2-3: campaign 'Nobody' is not one of this plan's campaigns "
            "(by platform campaign id, id or name)",
        ),
        (
            ["body", "rows", 4, "campaign"],
            "row 4: campaign name 'RETARGETING' matches 2 campaigns; give them distinct names "
            "or set their external_id to the platform's campaign id",
        ),
    ]


def test_unknown_campaigns_can_be_ignored_and_are_listed() -> None:
    rows = _rows("2026-12-01,Nobody,,1.00,0,0\n2026-12-01,Brand Search,,1.00,0,0\n")
    matched = match_rows(rows, CAMPAIGNS, ignore_unknown=True)
    assert [campaign_id for campaign_id, _ in matched.rows] == ["c-brand"]
    assert matched.unknown == ["Nobody"]


def test_reading_and_matching_list_every_problem_in_file_order() -> None:
    text = (
        "Day,Campaign,Currency code,Cost,Conversions\n"
        "2026-12-01,Nobody,EUR,1.00,0\n"  # row 2: unknown campaign (found when matching)
        "2026-12-01,Brand Search,EUR,lots,0\n"  # row 3: not a number (found when reading)
        "2026-12-02,Generic Search,USD,1.00,0\n"  # row 4: another currency
    )
    with pytest.raises(ReportRejected) as caught:
        read_and_match(text.encode(), currency="EUR", campaigns=CAMPAIGNS, timestep_days=1)
    assert [e["loc"] for e in caught.value.detail] == [
        ["body", "rows", 2, "campaign"],
        ["body", "rows", 3, "spend"],
        ["body", "rows", 4, "currency"],
    ]
    report, matched = read_and_match(
        text.replace("lots", "2.00").replace("USD", "EUR").encode(),
        currency="EUR",
        campaigns=CAMPAIGNS,
        ignore_unknown=True,
    )
    assert report.platform == "google_ads" and matched.unknown == ["Nobody"]
    assert [campaign_id for campaign_id, _ in matched.rows] == ["c-brand", "c-generic"]
