"""Clients: a manager's new client joins its list; deleting one removes everything under it."""

from typing import Any

from pymongo.database import Database

from oktapi.errors import must_exist
from oktapi.models.clients import ClientCreate, ClientUpdate
from oktapi.repositories.audit import AuditRepository
from oktapi.repositories.clients import ClientRepository
from oktapi.repositories.users import UserRepository
from oktapi.scope import Page, Principal


def create_client(*, db: Database, principal: Principal, body: ClientCreate) -> dict[str, Any]:
    client = ClientRepository(db).create(
        name=body.name, currency=body.currency, created_by=principal.user_id
    )
    if not principal.is_admin:
        UserRepository(db).add_client(principal.user_id, client["_id"])
    AuditRepository(db).append(
        actor=principal,
        action="client.created",
        client_id=client["_id"],
        target_id=client["_id"],
        changes={"name": client["name"], "currency": client["currency"]},
    )
    return client


def list_clients(*, db: Database, principal: Principal, page: Page) -> list[dict[str, Any]]:
    return ClientRepository(db).list_page(principal, page)


def get_client(*, db: Database, principal: Principal, client_id: str) -> dict[str, Any]:
    return must_exist(ClientRepository(db).get(principal, client_id), "Client")


def update_client(
    *, db: Database, principal: Principal, client_id: str, body: ClientUpdate
) -> dict[str, Any]:
    changes = body.changes()
    client = must_exist(ClientRepository(db).update(principal, client_id, changes), "Client")
    if changes:
        AuditRepository(db).append(
            actor=principal,
            action="client.updated",
            client_id=client_id,
            target_id=client_id,
            changes=changes,
        )
    return client


def delete_client(*, db: Database, principal: Principal, client_id: str) -> None:
    """Cascade: campaigns, plans, plan timesteps and users' access go with the client."""
    client = must_exist(ClientRepository(db).delete(principal, client_id), "Client")
    AuditRepository(db).append(
        actor=principal,
        action="client.deleted",
        client_id=client_id,
        target_id=client_id,
        changes={"name": client["name"]},
    )
