"""ASGI middleware: request body limits, security headers, connections kept after errors."""

import json
import logging
from collections.abc import Callable

import anyio
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

JSON_BODY_LIMIT = 1_000_000
UPLOAD_BODY_LIMIT = 10_000_000
# A refused body is still read (and thrown away) up to this much and this long, so that the
# client, which sends its whole body before it reads an answer, reads the 413 instead of a
# reset connection. Bodies declared larger are not read at all: the connection is closed.
DRAIN_LIMIT_FACTOR = 4
MIN_DRAIN_BYTES = 16_000_000
DRAIN_SECONDS = 5.0
# Served over HTTPS (directly, or behind a trusted proxy that says so): browsers stay on HTTPS.
HSTS = b"max-age=31536000"

logger = logging.getLogger("oktapi")

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
        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            # A client that asked "100-continue" has not sent the body and will not: answer now.
            drainable = int(declared) <= _drain_limit(limit)
            waiting = headers.get(b"expect", b"").lower() == b"100-continue"
            complete = drainable and not waiting and await _drain(receive, _drain_limit(limit))
            await _send_too_large(send, limit, keep_alive=complete)
            return
        received = 0
        body_complete = False
        refused = False
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received, body_complete, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_complete = not message.get("more_body", False)
                if received > limit:
                    refused = True
                    raise _BodyTooLarge(limit)
            return message

        async def finish_reading() -> bool:
            """After a refusal: read the rest of the body; True if the connection can be reused."""
            return body_complete or await _drain(receive, _drain_limit(limit) - received)

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                if refused and not await finish_reading():  # the app answered the refusal
                    headers = [*message.get("headers", []), (b"connection", b"close")]
                    message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not response_started:
                await _send_too_large(send, limit, keep_alive=await finish_reading())


def _drain_limit(limit: int) -> int:
    return max(DRAIN_LIMIT_FACTOR * limit, MIN_DRAIN_BYTES)


async def _drain(receive: Receive, budget: int) -> bool:
    """Read and discard the rest of the body; True if it ended within `budget` bytes and time."""
    with anyio.move_on_after(DRAIN_SECONDS):
        while budget >= 0:
            message = await receive()
            if message["type"] != "http.request":
                return False  # the client went away
            budget -= len(message.get("body", b""))
            if not message.get("more_body", False):
                return budget >= 0
    return False


async def _send_too_large(send: Send, limit: int, *, keep_alive: bool) -> None:
    """The 413; the connection stays open only if the whole body was read."""
    body = json.dumps({"detail": f"Request body larger than {limit} bytes"}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if not keep_alive:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": 413, "headers": headers})
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
        # uvicorn sets the scheme from X-Forwarded-Proto only for a trusted proxy (oktapi.serve).
        is_https = scope.get("scheme") == "https"

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
                if is_https:
                    headers.append((b"strict-transport-security", HSTS))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class KeepConnectionAfterErrors:
    """Log an unexpected error that was already answered (500) instead of re-raising it.

    Starlette answers 500 and then re-raises so that the server logs the error; uvicorn also
    closes the connection then, so a client's next request on it fails. The answer was whole,
    so the connection is still good: log here and let uvicorn keep it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        answered = False

        async def watching_send(message: Message) -> None:
            nonlocal answered
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                answered = True

        try:
            await self.app(scope, receive, watching_send)
        except Exception:
            if not answered:
                raise
            logger.exception("Unexpected error in %s %s", scope.get("method"), scope["path"])
