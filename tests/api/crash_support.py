"""What the SIGKILL tests share: a real server on a temporary data directory, its admin's token,
a client with campaigns made over HTTP, and the store as the killed server left it."""

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from oktapi.settings import Settings
from oktapi.storage import open_storage
from scripts.service_process import ServiceProcess


@contextmanager
def started_service(tmp_path: Path) -> Iterator[ServiceProcess]:
    """Initialised and started like `make run` on tmp_path/data; stopped on the way out."""
    server = ServiceProcess(
        tmp_path / "data",
        admin_password=secrets.token_urlsafe(18),
        secret_key=secrets.token_urlsafe(48),
    )
    server.initialize()
    server.start()
    yield server
    server.stop()


def admin_headers(http: httpx.Client, service: ServiceProcess) -> dict[str, str]:
    """A bearer token of the server's admin (valid across restarts: the key stays)."""
    password = service._environment["OKTOPUS_ADMIN_PASSWORD"]
    token = http.post("/auth/token", data={"username": "admin", "password": password})
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def client_over_http(
    http: httpx.Client, headers: dict[str, str], name: str, campaigns: list[dict[str, Any]]
) -> tuple[str, list[str]]:
    """A client named `name` with one campaign per body in `campaigns`: its id and theirs."""
    client_id = http.post("/clients", json={"name": name}, headers=headers).json()["id"]
    campaign_ids = [
        http.post(f"/clients/{client_id}/campaigns", json=body, headers=headers).json()["id"]
        for body in campaigns
    ]
    return client_id, campaign_ids


@contextmanager
def killed_store(service: ServiceProcess) -> Iterator[Any]:
    """The database as the killed server left it (the store is free once the server is dead)."""
    settings = Settings(
        _env_file=None,
        mongo_url=None,
        data_dir=service.data_dir,
        secret_key=service._environment["OKTOPUS_SECRET_KEY"],
    )
    storage = open_storage(settings)
    try:
        yield storage.db
    finally:
        storage.close()
