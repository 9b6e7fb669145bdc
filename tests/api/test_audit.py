"""GET /audit: admins read the whole trail, managers only their clients' entries; filters, pages."""

from typing import Any

from fastapi.testclient import TestClient

from oktapi.repositories.audit import AuditRepository
from oktapi.scope import Principal
from tests.conftest import bearer, insert_user

SYSTEM = Principal(user_id="u-admin", username="root", role="admin", client_ids=frozenset())


def _seed(db: Any) -> None:
    """Entries for two clients, one plan each, plus an admin action with no client."""
    audit = AuditRepository(db)
    audit.append(actor=SYSTEM, action="user.created", target_id="u-1", changes={"role": "manager"})
    for client_id, plan_id in (("client-a", "plan-a"), ("client-b", "plan-b")):
        for timestep in range(3):
            audit.append(
                actor=SYSTEM,
                action="allocation.issued",
                client_id=client_id,
                plan_id=plan_id,
                changes={"timestep": timestep},
            )
        audit.append(actor=SYSTEM, action="results.accepted", client_id=client_id, plan_id=plan_id)


def test_admin_sees_every_entry_newest_first(client: TestClient, db, admin_headers) -> None:
    _seed(db)
    response = client.get("/audit", headers=admin_headers)
    assert response.status_code == 200
    entries = response.json()
    assert len(entries) == 9
    assert [entry["at"] for entry in entries] == sorted(
        (entry["at"] for entry in entries), reverse=True
    )
    (first,) = [entry for entry in entries if entry["action"] == "user.created"]
    assert first["username"] == "root"
    assert first["changes"] == {"role": "manager"}
    assert set(first) >= {"id", "at", "user_id", "username", "action", "client_id", "plan_id"}


def test_manager_sees_only_its_own_clients_entries(client: TestClient, db, settings) -> None:
    _seed(db)
    manager = insert_user(db, username="manager-a", client_ids=["client-a"])
    response = client.get("/audit", headers=bearer(settings, manager))
    assert response.status_code == 200
    entries = response.json()
    assert len(entries) == 4
    assert {entry["client_id"] for entry in entries} == {"client-a"}


def test_manager_filtering_on_another_client_gets_nothing(client: TestClient, db, settings) -> None:
    _seed(db)
    manager = insert_user(db, username="manager-a", client_ids=["client-a"])
    headers = bearer(settings, manager)
    for query in ({"client_id": "client-b"}, {"plan_id": "plan-b"}, {"user_id": "u-admin"}):
        entries = client.get("/audit", params=query, headers=headers).json()
        assert all(entry["client_id"] == "client-a" for entry in entries), query
    assert client.get("/audit", params={"client_id": "client-b"}, headers=headers).json() == []


def test_manager_without_clients_sees_nothing(client: TestClient, db, settings) -> None:
    _seed(db)
    manager = insert_user(db, username="lonely-manager")
    assert client.get("/audit", headers=bearer(settings, manager)).json() == []


def test_filters_by_client_plan_user_and_action(client: TestClient, db, admin_headers) -> None:
    _seed(db)
    other = Principal(user_id="u-other", username="other", role="admin", client_ids=frozenset())
    AuditRepository(db).append(actor=other, action="user.role_changed", target_id="u-1")

    def count(**query: str) -> int:
        response = client.get("/audit", params=query, headers=admin_headers)
        assert response.status_code == 200
        return len(response.json())

    assert count(client_id="client-a") == 4
    assert count(plan_id="plan-b") == 4
    assert count(plan_id="plan-b", action="allocation.issued") == 3
    assert count(user_id="u-other") == 1
    assert count(action="results.accepted") == 2
    assert count(client_id="no-such-client") == 0


def test_pages_do_not_overlap_and_cover_everything(client: TestClient, db, admin_headers) -> None:
    _seed(db)
    seen: list[str] = []
    for offset in range(0, 9, 4):
        page = client.get(
            "/audit", params={"limit": 4, "offset": offset}, headers=admin_headers
        ).json()
        seen += [entry["id"] for entry in page]
    assert len(seen) == 9
    assert len(set(seen)) == 9


def test_page_size_is_clamped(client: TestClient, admin_headers) -> None:
    for params in ({"limit": 0}, {"limit": 201}, {"offset": -1}, {"limit": "many"}):
        response = client.get("/audit", params=params, headers=admin_headers)
        assert response.status_code == 422, params


def test_audit_needs_a_token(client: TestClient) -> None:
    response = client.get("/audit")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_no_route_changes_or_deletes_the_trail(client: TestClient, db, admin_headers) -> None:
    _seed(db)
    entry_id = client.get("/audit", headers=admin_headers).json()[0]["id"]
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert client.request(method, "/audit", headers=admin_headers).status_code == 405
        response = client.request(method, f"/audit/{entry_id}", headers=admin_headers)
        assert response.status_code in (404, 405)
    assert db["audit"].count_documents({}) == 9


# --- the services write the trail ------------------------------------------------------------


def _trail(client: TestClient, headers: dict[str, str], **query: str) -> list[dict[str, Any]]:
    response = client.get("/audit", params={"limit": 200, **query}, headers=headers)
    assert response.status_code == 200
    return response.json()


