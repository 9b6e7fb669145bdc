"""Plans over REST: create, read, report, history, list — what a dashboard or daily script sees."""

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from oktapi.engine import POLICIES
from tests.api.plans_support import (
    client_with_campaigns,
    create_plan,
    insert_campaign,
    insert_client,
    results_for,
)
from tests.conftest import bearer, insert_user

# --- create -----------------------------------------------------------------------------------


def test_create_answers_the_plan_with_the_allocation_for_timestep_zero(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 3)
    body = {
        "name": "Q1 push",
        "campaign_ids": campaign_ids,
        "total_budget": 30000,
        "timesteps": 30,
        "start": "2027-01-01",
        "timestep_days": 1,
        "objective": "conversions",
        "policy": "thompson",
        "policy_params": {},
        "step": 0.05,
        "seed": 7,
    }
    response = client.post(f"/clients/{client_id}/plans", json=body, headers=admin_headers)
    assert response.status_code == 201, response.text
    plan = response.json()
    assert plan["id"] and plan["status"] == "active" and plan["timestep"] == 0
    assert plan["name"] == "Q1 push"
    for key in ("campaign_ids", "total_budget", "timesteps", "objective", "policy", "step", "seed"):
        assert plan[key] == body[key], key
    assert plan["start"] == "2027-01-01" and plan["timestep_days"] == 1
    assert plan["budget_spent"] == 0 and plan["budget_remaining"] == 30000
    allocation = plan["allocation"]
    assert allocation["timestep"] == 0
    assert allocation["period_start"] == allocation["period_end"] == "2027-01-01"
    assert [item["campaign_id"] for item in allocation["allocations"]] == campaign_ids
    assert allocation["timestep_budget"] == pytest.approx(1000)
    assert sum(item["budget"] for item in allocation["allocations"]) <= 1000 + 1e-6
    assert client.get(f"/plans/{plan['id']}", headers=admin_headers).json() == plan


def test_only_campaigns_budget_and_timesteps_are_required(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 2)
    plan = create_plan(client, admin_headers, client_id, campaign_ids)
    assert plan["policy"] in POLICIES
    assert plan["objective"] == "conversions" and plan["step"] == 0.05
    assert isinstance(plan["seed"], int) and 0 <= plan["seed"] < 2**53
    assert plan["start"] is None and plan["name"]


def test_a_generated_seed_is_stored_so_the_plan_can_be_reproduced(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 4)
    first = create_plan(
        client, admin_headers, client_id, campaign_ids, policy="thompson", step=0.2, timesteps=5
    )
    again = create_plan(
        client,
        admin_headers,
        client_id,
        campaign_ids,
        policy="thompson",
        step=0.2,
        timesteps=5,
        seed=first["seed"],
    )
    for plan in (first, again):
        allocation = plan["allocation"]
        for conversions in (3, 9, 1):
            response = client.post(
                f"/plans/{plan['id']}/results",
                json=results_for(allocation, conversions=conversions),
                headers=admin_headers,
            )
            assert response.status_code == 200, response.text
            allocation = response.json()
        plan["last"] = allocation
    assert first["last"] == again["last"]


def _post_plan(client: TestClient, headers: dict, client_id: str, **body: Any):
    return client.post(f"/clients/{client_id}/plans", json=body, headers=headers)


def _messages(response) -> str:
    return " | ".join(str(error.get("msg")) for error in response.json()["detail"])


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"total_budget": 0}, "greater than 0"),
        ({"total_budget": -5}, "greater than 0"),
        ({"timesteps": 0}, "greater than or equal to 1"),
        ({"timesteps": 10001}, "less than or equal to 10000"),
        ({"policy": "magic"}, "available: "),
        ({"policy": "epsilon_greedy", "policy_params": {"epsilonn": 0.1}}, "unknown parameter"),
        ({"policy": "epsilon_greedy", "policy_params": {"epsilon": 7}}, "epsilon"),
        ({"step": 0}, "greater than 0"),
        ({"step": 1.5}, "less than or equal to 1"),
        ({"objective": "likes"}, "conversions"),
        ({"surprise": 1}, "Extra inputs"),
        ({"seed": -1}, "greater than or equal to 0"),
        ({"start": "not a date"}, "date"),
    ],
)
def test_create_refuses_bad_values_with_a_message_that_says_what_to_fix(
    client: TestClient, db: Any, admin_headers: dict, overrides: dict, fragment: str
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 2)
    body = {"campaign_ids": campaign_ids, "total_budget": 1000, "timesteps": 10, **overrides}
    response = _post_plan(client, admin_headers, client_id, **body)
    assert response.status_code == 422, response.text
    assert fragment in _messages(response)
    assert db["plans"].count_documents({}) == 0


