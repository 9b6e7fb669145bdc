"""The unauthenticated surface: health (ready and live), docs UI served offline, headers."""

import re
import sqlite3
import tomllib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import oktapi
from oktapi.app import create_app
from oktapi.repositories.health import HealthRepository
from oktapi.settings import Settings


def test_health_names_the_backend(client: TestClient, backend: str) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "storage": backend}


def test_docs_page_references_only_assets_the_service_serves(client: TestClient) -> None:
    page = client.get("/api")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']+)["\']', page.text)
    assert any(asset.endswith(".js") for asset in assets)
    assert any(asset.endswith(".css") for asset in assets)
    for asset in assets:
        assert asset.startswith("/"), f"{asset} is loaded from another host"
        assert client.get(asset).status_code == 200, asset
    assert "/openapi.json" in page.text
    assert client.get("/openapi.json").status_code == 200


def test_security_headers_on_every_response(client: TestClient) -> None:
    for path in ("/health", "/api", "/no-such-route"):
        headers = client.get(path).headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        assert "content-security-policy" in headers


def test_unknown_route_is_json_404(client: TestClient) -> None:
    response = client.get("/no-such-route")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_health_writes_to_the_store_each_time(client: TestClient, db) -> None:
    """The check is a real write, so a store that stops accepting writes shows up."""
    assert client.get("/health").status_code == 200
    first = db["health"].find_one({})["at"]
    assert client.get("/health").status_code == 200
    assert db["health"].count_documents({}) == 1
    assert db["health"].find_one({})["at"] >= first


def test_health_is_degraded_when_the_store_refuses_writes(
    client: TestClient, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(self: HealthRepository, at: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(HealthRepository, "touch", disk_full)
    response = client.get("/health")
    assert response.status_code == 503
    assert response.json() == {
        "status": "degraded",
        "storage": backend,
        "problems": ["storage is not writable"],
    }
    assert "disk is full" not in response.text
    assert client.get("/health/live").status_code == 200


@pytest.mark.parametrize("key_file", ["too-short", ""])
def test_health_is_degraded_when_the_signing_key_is_unusable(
    settings: Settings, backend: str, key_file: str
) -> None:
    """No OKTOPUS_SECRET_KEY and a damaged key file: every login would fail, so health says so."""
    without_key = Settings(_env_file=None, **{**settings.model_dump(), "secret_key": None})
    without_key.data_path.mkdir(parents=True)
    (without_key.data_path / "secret_key").write_text(key_file)
    with TestClient(create_app(without_key)) as app_client:
        response = app_client.get("/health")
        assert response.status_code == 503
        assert response.json() == {
            "status": "degraded",
            "storage": backend,
            "problems": ["signing key is unusable"],
        }
        live = app_client.get("/health/live")
        assert live.status_code == 200 and live.json() == {"status": "alive"}


def test_liveness_answers_without_touching_the_store(client: TestClient, db) -> None:
    response = client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}
    assert "health" not in db.list_collection_names()


def _pyproject_version() -> str:
    with (Path(__file__).resolve().parents[2] / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)["project"]["version"]


def test_openapi_version_is_the_one_in_pyproject(client: TestClient) -> None:
    assert client.get("/openapi.json").json()["info"]["version"] == _pyproject_version()


def test_version_comes_from_package_metadata_when_installed(monkeypatch) -> None:
    monkeypatch.setattr(oktapi.metadata, "version", lambda name: "9.8.7")
    assert oktapi._version() == "9.8.7"

    def not_installed(name: str) -> str:
        raise oktapi.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(oktapi.metadata, "version", not_installed)
    assert oktapi._version() == _pyproject_version()  # the source tree, not installed
