"""initialize.py: the first admin is created once, never with a known password, and left alone."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import initialize
from oktapi.app import create_app
from oktapi.settings import Settings
from tests.conftest import make_settings

REPO_ROOT = Path(__file__).resolve().parents[2]
PRINTED_PASSWORD = re.compile(r"password \(shown only this once\): (\S+)")


def _login(settings: Settings, username: str, password: str) -> int:
    with TestClient(create_app(settings)) as app_client:
        response = app_client.post("/auth/token", data={"username": username, "password": password})
        return response.status_code


def _with(settings: Settings, **changes: object) -> Settings:
    """The same store with other settings (validated, unlike model_copy)."""
    return Settings(_env_file=None, **{**settings.model_dump(), **changes})


def test_first_run_creates_the_admin_and_prints_a_generated_password_once(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert initialize.main([], settings) == 0
    first = capsys.readouterr().out
    match = PRINTED_PASSWORD.search(first)
    assert match, first
    password = match.group(1)
    assert len(password) >= 16

    assert initialize.main([], settings) == 0
    second = capsys.readouterr().out
    assert "left unchanged" in second
    assert password not in second and not PRINTED_PASSWORD.search(second)
    assert _login(settings, "admin", password) == 200
    assert _login(settings, "admin", "admin") == 401, "no known default password"


def test_a_configured_password_is_used_and_never_printed(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    configured = _with(settings, admin_username="boss", admin_password="configured-secret-1")
    assert initialize.main([], configured) == 0
    output = capsys.readouterr().out
    assert "configured-secret-1" not in output and "boss" in output
    assert _login(configured, "boss", "configured-secret-1") == 200


def test_existing_admin_is_left_alone_without_reset(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    initialize.main([], _with(settings, admin_password="the-first-password"))
    assert initialize.main([], _with(settings, admin_password="a-second-password")) == 0
    assert _login(settings, "admin", "the-first-password") == 200
    assert _login(settings, "admin", "a-second-password") == 401


def test_reset_password_changes_it_on_purpose_and_revokes_tokens(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    initialize.main([], _with(settings, admin_password="the-first-password"))
    with TestClient(create_app(settings)) as app_client:
        token = app_client.post(
            "/auth/token", data={"username": "admin", "password": "the-first-password"}
        ).json()["access_token"]
        app_client.app.state.storage.db["users"].update_one(
            {"username": "admin"}, {"$set": {"disabled": True}}
        )
    capsys.readouterr()

    assert initialize.main(["--reset-password"], settings) == 0
    output = capsys.readouterr().out
    new_password = PRINTED_PASSWORD.search(output).group(1)
    assert "Reset the password" in output
    with TestClient(create_app(settings)) as app_client:
        old = app_client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert old.status_code == 401
        fresh = app_client.post("/auth/token", data={"username": "admin", "password": new_password})
        assert fresh.status_code == 200, "a reset also re-enables the admin"
        assert (
            app_client.post(
                "/auth/token", data={"username": "admin", "password": "the-first-password"}
            ).status_code
            == 401
        )


def test_a_short_admin_password_is_refused(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert initialize.main([], _with(settings, admin_password="short")) != 0
    assert "at least 10 characters" in capsys.readouterr().err
    with TestClient(create_app(settings)) as app_client:
        assert app_client.app.state.storage.db["users"].count_documents({}) == 0


@pytest.mark.parametrize("password", ["password1234", " " * 12, "admin-admin"])
def test_a_guessable_admin_password_is_refused_without_being_printed(
    settings: Settings, capsys: pytest.CaptureFixture[str], password: str
) -> None:
    configured = _with(settings, admin_username="admin-admin" if "admin-" in password else "admin")
    assert initialize.main([], _with(configured, admin_password=password)) == 2
    output = capsys.readouterr()
    assert "OKTOPUS_ADMIN_PASSWORD is refused" in output.err
    if password.strip():
        assert password not in output.err + output.out
    with TestClient(create_app(settings)) as app_client:
        assert app_client.app.state.storage.db["users"].count_documents({}) == 0


def test_indexes_and_the_signing_key_are_ready_after_initialize(
    settings: Settings, backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    without_key = _with(settings, secret_key=None)
    assert initialize.main([], without_key) == 0
    if backend == "embedded":
        assert (settings.data_path / "secret_key").exists()
    with TestClient(create_app(settings)) as app_client:
        indexes = app_client.app.state.storage.db["users"].index_information()
    assert any(index.get("unique") for name, index in indexes.items() if name != "_id_")


def test_initialize_stops_with_a_clear_message_while_the_server_runs(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with TestClient(create_app(make_settings("embedded", data_dir))):
        env = {key: value for key, value in os.environ.items() if not key.startswith("OKTOPUS_")}
        result = subprocess.run(
            [sys.executable, str(REPO_ROOT / "initialize.py")],
            cwd=tmp_path,
            env={**env, "OKTOPUS_DATA_DIR": str(data_dir)},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode != 0
    assert "the embedded store serves one process; set OKTOPUS_MONGO_URL" in result.stderr
    assert "Traceback" not in result.stderr
