"""Login and tokens: what a caller sees when credentials or tokens are right, wrong or revoked."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import jwt
import pytest
from argon2 import PasswordHasher, Type, extract_parameters
from fastapi.testclient import TestClient
from pwdlib import PasswordHash

from oktapi import security
from oktapi.services import auth as auth_service
from oktapi.settings import Settings
from tests.conftest import TEST_PASSWORD, bearer, insert_user


def _login(test_client: TestClient, username: str, password: str):
    return test_client.post("/auth/token", data={"username": username, "password": password})


def test_login_returns_a_bearer_token_that_opens_auth_me(
    client: TestClient, db, settings: Settings
) -> None:
    user_id = insert_user(db, username="alice", client_ids=["c1"])
    response = _login(client, "alice", TEST_PASSWORD)
    assert response.status_code == 200
    token = response.json()
    assert token["token_type"] == "bearer"
    assert token["expires_in"] == settings.access_token_minutes * 60
    me = client.get("/auth/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert me.status_code == 200
    body = me.json()
    assert body["id"] == user_id
    assert body["username"] == "alice"
    assert body["role"] == "manager"
    assert body["client_ids"] == ["c1"]
    assert body["disabled"] is False
    assert "password_hash" not in body and "_id" not in body and "token_version" not in body


def test_wrong_password_and_unknown_user_get_the_same_answer(client: TestClient, db) -> None:
    insert_user(db, username="alice")
    wrong = _login(client, "alice", "not-the-password")
    unknown = _login(client, "nobody", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "Incorrect username or password"}


def test_every_login_path_costs_one_password_verification(
    client: TestClient, db, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unknown users are checked against a dummy hash so login time doesn't reveal who exists."""
    insert_user(db, username="alice")
    insert_user(db, username="dormant", disabled=True)
    real_verify = security._hasher.verify
    calls: list[str] = []

    def counting_verify(password: str, password_hash: str) -> bool:
        calls.append(password_hash)
        return real_verify(password, password_hash)

    monkeypatch.setattr(security._hasher, "verify", counting_verify)
    attempts = {
        "right password": ("alice", TEST_PASSWORD, 200),
        "wrong password": ("alice", "wrong-password-123", 401),
        "unknown user": ("nobody-at-all", "wrong-password-123", 401),
        "disabled user": ("dormant", TEST_PASSWORD, 401),
    }
    for label, (username, password, status) in attempts.items():
        calls.clear()
        assert _login(client, username, password).status_code == status, label
        assert len(calls) == 1, label
        assert calls[0].startswith("$argon2"), label


def test_disabled_user_cannot_log_in(client: TestClient, db) -> None:
    insert_user(db, username="dormant", disabled=True)
    assert _login(client, "dormant", TEST_PASSWORD).status_code == 401


def test_token_stops_working_when_user_is_disabled_or_deleted(
    client: TestClient, db, settings: Settings, admin_headers
) -> None:
    disabled_id = insert_user(db, username="soon-disabled")
    deleted_id = insert_user(db, username="soon-deleted")
    disabled_token, deleted_token = bearer(settings, disabled_id), bearer(settings, deleted_id)
    assert client.get("/auth/me", headers=disabled_token).status_code == 200
    assert client.get("/auth/me", headers=deleted_token).status_code == 200

    patch = client.patch(f"/users/{disabled_id}", json={"disabled": True}, headers=admin_headers)
    assert patch.status_code == 200
    assert client.delete(f"/users/{deleted_id}", headers=admin_headers).status_code == 204

    assert client.get("/auth/me", headers=disabled_token).status_code == 401
    assert client.get("/auth/me", headers=deleted_token).status_code == 401
    # Enabling the user again does not bring back the token issued before it was disabled.
    client.patch(f"/users/{disabled_id}", json={"disabled": False}, headers=admin_headers)
    assert client.get("/auth/me", headers=disabled_token).status_code == 401


@pytest.mark.parametrize("change", [{"password": "a-brand-new-password"}, {"role": "admin"}])
def test_password_reset_and_role_change_revoke_earlier_tokens(
    client: TestClient, db, settings: Settings, admin_headers, change: dict
) -> None:
    user_id = insert_user(db, username="alice")
    old_token = bearer(settings, user_id)
    assert client.get("/auth/me", headers=old_token).status_code == 200
    response = client.patch(f"/users/{user_id}", json=change, headers=admin_headers)
    assert response.status_code == 200
    assert client.get("/auth/me", headers=old_token).status_code == 401
    password = change.get("password", TEST_PASSWORD)
    fresh = _login(client, "alice", password)
    assert fresh.status_code == 200
    headers = {"Authorization": f"Bearer {fresh.json()['access_token']}"}
    assert client.get("/auth/me", headers=headers).json()["role"] == change.get("role", "manager")


