"""The same timestep posted from many threads at once is learned exactly once (the database decides)."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from oktapi.services.state_codec import load_state
from tests.api.plans_support import client_with_campaigns, create_plan, results_for
from tests.api.racing import send_together

THREADS = 8


def test_the_same_post_from_eight_threads_is_learned_once(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 4)
    plan = create_plan(
        client, admin_headers, client_id, campaign_ids, policy="thompson", timesteps=4
    )
    report = results_for(plan["allocation"], spend_share=0.9)
    spend = sum(entry["spend"] for entry in report["results"])
    for _ in range(2):  # twice: a race on timestep 0, then the retry storm of a closed timestep
        responses = send_together(
            client.post, f"/plans/{plan['id']}/results", [report] * THREADS, admin_headers
        )
        assert [r.status_code for r in responses] == [200] * THREADS
        assert len({r.text for r in responses}) == 1
    after = client.get(f"/plans/{plan['id']}", headers=admin_headers).json()
    assert after["timestep"] == 1
    assert after["budget_spent"] == spend
    assert after["allocation"] == responses[0].json()
    assert db["plan_timesteps"].count_documents({"plan_id": plan["id"]}) == 1
    stored = db["plans"].find_one({"_id": plan["id"]})["state"]
    assert len(load_state(stored).spend) == 1
    audited = db["audit"].count_documents(
        {"plan_id": plan["id"], "action": "plan.results_accepted"}
    )
    assert audited == 1


def test_different_numbers_racing_for_one_timestep_let_exactly_one_win(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 3)
    plan = create_plan(client, admin_headers, client_id, campaign_ids, timesteps=4)
    bodies = [results_for(plan["allocation"], conversions=c) for c in range(THREADS)]
    responses = send_together(client.post, f"/plans/{plan['id']}/results", bodies, admin_headers)
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * (THREADS - 1)
    winner = bodies[[r.status_code for r in responses].index(200)]
    history = client.get(f"/plans/{plan['id']}/history", headers=admin_headers).json()
    recorded = history["entries"][0]["results"]
    assert [r["conversions"] for r in recorded] == [e["conversions"] for e in winner["results"]]
    assert client.get(f"/plans/{plan['id']}", headers=admin_headers).json()["timestep"] == 1


def test_the_same_restatement_from_eight_threads_makes_one_revision(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 3)
    plan = create_plan(client, admin_headers, client_id, campaign_ids, timesteps=4)
    first = results_for(plan["allocation"])
    client.post(f"/plans/{plan['id']}/results", json=first, headers=admin_headers)
    spent = client.get(f"/plans/{plan['id']}", headers=admin_headers).json()["budget_spent"]
    body = {"results": [{"campaign_id": campaign_ids[1], "spend": 5.0, "conversions": 8.5}]}
    responses = send_together(
        client.put, f"/plans/{plan['id']}/results/0", [body] * THREADS, admin_headers
    )
    assert [r.status_code for r in responses] == [200] * THREADS
    assert len({r.text for r in responses}) == 1
    assert responses[0].json()["revision"] == 1
    assert db["plan_restatements"].count_documents({"plan_id": plan["id"]}) == 1
    after = client.get(f"/plans/{plan['id']}", headers=admin_headers).json()
    assert after["budget_spent"] == spent - first["results"][1]["spend"] + 5.0
    audited = db["audit"].count_documents(
        {"plan_id": plan["id"], "action": "plan.results_restated"}
    )
    assert audited == 1


def test_different_restatements_racing_are_each_counted_once_in_turn(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 2)
    plan = create_plan(client, admin_headers, client_id, campaign_ids, timesteps=4)
    client.post(
        f"/plans/{plan['id']}/results", json=results_for(plan["allocation"]), headers=admin_headers
    )
    bodies = [
        {"results": [{"campaign_id": campaign_ids[0], "spend": 1.0, "conversions": c + 10.0}]}
        for c in range(4)
    ]
    responses = send_together(client.put, f"/plans/{plan['id']}/results/0", bodies, admin_headers)
    assert sorted(r.json()["revision"] for r in responses) == [1, 2, 3, 4]
    history = client.get(f"/plans/{plan['id']}/history", headers=admin_headers).json()
    last = max(responses, key=lambda r: r.json()["revision"]).json()
    assert history["entries"][0] == last
    assert db["plans"].find_one({"_id": plan["id"]})["restatements"] == 4


def test_two_parts_completing_at_the_same_moment_close_the_timestep_once(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 3)
    plan = create_plan(
        client, admin_headers, client_id, campaign_ids, policy="thompson", timesteps=4
    )
    full = results_for(plan["allocation"])
    url = f"/plans/{plan['id']}/results"
    first = client.post(
        url, json={"timestep": 0, "results": full["results"][:1]}, headers=admin_headers
    )
    assert first.status_code == 202
    # the same completing part from eight threads: one close, one answer
    rest = {"timestep": 0, "results": full["results"][1:]}
    responses = send_together(client.post, url, [rest] * THREADS, admin_headers)
    assert [r.status_code for r in responses] == [200] * THREADS
    assert len({r.text for r in responses}) == 1
    assert db["plan_timesteps"].count_documents({"plan_id": plan["id"]}) == 1
    # two different parts that together complete timestep 1: one waits, the other closes it
    allocation = responses[0].json()
    following = results_for(allocation)
    halves = [
        {"timestep": 1, "results": following["results"][:2]},
        {"timestep": 1, "results": following["results"][2:]},
    ]
    answers = send_together(client.post, url, halves, admin_headers)
    assert sorted(r.status_code for r in answers) == [200, 202]
    after = client.get(f"/plans/{plan['id']}", headers=admin_headers).json()
    assert after["timestep"] == 2 and after["missing"] == campaign_ids
    assert db["plan_timesteps"].count_documents({"plan_id": plan["id"]}) == 2
    audited = db["audit"].count_documents(
        {"plan_id": plan["id"], "action": "plan.results_accepted"}
    )
    assert audited == 2
    spent = sum(e["spend"] for report in (full, following) for e in report["results"])
    assert after["budget_spent"] == pytest.approx(spent)


def test_a_part_posted_again_while_another_post_closes_the_timestep_is_not_lost(
    client: TestClient, db: Any, admin_headers: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Campaign 0's part of timestep 0 is in; a post of the two others closes it. Between that
    post's read and its close record, campaign 0's part is posted again with other figures and
    answered "waiting": the timestep closes with the figures that were answered last."""
    from oktapi.repositories.plans import PlanRepository
    from oktapi.scope import Principal
    from oktapi.services import timesteps

    client_id, campaign_ids = client_with_campaigns(db, 3)
    plan = create_plan(client, admin_headers, client_id, campaign_ids, timesteps=4)
    full = results_for(plan["allocation"])["results"]
    url = f"/plans/{plan['id']}/results"
    first = client.post(url, json={"timestep": 0, "results": full[:1]}, headers=admin_headers)
    assert first.status_code == 202
    again = [{**full[0], "conversions": full[0]["conversions"] + 7}]
    principal = Principal(user_id="u-admin", username="root", role="admin", client_ids=frozenset())
    insert, answers = PlanRepository.insert_timestep, []

    def part_posted_first(self: PlanRepository, record: dict) -> None:
        if not answers:
            fresh = timesteps.load_plan(db, principal, plan["id"])
            answers.append(
                timesteps.report_timestep(
                    db=db, principal=principal, plan=fresh, timestep=0, part=again
                )
            )
        insert(self, record)

    monkeypatch.setattr(PlanRepository, "insert_timestep", part_posted_first)
    closing = client.post(url, json={"timestep": 0, "results": full[1:]}, headers=admin_headers)
    assert closing.status_code == 200, closing.text
    assert answers[0].status == "waiting"
    history = client.get(f"/plans/{plan['id']}/history", headers=admin_headers).json()
    recorded = {row["campaign_id"]: row for row in history["entries"][0]["results"]}
    assert recorded[full[0]["campaign_id"]]["conversions"] == again[0]["conversions"]
    assert db["plan_timesteps"].count_documents({"plan_id": plan["id"]}) == 1
    after = client.get(f"/plans/{plan['id']}", headers=admin_headers).json()
    assert after["timestep"] == 1
    assert after["budget_spent"] == pytest.approx(sum(row["spend"] for row in full))


def test_a_close_that_died_after_its_record_is_finished_by_the_next_read_with_its_parts(
    client: TestClient, db: Any, admin_headers: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The close took a stored part; the process died before advancing the plan. The next read
    finds that part unchanged and finishes the close at once (not as an overtaken one)."""
    from oktapi.repositories.plans import PlanRepository

    client_id, campaign_ids = client_with_campaigns(db, 3)
    plan = create_plan(client, admin_headers, client_id, campaign_ids, timesteps=4)
    full = results_for(plan["allocation"])["results"]
    url = f"/plans/{plan['id']}/results"
    first = client.post(url, json={"timestep": 0, "results": full[:1]}, headers=admin_headers)
    assert first.status_code == 202

    def die(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the process died here")

    with monkeypatch.context() as patched:
        patched.setattr(PlanRepository, "advance", die)
        died = client.post(url, json={"timestep": 0, "results": full[1:]}, headers=admin_headers)
        assert died.status_code == 500
    after = client.get(f"/plans/{plan['id']}", headers=admin_headers).json()
    assert after["timestep"] == 1
    assert after["budget_spent"] == pytest.approx(sum(row["spend"] for row in full))
