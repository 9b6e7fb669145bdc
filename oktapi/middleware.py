"""ASGI middleware: request body limits and security headers on every response."""

import json
from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

JSON_BODY_LIMIT = 1_000_000
UPLOAD_BODY_LIMIT = 10_000_000

API_CSP = "default-src 'none'; frame-ancestors 'none'"
# Swagger UI's page starts itself with an inline script and inline styles; all assets are ours.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'"
)
DOCS_PREFIXES = ("/api", "/docs/oauth2-redirect", "/static-offline-docs")
# The dashboard (/app) loads only its own files: scripts and styles from files (no inline code,
# no eval), fetches only this origin; no plugins, frames, forms elsewhere or <base> tricks.
APP_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
APP_PATH = "/app"


def csp_for(path: str) -> str:
    """The API's deny-all policy everywhere but the docs UI and the dashboard."""
    if path.startswith(DOCS_PREFIXES):
        return DOCS_CSP
    if path == APP_PATH or path.startswith(APP_PATH + "/"):
        return APP_CSP
    return API_CSP


class _BodyTooLarge(HTTPException):
    """An HTTPException, so FastAPI's body reader re-raises it as a 413 instead of a 400."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"Request body larger than {limit} bytes")


class BodyLimitMiddleware:
    """Refuse bodies over the limit with 413 before the app reads them into memory."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await _send_too_large(send, limit)
                return
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not response_started:
                await _send_too_large(send, limit)


async def _send_too_large(send: Send, limit: int) -> None:
    body = json.dumps({"detail": f"Request body larger than {limit} bytes"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def body_limit_for(path: str) -> int:
    """CSV uploads may be 10 MB; every JSON body at most 1 MB."""
    return UPLOAD_BODY_LIMIT if path.endswith("/results/csv") else JSON_BODY_LIMIT


class SecurityHeadersMiddleware:
    """Add the headers a browser needs to treat our responses safely."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_docs = scope["path"].startswith(DOCS_PREFIXES)
        csp = csp_for(scope["path"]).encode()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                    (b"content-security-policy", csp),
                ]
                if not is_docs:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
