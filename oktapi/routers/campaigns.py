"""One campaign by id; the client scope is applied in the repository."""

from fastapi import APIRouter

from oktapi.deps import CurrentPrincipal, DbDep
from oktapi.models.campaigns import CampaignPublic, CampaignUpdate
from oktapi.services import campaigns as campaign_service

router = APIRouter(prefix="/campaigns", tags=["campaigns"])


@router.get("/{campaign_id}")
def read_campaign(campaign_id: str, principal: CurrentPrincipal, db: DbDep) -> CampaignPublic:
    return CampaignPublic.from_doc(
        campaign_service.get_campaign(db=db, principal=principal, campaign_id=campaign_id)
    )


@router.patch("/{campaign_id}")
def update_campaign(
    campaign_id: str, body: CampaignUpdate, principal: CurrentPrincipal, db: DbDep
) -> CampaignPublic:
    return CampaignPublic.from_doc(
        campaign_service.update_campaign(
            db=db, principal=principal, campaign_id=campaign_id, body=body
        )
    )


@router.delete("/{campaign_id}", status_code=204)
def delete_campaign(campaign_id: str, principal: CurrentPrincipal, db: DbDep) -> None:
    """Refused with 409 while an active plan uses the campaign."""
    campaign_service.delete_campaign(db=db, principal=principal, campaign_id=campaign_id)
