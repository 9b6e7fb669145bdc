"""Campaign history before a plan: JSON and CSV uploads, restatements, pages, refusals."""

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from oktapi.services import history as history_service
from tests.api.plans_support import insert_campaign, insert_client
from tests.api.racing import together
from tests.conftest import snapshot

FIXTURES = Path(__file__).parent.parent / "fixtures" / "reports"
SKIP = ("login_failures",)
# The fixtures' days are late 2026: the tests run as if on a fixed later day, whatever the clock.
TODAY = date(2027, 6, 30)


@pytest.fixture(autouse=True)
def _fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history_service, "today", lambda: TODAY)


def _days(first: str, figures: list[tuple[float, float]]) -> list[dict[str, Any]]:
    start = date.fromisoformat(first)
    return [
        {"date": (start + timedelta(days=i)).isoformat(), "spend": spend, "conversions": conv}
        for i, (spend, conv) in enumerate(figures)
    ]


def _post(client: TestClient, headers: dict, campaign_id: str, days: list[dict]) -> Any:
    return client.post(f"/campaigns/{campaign_id}/history", json={"results": days}, headers=headers)


def _csv(client: TestClient, headers: dict, client_id: str, text: str | bytes, **params: Any):
    content = text.encode() if isinstance(text, str) else text
    return client.post(
        f"/clients/{client_id}/history/csv",
        content=content,
        params=params,
        headers={**headers, "content-type": "text/csv"},
    )


def test_days_are_stored_paged_oldest_first(client: TestClient, db, admin_headers) -> None:
    client_id = insert_client(db)
    campaign = insert_campaign(db, client_id, "Search")
    days = _days("2026-10-01", [(100.0 + i, float(i % 4)) for i in range(30)])
    response = _post(client, admin_headers, campaign, list(reversed(days)))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["rows"], answer["added"], answer["restated"], answer["unchanged"]) == (
        30,
        30,
        0,
        0,
    )
    assert (answer["first_day"], answer["last_day"]) == ("2026-10-01", "2026-10-30")

    seen: list[str] = []
    for offset in (0, 12, 24):
        page = client.get(
            f"/campaigns/{campaign}/history",
            params={"limit": 12, "offset": offset},
            headers=admin_headers,
        ).json()
        assert page["total"] == 30
        seen += [entry["date"] for entry in page["entries"]]
    assert seen == [day["date"] for day in days]
    first = client.get(f"/campaigns/{campaign}/history", headers=admin_headers).json()["entries"][0]
    assert (first["spend"], first["conversions"], first["revision"], first["source"]) == (
        100.0,
        0.0,
        0,
        "api",
    )


def test_a_day_sent_again_is_restated_and_the_same_figures_change_nothing(
    client: TestClient, db, admin_headers
) -> None:
    client_id = insert_client(db)
    campaign = insert_campaign(db, client_id, "Search")
    assert (
        _post(client, admin_headers, campaign, _days("2026-11-01", [(50, 2), (60, 3)])).json()[
            "added"
        ]
        == 2
    )
    later = _days("2026-11-01", [(50, 4.5), (60, 3)])  # day 1's late conversions arrived
    answer = _post(client, admin_headers, campaign, later).json()
    assert (answer["added"], answer["restated"], answer["unchanged"]) == (0, 1, 1)
    before_retry = snapshot(db, skip=("login_failures", "audit"))
    assert _post(client, admin_headers, campaign, later).json()["unchanged"] == 2
    assert snapshot(db, skip=("login_failures", "audit")) == before_retry

    entries = client.get(f"/campaigns/{campaign}/history", headers=admin_headers).json()["entries"]
    assert [(e["conversions"], e["revision"]) for e in entries] == [(4.5, 1), (3.0, 0)]
    assert entries[0]["restated_at"] is not None
    # the figures it replaced are kept with the day, like a plan's restatements
    stored = db["plan_results"].find_one({"campaign_id": campaign, "date": "2026-11-01"})
    assert [(r["revision"], r["conversions"]) for r in stored["revisions"]] == [(0, 2.0)]

    audit = client.get(
        "/audit", params={"action": "campaign.history_recorded"}, headers=admin_headers
    ).json()
    assert len(audit) == 2  # the retry recorded nothing
    restated = audit[0]["changes"]["restated"]["2026-11-01"]
    assert (restated["before"]["conversions"], restated["after"]["conversions"]) == (2.0, 4.5)
    assert audit[1]["changes"]["added"] == 2 and audit[1]["target_id"] == campaign