def _create_user(client: TestClient, admin_headers: dict[str, str]) -> str:
    response = client.post(
        "/users",
        json={"username": "new-manager", "password": "a-long-password-1", "role": "manager"},
        headers=admin_headers,
    )
    assert response.status_code == 201
    return response.json()["id"]


def _admin_id(client: TestClient, admin_headers: dict[str, str]) -> str:
    return client.get("/auth/me", headers=admin_headers).json()["id"]


def test_user_created_is_recorded_without_the_password(client: TestClient, admin_headers) -> None:
    user_id = _create_user(client, admin_headers)
    (entry,) = _trail(client, admin_headers, action="user.created")
    assert entry["target_id"] == user_id
    assert entry["user_id"] == _admin_id(client, admin_headers)
    assert entry["username"] == "root-admin"
    assert entry["changes"]["username"] == "new-manager"
    assert entry["changes"]["role"] == "manager"
    assert "a-long-password-1" not in str(entry) and "argon2" not in str(entry)


def test_role_change_is_recorded_with_before_and_after(client: TestClient, admin_headers) -> None:
    user_id = _create_user(client, admin_headers)
    response = client.patch(f"/users/{user_id}", json={"role": "admin"}, headers=admin_headers)
    assert response.status_code == 200
    (entry,) = _trail(client, admin_headers, action="user.role_changed")
    assert entry["target_id"] == user_id
    assert entry["user_id"] == _admin_id(client, admin_headers)
    assert entry["changes"] == {"from": "manager", "to": "admin"}


def test_password_reset_is_recorded_without_the_password(client: TestClient, admin_headers) -> None:
    user_id = _create_user(client, admin_headers)
    response = client.patch(
        f"/users/{user_id}", json={"password": "another-long-password"}, headers=admin_headers
    )
    assert response.status_code == 200
    (entry,) = _trail(client, admin_headers, action="user.password_reset")
    assert entry["target_id"] == user_id
    assert "another-long-password" not in str(entry) and "argon2" not in str(entry)
    assert _trail(client, admin_headers, user_id=_admin_id(client, admin_headers))


def _plan_for_manager(client: TestClient, headers: dict[str, str]) -> tuple[str, dict]:
    client_id = client.post("/clients", json={"name": "Audited"}, headers=headers).json()["id"]
    campaign_ids = [
        client.post(
            f"/clients/{client_id}/campaigns",
            json={"name": f"campaign {index}", "max_budget": 1000},
            headers=headers,
        ).json()["id"]
        for index in range(2)
    ]
    response = client.post(
        f"/clients/{client_id}/plans",
        json={"campaign_ids": campaign_ids, "total_budget": 3000, "timesteps": 3, "seed": 7},
        headers=headers,
    )
    assert response.status_code == 201
    return client_id, response.json()


def _results(allocation: dict[str, Any]) -> dict[str, Any]:
    return {
        "timestep": allocation["timestep"],
        "results": [
            {"campaign_id": item["campaign_id"], "spend": item["budget"] * 0.9, "conversions": 4}
            for item in allocation["allocations"]
        ],
    }


def test_allocations_handed_out_and_results_accepted_are_recorded(
    client: TestClient, db, settings
) -> None:
    manager_id = insert_user(db, username="audited-manager")
    headers = bearer(settings, manager_id)
    client_id, plan = _plan_for_manager(client, headers)
    headers = bearer(settings, manager_id)  # the new client joined the manager's list
    plan_id = plan["id"]

    issued = _trail(client, headers, plan_id=plan_id, action="plan.allocation_issued")
    assert [entry["changes"]["timestep"] for entry in issued] == [0]
    first = plan["allocation"]
    assert issued[0]["changes"]["budgets"] == {
        item["campaign_id"]: item["budget"] for item in first["allocations"]
    }
    assert issued[0]["client_id"] == client_id
    assert issued[0]["user_id"] == manager_id

    results = _results(first)
    answer = client.post(f"/plans/{plan_id}/results", json=results, headers=headers)
    assert answer.status_code == 200
    retry = client.post(f"/plans/{plan_id}/results", json=results, headers=headers)
    assert retry.json() == answer.json()

    (accepted,) = _trail(client, headers, plan_id=plan_id, action="plan.results_accepted")
    assert accepted["changes"]["timestep"] == 0
    assert accepted["changes"]["spend"] == sum(row["spend"] for row in results["results"])
    assert accepted["user_id"] == manager_id
    issued = _trail(client, headers, plan_id=plan_id, action="plan.allocation_issued")
    assert sorted(entry["changes"]["timestep"] for entry in issued) == [0, 1]


def test_another_manager_cannot_read_a_plans_trail(client: TestClient, db, settings) -> None:
    owner = insert_user(db, username="plan-owner")
    _, plan = _plan_for_manager(client, bearer(settings, owner))
    outsider = bearer(settings, insert_user(db, username="outsider"))
    assert _trail(client, outsider) == []
    assert _trail(client, outsider, plan_id=plan["id"]) == []


def test_entries_written_in_the_same_millisecond_keep_their_order(
    client: TestClient, db, admin_headers
) -> None:
    """Results accepted, then the next allocation: the trail must not swap them."""
    audit = AuditRepository(db)
    for sequence in range(40):
        audit.append(actor=SYSTEM, action=f"step-{sequence:02d}")
    entries = _trail(client, admin_headers)
    assert [entry["action"] for entry in entries] == [f"step-{n:02d}" for n in reversed(range(40))]
