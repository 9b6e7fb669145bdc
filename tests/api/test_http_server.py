"""What only a real HTTP server shows: refused bodies, connections after errors, proxy headers.

Most tests drive a server started exactly as `make run` starts it (scripts/service_process.py:
initialize.py, then `python -m oktapi.serve`) on an embedded store; the one that needs a route
that fails runs uvicorn in a thread around an app with that route added.
"""

import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from oktapi.app import create_app
from oktapi.middleware import JSON_BODY_LIMIT
from oktapi.services.auth import MAX_FAILED_LOGINS
from oktapi.storage import drop_memory_store
from scripts.service_process import HOST, ROOT, ServiceProcess, free_port
from tests.conftest import make_settings

ADMIN_PASSWORD = "http-server-admin-password-0"
FIVE_MB = 5_000_000
TRUSTED_PROXY = "127.0.0.1"


@contextmanager
def _service(tmp_path: Path, **settings: str) -> Iterator[ServiceProcess]:
    service = ServiceProcess(
        tmp_path / "data",
        admin_password=ADMIN_PASSWORD,
        secret_key=secrets.token_urlsafe(48),
        settings=settings,
    )
    service.initialize()
    with service:
        service.start()
        yield service


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """Started like `make run`, with no proxy configured."""
    with _service(tmp_path_factory.mktemp("plain")) as service:
        yield service


@pytest.fixture(scope="module")
def proxied_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """Started like `make run` with OKTOPUS_FORWARDED_ALLOW_IPS naming a proxy on loopback."""
    with _service(
        tmp_path_factory.mktemp("proxied"), OKTOPUS_FORWARDED_ALLOW_IPS=TRUSTED_PROXY
    ) as service:
        yield service


# --- a raw HTTP/1.1 client, so that nothing reconnects behind the test's back -----------------


def _connect(service_port: int) -> socket.socket:
    connection = socket.create_connection((HOST, service_port), timeout=30)
    return connection


