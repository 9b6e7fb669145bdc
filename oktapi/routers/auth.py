"""Login (OAuth2 password flow, also used by the docs' Authorize button) and who-am-I."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from oktapi.deps import CurrentPrincipal, DbDep, SettingsDep
from oktapi.models.auth import Token
from oktapi.models.users import UserPublic
from oktapi.services import auth as auth_service
from oktapi.services import users as user_service

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/token",
    responses={
        401: {"description": "Wrong username or password"},
        429: {"description": "Too many failed logins"},
    },
)
def issue_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    db: DbDep,
    settings: SettingsDep,
) -> Token:
    address = request.client.host if request.client else "unknown"
    return auth_service.login(
        db=db, settings=settings, username=form.username, password=form.password, address=address
    )


@router.get("/me")
def read_me(principal: CurrentPrincipal, db: DbDep) -> UserPublic:
    return UserPublic.from_doc(user_service.get_user(db=db, user_id=principal.user_id))