def test_after_a_password_reset_the_old_password_fails(client: TestClient, db, admin_headers):
    user_id = insert_user(db, username="alice")
    client.patch(
        f"/users/{user_id}", json={"password": "a-brand-new-password"}, headers=admin_headers
    )
    assert _login(client, "alice", TEST_PASSWORD).status_code == 401


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer not-a-jwt", "Basic YWRtaW46YWRtaW4=", "Bearer " + "x" * 5000],
)
def test_missing_or_malformed_token_is_401(client: TestClient, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = client.get("/auth/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "detail" in response.json()


def test_forged_and_expired_tokens_are_401(client: TestClient, db, settings: Settings) -> None:
    user_id = insert_user(db, username="alice")
    claims = {"sub": user_id, "ver": 0}
    forged = jwt.encode({**claims, "exp": 4_000_000_000}, "another-key-" * 4, algorithm="HS256")
    unsigned = jwt.encode({**claims, "exp": 4_000_000_000}, None, algorithm="none")
    no_expiry = jwt.encode(claims, settings.signing_key, algorithm="HS256")
    expired = security.create_access_token(
        subject=user_id,
        token_version=0,
        secret=settings.signing_key,
        minutes=1,
        now=auth_service.utc_now() - timedelta(hours=1),
    )
    for token in (forged, unsigned, no_expiry, expired):
        response = client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401


# --- failed-login limit ------------------------------------------------------------------------


def _other_address(test_client: TestClient, host: str) -> TestClient:
    """A second client on the same running app, calling from another address."""
    return TestClient(test_client.app, client=(host, 40000))


def test_five_failures_from_one_address_lock_that_address_for_five_minutes(
    client: TestClient, db, monkeypatch: pytest.MonkeyPatch
) -> None:
    insert_user(db, username="alice")
    for _ in range(auth_service.MAX_FAILED_LOGINS):
        assert _login(client, "alice", "wrong-password-123").status_code == 401

    blocked = _login(client, "alice", TEST_PASSWORD)  # even the right password
    assert blocked.status_code == 429
    retry_after = int(blocked.headers["retry-after"])
    assert 1 <= retry_after <= 300
    assert "detail" in blocked.json()

    # The real user elsewhere is not locked out, and other usernames from here still work.
    assert _login(_other_address(client, "203.0.113.9"), "alice", TEST_PASSWORD).status_code == 200
    insert_user(db, username="bob")
    assert _login(client, "bob", TEST_PASSWORD).status_code == 200

    later = auth_service.utc_now() + timedelta(seconds=retry_after + 1)
    monkeypatch.setattr(auth_service, "utc_now", lambda: later)
    assert _login(client, "alice", TEST_PASSWORD).status_code == 200


def test_a_successful_login_clears_the_failure_count(client: TestClient, db) -> None:
    insert_user(db, username="alice")
    for _ in range(auth_service.MAX_FAILED_LOGINS - 1):
        _login(client, "alice", "wrong-password-123")
    assert _login(client, "alice", TEST_PASSWORD).status_code == 200
    for _ in range(auth_service.MAX_FAILED_LOGINS - 1):
        assert _login(client, "alice", "wrong-password-123").status_code == 401
    assert _login(client, "alice", TEST_PASSWORD).status_code == 200


def test_unknown_usernames_are_limited_too(client: TestClient) -> None:
    for _ in range(auth_service.MAX_FAILED_LOGINS):
        assert _login(client, "ghost", "wrong-password-123").status_code == 401
    assert _login(client, "ghost", "wrong-password-123").status_code == 429


def test_login_form_needs_both_fields(client: TestClient) -> None:
    assert client.post("/auth/token", data={"username": "alice"}).status_code == 422
    assert client.post("/auth/token", json={"username": "a", "password": "b"}).status_code == 422


def test_parallel_guesses_cannot_slip_past_the_limit(client: TestClient, db) -> None:
    """Attempts are counted before the password check, so a burst gets at most 5 checks."""
    insert_user(db, username="alice")

    def guess(index: int) -> int:
        return _login(client, "alice", f"wrong-password-{index:03d}").status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(guess, range(12)))
    assert set(statuses) <= {401, 429}
    # Attempts refused in the burst do not count; sequential guesses fill up to the limit.
    while statuses[-1] != 429 or len(statuses) == 12:
        statuses.append(guess(len(statuses)))
        assert len(statuses) <= 12 + auth_service.MAX_FAILED_LOGINS + 1
    assert statuses.count(401) == auth_service.MAX_FAILED_LOGINS
    assert _login(client, "alice", TEST_PASSWORD).status_code == 429


# --- bounded password hashing and the per-address limit ---------------------------------------


def test_logins_for_new_usernames_from_one_address_are_limited_too(
    client: TestClient, db, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new username per guess does not buy new guesses: the address is limited across names."""
    insert_user(db, username="alice")
    for index in range(auth_service.MAX_FAILED_LOGINS_PER_ADDRESS):
        assert _login(client, f"ghost-{index}", "wrong-password-123").status_code == 401
    refused = _login(client, "yet-another-ghost", "wrong-password-123")
    assert refused.status_code == 429
    retry_after = int(refused.headers["retry-after"])
    assert 1 <= retry_after <= 300
    assert _login(client, "alice", TEST_PASSWORD).status_code == 429
    # Another address is not affected, and the window ends.
    assert _login(_other_address(client, "203.0.113.9"), "alice", TEST_PASSWORD).status_code == 200
    later = auth_service.utc_now() + timedelta(seconds=retry_after + 1)
    monkeypatch.setattr(auth_service, "utc_now", lambda: later)
    assert _login(client, "alice", TEST_PASSWORD).status_code == 200


def test_no_more_than_a_few_password_checks_run_at_once(
    client: TestClient, db, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each argon2 check holds tens of MiB: a burst of logins must not run them all together."""
    insert_user(db, username="alice")
    real_verify = security._hasher.verify
    lock = threading.Lock()
    running = [0]
    most = [0]
    never = threading.Event()

    def slow_verify(password: str, password_hash: str) -> bool:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        never.wait(0.2)  # long enough for unbounded checks to overlap
        with lock:
            running[0] -= 1
        return real_verify(password, password_hash)

    monkeypatch.setattr(security._hasher, "verify", slow_verify)

    def guess(index: int) -> int:
        host = f"198.51.100.{index}"  # new address and username: no failure limit applies
        return _login(
            _other_address(client, host), f"user-{index}", "wrong-password-123"
        ).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(guess, range(12)))
    assert set(statuses) <= {401, 503}
    assert 1 <= most[0] <= security.HASHING_CONCURRENCY


def test_beyond_the_queue_a_login_gets_503_with_retry_after(
    client: TestClient, db, monkeypatch: pytest.MonkeyPatch
) -> None:
    insert_user(db, username="alice")
    monkeypatch.setattr(
        security,
        "hashing_slots",
        security.HashingSlots(concurrency=1, queue=0, wait_seconds=30.0),
    )
    real_verify = security._hasher.verify
    entered, release = threading.Event(), threading.Event()

    def held_verify(password: str, password_hash: str) -> bool:
        entered.set()
        release.wait(30)
        return real_verify(password, password_hash)

    monkeypatch.setattr(security._hasher, "verify", held_verify)
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(_login, client, "alice", "wrong-password-123")
        assert entered.wait(30)
        busy = _login(client, "alice", TEST_PASSWORD)
        release.set()
        assert first.result().status_code == 401
    assert busy.status_code == 503
    assert int(busy.headers["retry-after"]) >= 1
    assert "detail" in busy.json()
    # The refused attempt was never checked, so it does not count towards the lockout.
    assert db["login_failures"].count_documents({}) == 1
    assert _login(client, "alice", TEST_PASSWORD).status_code == 200


def test_hashes_use_owasp_argon2id_parameters_and_old_ones_are_upgraded(
    client: TestClient, db
) -> None:
    user_id = insert_user(db, username="alice")
    legacy = PasswordHash.recommended().hash(TEST_PASSWORD)  # argon2-cffi's default, 64 MiB
    db["users"].update_one({"_id": user_id}, {"$set": {"password_hash": legacy}})
    assert _login(client, "alice", TEST_PASSWORD).status_code == 200
    stored = db["users"].find_one({"_id": user_id})["password_hash"]
    parameters = extract_parameters(stored)
    assert parameters.type is Type.ID
    assert (parameters.memory_cost, parameters.time_cost, parameters.parallelism) == (
        19 * 1024,
        2,
        1,
    )
    assert _login(client, "alice", TEST_PASSWORD).status_code == 200
    assert extract_parameters(security.hash_password("another-password-0")) == parameters


def test_a_stored_hash_asking_for_too_much_memory_is_not_computed(client: TestClient, db) -> None:
    user_id = insert_user(db, username="alice")
    greedy = PasswordHasher(memory_cost=128 * 1024, time_cost=1, parallelism=1).hash(TEST_PASSWORD)
    db["users"].update_one({"_id": user_id}, {"$set": {"password_hash": greedy}})
    assert _login(client, "alice", TEST_PASSWORD).status_code == 401