def test_unknown_policy_message_lists_every_registered_policy(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 2)
    response = _post_plan(
        client,
        admin_headers,
        client_id,
        campaign_ids=campaign_ids,
        total_budget=10,
        timesteps=1,
        policy="magic",
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "policy"]
    for name in POLICIES:
        assert name in _messages(response)


def test_non_finite_budget_is_refused(client: TestClient, db: Any, admin_headers: dict) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 2)
    for value in ("NaN", "Infinity"):
        raw = f'{{"campaign_ids": {json.dumps(campaign_ids)}, "total_budget": {value}, "timesteps": 3}}'
        response = client.post(
            f"/clients/{client_id}/plans",
            content=raw,
            headers={**admin_headers, "content-type": "application/json"},
        )
        assert response.status_code == 422, response.text
    assert db["plans"].count_documents({}) == 0


def test_campaigns_must_belong_to_the_client_and_appear_once(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 2)
    other_client = insert_client(db, "Other")
    foreign = insert_campaign(db, other_client, "Not yours")
    response = _post_plan(
        client,
        admin_headers,
        client_id,
        campaign_ids=[*campaign_ids, foreign],
        total_budget=10,
        timesteps=1,
    )
    assert response.status_code == 422
    assert foreign in _messages(response) and "not campaigns of this client" in _messages(response)
    response = _post_plan(
        client,
        admin_headers,
        client_id,
        campaign_ids=[campaign_ids[0], campaign_ids[0]],
        total_budget=10,
        timesteps=1,
    )
    assert response.status_code == 422
    assert "repeated" in _messages(response)
    response = _post_plan(
        client, admin_headers, client_id, campaign_ids=[], total_budget=10, timesteps=1
    )
    assert response.status_code == 422
    assert db["plans"].count_documents({}) == 0


def test_min_budgets_must_fit_in_a_timestep_and_the_message_says_by_how_much(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 3, min_budget=400)
    response = _post_plan(
        client,
        admin_headers,
        client_id,
        campaign_ids=campaign_ids,
        total_budget=10000,
        timesteps=10,
    )
    assert response.status_code == 422
    message = _messages(response)
    assert "1200" in message and "200 more than" in message and "1000" in message
    ok = _post_plan(
        client,
        admin_headers,
        client_id,
        campaign_ids=campaign_ids,
        total_budget=12000,
        timesteps=10,
    )
    assert ok.status_code == 201
    budgets = [item["budget"] for item in ok.json()["allocation"]["allocations"]]
    assert all(budget >= 400 - 1e-9 for budget in budgets)


def test_unknown_or_foreign_client_is_404(client: TestClient, db: Any, settings) -> None:
    mine = insert_client(db, "Mine")
    theirs = insert_client(db, "Theirs")
    theirs_campaign = insert_campaign(db, theirs, "C")
    manager = bearer(settings, insert_user(db, username="manager", client_ids=[mine]))
    for client_id in (theirs, "nope"):
        response = _post_plan(
            client, manager, client_id, campaign_ids=[theirs_campaign], total_budget=10, timesteps=1
        )
        assert response.status_code == 404
    assert db["plans"].count_documents({}) == 0


# --- the loop ---------------------------------------------------------------------------------


def test_a_plan_runs_to_the_end_with_exact_accounting(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 3)
    plan = create_plan(
        client, admin_headers, client_id, campaign_ids, total_budget=3000, timesteps=3
    )
    plan_id = plan["id"]
    spent = 0.0
    answer = plan["allocation"]
    for timestep in range(3):
        allocation = client.get(f"/plans/{plan_id}/allocation", headers=admin_headers).json()
        assert allocation["timestep"] == timestep
        assert allocation == answer
        report = results_for(allocation, spend_share=0.5)
        spent += sum(entry["spend"] for entry in report["results"])
        response = client.post(f"/plans/{plan_id}/results", json=report, headers=admin_headers)
        assert response.status_code == 200, response.text
        answer = response.json()
        state = client.get(f"/plans/{plan_id}", headers=admin_headers).json()
        assert state["budget_spent"] == pytest.approx(spent)
        assert state["budget_remaining"] == pytest.approx(3000 - spent)
        assert state["timestep"] == timestep + 1
    # after the last timestep the answer is the finished plan
    assert answer["status"] == "finished" and answer["timestep"] == 3
    assert answer["allocation"] is None
    assert client.get(f"/plans/{plan_id}/allocation", headers=admin_headers).status_code == 409
    for after_last in (3, 99_999):
        late = client.post(
            f"/plans/{plan_id}/results",
            json={**report, "timestep": after_last},
            headers=admin_headers,
        )
        assert late.status_code == 409
        assert "finished" in late.json()["detail"]