def _read_answer(connection: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One response: status, headers (lower-case names) and the body of its Content-Length."""
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        chunk = connection.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection without answering")
        buffer += chunk
    head, _, body = buffer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection mid-answer")
        body += chunk
    return int(status_line.split()[1]), headers, body[:length]


def _get_health(connection: socket.socket) -> int:
    connection.sendall(b"GET /health HTTP/1.1\r\nHost: oktopus\r\n\r\n")
    return _read_answer(connection)[0]


def _post_head(path: str, extra: str) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: oktopus\r\nContent-Type: application/json\r\n{extra}\r\n"
    ).encode()


# --- refused bodies reach the client as 413 ---------------------------------------------------


@pytest.mark.parametrize("size", [JSON_BODY_LIMIT + 200_000, FIVE_MB])
def test_urllib_reads_the_413_of_an_oversized_body(server: ServiceProcess, size: int) -> None:
    """urllib sends the whole body before reading: a server that hangs up resets it."""
    for _ in range(3):
        request = urllib.request.Request(
            f"{server.base_url}/clients",
            data=b"x" * size,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=60)
        assert refused.value.code == 413
        assert "detail" in json.loads(refused.value.read())


def test_a_raw_client_reads_the_413_and_may_reuse_the_connection(server: ServiceProcess) -> None:
    with _connect(server.port) as connection:
        connection.sendall(_post_head("/clients", f"Content-Length: {FIVE_MB}\r\n"))
        connection.sendall(b"x" * FIVE_MB)
        status, headers, body = _read_answer(connection)
        assert status == 413
        assert "detail" in json.loads(body)
        assert headers.get("connection") != "close"
        assert _get_health(connection) == 200


def test_a_chunked_oversized_body_is_read_to_the_end_and_refused(server: ServiceProcess) -> None:
    piece = b"x" * 65_536
    with _connect(server.port) as connection:
        connection.sendall(_post_head("/clients", "Transfer-Encoding: chunked\r\n"))
        for _ in range(FIVE_MB // len(piece)):
            connection.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        connection.sendall(b"0\r\n\r\n")
        status, _, body = _read_answer(connection)
        assert status == 413
        assert "detail" in json.loads(body)
        assert _get_health(connection) == 200


def test_a_client_waiting_for_100_continue_gets_the_413_at_once(server: ServiceProcess) -> None:
    """curl asks before sending a large body: it must hear "no", not "go ahead"."""
    with _connect(server.port) as connection:
        head = f"Content-Length: {FIVE_MB}\r\nExpect: 100-continue\r\n"
        connection.sendall(_post_head("/clients", head))
        status, headers, _ = _read_answer(connection)
        assert status == 413
        assert headers["connection"] == "close"


def test_a_body_declared_beyond_what_is_drained_is_refused_unread(server: ServiceProcess) -> None:
    with _connect(server.port) as connection:
        connection.sendall(_post_head("/clients", "Content-Length: 100000000\r\n"))
        connection.sendall(b"x" * 100_000)
        status, headers, _ = _read_answer(connection)
        assert status == 413
        assert headers["connection"] == "close"


# --- the connection stays usable after an error -----------------------------------------------


def test_a_keep_alive_connection_survives_4xx_answers(server: ServiceProcess) -> None:
    refusals = [
        (b"GET /nowhere HTTP/1.1\r\nHost: oktopus\r\n\r\n", 404),
        (b"GET /auth/me HTTP/1.1\r\nHost: oktopus\r\n\r\n", 401),
        (b"DELETE /health HTTP/1.1\r\nHost: oktopus\r\n\r\n", 405),
        (_post_head("/auth/token", "Content-Length: 2\r\n") + b"{}", 422),
        (_post_head("/clients", "Content-Length: 9\r\n") + b"not json{", 400),
    ]
    with _connect(server.port) as connection:
        for request, expected in refusals:
            connection.sendall(request)
            assert _read_answer(connection)[0] == expected, request[:40]
            assert _get_health(connection) == 200, request[:40]


@contextmanager
def _uvicorn_in_thread(app) -> Iterator[int]:
    """uvicorn serving `app` from a thread, configured as oktapi.serve configures it."""
    config = uvicorn.Config(
        app,
        host=HOST,
        port=free_port(),
        log_level="critical",
        proxy_headers=False,
        server_header=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(3000):
            if server.started or not thread.is_alive():
                break
            time.sleep(0.01)
        assert server.started, "uvicorn did not start"
        yield config.port
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_a_keep_alive_connection_survives_a_500(tmp_path: Path) -> None:
    settings = make_settings("memory", tmp_path / "data")
    app = create_app(settings)

    def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/broken-for-test", broken)
    try:
        with _uvicorn_in_thread(app) as port, _connect(port) as connection:
            for _ in range(2):
                connection.sendall(b"GET /broken-for-test HTTP/1.1\r\nHost: oktopus\r\n\r\n")
                status, _, body = _read_answer(connection)
                assert status == 500
                assert json.loads(body) == {"detail": "Internal server error"}
                assert _get_health(connection) == 200
    finally:
        drop_memory_store(settings.mongo_url or "")


# --- forwarded headers are believed only from the configured proxy ---------------------------


def _admin_headers(http: httpx.Client) -> dict[str, str]:
    login = http.post("/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def test_x_forwarded_for_does_not_reset_the_login_limit(server: ServiceProcess) -> None:
    victim_password = "victim-password-8472-kestrel"
    with httpx.Client(base_url=server.base_url, timeout=60) as http:
        created = http.post(
            "/users",
            json={"username": "victim", "password": victim_password},
            headers=_admin_headers(http),
        )
        assert created.status_code == 201, created.text
        for index in range(MAX_FAILED_LOGINS):
            wrong = http.post(
                "/auth/token",
                data={"username": "victim", "password": f"wrong-password-{index}"},
                headers={"X-Forwarded-For": f"198.51.100.{index + 1}"},
            )
            assert wrong.status_code == 401
        spoofed = http.post(
            "/auth/token",
            data={"username": "victim", "password": victim_password},
            headers={"X-Forwarded-For": "198.51.100.200"},
        )
        assert spoofed.status_code == 429


def test_a_configured_proxy_is_believed(proxied_server: ServiceProcess) -> None:
    """Behind the proxy named in OKTOPUS_FORWARDED_ALLOW_IPS, the limit is the caller's."""
    with httpx.Client(base_url=proxied_server.base_url, timeout=60) as http:
        for index in range(MAX_FAILED_LOGINS):
            wrong = http.post(
                "/auth/token",
                data={"username": "admin", "password": f"wrong-password-{index}"},
                headers={"X-Forwarded-For": "203.0.113.7"},
            )
            assert wrong.status_code == 401
        locked = http.post(
            "/auth/token",
            data={"username": "admin", "password": ADMIN_PASSWORD},
            headers={"X-Forwarded-For": "203.0.113.7"},
        )
        assert locked.status_code == 429
        elsewhere = http.post(
            "/auth/token",
            data={"username": "admin", "password": ADMIN_PASSWORD},
            headers={"X-Forwarded-For": "203.0.113.8"},
        )
        assert elsewhere.status_code == 200


def test_hsts_only_over_https_as_a_trusted_proxy_reports_it(
    server: ServiceProcess, proxied_server: ServiceProcess
) -> None:
    https = {"X-Forwarded-Proto": "https"}
    behind_proxy = httpx.get(f"{proxied_server.base_url}/health", headers=https)
    assert behind_proxy.headers["strict-transport-security"].startswith("max-age=")
    assert "strict-transport-security" not in httpx.get(f"{proxied_server.base_url}/health").headers
    # Without a configured proxy, nobody can claim HTTPS for a plain-HTTP connection.
    assert (
        "strict-transport-security"
        not in httpx.get(f"{server.base_url}/health", headers=https).headers
    )


def test_no_server_header(server: ServiceProcess, proxied_server: ServiceProcess) -> None:
    for service in (server, proxied_server):
        for path in ("/health", "/nowhere", "/api"):
            assert "server" not in httpx.get(f"{service.base_url}{path}").headers, path


def test_hsts_when_the_app_is_served_over_https(tmp_path: Path) -> None:
    settings = make_settings("memory", tmp_path / "data")
    with TestClient(create_app(settings), base_url="https://oktopus.example") as secure:
        assert secure.get("/health").headers["strict-transport-security"] == "max-age=31536000"
    with TestClient(create_app(settings)) as plain:
        assert "strict-transport-security" not in plain.get("/health").headers
    drop_memory_store(settings.mongo_url or "")


def test_a_proxy_setting_that_is_not_an_address_stops_the_start(tmp_path: Path) -> None:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("OKTOPUS_")
    }
    started = subprocess.run(
        [sys.executable, "-m", "oktapi.serve", "--port", str(free_port())],
        cwd=ROOT,
        env={
            **environment,
            "OKTOPUS_DATA_DIR": str(tmp_path / "data"),
            "OKTOPUS_FORWARDED_ALLOW_IPS": "10.0.0.5, proxy.internal",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode == 2
    assert "OKTOPUS_FORWARDED_ALLOW_IPS: 'proxy.internal' is not an IP address" in started.stderr
    assert "Traceback" not in started.stderr
