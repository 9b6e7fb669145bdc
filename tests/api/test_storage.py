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
