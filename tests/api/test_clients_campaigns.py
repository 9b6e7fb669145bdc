"""Clients and campaigns through the API, plus the repository calls the plans API builds on."""

from fastapi.testclient import TestClient

from oktapi.repositories.campaigns import CampaignRepository
from oktapi.repositories.clients import ClientRepository
from oktapi.scope import Principal
from oktapi.settings import Settings
from tests.conftest import (
    api_create_campaign,
    api_create_client,
    bearer,
    insert_user,
    snapshot,
)

# --- clients -----------------------------------------------------------------------------------


def test_create_client_trims_the_name_and_defaults_to_usd(client: TestClient, admin_headers):
    response = client.post("/clients", json={"name": "  Acme Corp  "}, headers=admin_headers)
    assert response.status_code == 201
    created = response.json()
    assert created["name"] == "Acme Corp"
    assert created["currency"] == "USD"
    assert set(created) >= {"id", "created_at", "updated_at"} and "_id" not in created
    assert client.get(f"/clients/{created['id']}", headers=admin_headers).json() == created
    eur = client.post("/clients", json={"name": "B", "currency": "eur"}, headers=admin_headers)
    assert eur.json()["currency"] == "EUR"


def test_a_managers_new_client_joins_its_list(client: TestClient, db, settings: Settings):
    manager_id = insert_user(db, username="carol")
    headers = bearer(settings, manager_id)
    client_id = api_create_client(client, headers, name="Carol's shop")
    assert db["users"].find_one({"_id": manager_id})["client_ids"] == [client_id]
    assert client.get(f"/clients/{client_id}", headers=headers).status_code == 200
    assert [item["id"] for item in client.get("/clients", headers=headers).json()] == [client_id]
    assert client.get("/auth/me", headers=headers).json()["client_ids"] == [client_id]


def test_client_list_is_scoped_sorted_and_paginated(
    client: TestClient, db, settings: Settings, admin_headers
) -> None:
    ids = [api_create_client(client, admin_headers, name=f"client-{i}") for i in range(5)]
    manager = bearer(settings, insert_user(db, username="carol", client_ids=[ids[3], ids[1]]))
    assert [c["name"] for c in client.get("/clients", headers=manager).json()] == [
        "client-1",
        "client-3",
    ]
    everything = client.get("/clients", headers=admin_headers).json()
    assert [c["name"] for c in everything] == [f"client-{i}" for i in range(5)]
    page = client.get("/clients", params={"limit": 2, "offset": 2}, headers=admin_headers).json()
    assert [c["name"] for c in page] == ["client-2", "client-3"]
    assert client.get("/clients", params={"limit": 0}, headers=admin_headers).status_code == 422


