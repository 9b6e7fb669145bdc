"""Results as they really arrive: in parts, restated later, with fractional conversions."""

import json
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from oktapi.engine import AI, Campaign, Restatement, Results, State
from oktapi.repositories.plans import PlanRepository
from oktapi.services import figures as figures_service
from tests.api.plans_support import client_with_campaigns, create_plan, results_for


def _post(client: TestClient, plan_id: str, body: dict, headers: dict):
    return client.post(f"/plans/{plan_id}/results", json=body, headers=headers)


def _put(client: TestClient, plan_id: str, timestep: int, results: list[dict], headers: dict):
    return client.put(
        f"/plans/{plan_id}/results/{timestep}", json={"results": results}, headers=headers
    )


def _plan(client: TestClient, db: Any, headers: dict, count: int = 3, **fields: Any) -> dict:
    client_id, campaign_ids = client_with_campaigns(db, count)
    made = create_plan(client, headers, client_id, campaign_ids, **fields)
    made["campaign_ids"] = campaign_ids
    return made


def _twin(client: TestClient, headers: dict, plan: dict, **fields: Any) -> dict:
    """Another plan over the same campaigns (same seed: the same allocations for the same input)."""
    made = create_plan(client, headers, plan["client_id"], plan["campaign_ids"], **fields)
    made["campaign_ids"] = plan["campaign_ids"]
    return made


def _stored(db: Any, plan_id: str) -> dict[str, Any]:
    """Everything a plan's writes touch, to check that a refusal changed nothing."""
    return {
        "plan": db["plans"].find_one({"_id": plan_id}),
        "records": list(db["plan_timesteps"].find({"plan_id": plan_id}, sort=[("_id", 1)])),
        "figures": list(db["plan_results"].find({"plan_id": plan_id}, sort=[("_id", 1)])),
        "restatements": db["plan_restatements"].count_documents({"plan_id": plan_id}),
        "audit": db["audit"].count_documents({"plan_id": plan_id}),
    }


def _dies(request: Any) -> None:
    """The request hits the injected crash: the server answers 500 (or the test client raises)."""
    try:
        response = request()
    except RuntimeError:
        return
    assert response.status_code == 500, response.text


