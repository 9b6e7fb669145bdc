"""Plans change while they run: PATCH and DELETE /plans/{id}, stopping, and refused changes."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from oktapi.repositories.plans import PlanRepository
from oktapi.repositories.results import ResultRepository
from oktapi.scope import Principal
from oktapi.services import timesteps
from tests.api.plans_support import client_with_campaigns, create_plan, results_for
from tests.api.racing import together
from tests.conftest import snapshot

ADMIN = Principal(user_id="u-admin", username="root", role="admin", client_ids=frozenset())


def _plan(client: TestClient, db: Any, headers: dict, count: int = 3, **fields: Any) -> dict:
    client_id, campaign_ids = client_with_campaigns(db, count)
    return create_plan(client, headers, client_id, campaign_ids, **fields)


def _close(client: TestClient, headers: dict, plan_id: str, **report: Any) -> dict:
    """Report the open timestep in full; the answer (next allocation or the finished plan)."""
    allocation = client.get(f"/plans/{plan_id}/allocation", headers=headers).json()
    response = client.post(
        f"/plans/{plan_id}/results", json=results_for(allocation, **report), headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def _get(client: TestClient, headers: dict, plan_id: str) -> dict:
    response = client.get(f"/plans/{plan_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _patch(client: TestClient, headers: dict, plan_id: str, body: dict) -> Any:
    return client.patch(f"/plans/{plan_id}", json=body, headers=headers)


# --- names on every allocation ------------------------------------------------------------------


def test_every_allocation_entry_names_its_campaign(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    plan = _plan(client, db, admin_headers)
    names = ["Campaign 0", "Campaign 1", "Campaign 2"]
    assert [e["campaign_name"] for e in plan["allocation"]["allocations"]] == names
    answer = _close(client, admin_headers, plan["id"])
    assert [e["campaign_name"] for e in answer["allocations"]] == names
    fetched = client.get(f"/plans/{plan['id']}/allocation", headers=admin_headers).json()
    assert [e["campaign_name"] for e in fetched["allocations"]] == names
    history = client.get(f"/plans/{plan['id']}/history", headers=admin_headers).json()
    for entry in history["entries"]:
        assert [e["campaign_name"] for e in entry["allocation"]["allocations"]] == names
    shown = _get(client, admin_headers, plan["id"])
    assert [c["campaign_name"] for c in shown["campaigns"]] == names


def test_a_renamed_campaign_is_named_so_in_the_next_allocations(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    plan = _plan(client, db, admin_headers)
    first = plan["allocation"]["allocations"][0]["campaign_id"]
    renamed = client.patch(f"/campaigns/{first}", json={"name": "Brand"}, headers=admin_headers)
    assert renamed.status_code == 200, renamed.text
    answer = _close(client, admin_headers, plan["id"])
    assert answer["allocations"][0]["campaign_name"] == "Brand"


# --- PATCH /plans/{id}: name and stop (no engine change) ----------------------------------------


def test_a_plan_can_be_renamed_and_the_change_is_audited(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    plan = _plan(client, db, admin_headers)
    response = _patch(client, admin_headers, plan["id"], {"name": "Q1 push, second try"})
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Q1 push, second try"
    assert response.json()["allocation"] == plan["allocation"]
    assert _get(client, admin_headers, plan["id"])["name"] == "Q1 push, second try"
    entry = db["audit"].find_one({"plan_id": plan["id"], "action": "plan.updated"})
    assert entry["username"] == "root-admin"
    assert entry["changes"]["before"] == {"name": plan["name"]}
    assert entry["changes"]["after"] == {"name": "Q1 push, second try"}


def test_a_stopped_plan_takes_no_more_results_but_still_takes_restatements(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    plan = _plan(client, db, admin_headers, timesteps=5)
    _close(client, admin_headers, plan["id"])
    open_allocation = client.get(f"/plans/{plan['id']}/allocation", headers=admin_headers).json()
    stopped = _patch(client, admin_headers, plan["id"], {"status": "stopped"})
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["status"] == "stopped"
    assert stopped.json()["allocation"] is None
    shown = _get(client, admin_headers, plan["id"])
    assert (shown["status"], shown["timestep"], shown["allocation"]) == ("stopped", 1, None)
    assert shown["budget_spent"] + shown["budget_remaining"] == pytest.approx(3000.0)

    allocation = client.get(f"/plans/{plan['id']}/allocation", headers=admin_headers)
    assert allocation.status_code == 409
    assert "stopped" in allocation.json()["detail"]
    post = client.post(
        f"/plans/{plan['id']}/results", json=results_for(open_allocation), headers=admin_headers
    )
    assert post.status_code == 409
    assert "stopped" in post.json()["detail"] and "restate" in post.json()["detail"]

    campaign_id = plan["campaign_ids"][0]
    restated = client.put(
        f"/plans/{plan['id']}/results/0",
        json={"results": [{"campaign_id": campaign_id, "spend": 100.0, "conversions": 9}]},
        headers=admin_headers,
    )
    assert restated.status_code == 200, restated.text
    assert restated.json()["revision"] == 1
    after = _get(client, admin_headers, plan["id"])
    assert after["status"] == "stopped"
    assert after["budget_spent"] + after["budget_remaining"] == pytest.approx(3000.0)

    assert db["audit"].count_documents({"plan_id": plan["id"], "action": "plan.stopped"}) == 1


@pytest.mark.parametrize(
    "body",
    [{"status": "stopped"}, {"name": "again"}, {"total_budget": 9000}, {"timesteps": 9}],
    ids=["stop", "name", "budget", "timesteps"],
)
def test_a_stopped_or_finished_plan_cannot_be_changed(
    client: TestClient, db: Any, admin_headers: dict, body: dict
) -> None:
    stopped = _plan(client, db, admin_headers)
    assert _patch(client, admin_headers, stopped["id"], {"status": "stopped"}).status_code == 200
    finished = _plan(client, db, admin_headers, timesteps=1)
    _close(client, admin_headers, finished["id"])
    before = snapshot(db)
    for plan_id, word in ((stopped["id"], "stopped"), (finished["id"], "finished")):
        response = _patch(client, admin_headers, plan_id, body)
        assert response.status_code == 409, response.text
        assert word in response.json()["detail"]
    assert snapshot(db) == before


def test_stopping_or_finishing_a_plan_frees_its_campaigns_for_deletion(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    plan = _plan(client, db, admin_headers)
    campaign_id = plan["campaign_ids"][0]
    refused = client.delete(f"/campaigns/{campaign_id}", headers=admin_headers)
    assert refused.status_code == 409
    assert _patch(client, admin_headers, plan["id"], {"status": "stopped"}).status_code == 200
    assert client.delete(f"/campaigns/{campaign_id}", headers=admin_headers).status_code == 204
    # The stopped plan still reads, with the deleted campaign's name as it was.
    shown = _get(client, admin_headers, plan["id"])
    assert shown["campaigns"][0]["campaign_name"] == "Campaign 0"
    history = client.get(f"/plans/{plan['id']}/history", headers=admin_headers)
    assert history.status_code == 200

    finished = _plan(client, db, admin_headers, timesteps=1)
    _close(client, admin_headers, finished["id"])
    other = finished["campaign_ids"][1]
    assert client.delete(f"/campaigns/{other}", headers=admin_headers).status_code == 204


# --- refused changes: 422 naming the field, nothing written --------------------------------------


def test_changes_that_cannot_apply_are_refused_naming_what_to_fix(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    plan = _plan(client, db, admin_headers, timesteps=4, start="9999-12-20")
    _close(client, admin_headers, plan["id"], spend_share=1.0)
    _close(client, admin_headers, plan["id"], spend_share=1.0)
    spent = _get(client, admin_headers, plan["id"])["budget_spent"]
    cases = [
        ({"total_budget": spent - 1}, "total_budget", f"at least {spent:g}"),
        ({"timesteps": 2}, "timesteps", "at least 3"),
        ({"timesteps": 1}, "timesteps", "not beyond"),
        ({"timesteps": 13}, "timesteps", "9999-12-31"),
        ({"policy_params": {"no_such_knob": 1}}, "policy_params", "no_such_knob"),
        ({"status": "active"}, "status", "stopped"),
        ({"name": None}, None, "cannot be null"),
        ({"total_budget": -5}, "total_budget", "greater than 0"),
        ({"total_budget": "lots"}, "total_budget", ""),
        ({"seed": 3}, "seed", "Extra inputs"),
        ({"timesteps": 0}, "timesteps", ""),
    ]
    before = snapshot(db)
    for body, field, words in cases:
        response = _patch(client, admin_headers, plan["id"], body)
        assert response.status_code == 422, (body, response.text)
        detail = response.json()["detail"]
        assert words in str(detail), (body, detail)
        if field is not None:
            assert any(field in item["loc"] for item in detail), (body, detail)
    assert snapshot(db) == before


def test_a_patch_of_an_unknown_plan_is_404(client: TestClient, admin_headers: dict) -> None:
    response = _patch(client, admin_headers, "0" * 32, {"name": "x"})
    assert response.status_code == 404


# --- DELETE /plans/{id} ----------------------------------------------------------------------


def test_deleting_a_plan_removes_it_and_its_records_but_not_the_audit_trail(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 2)
    created = client.post(
        f"/clients/{client_id}/plans",
        json={"campaign_ids": campaign_ids, "total_budget": 900, "timesteps": 3},
        headers={**admin_headers, "Idempotency-Key": "delete-me"},
    )
    assert created.status_code == 201
    plan = created.json()
    keep = _plan(client, db, admin_headers)
    _close(client, admin_headers, keep["id"])
    _close(client, admin_headers, plan["id"])
    restated = client.put(
        f"/plans/{plan['id']}/results/0",
        json={"results": [{"campaign_id": campaign_ids[0], "spend": 10.0, "conversions": 8}]},
        headers=admin_headers,
    )
    assert restated.status_code == 200
    audited = db["audit"].count_documents({"plan_id": plan["id"]})

    response = client.delete(f"/plans/{plan['id']}", headers=admin_headers)
    assert response.status_code == 204
    assert client.get(f"/plans/{plan['id']}", headers=admin_headers).status_code == 404
    assert client.delete(f"/plans/{plan['id']}", headers=admin_headers).status_code == 404
    for collection in ("plans", "plan_timesteps", "plan_results", "plan_restatements"):
        key = "_id" if collection == "plans" else "plan_id"
        assert db[collection].count_documents({key: plan["id"]}) == 0, collection
    assert db["idempotency_keys"].count_documents({"plan_id": plan["id"]}) == 0
    assert db["audit"].count_documents({"plan_id": plan["id"]}) == audited + 1
    deleted = db["audit"].find_one({"plan_id": plan["id"], "action": "plan.deleted"})
    assert deleted["changes"]["name"] == plan["name"]
    # The other plan and its records are untouched; the campaigns are free to go.
    assert _get(client, admin_headers, keep["id"])["timestep"] == 1
    assert db["plan_timesteps"].count_documents({"plan_id": keep["id"]}) == 1
    listed = client.get(f"/clients/{client_id}/plans", headers=admin_headers).json()
    assert listed == []
    assert client.delete(f"/campaigns/{campaign_ids[0]}", headers=admin_headers).status_code == 204


# --- a change racing a closing post --------------------------------------------------------------


def test_a_rename_racing_closing_posts_loses_neither(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    plan = _plan(client, db, admin_headers, timesteps=8)
    url = f"/plans/{plan['id']}"
    for round_ in range(6):
        allocation = client.get(f"{url}/allocation", headers=admin_headers).json()
        report = results_for(allocation)
        posted, renamed = together(
            lambda report=report: client.post(f"{url}/results", json=report, headers=admin_headers),
            lambda name=f"round {round_}": _patch(
                client, admin_headers, plan["id"], {"name": name}
            ),
        )
        assert posted.status_code == 200, posted.text
        assert renamed.status_code == 200, renamed.text
        shown = _get(client, admin_headers, plan["id"])
        assert (shown["name"], shown["timestep"]) == (f"round {round_}", round_ + 1)
        assert shown["allocation"] == posted.json()  # the answer the post got still stands
    assert db["plan_timesteps"].count_documents({"plan_id": plan["id"]}) == 6
    assert db["plan_results"].count_documents({"plan_id": plan["id"]}) == 18
    accepted = db["audit"].count_documents(
        {"plan_id": plan["id"], "action": "plan.results_accepted"}
    )
    assert accepted == 6


def test_a_stop_racing_a_closing_post_either_closes_first_or_refuses_it(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    outcomes = set()
    for _ in range(4):
        plan = _plan(client, db, admin_headers, timesteps=4)
        url = f"/plans/{plan['id']}"
        report = results_for(plan["allocation"])
        posted, stopped = together(
            lambda url=url, report=report: client.post(
                f"{url}/results", json=report, headers=admin_headers
            ),
            lambda url=url: client.patch(url, json={"status": "stopped"}, headers=admin_headers),
        )
        assert stopped.status_code == 200, stopped.text
        shown = _get(client, admin_headers, plan["id"])
        assert shown["status"] == "stopped"
        records = db["plan_timesteps"].count_documents({"plan_id": plan["id"]})
        if posted.status_code == 200:
            assert (shown["timestep"], records) == (1, 1)
        else:
            assert posted.status_code == 409 and "stopped" in posted.json()["detail"]
            assert (shown["timestep"], records) == (0, 0)
            assert db["plan_results"].count_documents({"plan_id": plan["id"]}) == 0
        assert shown["budget_spent"] == pytest.approx(
            sum(r["spend"] for r in report["results"]) * records
        )
        outcomes.add(posted.status_code)
    assert outcomes <= {200, 409}


def test_a_close_overtaken_by_a_change_whose_writer_died_is_taken_back(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    """The record was inserted, then a change moved the plan on, then the closing process died
    before it could take its record back: the next read does it once the record is stale."""
    from datetime import UTC, datetime, timedelta

    from oktapi.repositories.plans import PlanRepository

    plan = _plan(client, db, admin_headers)
    report = results_for(plan["allocation"])
    record = {
        "plan_id": plan["id"],
        "client_id": plan["client_id"],
        "timestep": 0,
        "allocation": plan["allocation"],
        "results": [{**e, "clicks": None, "impressions": None} for e in report["results"]],
        "next_allocation": None,
        "changes_applied": 0,
        "reported_by": "crashed",
    }
    repo = PlanRepository(db)
    repo.insert_timestep({**record, "reported_at": datetime.now(UTC)})
    db["plans"].update_one({"_id": plan["id"]}, {"$set": {"changes": 1}})  # the change won
    young = _get(client, admin_headers, plan["id"])
    assert young["timestep"] == 0  # its writer may still be taking it back: left alone
    assert db["plan_timesteps"].count_documents({"plan_id": plan["id"]}) == 1

    stale = datetime.now(UTC) - timedelta(minutes=5)
    db["plan_timesteps"].update_one({"plan_id": plan["id"]}, {"$set": {"reported_at": stale}})
    assert _get(client, admin_headers, plan["id"])["timestep"] == 0
    assert db["plan_timesteps"].count_documents({"plan_id": plan["id"]}) == 0
    retry = client.post(f"/plans/{plan['id']}/results", json=report, headers=admin_headers)
    assert retry.status_code == 200, retry.text
    assert _get(client, admin_headers, plan["id"])["timestep"] == 1


def test_deleting_a_plan_while_it_is_reported_leaves_no_record_behind(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    for _ in range(4):
        plan = _plan(client, db, admin_headers, timesteps=4)
        url = f"/plans/{plan['id']}"
        _close(client, admin_headers, plan["id"])
        allocation = client.get(f"{url}/allocation", headers=admin_headers).json()
        report = results_for(allocation)
        restatement = {"results": [{**report["results"][0], "conversions": 99}]}
        posted, restated, deleted = together(
            lambda url=url, report=report: client.post(
                f"{url}/results", json=report, headers=admin_headers
            ),
            lambda url=url, body=restatement: client.put(
                f"{url}/results/0", json=body, headers=admin_headers
            ),
            lambda url=url: client.delete(url, headers=admin_headers),
        )
        assert deleted.status_code == 204, deleted.text
        assert posted.status_code in (200, 404), posted.text
        assert restated.status_code in (200, 404), restated.text
        for collection in ("plans", "plan_timesteps", "plan_results", "plan_restatements"):
            key = "_id" if collection == "plans" else "plan_id"
            assert db[collection].count_documents({key: plan["id"]}) == 0, collection


def test_a_report_file_for_a_stopped_plan_may_restate_but_not_report(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    plan = _plan(client, db, admin_headers, timesteps=4)
    _close(client, admin_headers, plan["id"])
    assert _patch(client, admin_headers, plan["id"], {"status": "stopped"}).status_code == 200
    url = f"/plans/{plan['id']}/results/csv"
    headers = {**admin_headers, "content-type": "text/csv"}
    rows = [f"{t},Campaign {i},100,{7 + t}" for t in (0, 1) for i in range(3)]
    before = snapshot(db)
    both = "timestep,campaign,spend,conversions\n" + "\n".join(rows) + "\n"
    refused = client.post(url, content=both.encode(), headers=headers)
    assert refused.status_code == 409, refused.text
    assert "stopped" in refused.json()["detail"] and "1" in refused.json()["detail"]
    assert snapshot(db) == before
    restating = "timestep,campaign,spend,conversions\n" + "\n".join(rows[:3]) + "\n"
    accepted = client.post(url, content=restating.encode(), headers=headers)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["restated"] == [0]
    assert accepted.json()["status"] == "stopped"


def test_a_plan_deleted_while_a_read_repairs_its_close_leaves_no_record_behind(
    client: TestClient, db: Any, admin_headers: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The third party of the race: a read finishing the close a dead writer left, while the
    plan is deleted (and swept) just before that read stores the close's figure sets."""
    plan = _plan(client, db, admin_headers, timesteps=4)
    report = results_for(plan["allocation"])
    original = PlanRepository.advance

    def die(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the process died here")

    monkeypatch.setattr(PlanRepository, "advance", die)
    try:
        died = client.post(f"/plans/{plan['id']}/results", json=report, headers=admin_headers)
        assert died.status_code == 500
    except RuntimeError:
        pass  # the test client raised the injected crash
    assert db["plan_timesteps"].count_documents({"plan_id": plan["id"]}) == 1
    stored_after_the_sweep = timesteps.store_first_report

    def swept_first(db_: Any, plan_: dict, record: dict) -> None:
        PlanRepository(db_).delete(ADMIN, plan_["_id"])
        stored_after_the_sweep(db_, plan_, record)

    monkeypatch.setattr(PlanRepository, "advance", original)
    monkeypatch.setattr(timesteps, "store_first_report", swept_first)
    assert client.get(f"/plans/{plan['id']}", headers=admin_headers).status_code == 404
    for collection in ("plans", "plan_timesteps", "plan_results"):
        key = "_id" if collection == "plans" else "plan_id"
        assert db[collection].count_documents({key: plan["id"]}) == 0, collection


def test_a_plan_deleted_while_a_restatement_backfills_its_figures_leaves_no_record_behind(
    client: TestClient, db: Any, admin_headers: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A restatement of a timestep whose figure sets are missing stores them first; if the
    plan's deletion swept just before that write, the write is taken back and the answer is 404."""
    plan = _plan(client, db, admin_headers, timesteps=4)
    _close(client, admin_headers, plan["id"])
    db["plan_results"].delete_many({"plan_id": plan["id"]})  # closed before the store existed
    original = ResultRepository.insert_figure_sets

    def swept_first(self: ResultRepository, documents: list[dict]) -> None:
        PlanRepository(db).delete(ADMIN, plan["id"])
        original(self, documents)

    monkeypatch.setattr(ResultRepository, "insert_figure_sets", swept_first)
    history = client.get(f"/plans/{plan['id']}/history", headers=admin_headers).json()
    row = history["entries"][0]["results"][0]
    body = {
        "results": [{"campaign_id": row["campaign_id"], "spend": row["spend"], "conversions": 99}]
    }
    restated = client.put(f"/plans/{plan['id']}/results/0", json=body, headers=admin_headers)
    assert restated.status_code == 404, restated.text
    for collection in ("plans", "plan_timesteps", "plan_results", "plan_restatements"):
        key = "_id" if collection == "plans" else "plan_id"
        assert db[collection].count_documents({key: plan["id"]}) == 0, collection