def test_unspent_budget_flows_to_later_timesteps(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 2)
    plan = create_plan(
        client, admin_headers, client_id, campaign_ids, total_budget=4000, timesteps=4
    )
    first = plan["allocation"]
    assert first["timestep_budget"] == pytest.approx(1000)
    report = results_for(first, spend_share=0.4)  # spends 400 of 1000
    second = client.post(f"/plans/{plan['id']}/results", json=report, headers=admin_headers).json()
    assert second["timestep_budget"] == pytest.approx((4000 - 400) / 3)
    assert sum(item["budget"] for item in second["allocations"]) <= second["timestep_budget"] + 1e-6


def test_allocation_explains_budgets_when_the_policy_does(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 2)
    plan = create_plan(client, admin_headers, client_id, campaign_ids, policy="thompson")
    answer = client.post(
        f"/plans/{plan['id']}/results", json=results_for(plan["allocation"]), headers=admin_headers
    ).json()
    for item in answer["allocations"]:
        assert set(item) >= {
            "campaign_id",
            "budget",
            "expected",
            "lower",
            "upper",
            "marginal_return",
        }
        assert item["lower"] <= item["expected"] <= item["upper"]


# --- results validation -----------------------------------------------------------------------


def _snapshot(db: Any, plan_id: str) -> tuple:
    plan = db["plans"].find_one({"_id": plan_id})
    return (
        plan["version"],
        plan["budget_spent"],
        plan["state"],
        db["plan_timesteps"].count_documents({}),
    )


def _entry(campaign_id: str, **fields: Any) -> dict:
    return {"campaign_id": campaign_id, "spend": 100.0, "conversions": 3, **fields}


@pytest.mark.parametrize(
    ("make_results", "fragment"),
    [
        (lambda ids: [_entry(i) for i in ids] + [_entry(ids[0])], "more than once"),
        (lambda ids: [_entry(i) for i in ids] + [_entry("ghost")], "not in this plan"),
        (lambda ids: [_entry(ids[0], spend=-1)] + [_entry(i) for i in ids[1:]], "greater than"),
        (
            lambda ids: [_entry(ids[0], conversions=1e16)] + [_entry(i) for i in ids[1:]],
            "less than",
        ),
        (lambda ids: [_entry(ids[0], conversions=-1)] + [_entry(i) for i in ids[1:]], "greater"),
        (lambda ids: [_entry(ids[0], revenue=-3)] + [_entry(i) for i in ids[1:]], "greater"),
        (lambda ids: [_entry(ids[0], clicks=1.5)] + [_entry(i) for i in ids[1:]], "integer"),
        (lambda ids: [_entry(ids[0], impressions=-2)] + [_entry(i) for i in ids[1:]], "greater"),
        (
            lambda ids: [_entry(ids[0], spend=2500)] + [_entry(i) for i in ids[1:]],
            "twice its budget",
        ),
        (lambda ids: [_entry(ids[0], color="red")] + [_entry(i) for i in ids[1:]], "Extra inputs"),
        (lambda ids: [{"campaign_id": i, "spend": 1.0} for i in ids], "Field required"),
    ],
)
def test_bad_results_are_refused_and_change_nothing(
    client: TestClient, db: Any, admin_headers: dict, make_results, fragment: str
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 3)
    plan = create_plan(client, admin_headers, client_id, campaign_ids)  # 1000 per timestep
    before = _snapshot(db, plan["id"])
    response = client.post(
        f"/plans/{plan['id']}/results",
        json={"timestep": 0, "results": make_results(campaign_ids)},
        headers=admin_headers,
    )
    assert response.status_code == 422, response.text
    assert fragment in _messages(response)
    assert _snapshot(db, plan["id"]) == before


