"""Shared fixtures: the API suite runs on every storage backend.

- ``memory``: mongomock; ``embedded``: litemongo in a temporary data directory;
- ``mongodb``: a real server when ``OKTOPUS_TEST_MONGO_URL`` is set (skipped otherwise).
"""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings

from oktapi.app import create_app
from oktapi.settings import Settings
from oktapi.storage import drop_memory_store

BACKENDS = ["memory", "embedded", "mongodb"]

# Property tests explore new random examples on every developer run; CI (HYPOTHESIS_PROFILE=ci,
# set by .ci/run) replays a fixed sequence so a landing never hinges on a lucky draw.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
TEST_SECRET = "test-secret-key-that-is-long-enough-for-hs256-0123456789"


def make_settings(backend: str, data_dir: Path, **overrides: object) -> Settings:
    """Settings for one backend, isolated from the developer's .env and environment."""
    db_name = "oktopus"
    if backend == "memory":
        mongo_url: str | None = f"memory://{uuid.uuid4().hex}"
    elif backend == "embedded":
        mongo_url = None
    else:
        mongo_url = os.environ.get("OKTOPUS_TEST_MONGO_URL")
        if not mongo_url:
            pytest.skip("no MongoDB server: set OKTOPUS_TEST_MONGO_URL to run against one")
        db_name = f"oktopus_test_{uuid.uuid4().hex[:12]}"
    values: dict[str, object] = {
        "mongo_url": mongo_url,
        "mongo_db": db_name,
        "data_dir": data_dir,
        "secret_key": TEST_SECRET,
        "admin_username": "admin",
        "admin_password": None,
        "cors_origins": "",
        "access_token_minutes": 30,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def settings(backend: str, tmp_path: Path) -> Iterator[Settings]:
    settings = make_settings(backend, tmp_path / "data")
    yield settings
    if backend == "memory" and settings.mongo_url:
        drop_memory_store(settings.mongo_url)
    if backend == "mongodb":
        import pymongo

        client: pymongo.MongoClient = pymongo.MongoClient(settings.mongo_url)
        client.drop_database(settings.mongo_db)
        client.close()


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """A running app on the chosen backend (lifespan opened, storage closed afterwards)."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def db(client: TestClient):
    """The app's own database handle, to check what was (not) written."""
    return client.app.state.storage.db


# --- users and tokens without going through the auth routes -----------------------------------

TEST_PASSWORD = "correct-horse-battery-staple"
_TEST_PASSWORD_HASH: str | None = None


def insert_user(
    db,
    *,
    username: str,
    role: str = "manager",
    client_ids: tuple[str, ...] | list[str] = (),
    disabled: bool = False,
) -> str:
    """Store a user document directly (password TEST_PASSWORD) and return its id."""
    global _TEST_PASSWORD_HASH
    from datetime import UTC, datetime

    from oktapi.security import hash_password

    if _TEST_PASSWORD_HASH is None:
        _TEST_PASSWORD_HASH = hash_password(TEST_PASSWORD)
    user_id = uuid.uuid4().hex
    now = datetime.now(UTC)
    db["users"].insert_one(
        {
            "_id": user_id,
            "username": username,
            "password_hash": _TEST_PASSWORD_HASH,
            "role": role,
            "client_ids": list(client_ids),
            "disabled": disabled,
            "token_version": 0,
            "created_at": now,
            "updated_at": now,
        }
    )
    return user_id


def bearer(settings: Settings, user_id: str, token_version: int = 0) -> dict[str, str]:
    """Authorization headers for a stored user, as if it had logged in."""
    from oktapi.security import create_access_token

    token = create_access_token(
        subject=user_id,
        token_version=token_version,
        secret=settings.signing_key,
        minutes=settings.access_token_minutes,
    )
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def admin_headers(db, settings: Settings) -> dict[str, str]:
    return bearer(settings, insert_user(db, username="root-admin", role="admin"))


# --- building data through the API, and checking that nothing else changed -------------------


def api_create_client(test_client: TestClient, headers: dict[str, str], name: str = "Acme") -> str:
    """POST /clients and return the new id (fails the test on any other answer)."""
    response = test_client.post("/clients", json={"name": name}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def api_create_campaign(
    test_client: TestClient, headers: dict[str, str], client_id: str, name: str, **fields: object
) -> str:
    """POST /clients/{id}/campaigns and return the new id."""
    response = test_client.post(
        f"/clients/{client_id}/campaigns", json={"name": name, **fields}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def snapshot(db, *, skip: tuple[str, ...] = ()) -> dict[str, list[dict]]:
    """Every stored document by collection, to assert that a refused request wrote nothing."""
    return {
        name: list(db[name].find({}, sort=[("_id", 1)]))
        for name in sorted(db.list_collection_names())
        if name not in skip
    }
