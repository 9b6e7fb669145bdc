"""One error hierarchy, mapped to API.md's status codes by one set of handlers."""

from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class OktopusError(Exception):
    """Base of every error the service answers on purpose."""

    status_code = 400

    def __init__(self, detail: Any = None, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail if detail is not None else self.default_detail()
        self.headers = headers

    @classmethod
    def default_detail(cls) -> str:
        return "Bad request"


class NotFound(OktopusError):
    """Unknown id, or an id the caller may not see (never leak existence across tenants)."""

    status_code = 404

    def __init__(self, what: str = "Resource") -> None:
        super().__init__(f"{what} not found")


Found = TypeVar("Found")


def must_exist(document: Found | None, what: str) -> Found:
    """The services' side of one rule: repositories answer None for a missing (or foreign)
    document, services turn that into NotFound(what), which the handlers answer 404."""
    if document is None:
        raise NotFound(what)
    return document


class NotAuthenticated(OktopusError):
    status_code = 401

    def __init__(self, detail: str = "Not authenticated") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(OktopusError):
    status_code = 403


class Conflict(OktopusError):
    status_code = 409


class PayloadTooLarge(OktopusError):
    status_code = 413


class TooManyRequests(OktopusError):
    status_code = 429

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})


class ServiceBusy(OktopusError):
    """A bounded resource (password hashing) is fully used; the caller should retry shortly."""

    status_code = 503

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})


class Invalid(OktopusError):
    """A value that parses but makes no sense; answered in FastAPI's validation shape."""

    status_code = 422

    def __init__(self, message: str, loc: tuple[str | int, ...] = ("body",)) -> None:
        super().__init__([{"type": "value_error", "loc": list(loc), "msg": message}])


class InvalidMany(Invalid):
    """Several problems answered at once, in FastAPI's validation shape (the first ``limit``)."""

    def __init__(
        self, problems: list[tuple[str, tuple[str | int, ...]]], *, limit: int | None = None
    ) -> None:
        super().__init__(problems[0][0], problems[0][1])
        shown = problems if limit is None else problems[:limit]
        self.detail = [
            {"type": "value_error", "loc": list(loc), "msg": message} for message, loc in shown
        ]
        if len(problems) > len(shown):
            self.detail.append(
                {
                    "type": "value_error",
                    "loc": ["body"],
                    "msg": f"... and {len(problems) - len(shown)} more problems",
                }
            )


def install_error_handlers(app: FastAPI) -> None:
    """Every error leaves as JSON ``{"detail": ...}`` with the right status."""

    @app.exception_handler(OktopusError)
    async def _oktopus_error(_: Request, exc: OktopusError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _jsonable_errors(exc.errors())
        malformed = any(error.get("type") == "json_invalid" for error in errors)
        return JSONResponse({"detail": errors}, 400 if malformed else 422)

    @app.exception_handler(Exception)
    async def _unexpected_error(_: Request, exc: Exception) -> JSONResponse:
        """A bug still answers JSON; Starlette re-raises it afterwards so the server logs it."""
        return JSONResponse({"detail": "Internal server error"}, 500)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)


def _jsonable_errors(errors: Any) -> list[dict[str, Any]]:
    """Drop non-JSON context (exceptions, NaN inputs, huge strings) from validation errors."""
    cleaned = []
    for error in errors:
        item: dict[str, Any] = {
            "type": error.get("type"),
            "loc": [
                part if isinstance(part, int) else _safe_text(str(part))
                for part in error.get("loc", ())
            ],
            "msg": _safe_text(error.get("msg", "")),
        }
        value = error.get("input")
        if _names_a_secret(error.get("loc", ())):
            pass  # a refused password is never echoed back
        elif isinstance(value, str):
            item["input"] = _safe_text(value[:200])
        elif value is None or (isinstance(value, int) and abs(value) < 10**18):
            item["input"] = value  # bools are ints; huge ints are left out
        cleaned.append(item)
    return cleaned


def _names_a_secret(loc: Any) -> bool:
    """A field like `password`, wherever it sits in the body or form."""
    return any(isinstance(part, str) and "password" in part.lower() for part in loc)


def _safe_text(text: str) -> str:
    """Lone surrogates (valid in JSON escapes, not in UTF-8) would make the error itself a 500."""
    return text.encode("utf-8", "replace").decode("utf-8")