def test_counts_sent_as_whole_floats_are_accepted(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 2)
    plan = create_plan(client, admin_headers, client_id, campaign_ids)
    report = {
        "timestep": 0,
        "results": [_entry(i, conversions=3.0, clicks=40.0) for i in campaign_ids],
    }
    response = client.post(f"/plans/{plan['id']}/results", json=report, headers=admin_headers)
    assert response.status_code == 200, response.text


# --- exactly once -----------------------------------------------------------------------------


def test_same_results_again_answer_the_same_and_learn_nothing_twice(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 3)
    plan = create_plan(client, admin_headers, client_id, campaign_ids)
    url = f"/plans/{plan['id']}/results"
    report = results_for(plan["allocation"])
    first = client.post(url, json=report, headers=admin_headers)
    after_first = client.get(f"/plans/{plan['id']}", headers=admin_headers).json()
    # the same numbers, written differently (ints for floats, fields reordered, entries shuffled)
    rewritten = {
        "results": [
            {
                "conversions": e["conversions"],
                "revenue": int(e["revenue"]),
                "spend": e["spend"],
                "campaign_id": e["campaign_id"],
            }
            for e in reversed(report["results"])
        ],
        "timestep": 0,
    }
    second = client.post(url, json=rewritten, headers=admin_headers)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    after_second = client.get(f"/plans/{plan['id']}", headers=admin_headers).json()
    assert after_second == after_first
    history = client.get(f"/plans/{plan['id']}/history", headers=admin_headers).json()
    assert [entry["timestep"] for entry in history["entries"]] == [0, 1]
    accepted = db["audit"].count_documents(
        {"plan_id": plan["id"], "action": "plan.results_accepted"}
    )
    assert accepted == 1


def test_a_closed_timestep_with_other_numbers_or_a_future_timestep_is_409(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 2)
    plan = create_plan(
        client, admin_headers, client_id, campaign_ids, timesteps=5, total_budget=5000
    )
    url = f"/plans/{plan['id']}/results"
    report = results_for(plan["allocation"])
    assert client.post(url, json=report, headers=admin_headers).status_code == 200
    changed = json.loads(json.dumps(report))
    changed["results"][0]["conversions"] += 1
    response = client.post(url, json=changed, headers=admin_headers)
    assert response.status_code == 409
    assert "different numbers" in response.json()["detail"]
    future = {**report, "timestep": 3}
    response = client.post(url, json=future, headers=admin_headers)
    assert response.status_code == 409
    assert "report timestep 1 first" in response.json()["detail"]
    assert client.get(f"/plans/{plan['id']}", headers=admin_headers).json()["timestep"] == 1


def test_the_last_timestep_retried_answers_the_finished_plan(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 2)
    plan = create_plan(
        client, admin_headers, client_id, campaign_ids, timesteps=1, total_budget=100
    )
    report = results_for(plan["allocation"])
    first = client.post(f"/plans/{plan['id']}/results", json=report, headers=admin_headers)
    again = client.post(f"/plans/{plan['id']}/results", json=report, headers=admin_headers)
    assert first.status_code == again.status_code == 200
    assert first.json()["status"] == again.json()["status"] == "finished"
    assert first.json()["budget_spent"] == again.json()["budget_spent"]


