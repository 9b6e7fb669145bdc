"""Tenant isolation, the first security property: a matrix over every route that takes an id.

A manager of client B asking for anything of client A (read, update, delete, nested create)
gets the same 404 as for an id that does not exist, and nothing changes. The owner of A gets a
real answer on the same request, so the 404 is isolation and not a broken route.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from oktapi.settings import Settings
from tests.conftest import api_create_campaign, api_create_client, bearer, insert_user, snapshot

UNKNOWN_IDS = ("0" * 32, "not-an-id", "x" * 300)


@dataclass
class Tenants:
    """Client A (owned by manager A) and client B (owned by manager B), each with a plan."""

    client_a: str
    client_b: str
    campaigns_a: list[str]
    campaign_names_a: list[str]
    campaign_b: str
    plan_a: str
    plan_b: str
    owner_a: dict[str, str]
    manager_b: dict[str, str]
    nobody: dict[str, str]
    admin: dict[str, str]


def _routes(test_client: TestClient) -> set[tuple[str, str]]:
    """(METHOD, path template) of every route the running app serves, from its OpenAPI schema."""
    paths = test_client.get("/openapi.json").json()["paths"]
    return {(method.upper(), path) for path, methods in paths.items() for method in methods}


def _make_plan(test_client: TestClient, headers: dict, db, client_id: str, campaigns: list[str]):
    """A plan through the API when the plans routes exist, else a bare document."""
    if ("POST", "/clients/{client_id}/plans") in _routes(test_client):
        response = test_client.post(
            f"/clients/{client_id}/plans",
            json={"campaign_ids": campaigns, "total_budget": 1000, "timesteps": 5, "seed": 1},
            headers=headers,
        )
        assert response.status_code == 201, response.text
        return response.json()["id"]
    plan_id = f"plan-{client_id}"
    db["plans"].insert_one(
        {"_id": plan_id, "client_id": client_id, "campaign_ids": campaigns, "status": "active"}
    )
    return plan_id


@pytest.fixture
def tenants(client: TestClient, db, settings: Settings, admin_headers) -> Tenants:
    owner_a_id = insert_user(db, username="owner-a")
    manager_b_id = insert_user(db, username="manager-b")
    owner_a, manager_b = bearer(settings, owner_a_id), bearer(settings, manager_b_id)
    client_a = api_create_client(client, owner_a, name="A")
    client_b = api_create_client(client, manager_b, name="B")
    names = ["search", "social"]
    campaigns_a = [api_create_campaign(client, owner_a, client_a, name) for name in names]
    campaign_b = api_create_campaign(client, manager_b, client_b, "search")
    plan_a = _make_plan(client, owner_a, db, client_a, campaigns_a)
    if ("POST", "/plans/{plan_id}/results") in _routes(client):
        # timestep 0 closed, so that restating it is a real write the intruder must not make
        closed = client.post(
            f"/plans/{plan_a}/results", json=_results_of(campaigns_a), headers=owner_a
        )
        assert closed.status_code == 200, closed.text
    return Tenants(
        client_a=client_a,
        client_b=client_b,
        campaigns_a=campaigns_a,
        campaign_names_a=names,
        campaign_b=campaign_b,
        plan_a=plan_a,
        plan_b=_make_plan(client, manager_b, db, client_b, [campaign_b]),
        owner_a=owner_a,
        manager_b=manager_b,
        nobody=bearer(settings, insert_user(db, username="no-clients")),
        admin=admin_headers,
    )


@dataclass(frozen=True)
class Row:
    method: str
    template: str  # an OpenAPI path template
    body: Callable[[Tenants], dict[str, Any]] | None = None
    csv: Callable[[Tenants], str] | None = None

    def path(self, client_id: str, campaign_id: str, plan_id: str) -> str:
        return (
            self.template.replace("{client_id}", client_id)
            .replace("{campaign_id}", campaign_id)
            .replace("{plan_id}", plan_id)
            .replace("{timestep}", "0")
        )

    def send(self, test_client: TestClient, path: str, headers: dict, tenants: Tenants):
        if self.csv is not None:
            return test_client.post(
                path,
                content=self.csv(tenants).encode(),
                headers={**headers, "content-type": "text/csv"},
            )
        body = self.body(tenants) if self.body else None
        return test_client.request(self.method, path, json=body, headers=headers)

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


def _results_of(campaign_ids: list[str]) -> dict[str, Any]:
    entries = [{"campaign_id": cid, "spend": 0, "conversions": 0} for cid in campaign_ids]
    return {"timestep": 0, "results": entries}


def _results(t: Tenants) -> dict[str, Any]:
    return _results_of(t.campaigns_a)


def _restatement(t: Tenants) -> dict[str, Any]:
    return {"results": [{"campaign_id": t.campaigns_a[0], "spend": 0, "conversions": 2.5}]}


def _csv(t: Tenants) -> str:
    lines = [f"0,{name},0,0" for name in t.campaign_names_a]
    return "timestep,campaign,spend,conversions\n" + "\n".join(lines) + "\n"


def _history_csv(t: Tenants) -> str:
    lines = [f"2026-11-01,{name},1,0" for name in t.campaign_names_a]
    return "date,campaign,spend,conversions\n" + "\n".join(lines) + "\n"


def _new_plan(t: Tenants) -> dict[str, Any]:
    return {"campaign_ids": t.campaigns_a, "total_budget": 500, "timesteps": 3}


ROWS = [
    Row("GET", "/clients/{client_id}"),
    Row("PATCH", "/clients/{client_id}", lambda t: {"name": "renamed"}),
    Row("DELETE", "/clients/{client_id}"),
    Row("POST", "/clients/{client_id}/campaigns", lambda t: {"name": "sneaky"}),
    Row("GET", "/clients/{client_id}/campaigns"),
    Row("GET", "/campaigns/{campaign_id}"),
    Row("PATCH", "/campaigns/{campaign_id}", lambda t: {"min_budget": 1}),
    Row("DELETE", "/campaigns/{campaign_id}"),
    Row("POST", "/clients/{client_id}/plans", _new_plan),
    Row("GET", "/clients/{client_id}/plans"),
    Row("GET", "/plans/{plan_id}"),
    Row("GET", "/plans/{plan_id}/allocation"),
    Row("POST", "/plans/{plan_id}/results", _results),
    Row("POST", "/plans/{plan_id}/results/csv", csv=_csv),
    Row("PUT", "/plans/{plan_id}/results/{timestep}", _restatement),
    Row("GET", "/plans/{plan_id}/history"),
    Row("POST", "/plans/{plan_id}/forecast", lambda t: {"timestep_budgets": [100, 500]}),
    Row("GET", "/plans/{plan_id}/curves"),
    Row("PATCH", "/plans/{plan_id}", lambda t: {"name": "taken over", "total_budget": 5000}),
    Row("DELETE", "/plans/{plan_id}"),
    Row("POST", "/plans/{plan_id}/campaigns", lambda t: {"campaign_id": t.campaigns_a[0]}),
    Row("PATCH", "/plans/{plan_id}/campaigns/{campaign_id}", lambda t: {"paused": True}),
    Row("DELETE", "/plans/{plan_id}/campaigns/{campaign_id}"),
    Row(
        "POST",
        "/campaigns/{campaign_id}/history",
        lambda t: {"results": [{"date": "2026-11-01", "spend": 1, "conversions": 0}]},
    ),
    Row("GET", "/campaigns/{campaign_id}/history"),
    Row("POST", "/clients/{client_id}/history/csv", csv=_history_csv),
]
# Admin-only routes answer 403 to every manager, whatever the id (see test_users.py).
ADMIN_ONLY_PREFIXES = ("/users",)


def test_the_matrix_covers_every_route_that_takes_an_id(client: TestClient) -> None:
    id_routes = {
        (method, path)
        for method, path in _routes(client)
        if "{" in path and not path.startswith(ADMIN_ONLY_PREFIXES)
    }
    covered = {(row.method, row.template) for row in ROWS}
    missing = id_routes - covered
    assert not missing, f"add rows to ROWS in {__file__} for {sorted(missing)}"


@pytest.mark.parametrize("row", ROWS, ids=str)
def test_other_tenants_ids_are_404_and_change_nothing(
    client: TestClient, db, tenants: Tenants, row: Row
) -> None:
    a_path = row.path(tenants.client_a, tenants.campaigns_a[0], tenants.plan_a)
    before = snapshot(db, skip=("login_failures",))

    for intruder in (tenants.manager_b, tenants.nobody):
        response = row.send(client, a_path, intruder, tenants)
        assert response.status_code == 404, (row, response.text)
        assert response.json()["detail"].endswith("not found") or response.json() == {
            "detail": "Not Found"
        }
    assert snapshot(db, skip=("login_failures",)) == before

    # The intruder's answer is the same as for an id that does not exist at all.
    for unknown in UNKNOWN_IDS:
        path = row.path(unknown, unknown, unknown)
        assert row.send(client, path, tenants.admin, tenants).status_code == 404, (row, unknown)
    assert snapshot(db, skip=("login_failures",)) == before

    # The owner's same request reaches the resource, so the 404 above was isolation.
    response = row.send(client, a_path, tenants.owner_a, tenants)
    if (row.method, row.template) in _routes(client):
        assert response.status_code not in (404, 500), (row, response.text)
        assert response.status_code < 500
    else:
        assert response.status_code == 404  # the route is not served (yet)


def test_manager_lists_only_its_own_clients(client: TestClient, tenants: Tenants) -> None:
    listed = client.get("/clients", headers=tenants.manager_b).json()
    assert [item["id"] for item in listed] == [tenants.client_b]
    assert client.get("/clients", headers=tenants.nobody).json() == []
    everything = {item["id"] for item in client.get("/clients", headers=tenants.admin).json()}
    assert everything == {tenants.client_a, tenants.client_b}


def test_a_plan_cannot_borrow_another_tenants_campaigns(
    client: TestClient, db, tenants: Tenants
) -> None:
    """Creating a plan on one's own client with a foreign campaign id is refused."""
    if ("POST", "/clients/{client_id}/plans") not in _routes(client):
        pytest.skip("plans routes not served")
    before = snapshot(db, skip=("login_failures",))
    response = client.post(
        f"/clients/{tenants.client_b}/plans",
        json={
            "campaign_ids": [tenants.campaign_b, tenants.campaigns_a[0]],
            "total_budget": 100,
            "timesteps": 2,
        },
        headers=tenants.manager_b,
    )
    assert response.status_code in (404, 422)
    assert snapshot(db, skip=("login_failures",)) == before


def test_a_manager_cannot_grant_itself_a_client(client: TestClient, db, tenants: Tenants) -> None:
    """client_ids is not a field of any body a manager may send."""
    before = snapshot(db, skip=("login_failures",))
    attempts = [
        ("POST", "/clients", {"name": "x", "client_ids": [tenants.client_a]}),
        ("PATCH", f"/clients/{tenants.client_b}", {"_id": tenants.client_a}),
        ("PATCH", f"/campaigns/{tenants.campaign_b}", {"client_id": tenants.client_a}),
        (
            "POST",
            f"/clients/{tenants.client_b}/campaigns",
            {"name": "y", "client_id": tenants.client_a},
        ),
    ]
    for method, path, body in attempts:
        response = client.request(method, path, json=body, headers=tenants.manager_b)
        assert response.status_code == 422, (method, path)
    assert snapshot(db, skip=("login_failures",)) == before
