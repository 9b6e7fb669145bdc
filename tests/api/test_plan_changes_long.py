"""A long plan edited many times keeps its books: spent + remaining = total, every allocation
within its bounds and locks, history consistent; and a change racing a close loses nothing."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.plans_support import client_with_campaigns, create_plan, insert_campaign
from tests.api.racing import together

OWN_MAX = 400.0  # campaign 2's own max_budget


def _check_books(client: TestClient, headers: dict, plan_id: str, rules: dict) -> dict:
    """The plan's accounting and its open allocation against the rules set so far."""
    plan = client.get(f"/plans/{plan_id}", headers=headers).json()
    assert plan["budget_spent"] + plan["budget_remaining"] == pytest.approx(plan["total_budget"])
    history = client.get(f"/plans/{plan_id}/history", headers=headers).json()
    closed = [e for e in history["entries"] if e["results"] is not None]
    assert len(closed) == plan["timestep"]
    spent = sum(r["spend"] for e in closed for r in e["results"])
    assert spent == pytest.approx(plan["budget_spent"])
    for entry in closed:  # each closed timestep: the campaigns it expected reported, no others
        given = entry["allocation"]["allocations"]
        expected = {e["campaign_id"] for e in given if not e.get("paused")}
        assert {r["campaign_id"] for r in entry["results"]} == expected
    allocation = plan["allocation"]
    if allocation is None:
        return plan
    budgets = {e["campaign_id"]: e for e in allocation["allocations"]}
    total = sum(e["budget"] for e in budgets.values())
    assert total <= allocation["timestep_budget"] + 1e-6
    for campaign_id, entry in budgets.items():
        budget = entry["budget"]
        assert abs(budget * 100 - round(budget * 100)) < 1e-6
        rule = rules.get(campaign_id, {})
        assert rule.get("removed") is not True
        if rule.get("paused"):
            assert budget == 0 and entry["paused"] is True
        elif rule.get("locked_budget") is not None:
            assert budget == rule["locked_budget"]
        assert budget <= rule.get("max_budget", float("inf")) + 1e-9
    for campaign_id, rule in rules.items():
        if rule.get("removed"):
            assert campaign_id not in budgets
    assert set(plan["missing"]) == {
        cid for cid, entry in budgets.items() if not entry.get("paused")
    }
    return plan


def _report(allocation: dict, timestep: int, share: float) -> dict:
    return {
        "timestep": timestep,
        "results": [
            {
                "campaign_id": e["campaign_id"],
                "spend": round(e["budget"] * share, 2),
                "conversions": 3 + index,
                "revenue": 40.0,
            }
            for index, e in enumerate(allocation["allocations"])
            if not e.get("paused")
        ],
    }


