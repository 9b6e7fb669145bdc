"""A new plan's first allocation learns from its campaigns' history and from earlier plans."""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from fastapi.testclient import TestClient

from tests.api.plans_support import create_plan, insert_campaign, insert_client


def _history(rate: float, first: str, days: int, seed: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    start = date.fromisoformat(first)
    entries = []
    for offset in range(days):
        spend = float(rng.uniform(40, 160))
        entries.append(
            {
                "date": (start + timedelta(days=offset)).isoformat(),
                "spend": round(spend, 2),
                "conversions": float(rng.poisson(spend * rate)),
            }
        )
    return entries


def _send(client: TestClient, headers: dict, campaign_id: str, days: list[dict]) -> None:
    response = client.post(
        f"/campaigns/{campaign_id}/history", json={"results": days}, headers=headers
    )
    assert response.status_code == 200, response.text


def _budgets(plan: dict[str, Any]) -> dict[str, float]:
    return {item["campaign_id"]: item["budget"] for item in plan["allocation"]["allocations"]}


def test_the_first_allocation_follows_the_campaigns_history(
    client: TestClient, db, admin_headers
) -> None:
    client_id = insert_client(db)
    strong, weak = (insert_campaign(db, client_id, name) for name in ("Strong", "Weak"))
    _send(client, admin_headers, strong, _history(0.2, "2026-09-01", 28, seed=1))
    _send(client, admin_headers, weak, _history(0.04, "2026-09-01", 28, seed=2))
    # a day from the plan's own period is not history of it
    _send(client, admin_headers, weak, [{"date": "2026-09-29", "spend": 1.0, "conversions": 90}])

    plan = create_plan(
        client,
        admin_headers,
        client_id,
        [weak, strong],
        total_budget=6000.0,
        timesteps=30,
        start="2026-09-29",
        seed=4,
    )
    budgets = _budgets(plan)
    assert budgets[strong] > 1.5 * budgets[weak]
    learned = {
        "timesteps": 28,
        "history_days": 56,
        "history_campaign_ids": [weak, strong],
        "plan_days": 0,
        "plan_ids": [],
    }
    assert plan["learned_from"] == learned
    shown = client.get(f"/plans/{plan['id']}", headers=admin_headers).json()
    assert shown["learned_from"] == learned
    created = client.get(
        "/audit", params={"plan_id": plan["id"], "action": "plan.created"}, headers=admin_headers
    ).json()
    assert created[0]["changes"]["learned_from"]["history_days"] == 56

    # The same campaigns without history: an even split.
    fresh_client = insert_client(db, "Fresh")
    ids = [insert_campaign(db, fresh_client, name) for name in ("Strong", "Weak")]
    cold = create_plan(client, admin_headers, fresh_client, ids, total_budget=6000.0, timesteps=30)
    assert len(set(_budgets(cold).values())) == 1
    assert cold["learned_from"] == {
        "timesteps": 0,
        "history_days": 0,
        "history_campaign_ids": [],
        "plan_days": 0,
        "plan_ids": [],
    }

    # Learnt curves answer forecasts before the plan's first results; a blind plan cannot.
    ask = {"timestep_budgets": [100, 400]}
    forecast = client.post(f"/plans/{plan['id']}/forecast", json=ask, headers=admin_headers)
    assert forecast.status_code == 200, forecast.text
    low, high = forecast.json()["scenarios"]
    assert 0 < low["expected"] < high["expected"]
    assert client.get(f"/plans/{plan['id']}/curves", headers=admin_headers).status_code == 200
    blind = client.post(f"/plans/{cold['id']}/forecast", json=ask, headers=admin_headers)
    assert blind.status_code == 409

    # The stored plan goes on like any other: results in, the next allocation out.
    results = [
        {"campaign_id": cid, "spend": budget, "conversions": 5.0} for cid, budget in budgets.items()
    ]
    body = {"timestep": 0, "results": results}
    following = client.post(f"/plans/{plan['id']}/results", json=body, headers=admin_headers)
    assert following.status_code == 200, following.text
    assert following.json()["timestep"] == 1
    restated = client.put(
        f"/plans/{plan['id']}/results/0",
        json={"results": [{**results[0], "conversions": 7.0}]},
        headers=admin_headers,
    )
    assert restated.status_code == 200, restated.text
    assert restated.json()["revision"] == 1
    allocation = following.json()["allocations"]
    later = [
        {"campaign_id": a["campaign_id"], "spend": a["budget"], "conversions": 4.0}
        for a in allocation
    ]
    body = {"timestep": 1, "results": later}
    closed = client.post(f"/plans/{plan['id']}/results", json=body, headers=admin_headers)
    assert closed.status_code == 200 and closed.json()["timestep"] == 2, closed.text


def test_weekly_timesteps_learn_from_weeks_of_history(
    client: TestClient, db, admin_headers
) -> None:
    client_id = insert_client(db)
    ids = [insert_campaign(db, client_id, name) for name in ("A", "B")]
    for index, campaign_id in enumerate(ids):
        _send(client, admin_headers, campaign_id, _history(0.1, "2026-08-04", 28, seed=index))
    plan = create_plan(
        client,
        admin_headers,
        client_id,
        ids,
        total_budget=8000.0,
        timesteps=8,
        start="2026-09-01",
        timestep_days=7,
    )
    assert plan["learned_from"]["timesteps"] == 4
    assert plan["learned_from"]["history_days"] == 56


def test_a_plan_learns_from_an_earlier_plan_over_the_same_campaigns(
    client: TestClient, db, admin_headers
) -> None:
    client_id = insert_client(db)
    search, social = (insert_campaign(db, client_id, name) for name in ("Search", "Social"))
    # the same days also sent as history: each day of a campaign is learnt once, from the plan
    _send(client, admin_headers, search, _history(0.5, "2026-10-01", 5, seed=3))
    first = create_plan(
        client,
        admin_headers,
        client_id,
        [search, social],
        total_budget=1000.0,
        timesteps=5,
        start="2026-10-01",
        seed=1,
    )
    allocation = first["allocation"]
    for _ in range(5):
        budgets = _budgets({"allocation": allocation})
        body = {
            "timestep": allocation["timestep"],
            "results": [
                {"campaign_id": search, "spend": budgets[search], "conversions": 2},
                {"campaign_id": social, "spend": budgets[social], "conversions": 25},
            ],
        }
        response = client.post(f"/plans/{first['id']}/results", json=body, headers=admin_headers)
        assert response.status_code == 200, response.text
        allocation = response.json().get("allocation") or response.json()
    second = create_plan(
        client,
        admin_headers,
        client_id,
        [search, social],
        total_budget=3000.0,
        timesteps=10,
        start="2026-10-06",
        seed=2,
    )
    listed = client.get(f"/clients/{client_id}/plans", headers=admin_headers).json()
    learned = next(p["learned_from"] for p in listed if p["id"] == second["id"])
    assert learned["plan_ids"] == [first["id"]]
    assert learned["plan_days"] == 10
    # the search days sent as history were reported to the first plan: learnt from it only
    assert learned["history_days"] == 0 and learned["history_campaign_ids"] == []
    budgets = _budgets(second)
    assert budgets[social] > 1.5 * budgets[search]


def test_restated_history_days_teach_the_plan_how_late_conversions_arrive(
    client: TestClient, db, admin_headers
) -> None:
    """Days first reported the next day with 6 conversions and a week later with 10: the plan's
    first allocation says a fresh figure shows well under its final conversions."""
    client_id = insert_client(db)
    ids = [insert_campaign(db, client_id, name) for name in ("A", "B")]
    first = date(2026, 9, 1)
    for campaign_id in ids:
        for offset in range(28):
            day = first + timedelta(days=offset)
            reported = datetime.combine(day + timedelta(days=1), time(9), UTC)
            db["plan_results"].insert_one(
                {
                    "_id": f"{campaign_id}:{day.isoformat()}",
                    "plan_id": None,
                    "client_id": client_id,
                    "campaign_id": campaign_id,
                    "date": day.isoformat(),
                    "spend": 100.0,
                    "conversions": 10.0,
                    "revenue": 0.0,
                    "clicks": None,
                    "impressions": None,
                    "revision": 1,
                    "revisions": [
                        {
                            "revision": 0,
                            "spend": 100.0,
                            "conversions": 6.0,
                            "revenue": 0.0,
                            "at": reported,
                            "source": "csv",
                        }
                    ],
                    "reported_at": reported,
                    "restated_at": reported + timedelta(days=7),
                    "source": "csv",
                }
            )
    plan = create_plan(
        client,
        admin_headers,
        client_id,
        ids,
        total_budget=3000.0,
        timesteps=10,
        start="2026-09-29",
    )
    maturity = [item["maturity"] for item in plan["allocation"]["allocations"]]
    assert all(share < 0.8 for share in maturity)
    listed = client.get(f"/campaigns/{ids[0]}/history", headers=admin_headers).json()
    assert listed["total"] == 28 and listed["entries"][0]["revision"] == 1


def test_a_plan_of_year_long_timesteps_looks_back_three_years_at_most(
    client: TestClient, db, admin_headers
) -> None:
    client_id = insert_client(db)
    ids = [insert_campaign(db, client_id, name) for name in ("A", "B")]
    _send(client, admin_headers, ids[0], _history(0.1, "2023-01-01", 3, seed=1))
    _send(client, admin_headers, ids[0], _history(0.1, "2026-08-01", 3, seed=1))
    plan = create_plan(
        client,
        admin_headers,
        client_id,
        ids,
        total_budget=8000.0,
        timesteps=2,
        start="2026-09-01",
        timestep_days=366,
    )
    assert plan["learned_from"]["history_days"] == 3  # the 2023 days are too old
    assert plan["learned_from"]["history_campaign_ids"] == [ids[0]]


def test_an_earlier_plans_restatements_teach_the_next_plan_how_late_conversions_arrive(
    client: TestClient, db, admin_headers
) -> None:
    """A plan whose timesteps were first reported with 6 conversions and restated later with 10:
    the next plan over the same campaigns starts knowing a fresh figure is far from final."""
    client_id = insert_client(db)
    ids = [insert_campaign(db, client_id, name) for name in ("A", "B")]

    def run_first_plan(restate: bool) -> dict[str, Any]:
        first = create_plan(
            client,
            admin_headers,
            client_id,
            ids,
            total_budget=1000.0,
            timesteps=5,
            start="2026-10-01",
            seed=1,
        )
        allocation = first["allocation"]
        reported = []
        for timestep in range(5):
            results = [
                {"campaign_id": cid, "spend": budget, "conversions": 6.0}
                for cid, budget in _budgets({"allocation": allocation}).items()
            ]
            reported.append(results)
            body = {"timestep": timestep, "results": results}
            response = client.post(
                f"/plans/{first['id']}/results", json=body, headers=admin_headers
            )
            assert response.status_code == 200, response.text
            allocation = response.json().get("allocation") or response.json()
            if restate and timestep >= 2:  # the timestep two before grew to its final count
                final = [{**row, "conversions": 10.0} for row in reported[timestep - 2]]
                restated = client.put(
                    f"/plans/{first['id']}/results/{timestep - 2}",
                    json={"results": final},
                    headers=admin_headers,
                )
                assert restated.status_code == 200, restated.text
        return first

    def next_plan() -> dict[str, Any]:
        return create_plan(
            client,
            admin_headers,
            client_id,
            ids,
            total_budget=3000.0,
            timesteps=10,
            start="2026-10-06",
            seed=2,
        )

    unrestated = run_first_plan(restate=False)
    shares = [item["maturity"] for item in next_plan()["allocation"]["allocations"]]
    assert all(share is None or share == 1.0 for share in shares)
    client.delete(f"/plans/{unrestated['id']}", headers=admin_headers)

    restated = run_first_plan(restate=True)
    second = next_plan()
    assert second["learned_from"]["plan_ids"] == [restated["id"]]
    shares = [item["maturity"] for item in second["allocation"]["allocations"]]
    assert all(share is not None and share < 0.8 for share in shares)
