"""CSV import of platform reports: applies timesteps in order, or refuses the whole file."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.plans_support import client_with_campaigns, create_plan


@pytest.fixture
def plan(client: TestClient, db: Any, admin_headers: dict) -> dict:
    """Three campaigns named 'Campaign 0..2', 1000 per timestep, 5 daily timesteps from Jan 1."""
    client_id, campaign_ids = client_with_campaigns(db, 3)
    made = create_plan(
        client,
        admin_headers,
        client_id,
        campaign_ids,
        total_budget=5000,
        timesteps=5,
        start="2027-01-01",
        timestep_days=1,
    )
    made["campaign_ids"] = campaign_ids
    return made


def _upload(client: TestClient, plan: dict, headers: dict, text: str | bytes, **kwargs: Any):
    content = text.encode() if isinstance(text, str) else text
    return client.post(
        f"/plans/{plan['id']}/results/csv",
        content=content,
        headers={**headers, "content-type": "text/csv"},
        **kwargs,
    )


def _rows(timesteps: range, *, spend: float = 100.0, key: str = "timestep") -> str:
    lines = [f"{key},campaign,spend,conversions,revenue,clicks"]
    for t in timesteps:
        label = str(t) if key == "timestep" else f"2027-01-0{t + 1}"
        lines += [f"{label},Campaign {i},{spend},{i + 1},{10 * (i + 1)},99" for i in range(3)]
    return "\n".join(lines) + "\n"


def test_a_report_applies_its_timesteps_in_order(
    client: TestClient, plan: dict, admin_headers: dict
) -> None:
    response = _upload(client, plan, admin_headers, _rows(range(3)))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["rows"] == 9 and answer["closed"] == [0, 1, 2]
    assert answer["restated"] == answer["waiting"] == [] and answer["timestep"] == 3
    assert answer["allocation"]["timestep"] == 3
    state = client.get(f"/plans/{plan['id']}", headers=admin_headers).json()
    assert state["timestep"] == 3 and state["budget_spent"] == pytest.approx(900)
    history = client.get(f"/plans/{plan['id']}/history", headers=admin_headers).json()
    assert [e["results"][2]["conversions"] for e in history["entries"][:3]] == [3, 3, 3]


def test_the_same_file_uploaded_again_changes_nothing(
    client: TestClient, plan: dict, admin_headers: dict
) -> None:
    _upload(client, plan, admin_headers, _rows(range(2)))
    again = _upload(client, plan, admin_headers, _rows(range(3)))
    assert again.status_code == 200, again.text
    assert again.json()["unchanged"] == [0, 1] and again.json()["closed"] == [2]
    assert again.json()["restated"] == []
    history = client.get(f"/plans/{plan['id']}/history", headers=admin_headers).json()
    assert [entry["revision"] for entry in history["entries"][:3]] == [0, 0, 0]
    assert client.get(f"/plans/{plan['id']}", headers=admin_headers).json()["timestep"] == 3


def test_dates_map_through_the_plan_start_and_ids_work_as_campaign_names(
    client: TestClient, plan: dict, admin_headers: dict
) -> None:
    ids = plan["campaign_ids"]
    text = "\ufeffDay,Campaign ID,Cost,Conversions,Impr.\n" + "".join(
        f"2027-01-0{d + 1},{ids[i]},50,1,1000\n" for d in range(2) for i in range(3)
    )
    response = _upload(client, plan, admin_headers, text.encode("utf-8"))
    assert response.status_code == 200, response.text
    assert response.json()["closed"] == [0, 1]
    history = client.get(f"/plans/{plan['id']}/history", headers=admin_headers).json()
    assert history["entries"][0]["results"][0]["revenue"] == 0


def test_weekly_timesteps_add_up_the_daily_rows(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 2)
    weekly = create_plan(
        client,
        admin_headers,
        client_id,
        campaign_ids,
        total_budget=2000,
        timesteps=2,
        start="2027-01-04",
        timestep_days=7,
    )
    text = "DATE,CAMPAIGN,SPEND,CONVERSIONS,REVENUE\n" + "".join(
        f"2027-01-{4 + day:02d},Campaign {i},10,1,5\n" for day in range(7) for i in range(2)
    )
    response = _upload(client, weekly, admin_headers, text)
    assert response.status_code == 200, response.text
    assert response.json()["closed"] == [0]
    history = client.get(f"/plans/{weekly['id']}/history", headers=admin_headers).json()
    first = history["entries"][0]["results"]
    assert [(r["spend"], r["conversions"], r["revenue"]) for r in first] == [(70, 7, 35)] * 2


def test_semicolons_quotes_and_grouped_thousands_are_read(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 3)
    big = create_plan(
        client, admin_headers, client_id, campaign_ids, total_budget=9000, timesteps=3
    )
    text = "timestep;campaign;spend;conversions\n" + "".join(
        f'0;"Campaign {i}";"1,000.50";2\n' for i in range(3)
    )
    response = _upload(client, big, admin_headers, text)
    assert response.status_code == 200, response.text
    spent = client.get(f"/plans/{big['id']}", headers=admin_headers).json()["budget_spent"]
    assert spent == pytest.approx(3001.5)


def test_a_multipart_file_upload_works_too(
    client: TestClient, plan: dict, admin_headers: dict
) -> None:
    response = client.post(
        f"/plans/{plan['id']}/results/csv",
        files={"file": ("report.csv", _rows(range(1)).encode(), "text/csv")},
        headers=admin_headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["closed"] == [0]


def _nothing_applied(client: TestClient, plan: dict, headers: dict) -> None:
    state = client.get(f"/plans/{plan['id']}", headers=headers).json()
    assert state["timestep"] == 0 and state["budget_spent"] == 0


def test_any_bad_row_refuses_the_whole_file_naming_the_rows(
    client: TestClient, plan: dict, admin_headers: dict
) -> None:
    lines = _rows(range(3)).splitlines()
    lines[4] = "1,Campaign 0,lots,1,0,0"  # row 5: spend is not a number
    lines[8] = "2,Nobody,10,1,0,0"  # row 9: unknown campaign
    lines[9] = "2,Campaign 2,10,-1.5,0,0"  # row 10: negative conversions
    response = _upload(client, plan, admin_headers, "\n".join(lines))
    assert response.status_code == 422
    detail = response.json()["detail"]
    rows = sorted({error["loc"][2] for error in detail if error["loc"][1] == "rows"})
    assert rows == [5, 9, 10]
    messages = " | ".join(error["msg"] for error in detail)
    assert "row 5" in messages and "'lots'" in messages and "Nobody" in messages
    _nothing_applied(client, plan, admin_headers)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("timestep,campaign,spend\n0,Campaign 0,1\n", "missing column(s): conversions"),
        ("campaign,spend,conversions\nCampaign 0,1,1\n", "timestep (or date)"),
        ("timestep,campaign,spend,conversions\n", "no rows"),
        ("", "empty"),
        (
            "timestep,campaign,spend,conversions\n0,Campaign 0,1,1\n"
            + "".join(f"1,Campaign {i},1,1\n" for i in range(3)),
            "no row for campaign(s)",
        ),
        (
            "timestep,campaign,spend,conversions\n"
            + "".join(f"9,Campaign {i},1,1\n" for i in range(3)),
            "outside the plan",
        ),
        (
            "timestep,campaign,spend,conversions\n"
            + "".join(f"1,Campaign {i},1,1\n" for i in range(3)),
            "skips timestep(s) 0",
        ),
        (
            "date,campaign,spend,conversions\n"
            + "".join(f"2026-12-31,Campaign {i},1,1\n" for i in range(3)),
            "before the plan's start",
        ),
        (
            "date,campaign,spend,conversions\n"
            + "".join(f"someday,Campaign {i},1,1\n" for i in range(3)),
            "not a date",
        ),
        (
            # the day above 12 settles the order: 31 January, past this 5-day plan
            "date,campaign,spend,conversions\n"
            + "".join(f"31/01/2027,Campaign {i},1,1\n" for i in range(3)),
            "outside the plan",
        ),
        (
            "timestep,campaign,spend,conversions\n"
            + "".join(f"0,Campaign {i},-4,1\n" for i in range(3)),
            "not a number >= 0",
        ),
    ],
)
def test_malformed_files_are_refused_with_a_reason(
    client: TestClient, plan: dict, admin_headers: dict, text: str, fragment: str
) -> None:
    response = _upload(client, plan, admin_headers, text)
    assert response.status_code == 422, response.text
    assert fragment in " | ".join(error["msg"] for error in response.json()["detail"])
    _nothing_applied(client, plan, admin_headers)


def test_overspend_in_a_later_timestep_refuses_the_earlier_ones_too(
    client: TestClient, plan: dict, admin_headers: dict
) -> None:
    lines = _rows(range(3)).splitlines()
    lines[7] = "2,Campaign 0,5000,1,0,0"  # row 8: far over its budget for timestep 2
    response = _upload(client, plan, admin_headers, "\n".join(lines))
    assert response.status_code == 422
    assert "row(s) 8" in response.json()["detail"][0]["msg"]
    assert "twice its budget" in response.json()["detail"][0]["msg"]
    _nothing_applied(client, plan, admin_headers)


def test_non_utf8_and_oversized_uploads_are_refused(
    client: TestClient, plan: dict, admin_headers: dict
) -> None:
    assert _upload(client, plan, admin_headers, b"\xff\xfa\xfb not text").status_code == 422
    huge = b"timestep,campaign,spend,conversions\n" + b"0,Campaign 0,1,1\n" * 700_000
    assert len(huge) > 10_000_000
    assert _upload(client, plan, admin_headers, huge).status_code == 413
    _nothing_applied(client, plan, admin_headers)


def test_utf16_spreadsheet_exports_are_read(
    client: TestClient, plan: dict, admin_headers: dict
) -> None:
    text = "Timestep\tCampaign\tSpend\tConversions\n" + "".join(
        f"0\tCampaign {i}\t10\t1\n" for i in range(3)
    )
    response = _upload(client, plan, admin_headers, text.encode("utf-16"))
    assert response.status_code == 200, response.text


def test_a_google_ads_export_with_title_lines_and_totals_is_read(
    client: TestClient, plan: dict, admin_headers: dict
) -> None:
    text = (
        "Campaign report\n"
        '"January 1, 2027 - January 2, 2027"\n'
        "Day,Campaign,Campaign state,Cost,Conversions,Conv. value\n"
        + "".join(f"2027-01-01,Campaign {i},Enabled,80.00,2,50.00\n" for i in range(3))
        + "Total: Campaigns,--,--,240.00,6,150.00\n"
    )
    response = _upload(client, plan, admin_headers, text)
    assert response.status_code == 200, response.text
    assert response.json()["rows"] == 3 and response.json()["closed"] == [0]
    history = client.get(f"/plans/{plan['id']}/history", headers=admin_headers).json()
    assert history["entries"][0]["results"][0]["revenue"] == 50.0


def test_a_meta_ads_export_is_read(client: TestClient, plan: dict, admin_headers: dict) -> None:
    header = "Reporting starts,Reporting ends,Campaign name,Amount spent (EUR),Results,"
    text = (
        header
        + "Result indicator,Purchases conversion value\n"
        + "".join(
            f"2027-01-01,2027-01-01,Campaign {i},75.5,3,"
            "actions:offsite_conversion.fb_pixel_purchase,120\n"
            for i in range(3)
        )
    )
    response = _upload(client, plan, admin_headers, text)
    assert response.status_code == 200, response.text
    assert response.json()["platform"] == "meta_ads"
    state = client.get(f"/plans/{plan['id']}", headers=admin_headers).json()
    assert state["budget_spent"] == pytest.approx(226.5)


def test_meta_results_without_their_indicator_are_refused(
    client: TestClient, plan: dict, admin_headers: dict
) -> None:
    """Results could be link clicks: without the Result indicator column they are not recorded."""
    text = (
        "Reporting starts,Campaign name,Amount spent (EUR),Results,Purchases conversion value\n"
        + "".join(f"2027-01-01,Campaign {i},75.5,3,120\n" for i in range(3))
    )
    response = _upload(client, plan, admin_headers, text)
    assert response.status_code == 422, response.text
    assert "Result indicator" in response.text
    state = client.get(f"/plans/{plan['id']}", headers=admin_headers).json()
    assert state["budget_spent"] == 0


def test_row_numbers_are_the_file_lines_below_a_title(
    client: TestClient, plan: dict, admin_headers: dict
) -> None:
    text = "My export\n\ntimestep,campaign,spend,conversions\n0,Campaign 0,1,1\n0,Campaign 1,x,1\n"
    response = _upload(client, plan, admin_headers, text)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "rows", 5, "spend"]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        # Python's csv module refuses cells over 131,072 characters by raising, not by returning
        (
            b"timestep,campaign,spend,conversions\n0,Campaign 0,1,1\n0,"
            + b"x" * 200_000
            + b",1,1\n",
            "row 3",
        ),
        # a UTF-16 byte-order mark followed by an odd number of bytes is not UTF-16 text
        (b"\xff\xfe" + "timestep".encode("utf-16-le") + b"\x00", "UTF-16"),
        (b"\xfe\xff\x00t\x00", "UTF-16"),
    ],
    ids=["cell-over-csv-limit", "utf16-le-odd-bytes", "utf16-be-odd-bytes"],
)
def test_files_the_csv_reader_or_decoder_chokes_on_are_a_clear_422(
    client: TestClient, plan: dict, admin_headers: dict, content: bytes, fragment: str
) -> None:
    response = _upload(client, plan, admin_headers, content)
    assert response.status_code == 422, response.text
    messages = " | ".join(error["msg"] for error in response.json()["detail"])
    assert fragment in messages, messages
    _nothing_applied(client, plan, admin_headers)
    assert client.get("/health").status_code == 200, "the connection still works after it"


def test_a_paused_campaign_need_not_be_in_the_file_but_a_budgeted_one_must(
    client: TestClient, plan: dict, admin_headers: dict
) -> None:
    """Campaign 2 paused before any result: a file naming campaigns 0 and 1 closes timesteps
    (the paused one gets zeros); a file leaving out a campaign that had a budget is refused."""
    ids = plan["campaign_ids"]
    paused = client.patch(
        f"/plans/{plan['id']}/campaigns/{ids[2]}", json={"paused": True}, headers=admin_headers
    )
    assert paused.status_code == 200, paused.text
    lines = ["timestep,campaign,spend,conversions"]
    lines += [f"{t},Campaign {i},100,{i + 1}" for t in range(3) for i in range(2)]
    answer = _upload(client, plan, admin_headers, "\n".join(lines) + "\n")
    assert answer.status_code == 200, answer.text
    assert answer.json()["closed"] == [0, 1, 2] and answer.json()["missing"] == ids[:2]
    history = client.get(f"/plans/{plan['id']}/history", headers=admin_headers).json()
    assert [len(entry["results"]) for entry in history["entries"][:3]] == [2, 2, 2]

    missing_one = [f"{t},Campaign 0,100,1" for t in (3, 4)]
    refused = _upload(
        client,
        plan,
        admin_headers,
        "timestep,campaign,spend,conversions\n" + "\n".join(missing_one) + "\n",
    )
    assert refused.status_code == 422, refused.text
    assert "timestep 3" in refused.text and "Campaign 1" in refused.text
    assert client.get(f"/plans/{plan['id']}", headers=admin_headers).json()["timestep"] == 3
