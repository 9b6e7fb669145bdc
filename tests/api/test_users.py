"""User administration through the API: admins only, and the service never loses its last admin."""

from fastapi.testclient import TestClient

from oktapi.settings import Settings
from tests.conftest import TEST_PASSWORD, api_create_client, bearer, insert_user, snapshot

NEW_PASSWORD = "long-enough-password"


def _actions(db) -> list[str]:
    return [entry["action"] for entry in db["audit"].find({}, sort=[("at", 1), ("_id", 1)])]


def test_admin_creates_reads_and_lists_users(client: TestClient, db, admin_headers) -> None:
    client_id = api_create_client(client, admin_headers)
    response = client.post(
        "/users",
        json={"username": "  alice  ", "password": NEW_PASSWORD, "client_ids": [client_id]},
        headers=admin_headers,
    )
    assert response.status_code == 201
    created = response.json()
    assert created["username"] == "alice"
    assert created["role"] == "manager"
    assert created["client_ids"] == [client_id]
    assert created["disabled"] is False
    assert "password_hash" not in created and "password" not in created

    assert client.get(f"/users/{created['id']}", headers=admin_headers).json() == created
    listed = client.get("/users", headers=admin_headers).json()
    assert [user["username"] for user in listed] == ["alice", "root-admin"]
    assert all("password_hash" not in user for user in listed)
    stored = db["users"].find_one({"_id": created["id"]})
    assert stored["password_hash"].startswith("$argon2") and NEW_PASSWORD not in str(stored)
    login = client.post("/auth/token", data={"username": "alice", "password": NEW_PASSWORD})
    assert login.status_code == 200
    assert "user.created" in _actions(db)


def test_user_list_paginates(client: TestClient, db, admin_headers) -> None:
    for index in range(5):
        insert_user(db, username=f"user-{index}")
    first = client.get("/users", params={"limit": 2}, headers=admin_headers).json()
    rest = client.get("/users", params={"limit": 200, "offset": 2}, headers=admin_headers).json()
    names = [user["username"] for user in first + rest]
    assert names == sorted(names) and len(names) == 6
    assert client.get("/users", params={"limit": 201}, headers=admin_headers).status_code == 422
    assert client.get("/users", params={"offset": -1}, headers=admin_headers).status_code == 422


def test_duplicate_username_is_409(client: TestClient, db, admin_headers) -> None:
    insert_user(db, username="alice")
    before = snapshot(db)
    response = client.post(
        "/users", json={"username": "alice", "password": NEW_PASSWORD}, headers=admin_headers
    )
    assert response.status_code == 409
    assert snapshot(db) == before


def test_password_must_have_ten_characters(client: TestClient, db, admin_headers) -> None:
    before = snapshot(db)
    for password in ("short", "123456789"):
        response = client.post(
            "/users", json={"username": "bob", "password": password}, headers=admin_headers
        )
        assert response.status_code == 422
    user_id = insert_user(db, username="carol")
    before = snapshot(db)
    patch = client.patch(f"/users/{user_id}", json={"password": "tiny"}, headers=admin_headers)
    assert patch.status_code == 422
    assert snapshot(db) == before


def test_client_ids_must_name_existing_clients(client: TestClient, db, admin_headers) -> None:
    real = api_create_client(client, admin_headers)
    user_id = insert_user(db, username="carol")
    before = snapshot(db)
    create = client.post(
        "/users",
        json={"username": "bob", "password": NEW_PASSWORD, "client_ids": [real, "no-such-client"]},
        headers=admin_headers,
    )
    assert create.status_code == 422
    assert "no-such-client" in str(create.json()["detail"])
    patch = client.patch(
        f"/users/{user_id}", json={"client_ids": ["no-such-client"]}, headers=admin_headers
    )
    assert patch.status_code == 422
    assert snapshot(db) == before

    ok = client.patch(f"/users/{user_id}", json={"client_ids": [real, real]}, headers=admin_headers)
    assert ok.status_code == 200
    assert ok.json()["client_ids"] == [real]


def test_patch_changes_only_what_was_sent(client: TestClient, db, admin_headers) -> None:
    client_id = api_create_client(client, admin_headers)
    user_id = insert_user(db, username="carol", client_ids=[client_id])
    response = client.patch(f"/users/{user_id}", json={"role": "admin"}, headers=admin_headers)
    assert response.status_code == 200
    assert response.json()["role"] == "admin"
    assert response.json()["client_ids"] == [client_id]
    assert response.json()["disabled"] is False
    empty = client.patch(f"/users/{user_id}", json={}, headers=admin_headers)
    assert empty.status_code == 200 and empty.json() == response.json()
    assert "user.role_changed" in _actions(db)


def test_patch_refuses_fields_it_does_not_own(client: TestClient, db, admin_headers) -> None:
    user_id = insert_user(db, username="carol")
    before = snapshot(db)
    for body in (
        {"username": "renamed"},
        {"token_version": 9},
        {"password_hash": "$argon2id$forged"},
        {"role": "superuser"},
        {"role": None},
        {"disabled": "yes"},
        {"client_ids": "c1"},
    ):
        response = client.patch(f"/users/{user_id}", json=body, headers=admin_headers)
        assert response.status_code == 422, body
    assert snapshot(db) == before


