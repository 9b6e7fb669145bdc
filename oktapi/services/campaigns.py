"""Campaigns: bounds stay ordered across partial updates and reach the active plans from their
open timestep; a campaign of an active plan cannot be deleted (stopped or finished ones do not
block)."""

from typing import Any

from pymongo.database import Database

from oktapi.errors import Invalid, must_exist
from oktapi.models.campaigns import CampaignCreate, CampaignUpdate
from oktapi.repositories.audit import AuditRepository
from oktapi.repositories.campaigns import CampaignRepository
from oktapi.repositories.clients import ClientRepository
from oktapi.repositories.plans import PlanRepository
from oktapi.repositories.results import ResultRepository
from oktapi.scope import Page, Principal
from oktapi.services.plan_changes import apply_campaign_bounds


def create_campaign(
    *, db: Database, principal: Principal, client_id: str, body: CampaignCreate
) -> dict[str, Any]:
    client = must_exist(ClientRepository(db).get(principal, client_id), "Client")
    created = CampaignRepository(db).create(
        client_id=client["_id"],
        name=body.name,
        platform=body.platform,
        external_id=body.external_id,
        min_budget=body.min_budget,
        max_budget=body.max_budget,
    )
    campaign = must_exist(created, "Client")  # None: the client was deleted meanwhile
    AuditRepository(db).append(
        actor=principal,
        action="campaign.created",
        client_id=client_id,
        target_id=campaign["_id"],
        changes=body.model_dump(),
    )
    return campaign


def list_campaigns(
    *, db: Database, principal: Principal, client_id: str, page: Page
) -> list[dict[str, Any]]:
    must_exist(ClientRepository(db).get(principal, client_id), "Client")
    return CampaignRepository(db).list_for_client(principal, client_id, page)


def get_campaign(*, db: Database, principal: Principal, campaign_id: str) -> dict[str, Any]:
    return must_exist(CampaignRepository(db).get(principal, campaign_id), "Campaign")


def update_campaign(
    *, db: Database, principal: Principal, campaign_id: str, body: CampaignUpdate
) -> dict[str, Any]:
    """Checks min ≤ max on the values the campaign will have, not only on those sent."""
    campaigns = CampaignRepository(db)
    stored = must_exist(campaigns.get(principal, campaign_id), "Campaign")
    changes = body.changes()
    min_budget = changes.get("min_budget", stored["min_budget"])
    max_budget = changes["max_budget"] if "max_budget" in changes else stored.get("max_budget")
    if max_budget is not None and min_budget > max_budget:
        field = "min_budget" if "min_budget" in changes else "max_budget"
        raise Invalid(
            f"min_budget ({min_budget:g}) must not exceed max_budget ({max_budget:g})",
            loc=("body", field),
        )
    for money in ("min_budget", "max_budget"):
        if changes.get(money) is not None:
            changes[money] = float(changes[money])
    # Checked against its active plans before anything is written (422 naming the plan).
    follow_bounds = apply_campaign_bounds(
        db=db, principal=principal, campaign=stored, changes=changes
    )
    campaign = must_exist(campaigns.update(principal, campaign_id, changes), "Campaign")
    follow_bounds()
    if "name" in changes:
        PlanRepository(db).rename_campaign(campaign_id, changes["name"])
    if changes:
        AuditRepository(db).append(
            actor=principal,
            action="campaign.updated",
            client_id=stored["client_id"],
            target_id=campaign_id,
            changes=changes,
        )
    return campaign


def delete_campaign(*, db: Database, principal: Principal, campaign_id: str) -> None:
    """Refused (409) while an active plan uses it; the repository settles the race with plans.

    Its history days go with it (figures of plans over it stay with their plans)."""
    stored = must_exist(CampaignRepository(db).delete(principal, campaign_id), "Campaign")
    ResultRepository(db).delete_history(campaign_id)
    AuditRepository(db).append(
        actor=principal,
        action="campaign.deleted",
        client_id=stored["client_id"],
        target_id=campaign_id,
        changes={"name": stored["name"]},
    )
