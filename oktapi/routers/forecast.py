"""Looking ahead (API.md "History before a plan, and looking ahead"): forecasts and curves."""

from fastapi import APIRouter

from oktapi.deps import CurrentPrincipal, DbDep
from oktapi.models.forecast import CurvesPublic, ForecastPublic, ForecastRequest
from oktapi.services import forecast as service

router = APIRouter(tags=["forecasts"])


@router.post("/plans/{plan_id}/forecast", response_model_exclude_unset=True)
def forecast(
    plan_id: str, body: ForecastRequest, principal: CurrentPrincipal, db: DbDep
) -> ForecastPublic:
    """What each budget per timestep would bring in the open timestep, and where it would go;
    with target_cpa or target_roas, the largest budget whose last unit still meets it.

    Read-only: the plan, its allocation and its future allocations are unchanged. 409 when the
    plan is finished, has no spend reported yet, or uses a policy without response curves.
    """
    return service.forecast(db=db, principal=principal, plan_id=plan_id, body=body)


@router.get("/plans/{plan_id}/curves")
def curves(plan_id: str, principal: CurrentPrincipal, db: DbDep) -> CurvesPublic:
    """Per campaign, the learned expected response on a budget grid with an 80% interval."""
    return service.curves(db=db, principal=principal, plan_id=plan_id)
