"""Races the database must settle: deletions against the writes that hang off what they delete.

Each test holds one request at the worst moment — just before its write reaches the database —
while the other request runs to the end, then lets it go. The pause sits on the database handle
(not on a service function), so it holds whichever code path makes the write.
"""

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from oktapi.repositories.plans import PLAN_TIMESTEPS, PLANS
from tests.api.plans_support import client_with_campaigns, create_plan, results_for
from tests.api.racing import together
from tests.conftest import bearer, insert_user

WAIT_SECONDS = 30


class _PausingCollection:
    """Passes everything through; ``method`` waits for the test's go-ahead first (once)."""

    def __init__(self, collection: Any, gate: "_Gate") -> None:
        self._collection = collection
        self._gate = gate

    def __getattr__(self, attribute: str) -> Any:
        target = getattr(self._collection, attribute)
        if attribute != self._gate.method or not callable(target):
            return target

        def paused(*args: Any, **kwargs: Any) -> Any:
            self._gate.hold()
            return target(*args, **kwargs)

        return paused


class _PausingDatabase:
    def __init__(self, db: Any, gate: "_Gate") -> None:
        self._db = db
        self._gate = gate

    def __getitem__(self, name: str) -> Any:
        collection = self._db[name]
        return (
            _PausingCollection(collection, self._gate)
            if name == self._gate.collection
            else collection
        )

    def __getattr__(self, attribute: str) -> Any:
        if attribute in ("list_collection_names", "command", "name"):
            return getattr(self._db, attribute)
        return self[attribute]


class _Gate:
    """Stops the first thread that calls ``collection.method`` until ``release``."""

    def __init__(self, collection: str, method: str) -> None:
        self.collection, self.method = collection, method
        self.reached = threading.Event()
        self._go = threading.Event()
        self._armed = True
        self._lock = threading.Lock()

    def hold(self) -> None:
        with self._lock:
            first, self._armed = self._armed, False
        if first:
            self.reached.set()
            assert self._go.wait(WAIT_SECONDS), "the test never released the paused write"

    def release(self) -> None:
        self._go.set()


@pytest.fixture
def pause(client: TestClient) -> Iterator[Callable[[str, str], _Gate]]:
    """``pause(collection, method)``: the next such call waits until the gate is released."""
    storage = client.app.state.storage
    original = storage.db

    def arm(collection: str, method: str) -> _Gate:
        gate = _Gate(collection, method)
        storage.db = _PausingDatabase(original, gate)
        return gate

    yield arm
    storage.db = original


