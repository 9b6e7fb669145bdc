"""Limits and headers: body caps, CORS allow-list, security headers, docs under CSP, token expiry."""

import base64
import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient

from oktapi.app import create_app
from oktapi.middleware import JSON_BODY_LIMIT, UPLOAD_BODY_LIMIT
from oktapi.security import ALGORITHM, create_access_token
from oktapi.settings import Settings
from oktapi.storage import drop_memory_store
from tests.conftest import TEST_PASSWORD, insert_user, make_settings

ALLOWED_ORIGIN = "https://dashboard.example.com"
JSON_HEADERS = {"content-type": "application/json"}


@pytest.fixture
def backend() -> str:
    """Headers and limits live in middleware, above storage: one backend is enough."""
    return "memory"


def _app_client(tmp_path: Path, **overrides: object) -> Iterator[TestClient]:
    settings = make_settings("memory", tmp_path / "data", **overrides)
    with TestClient(create_app(settings)) as test_client:
        yield test_client
    drop_memory_store(settings.mongo_url or "")


@pytest.fixture
def cors_client(tmp_path: Path) -> Iterator[TestClient]:
    yield from _app_client(tmp_path, cors_origins=f"{ALLOWED_ORIGIN}, https://other.example.org")


JUNK_ID = "0123456789abcdef0123456789abcdef"


def _operations(client: TestClient) -> list[tuple[str, str, dict]]:
    """(method, concrete path, operation) for every documented operation, ids filled with junk."""
    operations = []
    for path, methods in client.get("/openapi.json").json()["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", JUNK_ID, path)
        operations += [(method.upper(), concrete, spec) for method, spec in methods.items()]
    return operations


def _body_routes(client: TestClient) -> list[tuple[str, str]]:
    """Every operation that reads a JSON body (CSV uploads have their own, larger cap)."""
    return [
        (method, path)
        for method, path, spec in _operations(client)
        if "application/json" in spec.get("requestBody", {}).get("content", {})
    ]


def _chunks(total: int, size: int = 64_000) -> Iterator[bytes]:
    """A JSON-looking body sent chunked, so the server sees no Content-Length."""
    yield b'{"name": "'
    sent = 10
    while sent < total:
        piece = min(size, total - sent)
        yield b"x" * piece
        sent += piece


# --- body limits ------------------------------------------------------------------------------


def test_write_routes_exist_to_be_limited(client: TestClient) -> None:
    assert ("POST", "/clients") in _body_routes(client)


def test_json_body_over_1_mb_is_413_by_content_length(client: TestClient, admin_headers) -> None:
    body = b'{"name": "' + b"x" * JSON_BODY_LIMIT + b'"}'
    for method, path in _body_routes(client):
        response = client.request(method, path, content=body, headers=admin_headers | JSON_HEADERS)
        assert response.status_code == 413, (method, path)
        assert "detail" in response.json()


def test_chunked_json_body_over_1_mb_is_413(client: TestClient, admin_headers) -> None:
    for method, path in _body_routes(client):
        response = client.request(
            method,
            path,
            content=_chunks(JSON_BODY_LIMIT + 1),
            headers=admin_headers | JSON_HEADERS,
        )
        assert response.status_code == 413, (method, path)


def test_body_under_the_limit_reaches_validation(client: TestClient, admin_headers, db) -> None:
    body = b'{"name": "' + b"x" * (JSON_BODY_LIMIT - 100) + b'"}'
    response = client.post("/clients", content=body, headers=admin_headers | JSON_HEADERS)
    assert response.status_code == 422
    assert db["clients"].count_documents({}) == 0


def test_csv_uploads_may_be_larger_but_not_over_10_mb(client: TestClient, admin_headers) -> None:
    path = "/plans/0123456789abcdef0123456789abcdef/results/csv"
    csv_headers = admin_headers | {"content-type": "text/csv"}
    two_mb = b"timestep,campaign,spend,conversions\n" + b"0,a,1,1\n" * 250_000
    assert client.post(path, content=two_mb, headers=csv_headers).status_code != 413
    too_big = b"x" * (UPLOAD_BODY_LIMIT + 1)
    assert client.post(path, content=too_big, headers=csv_headers).status_code == 413
    chunked = client.post(path, content=_chunks(UPLOAD_BODY_LIMIT + 1), headers=csv_headers)
    assert chunked.status_code == 413
    as_form = client.post(path, files={"file": ("report.csv", too_big)}, headers=admin_headers)
    assert as_form.status_code == 413


