"""Restart-proof: a 30-timestep plan driven through the API on the embedded store gets exactly the
allocations of an uninterrupted run when the app is rebuilt on the same data directory halfway,
even when the process died between recording a timestep and advancing the plan."""

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from bench.simulate.run import environment_rng, run
from bench.simulate.scenarios import get_scenario
from oktapi.app import create_app
from oktapi.repositories.plans import PlanRepository
from oktapi.repositories.results import ResultRepository
from oktapi.services import timesteps as timestep_service
from tests.api.plans_support import insert_campaign, insert_client
from tests.conftest import bearer, insert_user, make_settings

SCENARIO = "saturating"  # 30 timesteps, 5 campaigns with diminishing returns
POLICY, STEP, SEED = "thompson", 0.1, 11
HALFWAY = 15


class Market:
    """The simulated platforms: answers each allocation with noisy spend and conversions."""

    def __init__(self) -> None:
        self.scenario = get_scenario(SCENARIO)
        self.rng = environment_rng(self.scenario, SEED)

    def report(self, allocation: dict[str, Any]) -> dict[str, Any]:
        budgets = np.array([item["budget"] for item in allocation["allocations"]])
        spend, conversions, revenue = self.scenario.draw(budgets, allocation["timestep"], self.rng)
        return {
            "timestep": allocation["timestep"],
            "results": [
                {
                    "campaign_id": item["campaign_id"],
                    "spend": float(s),
                    "conversions": int(c),
                    "revenue": float(r),
                }
                for item, s, c, r in zip(
                    allocation["allocations"], spend, conversions, revenue, strict=True
                )
            ],
        }


def _start(data_dir: Path) -> tuple[TestClient, Any]:
    client = TestClient(create_app(make_settings("embedded", data_dir)))
    client.__enter__()
    return client, client.app.state.storage.db


def _setup(db: Any, data_dir: Path) -> tuple[dict, str, list[str]]:
    headers = bearer(
        make_settings("embedded", data_dir), insert_user(db, username="admin", role="admin")
    )
    client_id = insert_client(db)
    campaign_ids = [
        insert_campaign(db, client_id, name) for name in get_scenario(SCENARIO).campaign_ids
    ]
    return headers, client_id, campaign_ids