def _held_while(gate: _Gate, request: Callable[[], Any], meanwhile: Callable[[], Any]) -> tuple:
    """Run ``request`` until it reaches the gate, run ``meanwhile`` to the end, then release."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        held = pool.submit(request)
        assert gate.reached.wait(WAIT_SECONDS), "the request never reached the paused write"
        try:
            other = meanwhile()
        finally:
            gate.release()
        return held.result(timeout=WAIT_SECONDS), other


# --- a client deleted while its plan is being reported ---------------------------------------


def test_deleting_a_client_while_a_timestep_is_posted_leaves_no_record_behind(
    client: TestClient, db: Any, admin_headers: dict, pause: Callable
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 2)
    plan = create_plan(client, admin_headers, client_id, campaign_ids, timesteps=4)
    gate = pause(PLAN_TIMESTEPS, "insert_one")
    posted, deleted = _held_while(
        gate,
        lambda: client.post(
            f"/plans/{plan['id']}/results",
            json=results_for(plan["allocation"]),
            headers=admin_headers,
        ),
        lambda: client.delete(f"/clients/{client_id}", headers=admin_headers),
    )
    assert deleted.status_code == 204
    assert posted.status_code == 404, posted.text
    for collection in ("plans", "campaigns", PLAN_TIMESTEPS):
        assert list(db[collection].find({"client_id": client_id})) == [], collection
    assert db["clients"].find_one({"_id": client_id}) is None


def test_deleting_a_client_while_a_timestep_is_restated_leaves_no_record_behind(
    client: TestClient, db: Any, admin_headers: dict, pause: Callable
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 2)
    plan = create_plan(client, admin_headers, client_id, campaign_ids, timesteps=4)
    report = results_for(plan["allocation"])
    assert client.post(f"/plans/{plan['id']}/results", json=report, headers=admin_headers)
    restated = [{**report["results"][0], "conversions": 7.5}]
    gate = pause("plan_restatements", "insert_one")
    put, deleted = _held_while(
        gate,
        lambda: client.put(
            f"/plans/{plan['id']}/results/0", json={"results": restated}, headers=admin_headers
        ),
        lambda: client.delete(f"/clients/{client_id}", headers=admin_headers),
    )
    assert deleted.status_code == 204
    assert put.status_code == 404, put.text
    for collection in ("plans", PLAN_TIMESTEPS, "plan_results", "plan_restatements"):
        assert list(db[collection].find({"client_id": client_id})) == [], collection


def test_a_plan_created_while_its_client_is_deleted_does_not_survive_it(
    client: TestClient, db: Any, admin_headers: dict, pause: Callable
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 2)
    gate = pause(PLANS, "insert_one")
    created, deleted = _held_while(
        gate,
        lambda: client.post(
            f"/clients/{client_id}/plans",
            json={"campaign_ids": campaign_ids, "total_budget": 100, "timesteps": 2},
            headers=admin_headers,
        ),
        lambda: client.delete(f"/clients/{client_id}", headers=admin_headers),
    )
    assert deleted.status_code == 204
    assert created.status_code == 404, created.text
    assert list(db["plans"].find({"client_id": client_id})) == []


def test_a_campaign_created_while_its_client_is_deleted_does_not_survive_it(
    client: TestClient, db: Any, admin_headers: dict, pause: Callable
) -> None:
    client_id, _ = client_with_campaigns(db, 1)
    gate = pause("campaigns", "insert_one")
    created, deleted = _held_while(
        gate,
        lambda: client.post(
            f"/clients/{client_id}/campaigns", json={"name": "late"}, headers=admin_headers
        ),
        lambda: client.delete(f"/clients/{client_id}", headers=admin_headers),
    )
    assert deleted.status_code == 204
    assert created.status_code == 404, created.text
    assert list(db["campaigns"].find({"client_id": client_id})) == []


# --- a campaign deleted while a plan over it is created ---------------------------------------


def _plan_body(campaign_ids: list[str]) -> dict:
    return {"campaign_ids": campaign_ids, "total_budget": 100, "timesteps": 2}


def test_a_campaign_deleted_before_the_plan_is_stored_refuses_the_plan(
    client: TestClient, db: Any, admin_headers: dict, pause: Callable
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 2)
    gate = pause(PLANS, "insert_one")  # the plan has read its campaigns, not yet stored itself
    created, deleted = _held_while(
        gate,
        lambda: client.post(
            f"/clients/{client_id}/plans", json=_plan_body(campaign_ids), headers=admin_headers
        ),
        lambda: client.delete(f"/campaigns/{campaign_ids[0]}", headers=admin_headers),
    )
    assert deleted.status_code == 204
    assert created.status_code == 422, created.text
    assert campaign_ids[0] in created.text
    assert db["plans"].count_documents({}) == 0


def test_a_plan_stored_while_its_campaign_is_being_deleted_is_refused(
    client: TestClient, db: Any, admin_headers: dict, pause: Callable
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 2)
    gate = pause("campaigns", "delete_one")  # the deletion found no active plan, not yet deleted
    deleted, created = _held_while(
        gate,
        lambda: client.delete(f"/campaigns/{campaign_ids[0]}", headers=admin_headers),
        lambda: client.post(
            f"/clients/{client_id}/plans", json=_plan_body(campaign_ids), headers=admin_headers
        ),
    )
    assert deleted.status_code == 204
    assert created.status_code == 409, created.text
    assert "being deleted" in created.text
    assert db["plans"].count_documents({}) == 0
    retried = client.post(
        f"/clients/{client_id}/plans", json=_plan_body(campaign_ids[1:]), headers=admin_headers
    )
    assert retried.status_code == 201, "the other campaign is free for a new plan"


def test_deleting_and_planning_a_campaign_at_once_never_both_succeed(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    """Released together, without pauses: whichever wins, the other is refused."""
    for _ in range(8):
        client_id, campaign_ids = client_with_campaigns(db, 2)
        deleted, created = together(
            lambda ids=campaign_ids: client.delete(f"/campaigns/{ids[0]}", headers=admin_headers),
            lambda owner=client_id, ids=campaign_ids: client.post(
                f"/clients/{owner}/plans", json=_plan_body(ids), headers=admin_headers
            ),
        )
        codes = (deleted.status_code, created.status_code)
        assert codes != (204, 201), "a plan over a deleted campaign"
        plans = db["plans"].count_documents({"client_id": client_id})
        campaign = db["campaigns"].find_one({"_id": campaign_ids[0]})
        assert plans == (1 if codes[1] == 201 else 0)
        assert (campaign is None) == (codes[0] == 204)


# --- retried plan creation: Idempotency-Key ---------------------------------------------------

THREADS = 10


def _create(client: TestClient, headers: dict, client_id: str, body: dict, key: str | None):
    extra = {"Idempotency-Key": key} if key is not None else {}
    return client.post(f"/clients/{client_id}/plans", json=body, headers={**headers, **extra})


def test_ten_identical_creations_with_one_key_make_one_plan(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 3)
    body = _plan_body(campaign_ids)
    responses = together(
        *[lambda: _create(client, admin_headers, client_id, body, "retry-7f3a")] * THREADS
    )
    assert [r.status_code for r in responses] == [201] * THREADS, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert db["plans"].count_documents({"client_id": client_id}) == 1
    created = db["audit"].count_documents({"action": "plan.created", "client_id": client_id})
    assert created == 1
    later = _create(client, admin_headers, client_id, body, "retry-7f3a")
    assert later.status_code == 201 and later.json()["id"] == responses[0].json()["id"]
    assert later.headers.get("Idempotent-Replayed") == "true"


def test_one_key_with_a_different_body_is_refused_and_keys_belong_to_their_user(
    client: TestClient, db: Any, admin_headers: dict, settings: Any
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 3)
    first = _create(client, admin_headers, client_id, _plan_body(campaign_ids), "k-1")
    assert first.status_code == 201
    changed = _create(
        client, admin_headers, client_id, {**_plan_body(campaign_ids), "total_budget": 200}, "k-1"
    )
    assert changed.status_code == 409, changed.text
    assert "Idempotency-Key" in changed.json()["detail"]
    other_admin = bearer(settings, insert_user(db, username="other-admin", role="admin"))
    theirs = _create(client, other_admin, client_id, _plan_body(campaign_ids), "k-1")
    assert theirs.status_code == 201 and theirs.json()["id"] != first.json()["id"]
    without = [
        _create(client, admin_headers, client_id, _plan_body(campaign_ids), None) for _ in "ab"
    ]
    assert len({r.json()["id"] for r in without}) == 2, "no key: every creation is new"
    assert db["plans"].count_documents({"client_id": client_id}) == 4


def test_a_refused_creation_does_not_use_up_its_key(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 2)
    bad = _create(
        client, admin_headers, client_id, _plan_body(["0" * 32, *campaign_ids]), "fix-and-retry"
    )
    assert bad.status_code == 422
    fixed = _create(client, admin_headers, client_id, _plan_body(campaign_ids), "fix-and-retry")
    assert fixed.status_code == 201, fixed.text


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9"])
def test_a_malformed_idempotency_key_is_a_422_naming_the_header(
    client: TestClient, db: Any, admin_headers: dict, key: str
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 2)
    headers = {**admin_headers, "Idempotency-Key": key.encode()}  # bytes: UTF-8 on the wire
    response = client.post(
        f"/clients/{client_id}/plans", json=_plan_body(campaign_ids), headers=headers
    )
    assert response.status_code == 422, response.text
    assert "Idempotency-Key" in response.text
    assert db["plans"].count_documents({}) == 0
