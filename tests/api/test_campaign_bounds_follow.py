"""A campaign's own new bounds reach every active plan it is in, even when the follow-up loses
every race: no answer shows a plan under a bound its campaign no longer has."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from oktapi.repositories.campaigns import CampaignRepository
from oktapi.repositories.plans import PlanRepository
from oktapi.services import plan_changes
from oktapi.services.timesteps import catch_up
from tests.api.plans_support import client_with_campaigns, create_plan, results_for

NEW_MAX = 50.0


def _budget(client: TestClient, headers: dict, plan_id: str, campaign_id: str) -> float:
    response = client.get(f"/plans/{plan_id}/allocation", headers=headers)
    assert response.status_code == 200, response.text
    return next(
        item["budget"]
        for item in response.json()["allocations"]
        if item["campaign_id"] == campaign_id
    )


def _marks(db: Any, plan_id: str) -> dict:
    return db["plans"].find_one({"_id": plan_id}).get("bounds_pending") or {}


def _setup(client: TestClient, db: Any, headers: dict) -> tuple[list[str], list[str]]:
    client_id, campaign_ids = client_with_campaigns(db, 3)
    plans = [
        create_plan(client, headers, client_id, campaign_ids, timesteps=4)["id"] for _ in range(2)
    ]
    for plan_id in plans:  # an even start: 1000 each, far above the new max
        assert _budget(client, headers, plan_id, campaign_ids[0]) > NEW_MAX
    return campaign_ids, plans


def _lose_races(monkeypatch: pytest.MonkeyPatch, times: int | None) -> list[int]:
    """Every bound follow-up write (the one that takes a plan's mark off) loses its race the
    first ``times`` times (None: always), as if a close or another change got there first."""
    original = PlanRepository.apply_change
    lost: list[int] = []

    def apply_change(self: PlanRepository, *args: Any, **kwargs: Any) -> bool:
        if kwargs.get("settles") is not None and (times is None or len(lost) < times):
            lost.append(1)
            return False
        return original(self, *args, **kwargs)

    monkeypatch.setattr(PlanRepository, "apply_change", apply_change)
    return lost


def test_a_plan_that_loses_every_race_still_answers_under_the_new_bound(
    client: TestClient, db: Any, admin_headers: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign_ids, plans = _setup(client, db, admin_headers)
    first = campaign_ids[0]
    # One plan's follow-up loses all its attempts; the other's, made after, follows at once.
    lost = _lose_races(monkeypatch, plan_changes.MAX_ATTEMPTS)
    response = client.patch(
        f"/campaigns/{first}", json={"max_budget": NEW_MAX}, headers=admin_headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["max_budget"] == NEW_MAX
    assert len(lost) == plan_changes.MAX_ATTEMPTS
    # Not silently dropped: the plan that lost stays marked.
    assert sorted(first in _marks(db, plan_id) for plan_id in plans) == [False, True]
    # The next read of the plan finishes the mark before it answers.
    for plan_id in plans:
        assert _budget(client, admin_headers, plan_id, first) <= NEW_MAX
        assert _marks(db, plan_id) == {}
    followed = list(db["audit"].find({"action": "plan.campaign_bounds_followed"}))
    assert sorted(entry["plan_id"] for entry in followed) == sorted(plans)
    assert all(entry["username"] == "root-admin" for entry in followed)
    # And the bound holds from then on.
    allocation = client.get(f"/plans/{plans[0]}/allocation", headers=admin_headers).json()
    closed = client.post(
        f"/plans/{plans[0]}/results", json=results_for(allocation), headers=admin_headers
    )
    assert closed.status_code == 200, closed.text
    assert _budget(client, admin_headers, plans[0], first) <= NEW_MAX


def test_a_plan_that_cannot_take_its_bound_answers_409_never_the_old_bound(
    client: TestClient, db: Any, admin_headers: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign_ids, plans = _setup(client, db, admin_headers)
    first = campaign_ids[0]
    _lose_races(monkeypatch, None)
    response = client.patch(
        f"/campaigns/{first}", json={"max_budget": NEW_MAX}, headers=admin_headers
    )
    assert response.status_code == 200, response.text
    for path in (f"/plans/{plans[0]}", f"/plans/{plans[0]}/allocation"):
        busy = client.get(path, headers=admin_headers)
        assert busy.status_code == 409, busy.text
        assert "retry" in busy.json()["detail"]
    monkeypatch.undo()  # the storm is over
    assert _budget(client, admin_headers, plans[0], first) <= NEW_MAX
    listed = client.get(
        f"/clients/{db['plans'].find_one()['client_id']}/plans", headers=admin_headers
    )
    assert listed.status_code == 200
    for plan in listed.json():
        budgets = {i["campaign_id"]: i["budget"] for i in plan["allocation"]["allocations"]}
        assert budgets[first] <= NEW_MAX


def test_a_mark_left_by_a_process_that_died_after_writing_the_campaign_is_finished_by_a_list(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    campaign_ids, plans = _setup(client, db, admin_headers)
    first = campaign_ids[0]
    # What a PATCH /campaigns leaves if it dies between writing the campaign and its plans.
    mark = {"token": "t1", "user_id": None, "by": "root-admin"}
    PlanRepository(db).mark_bounds_pending(plans, first, mark)
    db["campaigns"].update_one({"_id": first}, {"$set": {"max_budget": NEW_MAX}})
    client_id = db["plans"].find_one({"_id": plans[0]})["client_id"]
    listed = client.get(f"/clients/{client_id}/plans", headers=admin_headers)
    assert listed.status_code == 200, listed.text
    for plan in listed.json():
        budgets = {i["campaign_id"]: i["budget"] for i in plan["allocation"]["allocations"]}
        assert budgets[first] <= NEW_MAX
        assert _marks(db, plan["id"]) == {}


def test_a_read_between_the_mark_and_the_campaigns_write_does_not_settle_the_old_bound(
    client: TestClient, db: Any, admin_headers: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign_ids, plans = _setup(client, db, admin_headers)
    first = campaign_ids[0]
    original = CampaignRepository.update

    def update(self: CampaignRepository, *args: Any, **kwargs: Any) -> Any:
        for plan_id in plans:  # a dashboard read lands before the campaign is written
            catch_up(db, db["plans"].find_one({"_id": plan_id}))
            assert _marks(db, plan_id) == {}  # it saw nothing to do: the old bounds are stored
        return original(self, *args, **kwargs)

    monkeypatch.setattr(CampaignRepository, "update", update)
    response = client.patch(
        f"/campaigns/{first}", json={"max_budget": NEW_MAX}, headers=admin_headers
    )
    assert response.status_code == 200, response.text
    for plan_id in plans:
        assert _budget(client, admin_headers, plan_id, first) <= NEW_MAX


def test_a_mark_on_a_stopped_plan_or_with_the_bounds_already_taken_changes_nothing(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    campaign_ids, plans = _setup(client, db, admin_headers)
    first = campaign_ids[0]
    stopped = client.patch(f"/plans/{plans[1]}", json={"status": "stopped"}, headers=admin_headers)
    assert stopped.status_code == 200
    before = {p["_id"]: p for p in db["plans"].find()}
    PlanRepository(db).mark_bounds_pending(plans, first, {"token": "t", "user_id": None, "by": "x"})
    for plan_id in plans:
        assert client.get(f"/plans/{plan_id}", headers=admin_headers).status_code == 200
        after = db["plans"].find_one({"_id": plan_id})
        assert after.pop("bounds_pending") == {}
        assert after == before[plan_id]  # no reallocation, no draw, nothing else written
    assert db["audit"].count_documents({"action": "plan.campaign_bounds_followed"}) == 0
