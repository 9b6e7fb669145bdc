"""The same timestep posted from many threads at once is learned exactly once (the database decides)."""

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient

from oktapi.services.plans import load_state
from tests.api.plans_support import client_with_campaigns, create_plan, results_for

THREADS = 8


def _post_together(client: TestClient, url: str, bodies: list[dict], headers: dict) -> list:
    """Release every post at the same moment so they race inside the service."""
    start = threading.Barrier(len(bodies))

    def post(body: dict):
        start.wait()
        return client.post(url, json=body, headers=headers)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(post, bodies))


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
        responses = _post_together(
            client, f"/plans/{plan['id']}/results", [report] * THREADS, admin_headers
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
    responses = _post_together(client, f"/plans/{plan['id']}/results", bodies, admin_headers)
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * (THREADS - 1)
    winner = bodies[[r.status_code for r in responses].index(200)]
    history = client.get(f"/plans/{plan['id']}/history", headers=admin_headers).json()
    recorded = history["entries"][0]["results"]
    assert [r["conversions"] for r in recorded] == [e["conversions"] for e in winner["results"]]
    assert client.get(f"/plans/{plan['id']}", headers=admin_headers).json()["timestep"] == 1
