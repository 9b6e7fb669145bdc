"""A running plan's budget, length and campaigns change: what the open timestep gets, and refusals."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.plans_support import (
    client_with_campaigns,
    create_plan,
    insert_campaign,
    insert_client,
    results_for,
)
from tests.conftest import snapshot

CENT = 0.01 + 1e-9


def _budgets(allocation: dict) -> dict[str, float]:
    return {item["campaign_id"]: item["budget"] for item in allocation["allocations"]}


def _in_cents(allocation: dict) -> None:
    """Budgets in cents that never add up to more than the timestep's budget."""
    budgets = _budgets(allocation).values()
    for budget in budgets:
        assert abs(budget * 100 - round(budget * 100)) < 1e-6, budget
    assert sum(budgets) <= allocation["timestep_budget"] + 1e-6


def _setup(client: TestClient, db: Any, headers: dict, count: int = 3, **fields: Any):
    client_id, campaign_ids = client_with_campaigns(db, count)
    plan = create_plan(client, headers, client_id, campaign_ids, **fields)
    return client_id, campaign_ids, plan


def _allocation(client: TestClient, headers: dict, plan_id: str) -> dict:
    response = client.get(f"/plans/{plan_id}/allocation", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _close(client: TestClient, headers: dict, plan_id: str, skip: tuple[str, ...] = ()) -> Any:
    allocation = _allocation(client, headers, plan_id)
    report = results_for(allocation)
    report["results"] = [r for r in report["results"] if r["campaign_id"] not in skip]
    return client.post(f"/plans/{plan_id}/results", json=report, headers=headers)


def _plan(client: TestClient, headers: dict, plan_id: str) -> dict:
    return client.get(f"/plans/{plan_id}", headers=headers).json()


# --- budget and length -------------------------------------------------------------------------


def test_a_budget_raise_recomputes_the_open_timestep(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    _, _, plan = _setup(client, db, admin_headers)
    assert plan["allocation"]["timestep_budget"] == pytest.approx(1000.0)
    response = client.patch(
        f"/plans/{plan['id']}", json={"total_budget": 6000}, headers=admin_headers
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["total_budget"] == 6000
    assert changed["note"] is None
    assert changed["allocation"]["timestep"] == 0
    assert changed["allocation"]["timestep_budget"] == pytest.approx(2000.0)
    assert sum(_budgets(changed["allocation"]).values()) > 1000.0
    _in_cents(changed["allocation"])
    assert _allocation(client, admin_headers, plan["id"]) == changed["allocation"]
    assert _plan(client, admin_headers, plan["id"])["budget_remaining"] == pytest.approx(6000.0)
    entry = db["audit"].find_one({"plan_id": plan["id"], "action": "plan.updated"})
    assert entry["changes"]["before"] == {"total_budget": 3000.0}
    assert entry["changes"]["after"] == {"total_budget": 6000}
    reissued = db["audit"].count_documents(
        {"plan_id": plan["id"], "action": "plan.allocation_issued"}
    )
    assert reissued == 2  # the first allocation of timestep 0, and the recomputed one


def test_a_change_after_some_results_arrived_applies_from_the_next_timestep(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    _, _, plan = _setup(client, db, admin_headers)
    report = results_for(plan["allocation"])
    part = {"timestep": 0, "results": report["results"][:1]}
    assert (
        client.post(f"/plans/{plan['id']}/results", json=part, headers=admin_headers).status_code
        == 202
    )
    response = client.patch(
        f"/plans/{plan['id']}", json={"total_budget": 6000}, headers=admin_headers
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert "timestep 0" in changed["note"] and "timestep 1" in changed["note"]
    assert changed["allocation"] == plan["allocation"]
    rest = {"timestep": 0, "results": report["results"][1:]}
    closed = client.post(f"/plans/{plan['id']}/results", json=rest, headers=admin_headers)
    assert closed.status_code == 200, closed.text
    spent = sum(r["spend"] for r in report["results"])
    assert closed.json()["timestep_budget"] == pytest.approx((6000 - spent) / 2)
    _in_cents(closed.json())


def test_the_length_can_be_extended_and_cut_and_pacing_follows(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    _, _, plan = _setup(client, db, admin_headers, timesteps=4, total_budget=4000.0)
    assert _close(client, admin_headers, plan["id"]).status_code == 200
    spent = _plan(client, admin_headers, plan["id"])["budget_spent"]
    longer = client.patch(f"/plans/{plan['id']}", json={"timesteps": 7}, headers=admin_headers)
    assert longer.status_code == 200, longer.text
    assert longer.json()["allocation"]["timestep_budget"] == pytest.approx((4000 - spent) / 6)
    shorter = client.patch(f"/plans/{plan['id']}", json={"timesteps": 2}, headers=admin_headers)
    assert shorter.status_code == 200, shorter.text
    assert shorter.json()["allocation"]["timestep_budget"] == pytest.approx(4000 - spent)
    finished = _close(client, admin_headers, plan["id"])
    assert finished.status_code == 200
    assert finished.json()["status"] == "finished"


def test_policy_parameters_change_from_the_open_timestep(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    _, _, plan = _setup(client, db, admin_headers)
    response = client.patch(
        f"/plans/{plan['id']}",
        json={"policy_params": {"max_change": 0.2, "target_cpa": 40}},
        headers=admin_headers,
    )
    assert response.status_code == 200, response.text
    params = response.json()["policy_params"]
    assert (params["max_change"], params["target_cpa"]) == (0.2, 40)
    assert params["half_life"] == plan["policy_params"]["half_life"]  # the others stay
    bad = client.patch(
        f"/plans/{plan['id']}", json={"policy_params": {"max_change": -1}}, headers=admin_headers
    )
    assert bad.status_code == 422
    assert "max_change" in bad.text


# --- campaigns: pause, lock, bounds -------------------------------------------------------------


def test_a_paused_campaign_gets_nothing_and_need_not_be_reported(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    _, campaign_ids, plan = _setup(client, db, admin_headers, timesteps=4)
    paused = campaign_ids[1]
    response = client.patch(
        f"/plans/{plan['id']}/campaigns/{paused}", json={"paused": True}, headers=admin_headers
    )
    assert response.status_code == 200, response.text
    allocation = response.json()["allocation"]
    entry = next(e for e in allocation["allocations"] if e["campaign_id"] == paused)
    assert entry["budget"] == 0 and entry["paused"] is True
    assert 0 < sum(_budgets(allocation).values()) <= 1000.0
    _in_cents(allocation)
    shown = _plan(client, admin_headers, plan["id"])
    assert paused not in shown["missing"]
    assert next(c for c in shown["campaigns"] if c["campaign_id"] == paused)["paused"] is True
    closed = _close(client, admin_headers, plan["id"], skip=(paused,))
    assert closed.status_code == 200, closed.text
    assert _budgets(closed.json())[paused] == 0
    resumed = client.patch(
        f"/plans/{plan['id']}/campaigns/{paused}", json={"paused": False}, headers=admin_headers
    )
    assert resumed.status_code == 200
    assert _budgets(resumed.json()["allocation"])[paused] > 0
    assert paused in resumed.json()["missing"]
    history = client.get(f"/plans/{plan['id']}/history", headers=admin_headers).json()
    first = history["entries"][0]
    assert [r["campaign_id"] for r in first["results"]] == [campaign_ids[0], campaign_ids[2]]


def test_a_locked_campaign_gets_exactly_its_lock(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    _, campaign_ids, plan = _setup(client, db, admin_headers, timesteps=4)
    brand = campaign_ids[0]
    url = f"/plans/{plan['id']}/campaigns/{brand}"
    response = client.patch(url, json={"locked_budget": 250.0}, headers=admin_headers)
    assert response.status_code == 200, response.text
    entry = response.json()["allocation"]["allocations"][0]
    assert (entry["budget"], entry["locked"]) == (250.0, True)
    _in_cents(response.json()["allocation"])
    closed = _close(client, admin_headers, plan["id"])
    assert _budgets(closed.json())[brand] == 250.0
    unlocked = client.patch(url, json={"locked_budget": None}, headers=admin_headers)
    assert unlocked.status_code == 200
    assert "locked" not in unlocked.json()["allocation"]["allocations"][0]


def test_impossible_locks_and_bounds_are_refused_and_change_nothing(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    _, campaign_ids, plan = _setup(client, db, admin_headers, timesteps=3)
    first, second = campaign_ids[0], campaign_ids[1]
    bounded = client.patch(
        f"/plans/{plan['id']}/campaigns/{second}", json={"max_budget": 300}, headers=admin_headers
    )
    assert bounded.status_code == 200
    assert _budgets(bounded.json()["allocation"])[second] <= 300.0
    locked = client.patch(
        f"/plans/{plan['id']}/campaigns/{first}", json={"locked_budget": 600}, headers=admin_headers
    )
    assert locked.status_code == 200
    before = snapshot(db)
    cases = [
        (first, {"locked_budget": 1500}, "locked_budget"),  # above the timestep's 1000
        (second, {"locked_budget": 400}, "locked_budget"),  # above its plan-level max of 300
        (campaign_ids[2], {"locked_budget": 500}, "locked_budget"),  # 600 + 500 > 1000
        (second, {"min_budget": 500}, "min_budget"),  # above its max of 300
        (second, {"min_budget": 200, "max_budget": 100}, None),
        (first, {"paused": None}, None),
        (first, {"locked_budget": -1}, "locked_budget"),
        (first, {"budget": 5}, "budget"),
    ]
    for campaign_id, body, field in cases:
        response = client.patch(
            f"/plans/{plan['id']}/campaigns/{campaign_id}", json=body, headers=admin_headers
        )
        assert response.status_code == 422, (body, response.text)
        if field is not None:
            assert field in response.text
    unknown = client.patch(
        f"/plans/{plan['id']}/campaigns/{'0' * 32}", json={"paused": True}, headers=admin_headers
    )
    assert unknown.status_code == 404
    assert snapshot(db) == before


def test_editing_a_campaigns_own_bounds_reaches_its_active_plans(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 3)
    plan = create_plan(client, admin_headers, client_id, campaign_ids, timesteps=4)
    overridden = create_plan(client, admin_headers, client_id, campaign_ids, timesteps=4)
    first = campaign_ids[0]
    own = client.patch(
        f"/plans/{overridden['id']}/campaigns/{first}",
        json={"max_budget": 500},
        headers=admin_headers,
    )
    assert own.status_code == 200
    response = client.patch(f"/campaigns/{first}", json={"max_budget": 50}, headers=admin_headers)
    assert response.status_code == 200, response.text
    assert _budgets(_allocation(client, admin_headers, plan["id"]))[first] <= 50.0
    kept = _budgets(_allocation(client, admin_headers, overridden["id"]))[first]
    assert kept <= 500.0 and kept > 50.0  # the plan-level bound wins
    _close(client, admin_headers, plan["id"])
    assert _budgets(_allocation(client, admin_headers, plan["id"]))[first] <= 50.0
    # A bound an active plan cannot take is refused, nothing written.
    before = snapshot(db)
    refused = client.patch(
        f"/campaigns/{campaign_ids[1]}", json={"min_budget": 5000}, headers=admin_headers
    )
    assert refused.status_code == 422, refused.text
    message = refused.json()["detail"][0]["msg"]
    assert plan["id"] in message or overridden["id"] in message
    assert "min_budget" in message
    assert snapshot(db) == before


# --- campaigns: add and remove ----------------------------------------------------------------


def test_a_campaign_joins_and_another_leaves_a_running_plan(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 2)
    plan = create_plan(client, admin_headers, client_id, campaign_ids, timesteps=5)
    assert _close(client, admin_headers, plan["id"]).status_code == 200
    newcomer = insert_campaign(db, client_id, "Launch week")
    added = client.post(
        f"/plans/{plan['id']}/campaigns", json={"campaign_id": newcomer}, headers=admin_headers
    )
    assert added.status_code == 201, added.text
    body = added.json()
    assert body["campaign_ids"] == [*campaign_ids, newcomer]
    entry = next(e for e in body["allocation"]["allocations"] if e["campaign_id"] == newcomer)
    assert entry["campaign_name"] == "Launch week" and entry["budget"] > 0
    assert newcomer in body["missing"]
    _in_cents(body["allocation"])
    assert _close(client, admin_headers, plan["id"]).status_code == 200

    leaving = campaign_ids[0]
    removed = client.delete(f"/plans/{plan['id']}/campaigns/{leaving}", headers=admin_headers)
    assert removed.status_code == 204
    shown = _plan(client, admin_headers, plan["id"])
    assert shown["campaign_ids"] == [campaign_ids[1], newcomer]
    assert leaving not in _budgets(shown["allocation"]) and leaving not in shown["missing"]
    stale = {
        "timestep": shown["timestep"],
        "results": [{"campaign_id": leaving, "spend": 1.0, "conversions": 1}],
    }
    refused = client.post(f"/plans/{plan['id']}/results", json=stale, headers=admin_headers)
    assert refused.status_code == 422 and leaving in refused.text
    assert _close(client, admin_headers, plan["id"]).status_code == 200
    # Its history stays, and can still be restated.
    history = client.get(f"/plans/{plan['id']}/history", headers=admin_headers).json()
    assert leaving in [r["campaign_id"] for r in history["entries"][0]["results"]]
    restated = client.put(
        f"/plans/{plan['id']}/results/1",
        json={"results": [{"campaign_id": leaving, "spend": 5.0, "conversions": 3}]},
        headers=admin_headers,
    )
    assert restated.status_code == 200, restated.text
    early = client.put(
        f"/plans/{plan['id']}/results/0",
        json={"results": [{"campaign_id": newcomer, "spend": 5.0, "conversions": 3}]},
        headers=admin_headers,
    )
    assert early.status_code == 422  # it was not in the plan at timestep 0
    actions = {e["action"] for e in db["audit"].find({"plan_id": plan["id"]})}
    assert {"plan.campaign_added", "plan.campaign_removed"} <= actions
    # Out of the plan, the campaign may be deleted; the plan's history still names it.
    assert client.delete(f"/campaigns/{leaving}", headers=admin_headers).status_code == 204
    assert client.delete(f"/campaigns/{newcomer}", headers=admin_headers).status_code == 409
    history = client.get(f"/plans/{plan['id']}/history", headers=admin_headers).json()
    names = [e["campaign_name"] for e in history["entries"][0]["allocation"]["allocations"]]
    assert names == ["Campaign 0", "Campaign 1"]


def test_campaigns_that_cannot_join_are_refused_and_change_nothing(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 2)
    plan = create_plan(client, admin_headers, client_id, campaign_ids)
    foreign = insert_campaign(db, insert_client(db, "Other"), "Theirs")
    before = snapshot(db)
    url = f"/plans/{plan['id']}/campaigns"
    for body, status in (
        ({"campaign_id": foreign}, 422),
        ({"campaign_id": "0" * 32}, 422),
        ({"campaign_id": campaign_ids[0]}, 409),
        ({}, 422),
        ({"campaign_id": 5}, 422),
    ):
        response = client.post(url, json=body, headers=admin_headers)
        assert response.status_code == status, (body, response.text)
    assert snapshot(db) == before
    last = client.delete(f"/plans/{plan['id']}/campaigns/{campaign_ids[0]}", headers=admin_headers)
    assert last.status_code == 204
    before = snapshot(db)
    only = client.delete(f"/plans/{plan['id']}/campaigns/{campaign_ids[1]}", headers=admin_headers)
    assert only.status_code == 409 and "stop" in only.json()["detail"]
    again = client.delete(f"/plans/{plan['id']}/campaigns/{campaign_ids[0]}", headers=admin_headers)
    assert again.status_code == 409 and "removed" in again.json()["detail"]
    assert snapshot(db) == before


# --- rounding and explanations ----------------------------------------------------------------


@pytest.mark.parametrize(("currency", "unit"), [("EUR", 0.01), ("JPY", 1.0), ("BHD", 0.001)])
def test_budgets_are_in_the_currencys_minor_unit_and_explained_from_timestep_zero(
    client: TestClient, db: Any, admin_headers: dict, currency: str, unit: float
) -> None:
    made = client.post(
        "/clients", json={"name": f"In {currency}", "currency": currency}, headers=admin_headers
    )
    client_id = made.json()["id"]
    campaign_ids = [insert_campaign(db, client_id, f"C{i}") for i in range(3)]
    plan = create_plan(
        client, admin_headers, client_id, campaign_ids, total_budget=1000.0, timesteps=3
    )
    for allocation in (plan["allocation"], _close(client, admin_headers, plan["id"]).json()):
        budgets = list(_budgets(allocation).values())
        for budget in budgets:
            assert abs(budget / unit - round(budget / unit)) < 1e-6, (currency, budget)
        assert sum(budgets) <= allocation["timestep_budget"] + 1e-9
        for entry in allocation["allocations"]:
            assert entry["expected"] is not None
            assert entry["lower"] <= entry["expected"] <= entry["upper"]


def test_forecasts_and_curves_name_the_plans_current_campaigns(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    _, campaign_ids, plan = _setup(client, db, admin_headers, timesteps=6)
    for _ in range(2):
        assert _close(client, admin_headers, plan["id"]).status_code == 200
    client.delete(f"/plans/{plan['id']}/campaigns/{campaign_ids[0]}", headers=admin_headers)
    forecast = client.post(
        f"/plans/{plan['id']}/forecast", json={"timestep_budgets": [500]}, headers=admin_headers
    )
    assert forecast.status_code == 200, forecast.text
    entries = forecast.json()["scenarios"][0]["allocations"]
    assert [e["campaign_name"] for e in entries] == ["Campaign 1", "Campaign 2"]
    curves = client.get(f"/plans/{plan['id']}/curves", headers=admin_headers)
    assert curves.status_code == 200, curves.text
    assert [c["campaign_name"] for c in curves.json()["campaigns"]] == ["Campaign 1", "Campaign 2"]


def test_a_pause_after_some_results_arrived_applies_from_the_next_timestep(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    _, campaign_ids, plan = _setup(client, db, admin_headers, timesteps=4)
    report = results_for(plan["allocation"])
    first_part = {"timestep": 0, "results": report["results"][:1]}
    posted = client.post(f"/plans/{plan['id']}/results", json=first_part, headers=admin_headers)
    assert posted.status_code == 202
    paused = campaign_ids[2]
    response = client.patch(
        f"/plans/{plan['id']}/campaigns/{paused}", json={"paused": True}, headers=admin_headers
    )
    assert response.status_code == 200, response.text
    assert "applies from timestep 1" in response.json()["note"]
    assert response.json()["allocation"] == plan["allocation"]
    assert response.json()["missing"] == campaign_ids[1:]  # timestep 0 still needs it
    rest = {"timestep": 0, "results": report["results"][1:]}
    closed = client.post(f"/plans/{plan['id']}/results", json=rest, headers=admin_headers)
    assert closed.status_code == 200, closed.text
    assert _budgets(closed.json())[paused] == 0
    assert paused not in _plan(client, admin_headers, plan["id"])["missing"]


def test_a_budget_cut_that_leaves_no_room_for_a_lock_is_refused(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    _, campaign_ids, plan = _setup(client, db, admin_headers, timesteps=3)
    locked = client.patch(
        f"/plans/{plan['id']}/campaigns/{campaign_ids[0]}",
        json={"locked_budget": 600},
        headers=admin_headers,
    )
    assert locked.status_code == 200
    before = snapshot(db)
    for body, field in (({"total_budget": 1200}, "total_budget"), ({"timesteps": 6}, "timesteps")):
        response = client.patch(f"/plans/{plan['id']}", json=body, headers=admin_headers)
        assert response.status_code == 422, (body, response.text)
        detail = response.json()["detail"][0]
        assert detail["loc"] == ["body", field] and "lock" in detail["msg"]
    assert snapshot(db) == before
