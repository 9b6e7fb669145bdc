"""User administration: the rules that keep the service with a working admin."""

from dataclasses import dataclass
from typing import Any

from pymongo.database import Database

from oktapi.errors import Conflict, Invalid, must_exist
from oktapi.models.users import UserCreate, UserUpdate
from oktapi.password_policy import password_problem
from oktapi.repositories.audit import AuditRepository
from oktapi.repositories.clients import ClientRepository
from oktapi.repositories.users import UserRepository
from oktapi.scope import Page, Principal
from oktapi.security import generate_password, hash_password


def _existing_clients(db: Database, client_ids: list[str]) -> list[str]:
    """Deduplicated ids, after checking every one names a client (422 listing the unknown ones)."""
    unique_ids = list(dict.fromkeys(client_ids))
    existing = ClientRepository(db).existing_ids(unique_ids)
    missing = [client_id for client_id in unique_ids if client_id not in existing]
    if missing:
        raise Invalid(f"Unknown client ids: {', '.join(missing[:20])}", loc=("body", "client_ids"))
    return unique_ids


def _check_password(password: str, *, username: str) -> None:
    """422 on the password field, in words that never repeat it."""
    problem = password_problem(password, username=username)
    if problem is not None:
        raise Invalid(problem, loc=("body", "password"))


def create_user(*, db: Database, actor: Principal, body: UserCreate) -> dict[str, Any]:
    _check_password(body.password, username=body.username)
    client_ids = _existing_clients(db, body.client_ids)
    user = UserRepository(db).create(
        username=body.username,
        password_hash=hash_password(body.password),
        role=body.role,
        client_ids=client_ids,
    )
    AuditRepository(db).append(
        actor=actor,
        action="user.created",
        target_id=user["_id"],
        changes={"username": user["username"], "role": user["role"], "client_ids": client_ids},
    )
    return user


def list_users(*, db: Database, page: Page) -> list[dict[str, Any]]:
    return UserRepository(db).list_page(page)


def get_user(*, db: Database, user_id: str) -> dict[str, Any]:
    return must_exist(UserRepository(db).get(user_id), "User")


def update_user(
    *, db: Database, actor: Principal, user_id: str, body: UserUpdate
) -> dict[str, Any]:
    """Role changes and password resets revoke the user's tokens; nobody demotes or disables themselves."""
    users = UserRepository(db)
    user = must_exist(users.get(user_id), "User")
    requested = body.changes()
    if user_id == actor.user_id:
        if requested.get("disabled"):
            raise Conflict("You cannot disable yourself; ask another admin")
        if requested.get("role", user["role"]) != user["role"]:
            raise Conflict("You cannot change your own role; ask another admin")

    changes: dict[str, Any] = {}
    audit: list[tuple[str, dict[str, Any]]] = []
    if "role" in requested and requested["role"] != user["role"]:
        changes["role"] = requested["role"]
        audit.append(("user.role_changed", {"from": user["role"], "to": requested["role"]}))
    if "client_ids" in requested:
        client_ids = _existing_clients(db, requested["client_ids"])
        if client_ids != user.get("client_ids", []):
            changes["client_ids"] = client_ids
            audit.append(
                ("user.clients_changed", {"from": user.get("client_ids", []), "to": client_ids})
            )
    if "disabled" in requested and requested["disabled"] != user.get("disabled", False):
        changes["disabled"] = requested["disabled"]
        audit.append(("user.disabled" if requested["disabled"] else "user.enabled", {}))
    if "password" in requested:
        _check_password(requested["password"], username=user["username"])
        changes["password_hash"] = hash_password(requested["password"])
        audit.append(("user.password_reset", {}))
    if not changes:
        return user

    revoke = "role" in changes or "password_hash" in changes or changes.get("disabled", False)
    updated = must_exist(users.update(user_id, changes, revoke_tokens=bool(revoke)), "User")
    audit_log = AuditRepository(db)
    for action, details in audit:
        audit_log.append(actor=actor, action=action, target_id=user_id, changes=details)
    return updated


def delete_user(*, db: Database, actor: Principal, user_id: str) -> None:
    if user_id == actor.user_id:
        raise Conflict("You cannot delete yourself; ask another admin")
    user = must_exist(UserRepository(db).delete(user_id), "User")
    AuditRepository(db).append(
        actor=actor,
        action="user.deleted",
        target_id=user_id,
        changes={"username": user["username"]},
    )


@dataclass(frozen=True)
class AdminSetup:
    """What ensure_admin did, so initialize.py can say it (and print a generated password once)."""

    username: str
    created: bool
    password_reset: bool
    generated_password: str | None


def ensure_admin(
    *, db: Database, username: str, password: str | None, reset_password: bool = False
) -> AdminSetup:
    """Create the admin if absent; touch an existing one only when asked to reset its password."""
    if password is not None:
        problem = password_problem(password, username=username)
        if problem is not None:
            raise ValueError(f"OKTOPUS_ADMIN_PASSWORD is refused: {problem}")
    users = UserRepository(db)
    existing = users.find_by_username(username)
    if existing is not None and not reset_password:
        return AdminSetup(username, created=False, password_reset=False, generated_password=None)

    generated = None
    if password is None:
        password = generated = generate_password()
    audit = AuditRepository(db)
    if existing is None:
        user = users.create(
            username=username, password_hash=hash_password(password), role="admin", client_ids=[]
        )
        audit.append(
            actor=None,
            action="user.created",
            target_id=user["_id"],
            changes={"username": username, "role": "admin"},
        )
        return AdminSetup(
            username, created=True, password_reset=False, generated_password=generated
        )

    # A reset is how an operator regains access: the account also becomes an enabled admin.
    users.update(
        existing["_id"],
        {"password_hash": hash_password(password), "role": "admin", "disabled": False},
        revoke_tokens=True,
    )
    audit.append(actor=None, action="user.password_reset", target_id=existing["_id"])
    return AdminSetup(username, created=False, password_reset=True, generated_password=generated)
