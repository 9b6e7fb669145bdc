"""A buyer's morning: each platform's report as downloaded, feeding one plan in parts."""

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.api.plans_support import create_plan, insert_campaign, insert_client

FIXTURES = Path(__file__).parent.parent / "fixtures" / "reports"
GOOGLE = ("Brand Search", "Generic Search")
META = ("Prospecting - Lookalike", "Retargeting")


def _lines(name: str, *, keep: str, replace: tuple[str, str] | None = None) -> bytes:
    """A fixture with only its preamble/header lines and the data lines containing ``keep``."""
    lines = (FIXTURES / name).read_text().splitlines(keepends=True)
    header = next(i for i, line in enumerate(lines) if "Campaign" in line and "," in line)
    kept = lines[: header + 1] + [line for line in lines[header + 1 :] if keep in line]
    text = "".join(kept)
    if replace:
        text = text.replace(*replace)
    return text.encode()


def _plan(client: TestClient, db: Any, headers: dict) -> dict:
    client_id = insert_client(db)
    ids = [insert_campaign(db, client_id, name) for name in (*GOOGLE, *META)]
    plan = create_plan(
        client, headers, client_id, ids, total_budget=40000, timesteps=10, start="2026-12-01"
    )
    plan["names"] = dict(zip(ids, (*GOOGLE, *META), strict=True))
    return plan


def _upload(client: TestClient, plan: dict, headers: dict, content: bytes, **params: Any):
    return client.post(
        f"/plans/{plan['id']}/results/csv",
        content=content,
        params=params,
        headers={**headers, "content-type": "text/csv"},
    )


def test_google_then_meta_close_the_day_and_the_next_google_file_restates_it(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    plan = _plan(client, db, admin_headers)
    google = _upload(
        client, plan, admin_headers, _lines("google_ads_campaigns.csv", keep="2026-12-01")
    )
    assert google.status_code == 200, google.text
    answer = google.json()
    assert (answer["platform"], answer["waiting"], answer["closed"]) == ("google_ads", [0], [])
    assert sorted(plan["names"][cid] for cid in answer["missing"]) == sorted(META)

    meta = _upload(client, plan, admin_headers, _lines("meta_ads_daily.csv", keep="2026-12-01,"))
    assert meta.status_code == 200, meta.text
    assert (meta.json()["platform"], meta.json()["closed"]) == ("meta_ads", [0])
    history = client.get(f"/plans/{plan['id']}/history", headers=admin_headers).json()
    figures = {plan["names"][r["campaign_id"]]: r for r in history["entries"][0]["results"]}
    assert figures["Retargeting"]["conversions"] == 0  # Meta's empty Results cell
    assert figures["Brand Search"]["conversions"] == 39.0

    # The next morning Google credits late conversions to Dec 1: the file restates it.
    late = _lines("google_ads_campaigns.csv", keep="2026-12-01", replace=(",39.00,", ",44.25,"))
    restated = _upload(client, plan, admin_headers, late)
    assert restated.status_code == 200, restated.text
    assert restated.json()["restated"] == [0]
    history = client.get(f"/plans/{plan['id']}/history", headers=admin_headers).json()
    entry = history["entries"][0]
    brand = next(r for r in entry["results"] if plan["names"][r["campaign_id"]] == "Brand Search")
    assert (brand["conversions"], entry["revision"]) == (44.25, 1)


def test_a_report_recorded_wrongly_is_refused_and_nothing_applied(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    plan = _plan(client, db, admin_headers)
    for fixture, fragment in (
        ("meta_ads_usd.csv", "USD"),
        ("meta_ads_link_clicks.csv", "link_click"),
        ("meta_ads_three_days.csv", "day"),
    ):
        response = _upload(client, plan, admin_headers, (FIXTURES / fixture).read_bytes())
        assert response.status_code == 422, (fixture, response.text)
        assert fragment in response.text, (fixture, response.text)
    after = client.get(f"/plans/{plan['id']}", headers=admin_headers).json()
    assert (after["timestep"], after["budget_spent"]) == (0, 0)
    assert after.get("missing") in (None, sorted(after["campaign_ids"]), after["campaign_ids"])


def test_campaigns_outside_the_plan_are_refused_unless_told_to_ignore_them(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id = insert_client(db)
    ids = [insert_campaign(db, client_id, name) for name in GOOGLE[:1]]
    plan = create_plan(
        client, admin_headers, client_id, ids, total_budget=40000, timesteps=10, start="2026-12-01"
    )
    content = _lines("google_ads_campaigns.csv", keep="2026-12-01")
    refused = _upload(client, plan, admin_headers, content)
    assert refused.status_code == 422
    assert "Generic Search" in refused.text
    taken = _upload(client, plan, admin_headers, content, ignore_unknown="true")
    assert taken.status_code == 200, taken.text
    assert taken.json()["ignored_campaigns"] == ["Generic Search"]
    assert taken.json()["closed"] == [0]
