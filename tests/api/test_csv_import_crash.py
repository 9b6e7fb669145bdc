"""An import that dies at any step leaves nothing (before its commit) or everything (after it,
once the plan is next read), and "everything" is exactly what an import that did not die leaves.

Two plans alike (same campaigns, seed and posts); the same file goes into both, the second import
dying at one step. A real SIGKILL of the server mid-import is in test_crash.py's sibling below.
"""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from oktapi.repositories.audit import AuditRepository
from oktapi.repositories.imports import ImportRepository
from oktapi.repositories.plans import PlanRepository
from oktapi.repositories.results import ResultRepository
from oktapi.scope import Principal
from oktapi.services import csv_apply, csv_import
from tests.api.crash_support import admin_headers, client_over_http, killed_store, started_service
from tests.api.plans_support import client_with_campaigns, create_plan

POSTED = 3  # timesteps 0-2 posted, then the file restates 1-2, closes 3-8 and reports part of 9


class Crash(Exception):
    """The process dying at this point (nothing after it runs)."""


def _file() -> bytes:
    lines = ["timestep,campaign,spend,conversions,revenue"]
    for timestep in range(1, 10):
        for campaign in range(3 if timestep < 9 else 2):
            spend = 0.5 + campaign / 10 + timestep / 100
            lines.append(f"{timestep},Campaign {campaign},{spend},{campaign + 2},{5 * campaign}")
    return ("\n".join(lines) + "\n").encode()


def _post(client: Any, plan_id: str, ids: list[str], headers: dict, count: int = POSTED) -> None:
    for timestep in range(count):
        body = {
            "timestep": timestep,
            "results": [
                {"campaign_id": cid, "spend": 0.9, "conversions": 1.0, "revenue": 1.0}
                for cid in ids
            ],
        }
        answer = client.post(f"/plans/{plan_id}/results", json=body, headers=headers)
        assert answer.status_code == 200, answer.text


def _api_seen(http: Any, plan_id: str, headers: dict) -> dict[str, Any]:
    """What a user sees of a plan, read through the API (a TestClient or an httpx client)."""
    plan = http.get(f"/plans/{plan_id}", headers=headers).json()
    history = http.get(f"/plans/{plan_id}/history", headers=headers).json()
    return {
        "plan": {k: plan[k] for k in ("timestep", "status", "budget_spent", "missing")},
        "allocation": plan["allocation"],
        "history": [
            {k: entry.get(k) for k in ("timestep", "allocation", "results", "revision")}
            for entry in history["entries"]
        ],
    }


def _seen(client: TestClient, db: Any, plan_id: str, headers: dict) -> dict[str, Any]:
    """What a user (and the audit) sees of a plan, and what the store holds for its import."""
    return {
        **_api_seen(client, plan_id, headers),
        "accepted": db["audit"].count_documents(
            {"plan_id": plan_id, "action": "plan.results_accepted"}
        ),
        "restatements": db["plan_restatements"].count_documents({"plan_id": plan_id}),
        "pending": db["plans"].find_one({"_id": plan_id}).get("pending_import"),
        "staged": db["plan_imports"].count_documents({"plan_id": plan_id, "kind": "header"}),
    }


def _crash_after(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, *, before: bool = False):
    """Make ``owner.name`` kill the import once: after it ran (or before, with ``before``)."""
    original = getattr(owner, name)
    fired: list[bool] = []

    def dying(*args: Any, **kwargs: Any) -> Any:
        if fired:
            return original(*args, **kwargs)
        fired.append(True)
        if before:
            raise Crash(name)
        original(*args, **kwargs)
        raise Crash(name)

    monkeypatch.setattr(owner, name, dying)


