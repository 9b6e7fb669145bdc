"""`python -m oktapi.backup DEST` while the server writes, then the README's restore procedure."""

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from oktapi.app import create_app
from tests.api.plans_support import create_plan, results_for
from tests.conftest import TEST_PASSWORD, api_create_client, insert_user, make_settings

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def backend() -> str:
    """The command copies the embedded store's SQLite files; MongoDB has mongodump."""
    return "embedded"


def _run_backup(data_dir: Path, destination: Path, cwd: Path) -> subprocess.CompletedProcess:
    """The command as an operator runs it: another process, beside the running server."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("OKTOPUS_")}
    env.update(OKTOPUS_DATA_DIR=str(data_dir), PYTHONPATH=str(REPO_ROOT))
    return subprocess.run(
        [sys.executable, "-m", "oktapi.backup", str(destination)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


class _Writer(threading.Thread):
    """Creates campaigns and reports a plan's timesteps until told to stop; keeps what was acked."""

    def __init__(self, app: TestClient, headers: dict, client_id: str, plan: dict) -> None:
        super().__init__(daemon=True)
        self.app, self.headers, self.client_id, self.plan = app, headers, client_id, plan
        self.campaigns: list[str] = []
        self.timesteps_closed = 0
        self.stop = threading.Event()
        self.failures: list[str] = []

    def run(self) -> None:
        allocation = self.plan["allocation"]
        while not self.stop.is_set():
            name = f"c{len(self.campaigns)}"
            made = self.app.post(
                f"/clients/{self.client_id}/campaigns", json={"name": name}, headers=self.headers
            )
            if made.status_code != 201:
                self.failures.append(made.text)
                return
            self.campaigns.append(name)
            if allocation["timestep"] < self.plan["timesteps"] - 1:
                posted = self.app.post(
                    f"/plans/{self.plan['id']}/results",
                    json=results_for(allocation),
                    headers=self.headers,
                )
                if posted.status_code != 200:
                    self.failures.append(posted.text)
                    return
                allocation = posted.json()
                self.timesteps_closed += 1


def test_a_backup_taken_while_writes_happen_restores_into_a_working_store(
    tmp_path: Path,
) -> None:
    data_dir, backup_dir, restored = tmp_path / "data", tmp_path / "backup", tmp_path / "restored"
    settings = make_settings("embedded", data_dir, secret_key=None)
    with TestClient(create_app(settings)) as app:
        insert_user(app.app.state.storage.db, username="alice", role="admin")
        login = app.post("/auth/token", data={"username": "alice", "password": TEST_PASSWORD})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        client_id = api_create_client(app, headers)
        seed_campaign = app.post(
            f"/clients/{client_id}/campaigns", json={"name": "seed"}, headers=headers
        ).json()["id"]
        plan = create_plan(app, headers, client_id, [seed_campaign], timesteps=5000)
        writer = _Writer(app, headers, client_id, plan)
        writer.start()
        while len(writer.campaigns) < 20 and writer.is_alive():
            threading.Event().wait(0.01)
        acknowledged_before = list(writer.campaigns)
        result = _run_backup(data_dir, backup_dir, tmp_path)
        acknowledged_after = list(writer.campaigns)
        writer.stop.set()
        writer.join(timeout=60)
        assert writer.failures == [], "the server kept answering while the backup ran"
        assert app.get("/health").status_code == 200
    assert result.returncode == 0, result.stderr
    assert "backed up" in result.stdout and str(backup_dir) in result.stdout
    assert len(acknowledged_after) > len(acknowledged_before), "writes ran during the backup"
    modes = {stat.S_IMODE(p.stat().st_mode) for p in [backup_dir, *backup_dir.rglob("*")]}
    assert modes <= {0o700, 0o600}, "the backup holds password hashes: private too"

    # The README's restore: stop the server, copy the backup into a fresh data directory, start.
    subprocess.run(["cp", "-a", str(backup_dir), str(restored)], check=True)
    with TestClient(create_app(make_settings("embedded", restored, secret_key=None))) as app:
        assert app.get("/auth/me", headers=headers).json()["username"] == "alice"
        listed = app.get(
            f"/clients/{client_id}/campaigns", params={"limit": 200}, headers=headers
        ).json()
        names = {campaign["name"] for campaign in listed} - {"seed"}
        assert (
            set(acknowledged_before)
            <= names
            <= set(acknowledged_after)
            | {
                f"c{len(acknowledged_after)}"  # the one in flight when the copy was taken
            }
        )
        restored_plan = app.get(f"/plans/{plan['id']}", headers=headers).json()
        history = app.get(f"/plans/{plan['id']}/history", headers=headers).json()
        closed = [entry for entry in history["entries"] if entry["results"] is not None]
        assert len(closed) == restored_plan["timestep"] >= 1, "plan and its records agree"
        following = app.post(
            f"/plans/{plan['id']}/results",
            json=results_for(restored_plan["allocation"]),
            headers=headers,
        )
        assert following.status_code == 200, "the restored store takes writes"

    again = _run_backup(data_dir, backup_dir, tmp_path)
    assert again.returncode == 1 and "already exists" in again.stderr


def test_a_backup_without_an_embedded_store_says_why(tmp_path: Path) -> None:
    result = _run_backup(tmp_path / "empty", tmp_path / "backup", tmp_path)
    assert result.returncode == 1
    assert "there is no embedded store" in result.stderr
    assert not (tmp_path / "backup").exists()
