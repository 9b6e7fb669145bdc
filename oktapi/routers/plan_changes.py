"""Routes of API.md "Plans change while they run": edit, stop or delete a plan, and its campaigns."""

from fastapi import APIRouter, Response, status

from oktapi.deps import CurrentPrincipal, DbDep
from oktapi.models.plan_changes import PlanCampaignAdd, PlanCampaignUpdate, PlanUpdate
from oktapi.models.plans import PlanPublic
from oktapi.services import plan_changes as service
from oktapi.services import plans as plans_service
from oktapi.services.plan_answers import plan_public

router = APIRouter(tags=["plans"])


@router.patch("/plans/{plan_id}", response_model_exclude_unset=True)
def update_plan(
    plan_id: str, body: PlanUpdate, principal: CurrentPrincipal, db: DbDep
) -> PlanPublic:
    """Change the name, total budget, length or policy parameters, or stop the plan (final).

    Changes apply from the open timestep, whose allocation is recomputed when none of its
    results have arrived; otherwise it stands and `note` says the change applies from the next.
    """
    plan, note = service.change_plan(db=db, principal=principal, plan_id=plan_id, body=body)
    return plan_public(plan, note)


@router.delete("/plans/{plan_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_plan(plan_id: str, principal: CurrentPrincipal, db: DbDep) -> Response:
    """Delete the plan and all its records; the audit trail keeps what happened."""
    plans_service.delete_plan(db=db, principal=principal, plan_id=plan_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/plans/{plan_id}/campaigns",
    status_code=status.HTTP_201_CREATED,
    response_model_exclude_unset=True,
)
def add_plan_campaign(
    plan_id: str, body: PlanCampaignAdd, principal: CurrentPrincipal, db: DbDep
) -> PlanPublic:
    """A campaign of the plan's client joins the plan from the open timestep on."""
    plan, note = service.add_campaign(
        db=db, principal=principal, plan_id=plan_id, campaign_id=body.campaign_id
    )
    return plan_public(plan, note)


@router.patch("/plans/{plan_id}/campaigns/{campaign_id}", response_model_exclude_unset=True)
def update_plan_campaign(
    plan_id: str,
    campaign_id: str,
    body: PlanCampaignUpdate,
    principal: CurrentPrincipal,
    db: DbDep,
) -> PlanPublic:
    """Pause or resume, lock to a fixed budget (null unlocks), or set plan-level bounds (null:
    the campaign's own). A paused campaign gets 0 and need not be reported."""
    plan, note = service.update_campaign(
        db=db, principal=principal, plan_id=plan_id, campaign_id=campaign_id, body=body
    )
    return plan_public(plan, note)


@router.delete("/plans/{plan_id}/campaigns/{campaign_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_plan_campaign(
    plan_id: str, campaign_id: str, principal: CurrentPrincipal, db: DbDep
) -> Response:
    """The campaign leaves future timesteps; its history stays."""
    service.remove_campaign(db=db, principal=principal, plan_id=plan_id, campaign_id=campaign_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
