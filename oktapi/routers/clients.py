"""Clients and their campaigns' collection routes; a manager sees only its own clients."""

from fastapi import APIRouter

from oktapi.deps import CurrentPrincipal, DbDep, PageDep
from oktapi.models.campaigns import CampaignCreate, CampaignPublic
from oktapi.models.clients import ClientCreate, ClientPublic, ClientUpdate
from oktapi.services import campaigns as campaign_service
from oktapi.services import clients as client_service

router = APIRouter(prefix="/clients", tags=["clients"])


@router.post("", status_code=201)
def create_client(body: ClientCreate, principal: CurrentPrincipal, db: DbDep) -> ClientPublic:
    return ClientPublic.from_doc(
        client_service.create_client(db=db, principal=principal, body=body)
    )


@router.get("")
def list_clients(principal: CurrentPrincipal, db: DbDep, page: PageDep) -> list[ClientPublic]:
    clients = client_service.list_clients(db=db, principal=principal, page=page)
    return [ClientPublic.from_doc(client) for client in clients]


@router.get("/{client_id}")
def read_client(client_id: str, principal: CurrentPrincipal, db: DbDep) -> ClientPublic:
    return ClientPublic.from_doc(
        client_service.get_client(db=db, principal=principal, client_id=client_id)
    )


@router.patch("/{client_id}")
def update_client(
    client_id: str, body: ClientUpdate, principal: CurrentPrincipal, db: DbDep
) -> ClientPublic:
    return ClientPublic.from_doc(
        client_service.update_client(db=db, principal=principal, client_id=client_id, body=body)
    )


@router.delete("/{client_id}", status_code=204)
def delete_client(client_id: str, principal: CurrentPrincipal, db: DbDep) -> None:
    """Also deletes the client's campaigns, plans and plan history."""
    client_service.delete_client(db=db, principal=principal, client_id=client_id)


@router.post("/{client_id}/campaigns", status_code=201, tags=["campaigns"])
def create_campaign(
    client_id: str, body: CampaignCreate, principal: CurrentPrincipal, db: DbDep
) -> CampaignPublic:
    return CampaignPublic.from_doc(
        campaign_service.create_campaign(db=db, principal=principal, client_id=client_id, body=body)
    )


@router.get("/{client_id}/campaigns", tags=["campaigns"])
def list_campaigns(
    client_id: str, principal: CurrentPrincipal, db: DbDep, page: PageDep
) -> list[CampaignPublic]:
    campaigns = campaign_service.list_campaigns(
        db=db, principal=principal, client_id=client_id, page=page
    )
    return [CampaignPublic.from_doc(campaign) for campaign in campaigns]
