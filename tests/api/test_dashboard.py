"""The dashboard's routes: / sends browsers to /app, every asset is ours, the CSP holds.

What the page does in a browser is tested in tests/e2e (make e2e); here, what the server serves.
"""

import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from oktapi.middleware import API_CSP, APP_CSP

WEB = Path(__file__).resolve().parents[2] / "oktapi" / "web"
CHART_JS = "/app/static/vendor/chartjs-4.6.1/chart.umd.min.js"
# The release file as published on npm (chart.js@4.6.1, dist/chart.umd.min.js).
CHART_JS_SHA256 = "87364cc2b2a76a6684929e7d6b80b18a897794db38400caff1fcf1791c6925d2"


@pytest.fixture
def backend() -> str:
    """Static files and headers do not touch storage: one backend is enough."""
    return "memory"


class _Page(HTMLParser):
    """Scripts, stylesheets and anything that would be inline code in an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.links: list[dict[str, str | None]] = []
        self.inline_code: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.inline_code.append(f"<{tag} {name}={value!r}>")
            if value and value.strip().lower().startswith("javascript:"):
                self.inline_code.append(f"<{tag} {name}={value!r}>")
        if tag == "script":
            self.scripts.append(attributes)
            self._in_script = True
        elif tag == "style":
            self.inline_code.append("<style>")
        elif tag == "link":
            self.links.append(attributes)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_code.append(f"<script>{data.strip()[:40]}")


def _csp(header: str) -> dict[str, list[str]]:
    return {words[0]: words[1:] for part in header.split(";") if (words := part.split())}


def _page(client: TestClient) -> _Page:
    page = _Page()
    page.feed(client.get("/app").text)
    return page


def test_root_redirects_browsers_to_the_dashboard(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code in (302, 303, 307)
    assert response.headers["location"] == "/app"
    landed = client.get("/")
    assert landed.status_code == 200
    assert landed.url.path == "/app"


def test_the_dashboard_page_needs_no_token_and_is_html(client: TestClient) -> None:
    response = client.get("/app")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<title>Oktopus</title>" in response.text


def test_the_dashboard_has_its_own_strict_csp_and_the_api_keeps_its_own(
    client: TestClient,
) -> None:
    for path in ("/app", "/app/static/app.css", "/app/static/js/main.js", CHART_JS):
        response = client.get(path)
        assert response.headers["content-security-policy"] == APP_CSP, path
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["x-frame-options"] == "DENY", path
    csp = _csp(APP_CSP)
    assert csp["default-src"] == ["'none'"]
    assert csp["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval'
    assert csp["style-src"] == ["'self'"]
    assert csp["connect-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    for path in ("/health", "/", "/apple", "/application"):
        assert client.get(path, follow_redirects=False).headers["content-security-policy"] == (
            API_CSP
        ), path


def test_the_page_has_no_inline_script_style_or_handler(client: TestClient) -> None:
    page = _page(client)
    assert page.inline_code == []
    assert page.scripts, "the page loads its scripts from files"
    assert all(script.get("src") for script in page.scripts)


def test_every_asset_the_page_names_is_served_by_the_service(client: TestClient) -> None:
    page = _page(client)
    urls = [s["src"] for s in page.scripts] + [link["href"] for link in page.links]
    for url in urls:
        assert url and url.startswith("/app/static/"), f"{url} is not one of ours (no CDN)"
        response = client.get(url)
        assert response.status_code == 200, url
    for script in page.scripts:
        assert "javascript" in client.get(script["src"]).headers["content-type"]
    stylesheets = [link["href"] for link in page.links if link.get("rel") == "stylesheet"]
    for url in stylesheets:
        response = client.get(url)
        assert response.headers["content-type"].startswith("text/css")
        assert "@import" not in response.text and "url(" not in response.text


def test_every_module_the_dashboard_imports_is_served(client: TestClient) -> None:
    """main.js and what it imports, followed through: a missing module breaks the page."""
    pending, seen = ["/app/static/js/main.js"], set()
    while pending:
        url = pending.pop()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        assert response.status_code == 200, url
        assert "javascript" in response.headers["content-type"], url
        for imported in re.findall(r"""^import[^"']*["']([^"']+)["']""", response.text, re.M):
            assert imported.startswith("./"), f"{url} imports {imported} from elsewhere"
            pending.append(url.rsplit("/", 1)[0] + "/" + imported[2:])
    assert len(seen) >= 5


def test_our_scripts_build_the_page_without_html_strings_or_eval() -> None:
    """Names typed by users reach the page as text; nothing the CSP would refuse."""
    for path in (WEB / "static" / "js").glob("*.js"):
        code = path.read_text()
        for risky in ("innerHTML", "outerHTML", "insertAdjacentHTML", "eval(", "new Function"):
            assert risky not in code, f"{path.name} uses {risky}"
        assert "document.write" not in code, path.name
        assert 'setAttribute("style"' not in code, path.name


def test_chart_js_is_the_pinned_release_file_with_its_licence(client: TestClient) -> None:
    response = client.get(CHART_JS)
    assert response.status_code == 200
    assert hashlib.sha256(response.content).hexdigest() == CHART_JS_SHA256
    licence = client.get("/app/static/vendor/chartjs-4.6.1/LICENSE.md")
    assert licence.status_code == 200
    assert "MIT License" in licence.text


def test_files_outside_the_static_folder_are_not_served(client: TestClient) -> None:
    for path in (
        "/app/static/../../settings.py",
        "/app/static/%2e%2e/%2e%2e/settings.py",
        "/app/static/../index.html",
        "/app/static/nothing.js",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "BaseSettings" not in response.text


def test_the_dashboard_routes_stay_out_of_the_api_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/" not in paths
    assert not [path for path in paths if path.startswith("/app")]


def test_form_helpers_are_defined_once_and_every_form_uses_them() -> None:
    """Busy buttons, field errors and refusals live in form-kit.js; no form keeps its own copy."""
    scripts = {path.name: path.read_text() for path in (WEB / "static" / "js").glob("*.js")}
    for helper in ("busy", "fieldError", "clearErrors", "withNames", "numberField", "submit"):
        defined = [
            name
            for name, code in scripts.items()
            if re.search(rf"^(export )?(async )?function {helper}\(", code, re.M)
        ]
        assert defined == ["form-kit.js"], f"{helper} defined in {defined}"
    users = ("plan-results.js", "plan-restate.js", "plan-edit.js", "plan-campaigns.js")
    others = (
        "plan-whatif.js",
        "plan-end.js",
        "report-upload.js",
        "plan-policy.js",
        "plan-outlook.js",
    )
    for name in (*users, *others):
        assert '"./form-kit.js"' in scripts[name], f"{name} does not use the form kit"
        assert "button.disabled = true" not in scripts[name], f"{name} has its own busy state"