def test_bad_days_are_refused_naming_rows_and_nothing_is_stored(
    client: TestClient, db, admin_headers
) -> None:
    client_id = insert_client(db)
    campaign = insert_campaign(db, client_id, "Search")
    before = snapshot(db, skip=SKIP)
    tomorrow = (history_service.today() + timedelta(days=1)).isoformat()
    good = {"date": "2026-11-01", "spend": 10, "conversions": 1}
    response = _post(
        client,
        admin_headers,
        campaign,
        [good, {"date": tomorrow, "spend": 5, "conversions": 0}, dict(good)],
    )
    assert response.status_code == 422
    problems = {tuple(item["loc"]): item["msg"] for item in response.json()["detail"]}
    assert "in the future" in problems[("body", "results", 1, "date")]
    assert "already in results[0]" in problems[("body", "results", 2, "date")]

    for bad in ({"spend": -1.0}, {"conversions": -0.5}, {"revenue": -3.0}):
        response = _post(
            client, admin_headers, campaign, [good, {**good, "date": "2026-11-02", **bad}]
        )
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"][:3] == ["body", "results", 1]
    nan = '{"results": [{"date": "2026-11-02", "spend": NaN, "conversions": 1}]}'
    response = client.post(
        f"/campaigns/{campaign}/history",
        content=nan,
        headers={**admin_headers, "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:3] == ["body", "results", 0]
    assert snapshot(db, skip=SKIP) == before
    assert client.get(f"/campaigns/{campaign}/history", headers=admin_headers).json()["total"] == 0


def test_unknown_or_foreign_campaigns_are_404(client: TestClient, db, admin_headers) -> None:
    for path in ("/campaigns/nope/history", "/clients/nope/history/csv"):
        response = client.post(
            path, json={"results": _days("2026-11-01", [(1, 0)])}, headers=admin_headers
        )
        assert response.status_code == 404


def test_a_platform_report_stores_days_of_several_campaigns(
    client: TestClient, db, admin_headers
) -> None:
    client_id = insert_client(db)
    brand = insert_campaign(db, client_id, "Brand Search")
    generic = insert_campaign(db, client_id, "generic search")  # matched ignoring case
    content = (FIXTURES / "google_ads_campaigns.csv").read_bytes()
    response = _csv(client, admin_headers, client_id, content)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["platform"] == "google_ads"
    assert set(answer["campaign_ids"]) == {brand, generic}
    assert answer["added"] == answer["rows"]
    brand_days = client.get(f"/campaigns/{brand}/history", headers=admin_headers).json()
    first = brand_days["entries"][0]
    assert (first["date"], first["spend"], first["conversions"], first["revenue"]) == (
        "2026-11-30",
        1234.56,
        41.5,
        2075.0,
    )
    assert first["source"] == "csv"

    # the platform restates the day: the next download replaces it
    restated = content.replace(b"41.50", b"44.00")
    answer = _csv(client, admin_headers, client_id, restated).json()
    assert answer["restated"] == 1 and answer["added"] == 0
    first = client.get(f"/campaigns/{brand}/history", headers=admin_headers).json()["entries"][0]
    assert (first["conversions"], first["revision"]) == (44.0, 1)


def test_a_file_with_one_bad_row_stores_nothing(client: TestClient, db, admin_headers) -> None:
    client_id = insert_client(db)
    insert_campaign(db, client_id, "Search")
    insert_campaign(db, client_id, "Social")
    before = snapshot(db, skip=SKIP)
    future = (history_service.today() + timedelta(days=3)).isoformat()
    text = (
        "date,campaign,spend,conversions\n"
        "2026-11-01,Search,10,1\n"
        "2026-11-01,Social,5,0\n"
        f"{future},Search,10,1\n"
    )
    response = _csv(client, admin_headers, client_id, text)
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body", "rows", 4, "date"] and "future" in problem["msg"]

    # every problem of a file in one answer: its reading, its campaigns and its days
    everything = (
        "date,campaign,spend,conversions\n"
        f"{future},Search,10,1\n"
        "2026-11-02,Video,4,0\n"
        "2026-11-03,Social,-4,0\n"
    )
    response = _csv(client, admin_headers, client_id, everything)
    assert response.status_code == 422
    located = {tuple(item["loc"]): item["msg"] for item in response.json()["detail"]}
    assert "future" in located[("body", "rows", 2, "date")]
    assert "Video" in located[("body", "rows", 3, "campaign")]
    assert "spend" in located[("body", "rows", 4, "spend")]

    twice = "date,campaign,spend,conversions\n2026-11-01,Search,10,1\n2026-11-01,search,4,0\n"
    response = _csv(client, admin_headers, client_id, twice)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "rows", 3, "campaign"]

    unknown = "date,campaign,spend,conversions\n2026-11-01,Search,10,1\n2026-11-01,Video,4,0\n"
    response = _csv(client, admin_headers, client_id, unknown)
    assert response.status_code == 422
    assert "Video" in response.json()["detail"][0]["msg"]

    timesteps = "timestep,campaign,spend,conversions\n0,Search,10,1\n"
    response = _csv(client, admin_headers, client_id, timesteps)
    assert response.status_code == 422
    assert "date column" in response.json()["detail"][0]["msg"]
    assert snapshot(db, skip=SKIP) == before

    answer = _csv(client, admin_headers, client_id, unknown, ignore_unknown="true").json()
    assert (answer["added"], answer["ignored_campaigns"]) == (1, ["Video"])


def test_a_report_matches_campaigns_by_platform_id(client: TestClient, db, admin_headers) -> None:
    client_id = insert_client(db)
    response = client.post(
        f"/clients/{client_id}/campaigns",
        json={"name": "Prospecting (renamed)", "external_id": "120210000000000101"},
        headers=admin_headers,
    )
    prospecting = response.json()["id"]
    insert_campaign(db, client_id, "Retargeting")
    answer = _csv(client, admin_headers, client_id, (FIXTURES / "meta_ads_daily.csv").read_bytes())
    assert answer.status_code == 200, answer.text
    days = client.get(f"/campaigns/{prospecting}/history", headers=admin_headers).json()
    assert [(e["date"], e["conversions"]) for e in days["entries"]][:1] == [("2026-12-01", 12.0)]


def test_deleting_a_campaign_takes_its_history(client: TestClient, db, admin_headers) -> None:
    client_id = insert_client(db)
    campaign = insert_campaign(db, client_id, "Search")
    kept = insert_campaign(db, client_id, "Social")
    for cid in (campaign, kept):
        assert _post(client, admin_headers, cid, _days("2026-11-01", [(1, 0)])).status_code == 200
    assert client.delete(f"/campaigns/{campaign}", headers=admin_headers).status_code == 204
    assert db["plan_results"].count_documents({"campaign_id": campaign}) == 0
    assert db["plan_results"].count_documents({"campaign_id": kept}) == 1


def test_history_json_body_size_is_bounded(client: TestClient, db, admin_headers) -> None:
    client_id = insert_client(db)
    campaign = insert_campaign(db, client_id, "Search")
    days = [{"date": "2020-01-01", "spend": 1, "conversions": 0}] * 1101
    response = client.post(
        f"/campaigns/{campaign}/history",
        content=json.dumps({"results": days}),
        headers={**admin_headers, "content-type": "application/json"},
    )
    assert response.status_code == 422


def test_deleting_a_client_takes_its_campaigns_history(client: TestClient, admin_headers) -> None:
    client_id = client.post("/clients", json={"name": "Gone"}, headers=admin_headers).json()["id"]
    response = client.post(
        f"/clients/{client_id}/campaigns", json={"name": "Search"}, headers=admin_headers
    )
    campaign = response.json()["id"]
    assert _post(client, admin_headers, campaign, _days("2026-11-01", [(1, 0)])).status_code == 200
    assert client.delete(f"/clients/{client_id}", headers=admin_headers).status_code == 204
    db = client.app.state.storage.db
    assert db["plan_results"].count_documents({"client_id": client_id}) == 0


def test_concurrent_uploads_of_one_day_are_applied_one_after_the_other(
    client: TestClient, db, admin_headers
) -> None:
    client_id = insert_client(db)
    campaign = insert_campaign(db, client_id, "Search")

    def send(conversions: int) -> dict:
        day = [{"date": "2026-11-01", "spend": 10.0, "conversions": float(conversions)}]
        response = _post(client, admin_headers, campaign, day)
        assert response.status_code == 200, response.text
        return response.json()

    answers = together(*[lambda conversions=c: send(conversions) for c in range(1, 7)])
    assert sum(a["added"] for a in answers) == 1
    stored = db["plan_results"].find_one({"campaign_id": campaign, "date": "2026-11-01"})
    restated = sum(a["restated"] for a in answers)
    assert stored["revision"] == restated == len(stored["revisions"])
    # each upload's figures differ from all others: each was stored once, first or as a
    # restatement of the ones before it, and none was lost
    assert restated == 5
    seen = sorted([r["conversions"] for r in stored["revisions"]] + [stored["conversions"]])
    assert seen == [float(c) for c in range(1, 7)]


@pytest.mark.parametrize(
    "content",
    [
        "\u0083\U000277aa\U000a6f71".encode(),  # what the fuzzer sent: no header at all
        b"day;cost\n2026-11-01;4\n",  # a header naming no campaign or conversions
    ],
)
def test_a_file_without_a_known_header_is_422_naming_the_columns(
    client: TestClient, db, admin_headers, content: bytes
) -> None:
    client_id = insert_client(db)
    insert_campaign(db, client_id, "Search")
    before = snapshot(db, skip=SKIP)
    response = _csv(client, admin_headers, client_id, content, date_order="dmy")
    assert response.status_code == 422, response.text
    assert "missing column" in json.dumps(response.json()["detail"])
    assert snapshot(db, skip=SKIP) == before