def _create(client: TestClient, headers: dict, client_id: str, campaign_ids: list[str]) -> dict:
    scenario = get_scenario(SCENARIO)
    response = client.post(
        f"/clients/{client_id}/plans",
        json={
            "campaign_ids": campaign_ids,
            "total_budget": scenario.total_budget,
            "timesteps": scenario.timesteps,
            "policy": POLICY,
            "step": STEP,
            "seed": SEED,
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


def _drive(
    client: TestClient, headers: dict, plan_id: str, market: Market, timesteps: range
) -> list:
    allocations = []
    for timestep in timesteps:
        allocation = client.get(f"/plans/{plan_id}/allocation", headers=headers).json()
        assert allocation["timestep"] == timestep
        allocations.append(allocation)
        response = client.post(
            f"/plans/{plan_id}/results", json=market.report(allocation), headers=headers
        )
        assert response.status_code == 200, response.text
    return allocations


def _uninterrupted(data_dir: Path) -> list:
    client, db = _start(data_dir)
    try:
        headers, client_id, campaign_ids = _setup(db, data_dir)
        plan = _create(client, headers, client_id, campaign_ids)
        return _drive(client, headers, plan["id"], Market(), range(30))
    finally:
        client.__exit__(None, None, None)


def _positional(allocations: list) -> list:
    """Allocations with campaign ids replaced by their position (each run stores its own ids)."""
    return [
        {
            **allocation,
            "allocations": [
                {**item, "campaign_id": index}
                for index, item in enumerate(allocation["allocations"])
            ],
        }
        for allocation in allocations
    ]


def _budgets(allocations: list) -> np.ndarray:
    return np.array([[item["budget"] for item in a["allocations"]] for a in allocations])


@pytest.mark.parametrize("crash_between_writes", [False, True])
def test_a_restart_halfway_gives_exactly_the_uninterrupted_allocations(
    tmp_path: Path, crash_between_writes: bool
) -> None:
    expected = _uninterrupted(tmp_path / "uninterrupted")
    assert len(expected) == 30

    data_dir = tmp_path / "restarted"
    market = Market()
    client, db = _start(data_dir)
    try:
        headers, client_id, campaign_ids = _setup(db, data_dir)
        plan_id = _create(client, headers, client_id, campaign_ids)["id"]
        before = _drive(client, headers, plan_id, market, range(HALFWAY))
        pending = None
        if crash_between_writes:
            # timestep 15's results reach the database, then the process dies before the plan
            # document moves on; the client never saw an answer and will retry.
            allocation = client.get(f"/plans/{plan_id}/allocation", headers=headers).json()
            pending = market.report(allocation)
            plan = db["plans"].find_one({"_id": plan_id})
            results = [{**r, "clicks": None, "impressions": None} for r in pending["results"]]
            learnt = plan.get("restatements", 0)
            changes = timestep_service._advance_changes(plan, results, learnt, ResultRepository(db))
            PlanRepository(db).insert_timestep(
                {
                    "plan_id": plan_id,
                    "client_id": client_id,
                    "timestep": HALFWAY,
                    "allocation": plan["allocation"],
                    "results": results,
                    "next_allocation": changes["allocation"],
                    "restatements_applied": learnt,
                    "revision": 0,
                    "reported_at": changes["updated_at"],
                    "reported_by": "crashed",
                }
            )
            before.append(allocation)
    finally:
        client.__exit__(None, None, None)

    client, db = _start(data_dir)  # a new app, a new storage connection, the same files
    try:
        first_after = HALFWAY
        if pending is not None:
            retry = client.post(f"/plans/{plan_id}/results", json=pending, headers=headers)
            assert retry.status_code == 200, retry.text
            first_after += 1
        after = _drive(client, headers, plan_id, market, range(first_after, 30))
        finished = client.get(f"/plans/{plan_id}", headers=headers).json()
        history = client.get(f"/plans/{plan_id}/history", headers=headers).json()
    finally:
        client.__exit__(None, None, None)

    assert _positional(before + after) == _positional(expected)
    assert finished["status"] == "finished" and finished["timestep"] == 30
    assert [entry["allocation"] for entry in history["entries"]] == before + after
    # and the REST loop is the engine's own loop: the simulator's run gives the same budgets
    engine = run(SCENARIO, POLICY, step=STEP, seed=SEED)
    assert np.array_equal(_budgets(expected), engine.budgets)


def _drive_late(
    client: TestClient, headers: dict, plan_id: str, market: Market, timesteps: range
) -> list:
    """Each timestep in two parts, then the morning's restatement of the timestep before."""
    allocations = []
    for timestep in timesteps:
        allocation = client.get(f"/plans/{plan_id}/allocation", headers=headers).json()
        allocations.append(allocation)
        report = market.report(allocation)
        url = f"/plans/{plan_id}/results"
        head = {"timestep": timestep, "results": report["results"][:2]}
        tail = {"timestep": timestep, "results": report["results"][2:]}
        assert client.post(url, json=head, headers=headers).status_code == 202
        assert client.post(url, json=tail, headers=headers).status_code == 200
        entry = report["results"][timestep % len(report["results"])]
        restated = {**entry, "conversions": entry["conversions"] * 1.25 + 0.5}
        response = client.put(f"{url}/{timestep}", json={"results": [restated]}, headers=headers)
        assert response.status_code == 200, response.text
    return allocations


@pytest.mark.parametrize("crash_mid_restatement", [False, True])
def test_parts_and_restatements_survive_a_restart(
    tmp_path: Path, crash_mid_restatement: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    def uninterrupted() -> list:
        client, db = _start(tmp_path / "uninterrupted")
        try:
            headers, client_id, campaign_ids = _setup(db, tmp_path / "uninterrupted")
            plan = _create(client, headers, client_id, campaign_ids)
            return _drive_late(client, headers, plan["id"], Market(), range(20))
        finally:
            client.__exit__(None, None, None)

    expected = uninterrupted()
    data_dir = tmp_path / "restarted"
    market = Market()
    client, db = _start(data_dir)
    try:
        headers, client_id, campaign_ids = _setup(db, data_dir)
        plan_id = _create(client, headers, client_id, campaign_ids)["id"]
        before = _drive_late(client, headers, plan_id, market, range(HALFWAY - 5))
        if crash_mid_restatement:
            # the next timestep's restatement is recorded, then the process dies before the plan
            # counts it (its spend, its revision); the new app must finish it on first read
            def die(*args: Any, **kwargs: Any) -> None:
                raise RuntimeError("killed")

            monkeypatch.setattr(PlanRepository, "count_restatement", die)
            with pytest.raises((RuntimeError, AssertionError), match=r"killed|500"):
                _drive_late(client, headers, plan_id, market, range(HALFWAY - 5, HALFWAY - 4))
            monkeypatch.undo()
            before.append(expected[HALFWAY - 5])
    finally:
        client.__exit__(None, None, None)

    client, db = _start(data_dir)
    try:
        first_after = HALFWAY - 5 + crash_mid_restatement
        after = _drive_late(client, headers, plan_id, market, range(first_after, 20))
        history = client.get(f"/plans/{plan_id}/history", headers=headers).json()
    finally:
        client.__exit__(None, None, None)
    assert _positional(before + after) == _positional(expected)
    assert _positional([entry["allocation"] for entry in history["entries"][:20]]) == (
        _positional(expected)
    )
    assert [entry["revision"] for entry in history["entries"][:20]] == [1] * 20