def _history(client: TestClient, plan_id: str, headers: dict, **params: Any) -> dict:
    response = client.get(f"/plans/{plan_id}/history", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


# --- results in parts -------------------------------------------------------------------------


def test_a_part_waits_for_the_missing_campaigns_and_the_last_part_closes_the_timestep(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    plan = _plan(client, db, admin_headers, policy="thompson", seed=4)
    twin = _twin(client, admin_headers, plan, policy="thompson", seed=4)
    full = results_for(plan["allocation"])
    first, second, third = plan["campaign_ids"]
    google = {"timestep": 0, "results": full["results"][:2]}
    meta = {"timestep": 0, "results": full["results"][2:]}

    waiting = _post(client, plan["id"], google, admin_headers)
    assert waiting.status_code == 202, waiting.text
    assert waiting.json() == {"timestep": 0, "status": "waiting", "missing": [third]}
    shown = client.get(f"/plans/{plan['id']}", headers=admin_headers).json()
    assert shown["timestep"] == 0 and shown["missing"] == [third]
    assert shown["budget_spent"] == 0
    assert (
        client.get(f"/plans/{plan['id']}/allocation", headers=admin_headers).json()
        == (plan["allocation"])
    )
    # the same part again is harmless; a changed figure of a waiting campaign replaces it
    changed = json.loads(json.dumps(google))
    changed["results"][0]["conversions"] = 9
    assert _post(client, plan["id"], changed, admin_headers).status_code == 202
    assert _post(client, plan["id"], google, admin_headers).status_code == 202

    closing = _post(client, plan["id"], meta, admin_headers)
    assert closing.status_code == 200, closing.text
    # the plan learnt exactly what one whole post teaches: the last figures of each campaign
    whole = _post(client, twin["id"], full, admin_headers)
    assert closing.json() == whole.json()
    after = client.get(f"/plans/{plan['id']}", headers=admin_headers).json()
    assert after["timestep"] == 1 and after["missing"] == [first, second, third]
    spent = sum(entry["spend"] for entry in full["results"])
    assert after["budget_spent"] == pytest.approx(spent)
    # a retry of any part of the closed timestep answers the same; other numbers are 409
    assert _post(client, plan["id"], google, admin_headers).json() == closing.json()
    conflict = _post(client, plan["id"], changed, admin_headers)
    assert conflict.status_code == 409 and "PUT" in conflict.json()["detail"]
    history = _history(client, plan["id"], admin_headers)
    assert [r["conversions"] for r in history["entries"][0]["results"]] == [
        e["conversions"] for e in full["results"]
    ]
    accepted = db["audit"].count_documents(
        {"plan_id": plan["id"], "action": "plan.results_accepted"}
    )
    assert accepted == 1


def test_a_part_of_a_finished_or_future_timestep_is_refused_and_changes_nothing(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    plan = _plan(client, db, admin_headers)
    part = {"timestep": 1, "results": results_for(plan["allocation"])["results"][:1]}
    before = _stored(db, plan["id"])
    assert _post(client, plan["id"], part, admin_headers).status_code == 409
    overspent = {**part, "timestep": 0}
    overspent["results"] = [{**part["results"][0], "spend": 1e6}]
    assert _post(client, plan["id"], overspent, admin_headers).status_code == 422
    assert _stored(db, plan["id"]) == before


def test_fractional_conversions_are_kept_as_reported(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    plan = _plan(client, db, admin_headers, policy="thompson", seed=2)
    body = results_for(plan["allocation"])
    for index, entry in enumerate(body["results"]):
        entry["conversions"] = 31.5 + index / 4
    response = _post(client, plan["id"], body, admin_headers)
    assert response.status_code == 200, response.text
    recorded = _history(client, plan["id"], admin_headers)["entries"][0]["results"]
    assert [r["conversions"] for r in recorded] == [31.5, 31.75, 32.0]
    # the same fractions again are a retry; a different fraction is a different number
    assert _post(client, plan["id"], body, admin_headers).json() == response.json()
    body["results"][0]["conversions"] = 31.25
    assert _post(client, plan["id"], body, admin_headers).status_code == 409


def test_fractional_conversions_in_a_csv_are_kept(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    plan = _plan(client, db, admin_headers)
    text = "timestep,campaign,spend,conversions\n" + "".join(
        f"0,Campaign {i},100,{i + 0.5}\n" for i in range(3)
    )
    response = client.post(
        f"/plans/{plan['id']}/results/csv",
        content=text.encode(),
        headers={**admin_headers, "content-type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    recorded = _history(client, plan["id"], admin_headers)["entries"][0]["results"]
    assert [r["conversions"] for r in recorded] == [0.5, 1.5, 2.5]


# --- restatements -----------------------------------------------------------------------------


def test_a_restatement_replaces_figures_counts_a_revision_and_follows_spend(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    plan = _plan(client, db, admin_headers, timesteps=4, total_budget=4000)
    first = results_for(plan["allocation"], conversions=4)
    answer = _post(client, plan["id"], first, admin_headers).json()
    _post(client, plan["id"], results_for(answer, conversions=2), admin_headers)
    campaign = plan["campaign_ids"][1]
    spent_before = client.get(f"/plans/{plan['id']}", headers=admin_headers).json()["budget_spent"]

    restated = [{"campaign_id": campaign, "spend": 150.0, "conversions": 7.5, "revenue": 80.0}]
    response = _put(client, plan["id"], 0, restated, admin_headers)
    assert response.status_code == 200, response.text
    entry = response.json()
    assert entry["timestep"] == 0 and entry["revision"] == 1
    assert entry["allocation"] == plan["allocation"]
    by_campaign = {r["campaign_id"]: r for r in entry["results"]}
    assert (by_campaign[campaign]["spend"], by_campaign[campaign]["conversions"]) == (150.0, 7.5)
    untouched = first["results"][0]
    assert by_campaign[untouched["campaign_id"]]["conversions"] == untouched["conversions"]
    assert entry["restated_at"] and entry["reported_at"]

    old_spend = first["results"][1]["spend"]
    plan_now = client.get(f"/plans/{plan['id']}", headers=admin_headers).json()
    assert plan_now["budget_spent"] == pytest.approx(spent_before - old_spend + 150.0)
    assert plan_now["budget_spent"] + plan_now["budget_remaining"] == pytest.approx(4000)
    assert plan_now["timestep"] == 2  # the open timestep and its allocation do not move
    assert plan_now["allocation"]["timestep"] == 2

    # the same figures again: the same answer, no new revision
    again = _put(client, plan["id"], 0, restated, admin_headers)
    assert again.status_code == 200 and again.json() == entry
    # a second change counts a second revision; history shows the latest figures
    restated[0]["conversions"] = 9.0
    assert _put(client, plan["id"], 0, restated, admin_headers).json()["revision"] == 2
    history = _history(client, plan["id"], admin_headers)
    assert [e.get("revision") for e in history["entries"]] == [2, 0, None]
    latest = {r["campaign_id"]: r for r in history["entries"][0]["results"]}
    assert latest[campaign]["conversions"] == 9.0
    # clicks left out of a restatement keep their recorded value
    assert db["plan_restatements"].count_documents({"plan_id": plan["id"]}) == 2


def test_every_restatement_is_in_the_audit_trail_with_before_and_after(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    plan = _plan(client, db, admin_headers)
    first = results_for(plan["allocation"], conversions=3)
    _post(client, plan["id"], first, admin_headers)
    campaign = plan["campaign_ids"][0]
    restated = [{"campaign_id": campaign, "spend": first["results"][0]["spend"], "conversions": 5}]
    _put(client, plan["id"], 0, restated, admin_headers)
    _put(client, plan["id"], 0, restated, admin_headers)  # unchanged: no second entry
    trail = client.get(
        "/audit",
        params={"plan_id": plan["id"], "action": "plan.results_restated"},
        headers=admin_headers,
    ).json()
    assert len(trail) == 1
    (entry,) = trail
    assert entry["username"] == "root-admin"
    assert entry["changes"]["timestep"] == 0 and entry["changes"]["revision"] == 1
    assert entry["changes"]["source"] == "api"
    change = entry["changes"]["campaigns"][campaign]
    assert change["before"]["conversions"] == 3 and change["after"]["conversions"] == 5


@pytest.mark.parametrize(
    ("timestep", "results", "status", "fragment"),
    [
        (1, lambda ids: [{"campaign_id": ids[0], "spend": 1, "conversions": 1}], 409, "not closed"),
        (3, lambda ids: [{"campaign_id": ids[0], "spend": 1, "conversions": 1}], 409, "beyond"),
        (99, lambda ids: [{"campaign_id": ids[0], "spend": 1, "conversions": 1}], 409, "beyond"),
        (0, lambda ids: [{"campaign_id": "ghost", "spend": 1, "conversions": 1}], 422, "not in"),
        (0, lambda ids: [{"campaign_id": ids[0], "spend": -1, "conversions": 1}], 422, "greater"),
        (0, lambda ids: [{"campaign_id": ids[0], "spend": 1, "conversions": 1e16}], 422, "less"),
        (0, lambda ids: [{"campaign_id": ids[0], "spend": 1e6, "conversions": 1}], 422, "twice"),
        (
            0,
            lambda ids: [{"campaign_id": ids[0], "spend": 1, "conversions": 1}] * 2,
            422,
            "more than once",
        ),
        (0, lambda ids: [], 422, "at least 1"),
    ],
)
def test_bad_restatements_are_refused_and_change_nothing(
    client: TestClient,
    db: Any,
    admin_headers: dict,
    timestep: int,
    results: Any,
    status: int,
    fragment: str,
) -> None:
    plan = _plan(client, db, admin_headers)
    _post(client, plan["id"], results_for(plan["allocation"]), admin_headers)
    before = _stored(db, plan["id"])
    response = _put(client, plan["id"], timestep, results(plan["campaign_ids"]), admin_headers)
    assert response.status_code == status, response.text
    assert fragment in json.dumps(response.json()["detail"])
    assert _stored(db, plan["id"]) == before


def test_non_finite_restated_figures_are_422(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    plan = _plan(client, db, admin_headers)
    _post(client, plan["id"], results_for(plan["allocation"]), admin_headers)
    before = _stored(db, plan["id"])
    campaign = plan["campaign_ids"][0]
    for token in ("NaN", "Infinity", "1e999"):
        raw = (
            f'{{"results": [{{"campaign_id": "{campaign}", "spend": 1, "conversions": {token}}}]}}'
        )
        response = client.put(
            f"/plans/{plan['id']}/results/0",
            content=raw.encode(),
            headers={**admin_headers, "content-type": "application/json"},
        )
        assert response.status_code == 422, (token, response.text)
    assert _stored(db, plan["id"]) == before


def test_a_finished_plan_still_takes_restatements(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    plan = _plan(client, db, admin_headers, timesteps=2, total_budget=2000)
    answer = _post(client, plan["id"], results_for(plan["allocation"]), admin_headers).json()
    last = results_for(answer)
    finished = _post(client, plan["id"], last, admin_headers).json()
    assert finished["status"] == "finished"
    campaign = plan["campaign_ids"][2]
    restated = [{"campaign_id": campaign, "spend": 0.0, "conversions": 12.25}]
    response = _put(client, plan["id"], 1, restated, admin_headers)
    assert response.status_code == 200, response.text
    assert response.json()["revision"] == 1
    after = client.get(f"/plans/{plan['id']}", headers=admin_headers).json()
    assert after["status"] == "finished" and after["allocation"] is None
    assert after["budget_spent"] == pytest.approx(
        finished["budget_spent"] - last["results"][2]["spend"]
    )
    # the retry of the last post still answers the finished plan, now with the corrected spend
    retry = _post(client, plan["id"], last, admin_headers)
    assert retry.status_code == 200 and retry.json()["status"] == "finished"
    assert retry.json()["budget_spent"] == pytest.approx(after["budget_spent"])


def test_the_next_allocation_learns_from_restated_figures_as_the_engine_does(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    """Restate timestep 0 between two posts: the answer is the engine's own, restatement applied."""
    plan = _plan(
        client, db, admin_headers, 3, policy="thompson", seed=9, timesteps=4, total_budget=4000
    )
    twin = _twin(
        client, admin_headers, plan, policy="thompson", seed=9, timesteps=4, total_budget=4000
    )
    first = results_for(plan["allocation"], conversions=2)
    answer = _post(client, plan["id"], first, admin_headers).json()
    twin_answer = _post(
        client, twin["id"], results_for(twin["allocation"], conversions=2), admin_headers
    ).json()
    assert [a["budget"] for a in answer["allocations"]] == [
        a["budget"] for a in twin_answer["allocations"]
    ]
    restated = {
        "campaign_id": plan["campaign_ids"][0],
        "spend": first["results"][0]["spend"],
        "conversions": 40.0,
        "revenue": 400.0,
    }
    confirmed = first["results"][1]  # named again as recorded: no revision, but learnt from
    response = _put(client, plan["id"], 0, [restated, confirmed], admin_headers)
    assert response.status_code == 200 and response.json()["revision"] == 1
    # the open allocation is not recomputed by a restatement
    assert client.get(f"/plans/{plan['id']}/allocation", headers=admin_headers).json() == answer
    second = results_for(answer, conversions=2)
    learnt = _post(client, plan["id"], second, admin_headers).json()
    unrestated = _post(
        client, twin["id"], results_for(twin_answer, conversions=2), admin_headers
    ).json()

    state = State.create(
        [Campaign(cid, platform="google") for cid in plan["campaign_ids"]],
        4000.0,
        4,
        policy="thompson",
        seed=9,
    )
    ai = AI(state)

    def rows(report: dict) -> Results:
        entries = report["results"]
        return Results(
            spend=np.array([e["spend"] for e in entries]),
            conversions=np.array([float(e["conversions"]) for e in entries]),
            revenue=np.array([e["revenue"] for e in entries]),
        )

    ai.allocate()
    ai.update(rows(first))
    ai.allocate()
    ai.restate(
        Restatement(
            timestep=0,
            indices=np.array([0, 1]),
            spend=np.array([restated["spend"], confirmed["spend"]]),
            conversions=np.array([40.0, 2.0]),
            revenue=np.array([400.0, 20.0]),
            previous_spend=np.array([first["results"][0]["spend"], confirmed["spend"]]),
            previous_conversions=np.array([2.0, 2.0]),
            previous_revenue=np.array([20.0, 20.0]),
            previous_observed_at=np.array([0, 0]),
        )
    )
    ai.update(rows(second))
    expected = ai.allocate().budgets.tolist()
    assert [a["budget"] for a in learnt["allocations"]] == expected
    assert [a["budget"] for a in learnt["allocations"]] != [
        a["budget"] for a in unrestated["allocations"]
    ]


def test_a_crash_after_recording_a_restatement_is_repaired_on_the_next_read(
    client: TestClient, db: Any, admin_headers: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The restatement record is written, then the process dies before the plan counts it."""
    plan = _plan(client, db, admin_headers)
    first = results_for(plan["allocation"])
    _post(client, plan["id"], first, admin_headers)
    spent = client.get(f"/plans/{plan['id']}", headers=admin_headers).json()["budget_spent"]
    campaign = plan["campaign_ids"][0]
    restated = [{"campaign_id": campaign, "spend": 10.0, "conversions": 6.5}]

    def die(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the process died here")

    for where in ("apply_restatement", "count_restatement"):
        if where == "apply_restatement":
            monkeypatch.setattr("oktapi.services.restatements.apply_restatement", die)
        else:  # half applied: figure sets, revision and audit written, the counter not moved
            monkeypatch.setattr(PlanRepository, "count_restatement", die)
        _dies(lambda: _put(client, plan["id"], 0, restated, admin_headers))
        monkeypatch.undo()
        assert db["plan_restatements"].count_documents({"plan_id": plan["id"]}) == 1
        stored = db["plans"].find_one({"_id": plan["id"]})
        assert stored.get("restatements", 0) == 0 and stored["budget_spent"] == spent

        shown = client.get(f"/plans/{plan['id']}", headers=admin_headers).json()
        assert shown["budget_spent"] == pytest.approx(spent - first["results"][0]["spend"] + 10.0)
        entry = _history(client, plan["id"], admin_headers)["entries"][0]
        assert entry["revision"] == 1
        assert entry["results"][0]["conversions"] == 6.5
        # the client's retry answers what the first attempt would have answered
        retry = _put(client, plan["id"], 0, restated, admin_headers)
        assert retry.status_code == 200 and retry.json() == entry
        audited = db["audit"].count_documents(
            {"plan_id": plan["id"], "action": "plan.results_restated"}
        )
        assert audited == 1
        assert db["plans"].find_one({"_id": plan["id"]})["restatements"] == 1
        # start again from a clean timestep for the second crash point
        db["plan_restatements"].delete_many({"plan_id": plan["id"]})
        db["audit"].delete_many({"plan_id": plan["id"], "action": "plan.results_restated"})
        db["plans"].update_one(
            {"_id": plan["id"]}, {"$set": {"restatements": 0, "budget_spent": spent}}
        )
        db["plan_timesteps"].update_one({"plan_id": plan["id"]}, {"$set": {"revision": 0}})
        figures_service.ResultRepository(db).delete_for_plans([plan["id"]])
        figures_service.store_first_report(
            db, db["plans"].find_one({"_id": plan["id"]}), db["plan_timesteps"].find_one({})
        )


def test_a_crash_after_the_completing_part_is_recorded_is_repaired_on_the_next_read(
    client: TestClient, db: Any, admin_headers: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = _plan(client, db, admin_headers, policy="thompson", seed=5)
    twin = _twin(client, admin_headers, plan, policy="thompson", seed=5)
    full = results_for(plan["allocation"])
    expected = _post(client, twin["id"], full, admin_headers).json()
    assert (
        _post(
            client, plan["id"], {"timestep": 0, "results": full["results"][:1]}, admin_headers
        ).status_code
        == 202
    )
    rest = {"timestep": 0, "results": full["results"][1:]}

    def die(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the process died here")

    monkeypatch.setattr(PlanRepository, "advance", die)
    _dies(lambda: _post(client, plan["id"], rest, admin_headers))
    monkeypatch.undo()
    assert db["plans"].find_one({"_id": plan["id"]})["version"] == 0
    shown = client.get(f"/plans/{plan['id']}", headers=admin_headers).json()
    assert shown["timestep"] == 1 and shown["allocation"] == expected
    retry = _post(client, plan["id"], rest, admin_headers)
    assert retry.status_code == 200 and retry.json() == expected
    assert db["plan_results"].count_documents({"plan_id": plan["id"]}) == 3


def test_history_pages_carry_revision_and_read_only_their_page(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    plan = _plan(client, db, admin_headers, 2, timesteps=6, total_budget=6000)
    answer = plan["allocation"]
    for _ in range(4):
        answer = _post(client, plan["id"], results_for(answer), admin_headers).json()
    campaign = plan["campaign_ids"][0]
    _put(
        client,
        plan["id"],
        2,
        [{"campaign_id": campaign, "spend": 1.0, "conversions": 3.5}],
        admin_headers,
    )
    page = _history(client, plan["id"], admin_headers, offset=2, limit=2)
    assert [e["timestep"] for e in page["entries"]] == [2, 3]
    assert [e["revision"] for e in page["entries"]] == [1, 0]
    assert page["entries"][0]["results"][0]["conversions"] == 3.5
    tail = _history(client, plan["id"], admin_headers, offset=3, limit=5)
    assert [e["timestep"] for e in tail["entries"]] == [3, 4]
    assert tail["entries"][-1]["results"] is None and tail["entries"][-1].get("revision") is None


def test_a_csv_restates_closed_timesteps_and_reports_the_open_one_in_part(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    plan = _plan(client, db, admin_headers, timesteps=5, total_budget=5000)

    def upload(text: str):
        return client.post(
            f"/plans/{plan['id']}/results/csv",
            content=text.encode(),
            headers={**admin_headers, "content-type": "text/csv"},
        )

    header = "timestep,campaign,spend,conversions,revenue\n"
    two = "".join(f"{t},Campaign {i},100,{i + 1},10\n" for t in range(2) for i in range(3))
    assert upload(header + two).json()["closed"] == [0, 1]
    before = _stored(db, plan["id"])
    # timestep 0 restated for one campaign, 1 repeated, 2 (open) reported for two campaigns
    text = (
        header
        + "0,Campaign 0,100,4.5,30\n"
        + "".join(f"1,Campaign {i},100,{i + 1},10\n" for i in range(3))
        + "2,Campaign 0,90,1,5\n2,Campaign 1,90,1,5\n"
    )
    bad = upload(text.replace("0,Campaign 0,100,4.5", "0,Campaign 0,100000,4.5"))
    assert bad.status_code == 422 and "twice its budget" in bad.text
    assert _stored(db, plan["id"]) == before
    response = upload(text)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["closed"], answer["restated"], answer["waiting"]) == ([], [0], [2])
    assert answer["unchanged"] == [1] and answer["timestep"] == 2
    assert answer["missing"] == [plan["campaign_ids"][2]]
    history = _history(client, plan["id"], admin_headers)
    assert [e["revision"] for e in history["entries"][:2]] == [1, 0]
    assert history["entries"][0]["results"][0]["conversions"] == 4.5
    trail = db["audit"].find_one({"plan_id": plan["id"], "action": "plan.results_restated"})
    assert trail["changes"]["source"] == "csv"
    # the rest of timestep 2 closes it
    done = upload(header + "2,Campaign 2,90,1,5\n").json()
    assert done["closed"] == [2] and done["timestep"] == 3 and done["waiting"] == []


def test_figures_confirmed_a_day_later_change_nothing_seen_but_are_learnt_from(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    """A connector re-pulls recent days: unchanged figures answer the same, with no revision,
    and the engine is told they stopped growing (what its maturity learns from)."""
    plan = _plan(client, db, admin_headers, timesteps=4, total_budget=4000)
    first = results_for(plan["allocation"])
    answer = _post(client, plan["id"], first, admin_headers).json()
    audit_before = db["audit"].count_documents({"plan_id": plan["id"]})
    entry = _put(client, plan["id"], 0, first["results"], admin_headers)  # the next morning
    assert entry.status_code == 200 and entry.json()["revision"] == 0
    (confirmation,) = db["plan_restatements"].find({"plan_id": plan["id"]})
    assert confirmation["changes"] == [] and len(confirmation["confirmed"]) == 3
    assert {doc["observed_at"] for doc in db["plan_results"].find({"timestep": 0})} == {1}
    assert db["audit"].count_documents({"plan_id": plan["id"]}) == audit_before
    # the same again the same morning is a retry: nothing recorded
    assert _put(client, plan["id"], 0, first["results"], admin_headers).json() == entry.json()
    assert db["plan_restatements"].count_documents({"plan_id": plan["id"]}) == 1
    # a day later it is news again; the plan's spend and history stay as they were
    _post(client, plan["id"], results_for(answer), admin_headers)
    spent = client.get(f"/plans/{plan['id']}", headers=admin_headers).json()["budget_spent"]
    assert _put(client, plan["id"], 0, first["results"], admin_headers).json() == entry.json()
    assert db["plan_restatements"].count_documents({"plan_id": plan["id"]}) == 2
    assert client.get(f"/plans/{plan['id']}", headers=admin_headers).json()["budget_spent"] == spent