# --- CORS -------------------------------------------------------------------------------------


def _preflight(client: TestClient, origin: str) -> dict[str, str]:
    response = client.options(
        "/clients",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    return {"status": str(response.status_code), **response.headers}


def test_cors_allows_configured_origins(cors_client: TestClient) -> None:
    preflight = _preflight(cors_client, ALLOWED_ORIGIN)
    assert preflight["status"] == "200"
    assert preflight["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "POST" in preflight["access-control-allow-methods"]
    assert "authorization" in preflight["access-control-allow-headers"].lower()
    simple = cors_client.get("/health", headers={"Origin": "https://other.example.org"})
    assert simple.headers["access-control-allow-origin"] == "https://other.example.org"


def test_cors_refuses_other_origins(cors_client: TestClient) -> None:
    preflight = _preflight(cors_client, "https://evil.example.net")
    assert preflight["status"] == "400"
    assert "access-control-allow-origin" not in preflight
    simple = cors_client.get("/health", headers={"Origin": "https://evil.example.net"})
    assert "access-control-allow-origin" not in simple.headers


def test_no_cors_without_configured_origins(client: TestClient) -> None:
    preflight = _preflight(client, ALLOWED_ORIGIN)
    assert "access-control-allow-origin" not in preflight
    simple = client.get("/health", headers={"Origin": ALLOWED_ORIGIN})
    assert "access-control-allow-origin" not in simple.headers


def test_over_limit_answer_is_readable_by_an_allowed_origin(
    cors_client: TestClient,
) -> None:
    response = cors_client.post(
        "/clients",
        content=b"x" * (JSON_BODY_LIMIT + 1),
        headers={"Origin": ALLOWED_ORIGIN} | JSON_HEADERS,
    )
    assert response.status_code == 413
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN


# --- security headers -------------------------------------------------------------------------


def _assert_security_headers(response, what: object) -> None:
    headers = response.headers
    assert headers.get("x-content-type-options") == "nosniff", what
    assert headers.get("referrer-policy") == "no-referrer", what
    assert headers.get("x-frame-options") == "DENY", what
    assert "frame-ancestors 'none'" in headers.get("content-security-policy", ""), what


def test_security_headers_on_every_route_and_every_error(client: TestClient, admin_headers) -> None:
    for method, path, _ in _operations(client):
        for headers in ({}, admin_headers):
            response = client.request(method, path, headers=headers)
            _assert_security_headers(response, (method, path, response.status_code))
    for path in (
        "/api",
        "/docs/oauth2-redirect",
        "/openapi.json",
        "/static-offline-docs/swagger-ui.css",
    ):
        _assert_security_headers(client.get(path), path)
    too_large = client.post("/clients", content=b"x" * (JSON_BODY_LIMIT + 1))
    assert too_large.status_code == 413
    _assert_security_headers(too_large, "413")
    _assert_security_headers(client.delete("/health"), "405")
    _assert_security_headers(client.get("/nowhere"), "404")


def test_api_responses_forbid_everything_and_are_not_cached(client: TestClient) -> None:
    response = client.get("/health")
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert response.headers["cache-control"] == "no-store"


def test_cors_preflight_carries_security_headers(cors_client: TestClient) -> None:
    response = cors_client.options(
        "/clients",
        headers={"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    _assert_security_headers(response, "preflight")


# --- the docs UI under its CSP ----------------------------------------------------------------


def _csp(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def _allows(csp: dict[str, list[str]], directive: str, source: str) -> bool:
    sources = csp.get(directive, csp.get("default-src", []))
    return source in sources


@pytest.mark.parametrize("page_path", ["/api", "/docs/oauth2-redirect"])
def test_docs_pages_work_under_their_csp(client: TestClient, page_path: str) -> None:
    page = client.get(page_path)
    assert page.status_code == 200
    csp = _csp(page.headers["content-security-policy"])
    html = page.text

    for source in re.findall(r"<script[^>]*\ssrc=[\"']([^\"']+)", html):
        assert source.startswith("/") and not source.startswith("//"), source
        assert _allows(csp, "script-src", "'self'")
        asset = client.get(source)
        assert asset.status_code == 200, source
        # nosniff makes the browser refuse a script served with a non-script type.
        assert "javascript" in asset.headers["content-type"], source
    for tag in re.findall(r"<link[^>]*>", html):
        href = re.search(r"href=[\"']([^\"']+)", tag).group(1)
        assert href.startswith("/") and not href.startswith("//"), href
        asset = client.get(href)
        assert asset.status_code == 200, href
        if "stylesheet" in tag:
            assert _allows(csp, "style-src", "'self'")
            assert asset.headers["content-type"].startswith("text/css"), href
            for url in re.findall(r"url\(\s*[\"']?([^\"')]+)", asset.text):
                assert url.startswith("data:") and _allows(csp, "img-src", "data:"), url[:60]
        else:
            assert _allows(csp, "img-src", "'self'")

    for inline in re.findall(r"<script>(.*?)</script>", html, flags=re.S):
        digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
        assert _allows(csp, "script-src", "'unsafe-inline'") or _allows(
            csp, "script-src", f"'sha256-{digest}'"
        ), "the page's inline start-up script is blocked"
    if "/openapi.json" in html:
        assert _allows(csp, "connect-src", "'self'")
        assert client.get("/openapi.json").status_code == 200
    assert "'unsafe-eval'" not in csp.get("script-src", [])
    assert csp.get("frame-ancestors") == ["'none'"]


def test_docs_authorize_button_posts_to_the_token_route(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    flows = [
        scheme["flows"]["password"]["tokenUrl"]
        for scheme in schema["components"]["securitySchemes"].values()
        if scheme.get("type") == "oauth2"
    ]
    assert flows == ["/auth/token"]
    csp = _csp(client.get("/api").headers["content-security-policy"])
    assert _allows(csp, "connect-src", "'self'")


# --- token expiry -----------------------------------------------------------------------------


def _token(settings: Settings, user_id: str, **kwargs: object) -> dict[str, str]:
    token = create_access_token(
        subject=user_id, token_version=0, secret=settings.signing_key, **kwargs
    )
    return {"Authorization": f"Bearer {token}"}


def test_expired_tokens_are_refused(client: TestClient, db, settings: Settings) -> None:
    admin = insert_user(db, username="expiring-admin", role="admin")
    fresh = _token(settings, admin, minutes=settings.access_token_minutes)
    assert client.get("/audit", headers=fresh).status_code == 200
    already_expired = _token(settings, admin, minutes=-1)
    issued_long_ago = _token(
        settings,
        admin,
        minutes=settings.access_token_minutes,
        now=datetime.now(UTC) - timedelta(minutes=settings.access_token_minutes + 1),
    )
    for headers in (already_expired, issued_long_ago):
        response = client.get("/audit", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"


def test_forged_and_malformed_tokens_are_refused(
    client: TestClient, db, settings: Settings
) -> None:
    admin = insert_user(db, username="forged-admin", role="admin")
    expires = datetime.now(UTC) + timedelta(minutes=5)
    other_key = jwt.encode({"sub": admin, "ver": 0, "exp": expires}, "x" * 64, algorithm=ALGORITHM)
    unsigned = jwt.encode({"sub": admin, "ver": 0, "exp": expires}, None, algorithm="none")
    no_expiry = jwt.encode({"sub": admin, "ver": 0}, settings.signing_key, algorithm=ALGORITHM)
    for token in (other_key, unsigned, no_expiry, "not-a-token", ""):
        response = client.get("/audit", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, token


def test_login_issues_tokens_that_last_as_configured(tmp_path: Path) -> None:
    for test_client in _app_client(tmp_path, access_token_minutes=7):
        insert_user(test_client.app.state.storage.db, username="timed-admin", role="admin")
        response = test_client.post(
            "/auth/token", data={"username": "timed-admin", "password": TEST_PASSWORD}
        )
        assert response.status_code == 200
        issued = response.json()
        assert issued["expires_in"] == 7 * 60
        claims = jwt.decode(issued["access_token"], options={"verify_signature": False})
        assert claims["exp"] - claims["iat"] == 7 * 60


def test_an_unexpected_error_is_json_with_security_headers(tmp_path: Path) -> None:
    settings = make_settings("memory", tmp_path / "data")
    app = create_app(settings)

    def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/broken-for-test", broken)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        response = test_client.get("/broken-for-test")
    drop_memory_store(settings.mongo_url or "")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error"}
    assert "a bug" not in response.text
    _assert_security_headers(response, "500")