def test_patch_client_changes_only_what_was_sent(client: TestClient, db, admin_headers) -> None:
    client_id = api_create_client(client, admin_headers, name="Acme")
    response = client.patch(
        f"/clients/{client_id}", json={"currency": "GBP"}, headers=admin_headers
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Acme" and response.json()["currency"] == "GBP"
    before = snapshot(db)
    for body in ({"name": None}, {"name": "   "}, {"currency": "POUNDS"}, {"created_by": "me"}):
        assert (
            client.patch(f"/clients/{client_id}", json=body, headers=admin_headers).status_code
            == 422
        )
    assert snapshot(db) == before


def test_deleting_a_client_removes_everything_under_it(
    client: TestClient, db, settings: Settings, admin_headers
) -> None:
    doomed = api_create_client(client, admin_headers, name="Doomed")
    kept = api_create_client(client, admin_headers, name="Kept")
    doomed_campaign = api_create_campaign(client, admin_headers, doomed, "search")
    kept_campaign = api_create_campaign(client, admin_headers, kept, "search")
    for plan_id, client_id, campaign_id in (
        ("plan-d", doomed, doomed_campaign),
        ("plan-k", kept, kept_campaign),
    ):
        db["plans"].insert_one(
            {
                "_id": plan_id,
                "client_id": client_id,
                "campaign_ids": [campaign_id],
                "status": "active",
            }
        )
        db["plan_timesteps"].insert_one({"_id": f"{plan_id}-0", "plan_id": plan_id, "timestep": 0})
    manager_id = insert_user(db, username="carol", client_ids=[doomed, kept])

    assert client.delete(f"/clients/{doomed}", headers=admin_headers).status_code == 204

    assert client.get(f"/clients/{doomed}", headers=admin_headers).status_code == 404
    assert client.get(f"/campaigns/{doomed_campaign}", headers=admin_headers).status_code == 404
    assert db["campaigns"].count_documents({"client_id": doomed}) == 0
    assert db["plans"].count_documents({"client_id": doomed}) == 0
    assert db["plan_timesteps"].count_documents({"plan_id": "plan-d"}) == 0
    assert db["users"].find_one({"_id": manager_id})["client_ids"] == [kept]
    # The other client keeps everything.
    assert client.get(f"/campaigns/{kept_campaign}", headers=admin_headers).status_code == 200
    assert db["plans"].count_documents({"client_id": kept}) == 1
    assert db["plan_timesteps"].count_documents({"plan_id": "plan-k"}) == 1
    assert client.delete(f"/clients/{doomed}", headers=admin_headers).status_code == 404
    actions = [entry["action"] for entry in db["audit"].find({"client_id": doomed})]
    assert "client.deleted" in actions


# --- campaigns ---------------------------------------------------------------------------------


def test_create_campaign_with_defaults_and_bounds(client: TestClient, admin_headers) -> None:
    client_id = api_create_client(client, admin_headers)
    response = client.post(
        f"/clients/{client_id}/campaigns", json={"name": " Brand search "}, headers=admin_headers
    )
    assert response.status_code == 201
    campaign = response.json()
    assert campaign["name"] == "Brand search"
    assert campaign["client_id"] == client_id
    assert campaign["min_budget"] == 0 and campaign["max_budget"] is None
    assert campaign["platform"] is None
    bounded = client.post(
        f"/clients/{client_id}/campaigns",
        json={"name": "Meta", "platform": "meta", "min_budget": 10, "max_budget": 10.0},
        headers=admin_headers,
    ).json()
    assert (bounded["min_budget"], bounded["max_budget"], bounded["platform"]) == (10, 10, "meta")
    assert client.get(f"/campaigns/{bounded['id']}", headers=admin_headers).json() == bounded


def test_campaign_names_are_unique_within_a_client(client: TestClient, db, admin_headers) -> None:
    first = api_create_client(client, admin_headers, name="First")
    second = api_create_client(client, admin_headers, name="Second")
    api_create_campaign(client, admin_headers, first, "search")
    other = api_create_campaign(client, admin_headers, first, "display")
    before = snapshot(db)
    duplicate = client.post(
        f"/clients/{first}/campaigns", json={"name": "search"}, headers=admin_headers
    )
    assert duplicate.status_code == 409
    rename = client.patch(f"/campaigns/{other}", json={"name": "search"}, headers=admin_headers)
    assert rename.status_code == 409
    assert snapshot(db) == before
    api_create_campaign(client, admin_headers, second, "search")  # another client: fine


def test_campaign_list_is_sorted_and_paginated(client: TestClient, admin_headers) -> None:
    client_id = api_create_client(client, admin_headers)
    for name in ("c", "a", "b"):
        api_create_campaign(client, admin_headers, client_id, name)
    listed = client.get(f"/clients/{client_id}/campaigns", headers=admin_headers).json()
    assert [campaign["name"] for campaign in listed] == ["a", "b", "c"]
    page = client.get(
        f"/clients/{client_id}/campaigns", params={"limit": 1, "offset": 1}, headers=admin_headers
    ).json()
    assert [campaign["name"] for campaign in page] == ["b"]


def test_patch_keeps_min_below_max_counting_stored_values(
    client: TestClient, db, admin_headers
) -> None:
    client_id = api_create_client(client, admin_headers)
    campaign_id = api_create_campaign(
        client, admin_headers, client_id, "search", min_budget=50, max_budget=100
    )
    before = snapshot(db)
    for body in ({"min_budget": 150}, {"max_budget": 20}, {"min_budget": 30, "max_budget": 10}):
        response = client.patch(f"/campaigns/{campaign_id}", json=body, headers=admin_headers)
        assert response.status_code == 422, body
    assert snapshot(db) == before

    def patch(body: dict) -> dict:
        response = client.patch(f"/campaigns/{campaign_id}", json=body, headers=admin_headers)
        assert response.status_code == 200, response.text
        return response.json()

    assert patch({"max_budget": 60})["max_budget"] == 60
    uncapped = patch({"max_budget": None})
    assert uncapped["max_budget"] is None and uncapped["min_budget"] == 50
    assert patch({"min_budget": 5000})["min_budget"] == 5000
    both = patch({"min_budget": 1, "max_budget": 2, "platform": "google"})
    assert (both["min_budget"], both["max_budget"], both["platform"]) == (1, 2, "google")
    assert patch({"platform": None})["platform"] is None
    assert client.get(f"/campaigns/{campaign_id}", headers=admin_headers).json()["max_budget"] == 2


def test_a_platforms_campaign_id_is_kept_and_unique_within_a_client(
    client: TestClient, db, admin_headers
) -> None:
    first = api_create_client(client, admin_headers, name="First")
    second = api_create_client(client, admin_headers, name="Second")

    def create(client_id: str, body: dict) -> object:
        return client.post(f"/clients/{client_id}/campaigns", json=body, headers=admin_headers)

    brand = create(first, {"name": "Brand", "external_id": " 17701234501 "})
    assert brand.status_code == 201 and brand.json()["external_id"] == "17701234501"
    brand_id = brand.json()["id"]
    assert client.get(f"/campaigns/{brand_id}", headers=admin_headers).json()["external_id"] == (
        "17701234501"
    )
    before = snapshot(db)
    taken = create(first, {"name": "Other", "external_id": "17701234501"})
    assert taken.status_code == 409 and "external_id '17701234501'" in taken.json()["detail"]
    assert snapshot(db) == before
    assert create(second, {"name": "Brand", "external_id": "17701234501"}).status_code == 201
    plain_ids = [create(first, {"name": f"No id {i}"}).json() for i in range(2)]
    assert [c["external_id"] for c in plain_ids] == [None, None]

    def patch(campaign_id: str, body: dict) -> object:
        return client.patch(f"/campaigns/{campaign_id}", json=body, headers=admin_headers)

    clash = patch(plain_ids[0]["id"], {"external_id": "17701234501"})
    assert clash.status_code == 409 and "external_id" in clash.json()["detail"]
    assert patch(plain_ids[0]["id"], {"external_id": "555"}).json()["external_id"] == "555"
    assert patch(brand_id, {"external_id": None}).json()["external_id"] is None
    assert patch(plain_ids[1]["id"], {"external_id": "17701234501"}).status_code == 200
    assert patch(plain_ids[1]["id"], {"external_id": ""}).status_code == 422


def test_delete_campaign_unless_an_active_plan_uses_it(client: TestClient, db, admin_headers):
    client_id = api_create_client(client, admin_headers)
    busy = api_create_campaign(client, admin_headers, client_id, "busy")
    idle = api_create_campaign(client, admin_headers, client_id, "idle")
    db["plans"].insert_one(
        {"_id": "p-active", "client_id": client_id, "campaign_ids": [busy], "status": "active"}
    )
    db["plans"].insert_one(
        {"_id": "p-done", "client_id": client_id, "campaign_ids": [idle], "status": "finished"}
    )
    assert client.delete(f"/campaigns/{busy}", headers=admin_headers).status_code == 409
    assert client.get(f"/campaigns/{busy}", headers=admin_headers).status_code == 200
    assert client.delete(f"/campaigns/{idle}", headers=admin_headers).status_code == 204
    assert client.get(f"/campaigns/{idle}", headers=admin_headers).status_code == 404
    assert client.delete(f"/campaigns/{idle}", headers=admin_headers).status_code == 404


def test_campaigns_of_an_unknown_client_are_404(client: TestClient, db, admin_headers) -> None:
    before = snapshot(db)
    for client_id in ("0" * 32, "not-an-id"):
        path = f"/clients/{client_id}/campaigns"
        assert client.get(path, headers=admin_headers).status_code == 404
        assert client.post(path, json={"name": "x"}, headers=admin_headers).status_code == 404
    assert snapshot(db) == before


# --- the repository API the plans routes use ---------------------------------------------------


def _principal(role: str, client_ids: tuple[str, ...] = ()) -> Principal:
    return Principal(user_id="u", username="u", role=role, client_ids=frozenset(client_ids))


def test_repositories_scope_lookups_to_the_principal(client: TestClient, db, admin_headers):
    mine = api_create_client(client, admin_headers, name="Mine")
    theirs = api_create_client(client, admin_headers, name="Theirs")
    a = api_create_campaign(client, admin_headers, mine, "a")
    b = api_create_campaign(client, admin_headers, mine, "b")
    foreign = api_create_campaign(client, admin_headers, theirs, "x")
    manager = _principal("manager", (mine,))
    clients, campaigns = ClientRepository(db), CampaignRepository(db)

    assert clients.get(manager, mine)["_id"] == mine
    assert campaigns.get(manager, a)["client_id"] == mine
    # another tenant's documents are simply not there (the services answer 404)
    assert clients.get(manager, theirs) is None
    assert campaigns.get(manager, foreign) is None
    assert clients.get(_principal("admin"), theirs)["_id"] == theirs

    found = campaigns.list_by_ids(manager, mine, [b, foreign, "nope", a, b])
    assert [campaign["_id"] for campaign in found] == [b, a]
    assert campaigns.list_by_ids(manager, theirs, [foreign]) == []
    assert campaigns.list_by_ids(_principal("admin"), theirs, [foreign, a])[0]["_id"] == foreign
    assert campaigns.list_by_ids(manager, mine, []) == []