def test_admin_cannot_delete_disable_or_demote_themselves(
    client: TestClient, db, settings: Settings
) -> None:
    admin_id = insert_user(db, username="only-admin", role="admin")
    headers = bearer(settings, admin_id)
    before = snapshot(db)
    assert client.delete(f"/users/{admin_id}", headers=headers).status_code == 409
    for body in ({"disabled": True}, {"role": "manager"}):
        assert client.patch(f"/users/{admin_id}", json=body, headers=headers).status_code == 409
    assert snapshot(db) == before
    assert client.get("/auth/me", headers=headers).status_code == 200
    # Changing their own password is allowed (and revokes their earlier tokens).
    own = client.patch(f"/users/{admin_id}", json={"password": NEW_PASSWORD}, headers=headers)
    assert own.status_code == 200


def test_admin_deletes_and_disables_other_users(
    client: TestClient, db, settings: Settings, admin_headers
) -> None:
    other_admin = insert_user(db, username="second-admin", role="admin")
    manager = insert_user(db, username="carol")
    assert client.patch(f"/users/{manager}", json={"disabled": True}, headers=admin_headers).json()[
        "disabled"
    ]
    login = client.post("/auth/token", data={"username": "carol", "password": TEST_PASSWORD})
    assert login.status_code == 401
    assert client.delete(f"/users/{other_admin}", headers=admin_headers).status_code == 204
    assert client.get(f"/users/{other_admin}", headers=admin_headers).status_code == 404
    assert client.delete(f"/users/{other_admin}", headers=admin_headers).status_code == 404
    assert {"user.disabled", "user.deleted"} <= set(_actions(db))


def test_unknown_or_malformed_user_id_is_404(client: TestClient, admin_headers) -> None:
    for user_id in ("0" * 32, "not-an-id", "x" * 300, "%00"):
        for method in ("GET", "PATCH", "DELETE"):
            body = {"disabled": False} if method == "PATCH" else None
            response = client.request(method, f"/users/{user_id}", json=body, headers=admin_headers)
            assert response.status_code == 404, (method, user_id)


def test_managers_get_403_and_anonymous_callers_401_on_user_routes(
    client: TestClient, db, settings: Settings
) -> None:
    manager_id = insert_user(db, username="carol")
    manager = bearer(settings, manager_id)
    before = snapshot(db)
    routes = [
        ("POST", "/users", {"username": "eve", "password": NEW_PASSWORD, "role": "admin"}),
        ("GET", "/users", None),
        ("GET", f"/users/{manager_id}", None),
        ("PATCH", f"/users/{manager_id}", {"role": "admin"}),
        ("DELETE", f"/users/{manager_id}", None),
    ]
    for method, path, body in routes:
        assert client.request(method, path, json=body, headers=manager).status_code == 403
        assert client.request(method, path, json=body).status_code == 401
    assert snapshot(db) == before


GUESSABLE_PASSWORDS = [
    "aaaaaaaaaa",
    " " * 10,
    "\t\n \t\n \t\n ",
    "password123",
    "1234567890",
    "qwertyuiop",
]


def test_guessable_passwords_are_refused_and_never_echoed(
    client: TestClient, db, admin_headers
) -> None:
    user_id = insert_user(db, username="carol")
    before = snapshot(db)
    for password in GUESSABLE_PASSWORDS:
        create = client.post(
            "/users", json={"username": "bob", "password": password}, headers=admin_headers
        )
        patch = client.patch(
            f"/users/{user_id}", json={"password": password}, headers=admin_headers
        )
        for response in (create, patch):
            assert response.status_code == 422, repr(password)
            assert response.json()["detail"][0]["loc"][-1] == "password"
            assert "input" not in response.json()["detail"][0]
            if password.strip():
                assert password not in response.text, repr(password)
    assert snapshot(db) == before


def test_the_username_is_not_a_password(client: TestClient, db, admin_headers) -> None:
    user_id = insert_user(db, username="kestrel-orchard-42")
    before = snapshot(db)
    create = client.post(
        "/users",
        json={"username": "Velvet-Harbor-Sixty", "password": "velvet-harbor-sixty"},
        headers=admin_headers,
    )
    assert create.status_code == 422
    assert "username" in create.text and "velvet-harbor-sixty" not in create.text.lower()
    patch = client.patch(
        f"/users/{user_id}", json={"password": "KESTREL-ORCHARD-42"}, headers=admin_headers
    )
    assert patch.status_code == 422
    assert patch.json()["detail"][0]["loc"] == ["body", "password"]
    assert "kestrel-orchard-42" not in patch.text.lower()
    assert snapshot(db) == before


def test_no_refused_password_is_echoed(client: TestClient, db, admin_headers) -> None:
    user_id = insert_user(db, username="carol")
    for password in ("zq9-short", "zq9-" + "x" * 300, 1234567890):
        create = client.post(
            "/users", json={"username": "bob", "password": password}, headers=admin_headers
        )
        patch = client.patch(
            f"/users/{user_id}", json={"password": password}, headers=admin_headers
        )
        for response in (create, patch):
            assert response.status_code == 422
            assert "input" not in response.json()["detail"][0]
            assert str(password)[:8] not in response.text