def test_a_long_plan_edited_many_times_keeps_its_books(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 3)
    db["campaigns"].update_one({"_id": campaign_ids[2]}, {"$set": {"max_budget": OWN_MAX}})
    plan = create_plan(
        client, admin_headers, client_id, campaign_ids, total_budget=20_000.0, timesteps=20
    )
    plan_id = plan["id"]
    newcomer = insert_campaign(db, client_id, "Launch")
    rules: dict[str, dict] = {campaign_ids[2]: {"max_budget": OWN_MAX}}
    edits: dict[int, list[tuple[str, str, dict | None]]] = {
        2: [("PATCH", "", {"total_budget": 26_000})],
        3: [("POST", "/campaigns", {"campaign_id": newcomer})],
        5: [("PATCH", f"/campaigns/{campaign_ids[1]}", {"paused": True})],
        7: [("PATCH", f"/campaigns/{campaign_ids[0]}", {"locked_budget": 250.0})],
        9: [("PATCH", "", {"timesteps": 26})],
        10: [("PATCH", f"/campaigns/{campaign_ids[1]}", {"paused": False})],
        12: [("PATCH", "", {"total_budget": 22_000})],
        13: [("PATCH", f"/campaigns/{newcomer}", {"max_budget": 300.0})],
        14: [("PATCH", f"/campaigns/{campaign_ids[0]}", {"locked_budget": None})],
        16: [("DELETE", f"/campaigns/{campaign_ids[2]}", None)],
        18: [("PATCH", "", {"timesteps": 24, "policy_params": {"max_change": 0.5}})],
    }
    timestep = 0
    while True:
        for method, path, body in edits.get(timestep, []):
            response = client.request(
                method, f"/plans/{plan_id}{path}", json=body, headers=admin_headers
            )
            assert response.status_code in (200, 201, 204), (timestep, path, response.text)
            if path.startswith("/campaigns/"):
                campaign_id = path.rsplit("/", 1)[1]
                rule = rules.setdefault(campaign_id, {})
                rule.update(body or {"removed": True})
        shown = _check_books(client, admin_headers, plan_id, rules)
        if shown["status"] == "finished":
            break
        # Half the timesteps arrive in two parts; spend runs a little under or over.
        report = _report(shown["allocation"], timestep, 0.9 if timestep % 3 else 1.05)
        parts = (
            [report["results"][:1], report["results"][1:]] if timestep % 2 else [report["results"]]
        )
        for part in parts:
            response = client.post(
                f"/plans/{plan_id}/results",
                json={"timestep": timestep, "results": part},
                headers=admin_headers,
            )
            assert response.status_code in (200, 202), (timestep, response.text)
        timestep += 1
    assert timestep == 24
    final = client.get(f"/plans/{plan_id}", headers=admin_headers).json()
    assert final["total_budget"] == 22_000 and final["timesteps"] == 24
    assert final["budget_spent"] <= 22_000 * 1.06
    assert final["campaign_ids"] == [campaign_ids[0], campaign_ids[1], newcomer]
    history = client.get(f"/plans/{plan_id}/history", headers=admin_headers).json()
    assert len(history["entries"]) == 24
    # The removed campaign's past results stay; it got nothing after it left.
    assert campaign_ids[2] in [r["campaign_id"] for r in history["entries"][15]["results"]]
    assert campaign_ids[2] not in [r["campaign_id"] for r in history["entries"][16]["results"]]
    assert db["plan_timesteps"].count_documents({"plan_id": plan_id}) == 24


ROUNDS = 6


def _race(client: TestClient, headers: dict, plan_id: str, report: dict, budget: float):
    """The completing post and a budget change released at the same moment."""
    posted, patched = together(
        lambda: client.post(f"/plans/{plan_id}/results", json=report, headers=headers),
        lambda: client.patch(f"/plans/{plan_id}", json={"total_budget": budget}, headers=headers),
    )
    return posted, patched


def test_a_budget_change_racing_the_closing_post_is_never_lost(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 3)
    plan = create_plan(
        client, admin_headers, client_id, campaign_ids, total_budget=10_000.0, timesteps=10
    )
    plan_id = plan["id"]
    total = 10_000.0
    for round_ in range(ROUNDS):
        allocation = client.get(f"/plans/{plan_id}/allocation", headers=admin_headers).json()
        report = _report(allocation, round_, 1.0)
        total += 500.0
        posted, patched = _race(client, admin_headers, plan_id, report, total)
        assert posted.status_code == 200, posted.text
        assert patched.status_code == 200, patched.text
        shown = client.get(f"/plans/{plan_id}", headers=admin_headers).json()
        assert shown["timestep"] == round_ + 1
        assert shown["total_budget"] == total
        remaining = (total - shown["budget_spent"]) / (10 - shown["timestep"])
        # The change is in the open allocation, whichever came first.
        assert shown["allocation"]["timestep_budget"] == pytest.approx(remaining)
        assert shown["allocation"] in (posted.json(), patched.json()["allocation"])
    assert db["plan_timesteps"].count_documents({"plan_id": plan_id}) == ROUNDS
    spent = sum(
        r["spend"]
        for e in client.get(f"/plans/{plan_id}/history", headers=admin_headers).json()["entries"]
        if e["results"]
        for r in e["results"]
    )
    assert spent == pytest.approx(shown["budget_spent"])
    assert db["plan_results"].count_documents({"plan_id": plan_id}) == ROUNDS * 3
    changes = db["audit"].count_documents({"plan_id": plan_id, "action": "plan.updated"})
    assert changes == ROUNDS