CRASH_POINTS: dict[str, tuple[Callable[[], Any], str, bool, bool]] = {
    # name: (owner, attribute, before the call?, committed?)
    "staging": (lambda: ImportRepository, "stage", False, False),
    "commit, before": (lambda: ImportRepository, "commit", True, False),
    "commit, after": (lambda: ImportRepository, "commit", False, True),
    "first close record": (lambda: PlanRepository, "insert_timestep", False, True),
    "close records": (lambda: ImportRepository, "insert_timesteps", False, True),
    "figure sets": (lambda: ResultRepository, "insert_figure_sets", False, True),
    "audit": (lambda: AuditRepository, "append_many", False, True),
    "a restatement": (lambda: csv_apply, "apply_restatement", False, True),
    "advance": (lambda: ImportRepository, "advance", False, True),
}


@pytest.mark.parametrize("point", list(CRASH_POINTS))
def test_an_import_dying_at_any_step_leaves_nothing_or_everything(
    client: TestClient, db: Any, admin_headers: dict, monkeypatch: pytest.MonkeyPatch, point: str
) -> None:
    client_id, ids = client_with_campaigns(db, 3)
    plans = [
        create_plan(client, admin_headers, client_id, ids, total_budget=9000, timesteps=12, seed=5)
        for _ in range(2)
    ]
    for plan in plans:
        _post(client, plan["id"], ids, admin_headers)
    reference, crashed = plans[0]["id"], plans[1]["id"]
    answer = client.post(
        f"/plans/{reference}/results/csv",
        content=_file(),
        headers={**admin_headers, "content-type": "text/csv"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["restated"] == [1, 2] and answer.json()["closed"] == list(range(3, 9))
    before = _seen(client, db, crashed, admin_headers)

    owner, attribute, ahead, committed = CRASH_POINTS[point]
    monkeypatch.setattr(csv_apply, "LEASE_SECONDS", 0.0)  # the dead importer's lease runs out now
    _crash_after(monkeypatch, owner(), attribute, before=ahead)
    admin = db["users"].find_one({"username": "root-admin"})
    principal = Principal(
        user_id=admin["_id"], username="root-admin", role="admin", client_ids=frozenset()
    )
    with pytest.raises(Crash):
        csv_import.import_results(db=db, principal=principal, plan_id=crashed, content=_file())
    monkeypatch.undo()

    after = _seen(client, db, crashed, admin_headers)  # the next read finishes a committed import
    if not committed:
        assert {**after, "staged": 0} == {**before, "staged": 0}  # staging is swept later
        return
    wanted = _seen(client, db, reference, admin_headers)
    # Dying after the advance leaves the staging, which the plan's next import sweeps.
    assert after == {**wanted, "staged": int(point == "advance")}
    assert after["pending"] is None
    assert after["plan"]["timestep"] == 9 and after["plan"]["missing"] == [ids[2]]


# --- a real SIGKILL of the server mid-import ------------------------------------------------

LONG_PLAN = 300  # timesteps; 0-29 posted, the file restates 1-29, closes 30-279, part of 280
LONG_POSTED = 30
LONG_FILE_LAST = 280
# When to kill, as fractions of the time the same import took unharmed: the restatements and
# closes are written in its last part, after the file was checked and the engine replayed.
KILL_AT = (0.6, 0.85, 1.0, 1.2)


def test_a_plan_deleted_while_a_read_finishes_its_import_answers_404_and_leaves_nothing(
    client: TestClient, db: Any, admin_headers: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An import died after its commit; the read that finishes it is about to read the staged
    figures when the plan's deletion sweeps them: that read answers 404, nothing is left."""
    client_id, ids = client_with_campaigns(db, 3)
    plan_id = create_plan(client, admin_headers, client_id, ids, total_budget=9000, timesteps=12)[
        "id"
    ]
    _post(client, plan_id, ids, admin_headers)
    monkeypatch.setattr(csv_apply, "LEASE_SECONDS", 0.0)  # the dead importer's lease runs out now
    _crash_after(monkeypatch, ImportRepository, "commit")
    principal = Principal(user_id="u-admin", username="root", role="admin", client_ids=frozenset())
    with pytest.raises(Crash):
        csv_import.import_results(db=db, principal=principal, plan_id=plan_id, content=_file())
    monkeypatch.undo()
    original = ImportRepository.staged

    def swept_first(self: ImportRepository, ids: list[str]) -> dict[str, dict[str, Any]]:
        PlanRepository(db).delete(principal, plan_id)
        return original(self, ids)

    monkeypatch.setattr(ImportRepository, "staged", swept_first)
    assert client.get(f"/plans/{plan_id}", headers=admin_headers).status_code == 404
    for collection in ("plans", "plan_timesteps", "plan_results", "plan_imports"):
        key = "_id" if collection == "plans" else "plan_id"
        assert db[collection].count_documents({key: plan_id}) == 0, collection


def _long_file() -> bytes:
    lines = ["timestep,campaign,spend,conversions,revenue"]
    for timestep in range(1, LONG_FILE_LAST + 1):
        for campaign in range(4 if timestep < LONG_FILE_LAST else 3):
            spend = 0.5 + campaign / 10 + (timestep % 7) / 100
            lines.append(f"{timestep},kill {campaign},{spend},{campaign + 1},{3 * campaign}")
    return ("\n".join(lines) + "\n").encode()


def _stored_plan(service: Any, plan_id: str) -> dict[str, Any]:
    """The plan document as the killed server left it."""
    with killed_store(service) as db:
        return db["plans"].find_one({"_id": plan_id}, {"state": 0})


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Any]:
    with started_service(tmp_path) as server:
        yield server


def test_sigkill_mid_import_leaves_nothing_or_everything_after_the_next_read(service: Any) -> None:
    import contextlib
    import threading
    import time

    import httpx

    csv = {"content-type": "text/csv"}
    with httpx.Client(base_url=service.base_url, timeout=120) as http:
        headers = admin_headers(http, service)
        campaigns = [{"name": f"kill {i}", "min_budget": 1} for i in range(4)]
        client_id, ids = client_over_http(http, headers, "Kill", campaigns)
        plan_ids = []
        for _ in range(1 + len(KILL_AT)):
            body = {
                "campaign_ids": ids,
                "total_budget": 12_000.0,
                "timesteps": LONG_PLAN,
                "seed": 3,
            }
            plan_id = http.post(f"/clients/{client_id}/plans", json=body, headers=headers).json()
            plan_ids.append(plan_id["id"])
            _post(http, plan_id["id"], ids, headers, LONG_POSTED)
        reference, targets = plan_ids[0], plan_ids[1:]
        started = time.monotonic()
        answer = http.post(
            f"/plans/{reference}/results/csv", content=_long_file(), headers={**headers, **csv}
        )
        duration = time.monotonic() - started
        assert answer.status_code == 200, answer.text
        everything = _api_seen(http, reference, headers)
        nothing = [_api_seen(http, plan_id, headers) for plan_id in targets]

    outcomes = []
    for index, (plan_id, fraction) in enumerate(zip(targets, KILL_AT, strict=True)):

        def upload(plan_id: str = plan_id) -> None:
            with (
                httpx.Client(base_url=service.base_url, timeout=120) as http,
                contextlib.suppress(httpx.TransportError),  # killed under it
            ):
                http.post(
                    f"/plans/{plan_id}/results/csv",
                    content=_long_file(),
                    headers={**headers, **csv},
                )

        thread = threading.Thread(target=upload)
        thread.start()
        time.sleep(fraction * duration)
        service.kill()
        thread.join(timeout=60)
        stored = _stored_plan(service, plan_id)
        service.start()
        with httpx.Client(base_url=service.base_url, timeout=120) as http:
            seen = _api_seen(http, plan_id, headers)  # waits out the dead importer's lease
        assert seen in (nothing[index], everything), f"half applied (killed at {fraction:.0%})"
        if seen == nothing[index]:
            outcomes.append("nothing")
        elif stored.get("pending_import"):
            outcomes.append("everything, finished by the next read")
        else:
            outcomes.append("everything")
    print(f"import of {duration:.1f} s killed at {KILL_AT}: {outcomes}")
