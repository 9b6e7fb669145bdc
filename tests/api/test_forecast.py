"""Forecasts and response curves over REST: what a planner asking "what would more buy?" sees."""

import itertools
import json
import math
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.api.plans_support import client_with_campaigns, create_plan, insert_campaign
from tests.conftest import snapshot

# Each campaign's true conversions at spend x: scale * (1 - exp(-x / half)); value per conversion.
SCALES = (60.0, 30.0, 15.0)
HALVES = (400.0, 300.0, 200.0)
VALUES = (20.0, 40.0, 10.0)


def _report(client: TestClient, headers: dict, plan: dict, timesteps: int, seed: int = 3) -> dict:
    """Report `timesteps` timesteps of a saturating market; returns the open allocation."""
    rng = np.random.default_rng(seed)
    allocation = plan["allocation"]
    for _ in range(timesteps):
        results = []
        for index, item in enumerate(allocation["allocations"]):
            spend = round(item["budget"], 2)
            mean = SCALES[index] * (1 - math.exp(-spend / HALVES[index]))
            conversions = int(rng.poisson(mean))
            results.append(
                {
                    "campaign_id": item["campaign_id"],
                    "spend": spend,
                    "conversions": conversions,
                    "revenue": round(VALUES[index] * conversions, 2),
                }
            )
        response = client.post(
            f"/plans/{plan['id']}/results",
            json={"timestep": allocation["timestep"], "results": results},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        allocation = response.json()
    return allocation


@pytest.fixture
def learned(client: TestClient, db: Any, admin_headers: dict) -> dict:
    """A 30-timestep plan (1000 per timestep) after 10 reported timesteps."""
    client_id, campaign_ids = client_with_campaigns(db, 3)
    plan = create_plan(
        client, admin_headers, client_id, campaign_ids, total_budget=30000.0, timesteps=30, seed=5
    )
    allocation = _report(client, admin_headers, plan, 10)
    return {"plan": plan, "allocation": allocation, "campaign_ids": campaign_ids}


def _forecast(client: TestClient, headers: dict, plan_id: str, body: Any):
    return client.post(f"/plans/{plan_id}/forecast", json=body, headers=headers)


def test_each_budget_gets_a_split_an_expected_outcome_an_interval_and_a_marginal_return(
    client: TestClient, admin_headers: dict, learned: dict
) -> None:
    budgets = [250, 500, 1000, 2000]
    response = _forecast(
        client, admin_headers, learned["plan"]["id"], {"timestep_budgets": budgets}
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["timestep"] == 10 and answer["objective"] == "conversions"
    assert "recommended" not in answer
    scenarios = answer["scenarios"]
    assert [s["timestep_budget"] for s in scenarios] == budgets
    for scenario in scenarios:
        allocations = scenario["allocations"]
        assert [a["campaign_id"] for a in allocations] == learned["campaign_ids"]
        assert sum(a["budget"] for a in allocations) <= scenario["timestep_budget"] + 1e-6
        assert all(a["budget"] >= 0 for a in allocations)
        assert scenario["lower"] <= scenario["expected"] <= scenario["upper"]
        assert scenario["lower"] < scenario["upper"]  # conversions are noisy
        assert scenario["expected"] == pytest.approx(sum(a["expected"] for a in allocations))
        assert scenario["expected_conversions"] == pytest.approx(scenario["expected"])
    # More budget buys more, each extra unit less (diminishing returns).
    expected = [s["expected"] for s in scenarios]
    marginal = [s["marginal_return"] for s in scenarios]
    assert expected == sorted(expected) and expected[0] < expected[-1]
    assert marginal == sorted(marginal, reverse=True) and marginal[-1] < marginal[0]
    for scenario in scenarios:
        assert scenario["marginal_cpa"] == pytest.approx(1 / scenario["marginal_return"])
    # The true optimum puts most of a small budget on the campaign with the steepest start.
    small = scenarios[0]["allocations"]
    assert small[0]["budget"] == max(a["budget"] for a in small)


def test_a_budget_far_beyond_anything_spent_says_it_is_extrapolated(
    client: TestClient, admin_headers: dict, learned: dict
) -> None:
    response = _forecast(
        client, admin_headers, learned["plan"]["id"], {"timestep_budgets": [1000, 20000]}
    )
    usual, huge = response.json()["scenarios"]
    assert usual["extrapolated"] is False
    assert not any(a["extrapolated"] for a in usual["allocations"])
    assert huge["extrapolated"] is True
    assert any(a["extrapolated"] for a in huge["allocations"])


def test_a_forecast_changes_nothing_and_answers_the_same_twice(
    client: TestClient, db: Any, admin_headers: dict, learned: dict
) -> None:
    plan_id = learned["plan"]["id"]
    before = snapshot(db, skip=("login_failures",))
    body = {"timestep_budgets": [300, 1000, 3000], "target_cpa": 20}
    first = _forecast(client, admin_headers, plan_id, body)
    second = _forecast(client, admin_headers, plan_id, body)
    curves = client.get(f"/plans/{plan_id}/curves", headers=admin_headers)
    assert first.status_code == second.status_code == curves.status_code == 200
    assert first.json() == second.json()
    assert snapshot(db, skip=("login_failures",)) == before
    # The open allocation, and the plan's generator behind the next ones, are untouched.
    allocation = client.get(f"/plans/{plan_id}/allocation", headers=admin_headers).json()
    assert allocation == learned["allocation"]


def test_a_bound_campaign_never_gets_more_than_its_max_budget(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 2)
    capped = insert_campaign(db, client_id, "Capped", min_budget=50.0, max_budget=150.0)
    ids = [capped, *campaign_ids]
    plan = create_plan(client, admin_headers, client_id, ids, total_budget=30000.0, timesteps=30)
    _report(client, admin_headers, plan, 6)
    response = _forecast(client, admin_headers, plan["id"], {"timestep_budgets": [100, 600, 5000]})
    assert response.status_code == 200, response.text
    for scenario in response.json()["scenarios"]:
        first = scenario["allocations"][0]
        assert first["campaign_id"] == capped
        assert first["budget"] <= 150 + 1e-6
        assert first["budget"] >= min(50.0, scenario["timestep_budget"]) - 1e-6
    curves = client.get(f"/plans/{plan['id']}/curves", headers=admin_headers).json()
    assert curves["campaigns"][0]["budgets"][-1] == pytest.approx(150)


def test_target_cpa_recommends_the_largest_budget_whose_last_unit_still_meets_it(
    client: TestClient, admin_headers: dict, learned: dict
) -> None:
    plan_id = learned["plan"]["id"]
    response = _forecast(client, admin_headers, plan_id, {"target_cpa": 20})
    assert response.status_code == 200, response.text
    answer = response.json()
    recommended = answer["recommended"]
    assert answer["scenarios"] == [] and "note" not in answer
    assert recommended["target_cpa"] == 20 and recommended["target_roas"] is None
    assert recommended["marginal_cpa"] == pytest.approx(20, rel=0.05)  # the grid's resolution
    budget = recommended["timestep_budget"]
    assert sum(a["budget"] for a in recommended["allocations"]) <= budget + 1e-6
    # A little more would pay more than the target for its last conversion, a little less less.
    around = _forecast(
        client, admin_headers, plan_id, {"timestep_budgets": [budget * 0.8, budget * 1.25]}
    ).json()["scenarios"]
    assert around[0]["marginal_cpa"] < 20 < around[1]["marginal_cpa"]
    # A looser target affords a larger budget.
    looser = _forecast(client, admin_headers, plan_id, {"target_cpa": 40}).json()
    assert looser["recommended"]["timestep_budget"] > budget


def test_target_roas_is_met_on_the_revenue_reported(
    client: TestClient, admin_headers: dict, learned: dict
) -> None:
    answer = _forecast(client, admin_headers, learned["plan"]["id"], {"target_roas": 2.0}).json()
    recommended = answer["recommended"]
    assert recommended["target_roas"] == 2.0 and "note" not in answer
    # Within the resolution of the split's budget grid.
    assert recommended["marginal_roas"] == pytest.approx(2.0, rel=0.05)
    assert recommended["expected_revenue"] > 0


def test_a_target_still_met_beyond_what_the_data_support_says_so(
    client: TestClient, admin_headers: dict, learned: dict
) -> None:
    """The curves beyond 1.5x the most ever spent are a guess: no budget beyond is recommended."""
    answer = _forecast(client, admin_headers, learned["plan"]["id"], {"target_cpa": 500}).json()
    assert "the most the data support" in answer["note"]
    most_spent = 1000.0  # the plan spends its whole 1000 per timestep
    assert answer["recommended"]["timestep_budget"] == pytest.approx(1.5 * most_spent, rel=0.01)


def test_a_target_no_budget_meets_answers_null_and_why(
    client: TestClient, admin_headers: dict, learned: dict
) -> None:
    response = _forecast(
        client, admin_headers, learned["plan"]["id"], {"target_cpa": 0.01, "timestep_budgets": [5]}
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["recommended"] is None
    assert "target_cpa 0.01" in answer["note"] and "lowest marginal CPA" in answer["note"]
    assert len(answer["scenarios"]) == 1


def test_curves_show_each_campaign_learned_response_and_its_current_budget(
    client: TestClient, admin_headers: dict, learned: dict
) -> None:
    response = client.get(f"/plans/{learned['plan']['id']}/curves", headers=admin_headers)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["timestep"] == 10
    budgets_now = {a["campaign_id"]: a["budget"] for a in learned["allocation"]["allocations"]}
    assert [c["campaign_id"] for c in answer["campaigns"]] == learned["campaign_ids"]
    for curve in answer["campaigns"]:
        assert curve["current_budget"] == pytest.approx(budgets_now[curve["campaign_id"]])
        grid = curve["budgets"]
        assert grid[0] == 0 and grid == sorted(grid)
        assert grid[-1] >= curve["current_budget"] * 2.9  # a few times what it gets now
        expected = curve["expected"]
        assert expected[0] == pytest.approx(0, abs=1e-9)
        assert all(b >= a - 1e-9 for a, b in itertools.pairwise(expected))
        assert all(
            lo <= e <= up
            for lo, e, up in zip(curve["lower"], expected, curve["upper"], strict=True)
        )
        assert curve["upper"][-1] > curve["lower"][-1]
    # The campaign the market rewards most has the highest learned curve at equal spend.
    first, _, last = answer["campaigns"]
    assert np.interp(300, first["budgets"], first["expected"]) > np.interp(
        300, last["budgets"], last["expected"]
    )


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        ({"timestep_budgets": [100, -1]}, ["body", "timestep_budgets", 1], "greater than"),
        ({"timestep_budgets": [1.0] * 101}, ["body", "timestep_budgets"], "at most 100"),
        ({"timestep_budgets": []}, ["body", "timestep_budgets"], "at least 1"),
        ({"timestep_budgets": ["100"]}, ["body", "timestep_budgets", 0], "number"),
        ({}, ["body"], "give timestep_budgets, target_cpa or target_roas"),
        ({"target_cpa": 10, "target_roas": 2}, ["body"], "not both"),
        ({"target_cpa": 0}, ["body", "target_cpa"], "greater than 0"),
        ({"target_roas": -2}, ["body", "target_roas"], "greater than 0"),
        ({"timestep_budgets": [1], "horizon": 3}, ["body", "horizon"], "Extra inputs"),
    ],
)
def test_bad_requests_are_422_naming_the_field_and_change_nothing(
    client: TestClient,
    db: Any,
    admin_headers: dict,
    learned: dict,
    body: dict,
    field: list,
    fragment: str,
) -> None:
    before = snapshot(db, skip=("login_failures",))
    response = _forecast(client, admin_headers, learned["plan"]["id"], body)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert any(item["loc"] == field and fragment in item["msg"] for item in detail), detail
    assert snapshot(db, skip=("login_failures",)) == before


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_budgets_and_targets_are_refused(
    client: TestClient, admin_headers: dict, learned: dict, text: str
) -> None:
    plan_id = learned["plan"]["id"]
    headers = {**admin_headers, "content-type": "application/json"}
    for raw, loc in (
        (f'{{"timestep_budgets": [100, {text}]}}', ["body", "timestep_budgets", 1]),
        (f'{{"target_cpa": {text}}}', ["body", "target_cpa"]),
    ):
        response = client.post(f"/plans/{plan_id}/forecast", content=raw, headers=headers)
        assert response.status_code == 422, (raw, response.text)
        assert any(item["loc"] == loc for item in response.json()["detail"]), raw


def test_plans_that_cannot_be_forecast_answer_409_saying_why(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 3)
    fresh = create_plan(client, admin_headers, client_id, campaign_ids)  # nothing reported yet
    other = create_plan(client, admin_headers, client_id, campaign_ids, policy="thompson")
    _report(client, admin_headers, other, 2)
    finished = create_plan(client, admin_headers, client_id, campaign_ids, timesteps=2)
    _report(client, admin_headers, finished, 2)
    for plan, fragment in (
        (fresh, "nothing has been spent yet"),
        (other, "uses 'thompson'"),
        (finished, "the plan is finished"),
    ):
        before = snapshot(db, skip=("login_failures",))
        for response in (
            _forecast(client, admin_headers, plan["id"], {"timestep_budgets": [100]}),
            client.get(f"/plans/{plan['id']}/curves", headers=admin_headers),
        ):
            assert response.status_code == 409, response.text
            assert fragment in response.json()["detail"]
        assert snapshot(db, skip=("login_failures",)) == before


def test_a_revenue_plan_forecasts_revenue(client: TestClient, db: Any, admin_headers: dict) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 3)
    plan = create_plan(
        client,
        admin_headers,
        client_id,
        campaign_ids,
        total_budget=30000.0,
        timesteps=30,
        objective="revenue",
    )
    _report(client, admin_headers, plan, 8)
    answer = _forecast(client, admin_headers, plan["id"], {"timestep_budgets": [1000]}).json()
    scenario = answer["scenarios"][0]
    assert answer["objective"] == "revenue"
    assert scenario["expected"] == pytest.approx(scenario["expected_revenue"])
    assert scenario["expected_revenue"] > 5 * scenario["expected_conversions"]
    assert scenario["marginal_return"] == pytest.approx(scenario["marginal_roas"])
    assert json.dumps(answer)  # plain JSON throughout