def test_a_crash_between_the_two_writes_is_repaired_on_the_next_read(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    """The timestep record was written but the plan document was not advanced (process died)."""
    from oktapi.repositories.plans import PlanRepository

    client_id, campaign_ids = client_with_campaigns(db, 3)
    crashed = create_plan(client, admin_headers, client_id, campaign_ids, policy="thompson", seed=3)
    healthy = create_plan(client, admin_headers, client_id, campaign_ids, policy="thompson", seed=3)
    report = results_for(crashed["allocation"])
    expected = client.post(
        f"/plans/{healthy['id']}/results", json=report, headers=admin_headers
    ).json()
    PlanRepository(db).insert_timestep(
        {
            "plan_id": crashed["id"],
            "client_id": client_id,
            "timestep": 0,
            "allocation": crashed["allocation"],
            "results": [
                {**e, "revenue": e["revenue"], "clicks": None, "impressions": None}
                for e in report["results"]
            ],
            "next_allocation": expected,
            "budget_spent": 0.0,
            "reported_at": None,
            "reported_by": "crashed",
        }
    )
    assert db["plans"].find_one({"_id": crashed["id"]})["version"] == 0
    listed = client.get(f"/clients/{client_id}/plans", headers=admin_headers).json()
    assert {p["id"]: p["timestep"] for p in listed} == {crashed["id"]: 1, healthy["id"]: 1}
    assert (
        client.get(f"/plans/{crashed['id']}/allocation", headers=admin_headers).json() == expected
    )
    # the retry of the post the client never got an answer to is answered, not refused
    retry = client.post(f"/plans/{crashed['id']}/results", json=report, headers=admin_headers)
    assert retry.status_code == 200 and retry.json() == expected
    # the audit entries the dead process never wrote exist now, once each, under the reporter
    trail = list(db["audit"].find({"plan_id": crashed["id"]}))
    accepted = [e for e in trail if e["action"] == "plan.results_accepted"]
    issued = sorted(
        e["changes"]["timestep"] for e in trail if e["action"] == "plan.allocation_issued"
    )
    assert [(e["user_id"], e["changes"]["timestep"]) for e in accepted] == [("crashed", 0)]
    assert issued == [0, 1]


# --- history and lists ------------------------------------------------------------------------


def test_history_shows_each_allocation_and_what_was_reported(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 2)
    plan = create_plan(
        client, admin_headers, client_id, campaign_ids, start="2027-03-01", timestep_days=7
    )
    report = results_for(plan["allocation"])
    report["results"][0]["clicks"] = 70
    client.post(f"/plans/{plan['id']}/results", json=report, headers=admin_headers)
    history = client.get(f"/plans/{plan['id']}/history", headers=admin_headers).json()
    assert history["timestep"] == 1 and history["status"] == "active"
    closed, open_ = history["entries"]
    assert closed["allocation"] == plan["allocation"]
    assert closed["allocation"]["period_start"] == "2027-03-01"
    assert closed["allocation"]["period_end"] == "2027-03-07"
    assert closed["results"][0]["clicks"] == 70 and closed["results"][1]["clicks"] is None
    assert [r["spend"] for r in closed["results"]] == [e["spend"] for e in report["results"]]
    assert closed["reported_at"]
    assert open_["timestep"] == 1 and open_["results"] is None
    assert open_["allocation"]["period_start"] == "2027-03-08"
    page = client.get(f"/plans/{plan['id']}/history?offset=1&limit=5", headers=admin_headers)
    assert [entry["timestep"] for entry in page.json()["entries"]] == [1]


def test_plans_are_listed_per_client_with_pages(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 2)
    other_id, other_campaigns = client_with_campaigns(db, 2)
    made = [
        create_plan(client, admin_headers, client_id, campaign_ids, name=f"P{i}")["id"]
        for i in range(3)
    ]
    create_plan(client, admin_headers, other_id, other_campaigns)
    listed = client.get(f"/clients/{client_id}/plans", headers=admin_headers).json()
    assert [plan["id"] for plan in listed] == made
    page = client.get(f"/clients/{client_id}/plans?limit=2&offset=1", headers=admin_headers).json()
    assert [plan["id"] for plan in page] == made[1:3]
    assert (
        client.get(f"/clients/{client_id}/plans?limit=500", headers=admin_headers).status_code
        == 422
    )


def test_a_manager_sees_only_plans_of_its_clients(
    client: TestClient, db: Any, settings, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 2)
    plan = create_plan(client, admin_headers, client_id, campaign_ids)
    outsider = bearer(
        settings, insert_user(db, username="outsider", client_ids=[insert_client(db)])
    )
    insider = bearer(settings, insert_user(db, username="insider", client_ids=[client_id]))
    report = results_for(plan["allocation"])
    routes = [
        ("get", f"/plans/{plan['id']}", None),
        ("get", f"/plans/{plan['id']}/allocation", None),
        ("get", f"/plans/{plan['id']}/history", None),
        ("get", f"/clients/{client_id}/plans", None),
        ("post", f"/plans/{plan['id']}/results", report),
        (
            "post",
            f"/clients/{client_id}/plans",
            {"campaign_ids": campaign_ids, "total_budget": 9, "timesteps": 1},
        ),
    ]
    for method, url, body in routes:
        response = client.request(method, url, json=body, headers=outsider)
        assert response.status_code == 404, (url, response.text)
    assert client.get(f"/plans/{plan['id']}", headers=outsider).json() == {
        "detail": "Plan not found"
    }
    csv_response = client.post(
        f"/plans/{plan['id']}/results/csv",
        content=b"timestep,campaign,spend,conversions\n",
        headers={**outsider, "content-type": "text/csv"},
    )
    assert csv_response.status_code == 404
    assert db["plan_timesteps"].count_documents({}) == 0
    assert client.get(f"/plans/{plan['id']}", headers=insider).status_code == 200
    assert (
        client.post(f"/plans/{plan['id']}/results", json=report, headers=insider).status_code == 200
    )
    assert client.get(f"/plans/{plan['id']}").status_code == 401


def test_every_allocation_handed_out_and_result_accepted_is_audited(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 2)
    plan = create_plan(
        client, admin_headers, client_id, campaign_ids, timesteps=2, total_budget=200
    )
    answer = plan["allocation"]
    for _ in range(2):
        answer = client.post(
            f"/plans/{plan['id']}/results", json=results_for(answer), headers=admin_headers
        ).json()
        answer = answer.get("allocation") or answer
    entries = list(db["audit"].find({"plan_id": plan["id"]}))
    actions = sorted(entry["action"] for entry in entries)
    assert actions == sorted(
        [
            "plan.created",
            "plan.allocation_issued",
            "plan.allocation_issued",
            "plan.results_accepted",
            "plan.results_accepted",
        ]
    )
    assert all(entry["client_id"] == client_id for entry in entries)


def test_plans_whose_history_would_not_fit_one_document_are_refused(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 21)
    response = _post_plan(
        client,
        admin_headers,
        client_id,
        campaign_ids=campaign_ids,
        total_budget=1e6,
        timesteps=10000,
    )
    assert response.status_code == 422
    assert "10000 x 21 = 210000" in _messages(response)


def test_the_stored_state_round_trips_exactly() -> None:
    """History is packed as base64 float64; unpacking gives the engine the very same numbers."""
    import numpy as np

    from oktapi.engine import AI, Campaign, Results, State
    from oktapi.services.state_codec import load_state, stored_state

    state = State.create(
        [Campaign("a"), Campaign("b", 1.0, 50.0), Campaign("c")],
        900.0,
        9,
        policy="thompson",
        seed=5,
    )
    ai = AI(state)
    rng = np.random.default_rng(0)
    for _ in range(4):
        budgets = ai.allocate().budgets
        ai.update(
            Results(budgets * rng.uniform(0.5, 1, 3) / 3, rng.poisson(4, 3), rng.gamma(2, 9, 3))
        )
    ai.allocate()
    stored = stored_state(state)
    assert isinstance(stored["history"]["spend"], str)
    assert load_state(stored).to_dict() == state.to_dict()
    assert load_state(state.to_dict()).to_dict() == state.to_dict()  # unpacked lists still load


def test_campaigns_of_an_active_plan_cannot_be_deleted_until_it_finishes(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 2)
    plan = create_plan(client, admin_headers, client_id, campaign_ids, timesteps=1, total_budget=10)
    assert client.delete(f"/campaigns/{campaign_ids[0]}", headers=admin_headers).status_code == 409
    client.post(
        f"/plans/{plan['id']}/results", json=results_for(plan["allocation"]), headers=admin_headers
    )
    assert client.delete(f"/campaigns/{campaign_ids[0]}", headers=admin_headers).status_code == 204


def test_deleting_the_client_removes_its_plans_and_their_records(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 2)
    plan = create_plan(client, admin_headers, client_id, campaign_ids)
    client.post(
        f"/plans/{plan['id']}/results", json=results_for(plan["allocation"]), headers=admin_headers
    )
    assert client.delete(f"/clients/{client_id}", headers=admin_headers).status_code == 204
    assert client.get(f"/plans/{plan['id']}", headers=admin_headers).status_code == 404
    assert db["plan_timesteps"].count_documents({"plan_id": plan["id"]}) == 0


def test_a_random_mix_of_posts_keeps_the_plan_and_its_records_in_agreement(
    client: TestClient, db: Any, admin_headers: dict, backend: str
) -> None:
    """Valid, repeated, changed, early, late and malformed posts in a seeded random order."""
    import random

    if backend != "memory":
        pytest.skip("the same code path as on memory; one backend keeps the suite quick")
    rng = random.Random(2027)
    client_id, campaign_ids = client_with_campaigns(db, 3)
    plan = create_plan(
        client, admin_headers, client_id, campaign_ids, timesteps=12, total_budget=12000
    )
    url = f"/plans/{plan['id']}/results"
    sent: dict[int, dict] = {}  # what the plan accepted, per timestep
    answers: dict[int, Any] = {}
    allocation = plan["allocation"]
    for _ in range(80):
        state = client.get(f"/plans/{plan['id']}", headers=admin_headers).json()
        if state["status"] == "finished":
            break
        allocation = state["allocation"]
        kind = rng.choice(["new", "new", "repeat", "changed", "early", "late", "bad"])
        if kind == "new" or (kind in ("repeat", "changed") and not sent):
            body = results_for(
                allocation, spend_share=rng.uniform(0.3, 1.0), conversions=rng.randint(0, 9)
            )
            response = client.post(url, json=body, headers=admin_headers)
            assert response.status_code == 200, response.text
            sent[body["timestep"]] = body
            answers[body["timestep"]] = response.json()
        elif kind == "repeat":
            timestep = rng.choice(sorted(sent))
            response = client.post(url, json=sent[timestep], headers=admin_headers)
            assert response.status_code == 200
            assert response.json() == answers[timestep] or timestep == 11
        elif kind == "changed":
            body = json.loads(json.dumps(sent[rng.choice(sorted(sent))]))
            body["results"][rng.randrange(3)]["conversions"] += 1
            assert client.post(url, json=body, headers=admin_headers).status_code == 409
        elif kind == "early":
            body = results_for(allocation)
            body["timestep"] = state["timestep"] + rng.randint(1, 5)
            assert client.post(url, json=body, headers=admin_headers).status_code == 409
        elif kind == "late":
            body = results_for(allocation)
            body["timestep"] = 12 + rng.randint(0, 3)
            assert client.post(url, json=body, headers=admin_headers).status_code == 409
        else:
            body = results_for(allocation)
            body["results"][0]["spend"] = -1
            assert client.post(url, json=body, headers=admin_headers).status_code == 422
    final = client.get(f"/plans/{plan['id']}", headers=admin_headers).json()
    history = client.get(f"/plans/{plan['id']}/history", headers=admin_headers).json()
    closed = [entry for entry in history["entries"] if entry["results"] is not None]
    assert final["status"] == "finished"
    assert final["timestep"] == len(closed) == len(sent) == 12
    spent = sum(e["spend"] for body in sent.values() for e in body["results"])
    assert final["budget_spent"] == pytest.approx(spent)
    for entry in closed:
        assert [r["spend"] for r in entry["results"]] == [
            e["spend"] for e in sent[entry["timestep"]]["results"]
        ]


@pytest.mark.parametrize(
    ("start", "timesteps", "timestep_days"),
    [("9999-12-31", 3, 1), ("9999-06-01", 2, 366), ("9999-12-25", 2, 7)],
)
def test_a_plan_that_would_run_past_the_last_date_is_refused_at_creation(
    client: TestClient, db: Any, admin_headers: dict, start: str, timesteps: int, timestep_days: int
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 2)
    response = _post_plan(
        client,
        admin_headers,
        client_id,
        campaign_ids=campaign_ids,
        total_budget=1000,
        timesteps=timesteps,
        start=start,
        timestep_days=timestep_days,
    )
    assert response.status_code == 422, response.text
    messages = _messages(response)
    for field in ("start", "timesteps", "timestep_days", "9999-12-31"):
        assert field in messages, messages
    assert db["plans"].count_documents({}) == 0


def test_a_plan_ending_on_the_last_date_runs_to_its_end(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 2)
    plan = create_plan(
        client, admin_headers, client_id, campaign_ids, start="9999-12-29", timesteps=3
    )
    allocation = plan["allocation"]
    for _ in range(3):
        response = client.post(
            f"/plans/{plan['id']}/results", json=results_for(allocation), headers=admin_headers
        )
        assert response.status_code == 200, response.text
        allocation = response.json().get("allocation", response.json())
    finished = client.get(f"/plans/{plan['id']}/history", headers=admin_headers).json()
    assert finished["status"] == "finished"
    assert finished["entries"][-1]["allocation"]["period_end"] == "9999-12-31"
