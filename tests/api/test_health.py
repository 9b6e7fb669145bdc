"""The unauthenticated surface: health, docs UI served offline, headers."""

import re

from fastapi.testclient import TestClient


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