def test_zero_and_the_largest_budget_allowed_answer_finite_numbers(
    client: TestClient, admin_headers: dict, learned: dict
) -> None:
    response = _forecast(
        client, admin_headers, learned["plan"]["id"], {"timestep_budgets": [0, 5e-324, 1e12]}
    )
    assert response.status_code == 200, response.text
    zero, tiny, huge = response.json()["scenarios"]
    assert zero["expected"] == 0 and all(a["budget"] == 0 for a in zero["allocations"])
    assert zero["marginal_return"] > 0  # what the first units would bring
    assert tiny["expected"] == pytest.approx(0, abs=1e-9)
    assert huge["extrapolated"] and math.isfinite(huge["upper"])


def test_a_forecast_learns_a_restatement_made_since_the_last_close(
    client: TestClient, learned: dict, admin_headers: dict
) -> None:
    """A restated day counts at once in the forecast (as it will at the next close)."""
    plan_id, first = learned["plan"]["id"], learned["campaign_ids"][0]
    body = {"timestep_budgets": [1000.0]}
    before = _forecast(client, admin_headers, plan_id, body).json()["scenarios"][0]
    history = client.get(f"/plans/{plan_id}/history", headers=admin_headers).json()
    entry = history["entries"][8]
    figures = next(r for r in entry["results"] if r["campaign_id"] == first)
    restated = client.put(
        f"/plans/{plan_id}/results/8",
        json={"results": [{**figures, "conversions": figures["conversions"] + 60}]},
        headers=admin_headers,
    )
    assert restated.status_code == 200, restated.text
    after = _forecast(client, admin_headers, plan_id, body).json()["scenarios"][0]
    assert after["expected"] > before["expected"]
