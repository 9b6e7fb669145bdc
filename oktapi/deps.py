"""FastAPI dependencies shared by every router: database, settings, caller, pagination.

Only the web layer imports this module; the values it builds (`Principal`, `Page`) are defined
in oktapi/scope.py, which services and repositories import instead.
"""

from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import OAuth2PasswordBearer
from pymongo.database import Database

from oktapi.errors import Forbidden, NotAuthenticated
from oktapi.repositories.users import UserRepository
from oktapi.scope import Page, Principal
from oktapi.security import decode_access_token
from oktapi.settings import Settings

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_db(request: Request) -> Database:
    return request.app.state.storage.db


SettingsDep = Annotated[Settings, Depends(get_settings)]
DbDep = Annotated[Database, Depends(get_db)]


def get_principal(
    db: DbDep, settings: SettingsDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> Principal:
    """The caller behind a valid token; disabled or deleted users and reset passwords fail here."""
    if not token:
        raise NotAuthenticated()
    claims = decode_access_token(token, secret=settings.signing_key)
    if claims is None:
        raise NotAuthenticated("Invalid or expired token")
    user = UserRepository(db).get(claims["sub"])
    if user is None or user.get("disabled") or user.get("token_version", 0) != claims.get("ver", 0):
        raise NotAuthenticated("Invalid or expired token")
    return Principal(
        user_id=user["_id"],
        username=user["username"],
        role=user["role"],
        client_ids=frozenset(user.get("client_ids", [])),
    )


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def get_admin(principal: CurrentPrincipal) -> Principal:
    if not principal.is_admin:
        raise Forbidden("Admins only")
    return principal


AdminPrincipal = Annotated[Principal, Depends(get_admin)]


def get_page(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> Page:
    return Page(limit=limit, offset=offset)


PageDep = Annotated[Page, Depends(get_page)]
