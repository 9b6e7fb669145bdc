"""Storage as a user notices it: data and tokens survive a restart; one process per embedded store."""

import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pymongo.errors import DuplicateKeyError

from oktapi.app import create_app
from oktapi.repositories.indexes import ensure_indexes
from oktapi.settings import SECRET_KEY_FILE
from oktapi.storage import LOCK_FILE as LOCK_FILE_NAME
from tests.conftest import TEST_PASSWORD, api_create_client, insert_user, make_settings

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCKED_MESSAGE = "the embedded store serves one process; set OKTOPUS_MONGO_URL to use MongoDB"


def test_data_and_tokens_survive_a_restart_of_the_embedded_store(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    settings = make_settings("embedded", data_dir, secret_key=None)
    with TestClient(create_app(settings)) as first:
        insert_user(first.app.state.storage.db, username="alice", role="admin")
        login = first.post("/auth/token", data={"username": "alice", "password": TEST_PASSWORD})
        assert login.status_code == 200
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        client_id = api_create_client(first, headers, name="Acme")
        campaign = first.post(
            f"/clients/{client_id}/campaigns",
            json={"name": "search", "min_budget": 5, "max_budget": 50},
            headers=headers,
        ).json()

    key_file = data_dir / SECRET_KEY_FILE
    assert key_file.exists(), "the generated signing key is kept in the data directory"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    restarted_settings = make_settings("embedded", data_dir, secret_key=None)
    with TestClient(create_app(restarted_settings)) as second:
        assert second.get("/auth/me", headers=headers).json()["username"] == "alice"
        assert [c["name"] for c in second.get("/clients", headers=headers).json()] == ["Acme"]
        assert second.get(f"/campaigns/{campaign['id']}", headers=headers).json() == campaign
        duplicate = second.post(
            f"/clients/{client_id}/campaigns", json={"name": "search"}, headers=headers
        )
        assert duplicate.status_code == 409, "unique indexes survive the restart too"


def _open_store_in_subprocess(data_dir: Path) -> subprocess.CompletedProcess:
    code = (
        "from pathlib import Path\n"
        "from oktapi.settings import Settings\n"
        "from oktapi.storage import open_storage\n"
        f"storage = open_storage(Settings(_env_file=None, data_dir=Path({str(data_dir)!r})))\n"
        "storage.close()\n"
        "print('opened')\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )


def test_a_second_process_gets_a_clear_error_while_the_store_is_open(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with TestClient(create_app(make_settings("embedded", data_dir))) as running:
        assert running.get("/health").status_code == 200
        second = _open_store_in_subprocess(data_dir)
        assert second.returncode != 0
        assert LOCKED_MESSAGE in second.stderr
        assert running.get("/health").status_code == 200, "the running server is unaffected"

    after = _open_store_in_subprocess(data_dir)
    assert after.returncode == 0, after.stderr
    assert "opened" in after.stdout


def test_concurrent_requests_are_all_stored(client: TestClient, db, admin_headers) -> None:
    """The embedded store is used from one owner thread; the threadpool must not break it."""
    client_id = api_create_client(client, admin_headers)

    def create(index: int) -> int:
        return client.post(
            f"/clients/{client_id}/campaigns", json={"name": f"c{index}"}, headers=admin_headers
        ).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(create, range(40)))
    assert statuses == [201] * 40
    assert db["campaigns"].count_documents({"client_id": client_id}) == 40
    listed = client.get(
        f"/clients/{client_id}/campaigns", params={"limit": 200}, headers=admin_headers
    )
    assert len(listed.json()) == 40


def test_indexes_are_idempotent_and_enforced_by_the_database(client: TestClient, db) -> None:
    ensure_indexes(db)
    ensure_indexes(db)
    insert_user(db, username="alice")
    with pytest.raises(DuplicateKeyError):
        insert_user(db, username="alice")
    assert db["users"].count_documents({"username": "alice"}) == 1


def test_workers_starting_together_share_one_generated_key(tmp_path: Path) -> None:
    """Without OKTOPUS_SECRET_KEY, every process on the data directory signs with the same key."""

    def signing_key(_: int) -> str:
        return make_settings("embedded", tmp_path / "data", secret_key=None).signing_key

    with ThreadPoolExecutor(max_workers=8) as pool:
        keys = set(pool.map(signing_key, range(16)))
    assert len(keys) == 1
    assert len(keys.pop()) >= 32
    assert sorted(path.name for path in (tmp_path / "data").iterdir()) == [SECRET_KEY_FILE]


# --- privacy and durability of the embedded store ---------------------------------------------


def _modes(data_dir: Path) -> dict[str, int]:
    """Permission bits of the data directory and everything in it, by relative path."""
    return {
        str(path.relative_to(data_dir)): stat.S_IMODE(path.lstat().st_mode)
        for path in [data_dir, *data_dir.rglob("*")]
    }


def _exercise(test_client: TestClient) -> None:
    """Writes that create the store's files (collections, WAL and shared-memory sidecars)."""
    db = test_client.app.state.storage.db
    insert_user(db, username="alice", role="admin")
    login = test_client.post("/auth/token", data={"username": "alice", "password": TEST_PASSWORD})
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    api_create_client(test_client, headers, name="Acme")


def test_the_data_directory_and_every_file_in_it_are_private(tmp_path: Path) -> None:
    """Password hashes and the signing key are readable by the service's user only."""
    data_dir = tmp_path / "data"
    previous = os.umask(0o022)  # the usual default: files 0644, directories 0755
    try:
        with TestClient(create_app(make_settings("embedded", data_dir, secret_key=None))) as app:
            _exercise(app)
            assert app.app.state.settings.signing_key
            modes = _modes(data_dir)
    finally:
        os.umask(previous)
    assert any(name.endswith("-wal") for name in modes), "the sidecar files are checked too"
    assert SECRET_KEY_FILE in modes and LOCK_FILE_NAME in modes
    loose = {
        name: oct(mode)
        for name, mode in modes.items()
        if mode != (0o700 if (data_dir / name).is_dir() else 0o600)
    }
    assert loose == {}


def test_a_data_directory_left_readable_is_made_private_at_start(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with TestClient(create_app(make_settings("embedded", data_dir))) as app:
        _exercise(app)
    for path in [data_dir, *data_dir.rglob("*")]:  # as a `cp -r` or an older version left it
        path.chmod(0o755 if path.is_dir() else 0o644)

    with TestClient(create_app(make_settings("embedded", data_dir))) as app:
        assert app.get("/health").status_code == 200
        modes = _modes(data_dir)
    assert {mode for mode in modes.values()} <= {0o700, 0o600}
    assert modes["."] == 0o700


def test_every_commit_of_the_embedded_store_is_fsynced(tmp_path: Path) -> None:
    """synchronous=FULL: a power cut cannot lose an acknowledged write (NORMAL, in WAL mode, can).

    A power cut cannot be staged in a unit test, so this reads the setting on the connections
    the store really writes through.
    """
    with TestClient(create_app(make_settings("embedded", tmp_path / "data"))) as app:
        _exercise(app)
        db = app.app.state.storage.db
        synchronous = {
            name: db[name].database.client._store for name in ("users", "clients", "audit")
        }
        owner_run = db._owner.run
        levels = {
            name: owner_run(
                lambda server=server, name=name: (
                    server["oktopus"][name]._connection.execute("PRAGMA synchronous").fetchone()[0]
                )
            )
            for name, server in synchronous.items()
        }
    assert levels == {"users": 2, "clients": 2, "audit": 2}  # 2 = FULL


def test_indexes_rebuild_over_campaigns_without_a_platform_id(
    client: TestClient, db, admin_headers
) -> None:
    """A restart over a client with several campaigns lacking external_id must start (it did
    not on the memory store while the rule was a partial index)."""
    client_id = client.post("/clients", json={"name": "Rebuild"}, headers=admin_headers).json()[
        "id"
    ]
    for name in ("A", "B"):
        response = client.post(
            f"/clients/{client_id}/campaigns", json={"name": name}, headers=admin_headers
        )
        assert response.status_code == 201
    ensure_indexes(db)
    made = client.post(
        f"/clients/{client_id}/campaigns",
        json={"name": "C", "external_id": "123"},
        headers=admin_headers,
    )
    assert made.status_code == 201
    twin = client.post(
        f"/clients/{client_id}/campaigns",
        json={"name": "D", "external_id": "123"},
        headers=admin_headers,
    )
    assert twin.status_code == 409
    cleared = client.patch(
        f"/campaigns/{made.json()['id']}", json={"external_id": None}, headers=admin_headers
    )
    assert cleared.status_code == 200
    again = client.post(
        f"/clients/{client_id}/campaigns",
        json={"name": "D", "external_id": "123"},
        headers=admin_headers,
    )
    assert again.status_code == 201
