"""Forecasts and response curves of a plan's open timestep: read-only, never changes the plan."""

import math
from typing import Any

from pymongo.database import Database

from oktapi.engine.forecast import Forecaster
from oktapi.engine.forecast_answers import BudgetForecast, ForecastUnavailable
from oktapi.errors import Conflict
from oktapi.models.forecast import (
    BudgetScenario,
    CampaignCurve,
    CurvesPublic,
    ForecastAllocation,
    ForecastPublic,
    ForecastRequest,
    Recommended,
)
from oktapi.repositories.results import ResultRepository
from oktapi.scope import Principal
from oktapi.services.plan_answers import current_campaign_ids
from oktapi.services.timesteps import learned_state, load_plan


def forecast(
    *, db: Database, principal: Principal, plan_id: str, body: ForecastRequest
) -> ForecastPublic:
    """Per budget its split and expected objective; with a target, the largest budget meeting it."""
    plan, forecaster = _forecaster(db, principal, plan_id)
    scenarios = [
        BudgetScenario(**_scenario(item, plan))
        for item in forecaster.forecast(body.timestep_budgets or [])
    ]
    answer: dict[str, Any] = {
        "plan_id": plan["_id"],
        "timestep": plan["version"],
        "objective": plan["objective"],
        "scenarios": scenarios,
    }
    if body.target_cpa is not None or body.target_roas is not None:
        recommendation = forecaster.recommend(
            target_cpa=body.target_cpa, target_roas=body.target_roas
        )
        answer["recommended"] = (
            None
            if recommendation.forecast is None
            else Recommended(
                **_scenario(recommendation.forecast, plan),
                target_cpa=body.target_cpa,
                target_roas=body.target_roas,
            )
        )
        if recommendation.reason is not None:
            answer["note"] = recommendation.reason
    return ForecastPublic(**answer)


def curves(*, db: Database, principal: Principal, plan_id: str) -> CurvesPublic:
    """Each campaign's learned response curve on a budget grid, with its current budget."""
    plan, forecaster = _forecaster(db, principal, plan_id)
    learned = forecaster.curves()
    names, current = plan.get("campaign_names") or {}, set(current_campaign_ids(plan))
    campaigns = [
        CampaignCurve(
            campaign_id=campaign_id,
            campaign_name=names.get(campaign_id),
            current_budget=float(learned.current_budget[index]),
            budgets=learned.budgets[index].tolist(),
            expected=learned.expected[index].tolist(),
            lower=learned.lower[index].tolist(),
            upper=learned.upper[index].tolist(),
        )
        for index, campaign_id in enumerate(plan["campaign_ids"])
        if campaign_id in current
    ]
    return CurvesPublic(
        plan_id=plan["_id"],
        timestep=plan["version"],
        objective=plan["objective"],
        campaigns=campaigns,
    )


def _forecaster(db: Database, principal: Principal, plan_id: str) -> tuple[dict, Forecaster]:
    """The plan (404 when unseen) and a forecaster of its state; 409 when it cannot be forecast."""
    plan = load_plan(db, principal, plan_id)
    if plan["status"] == "finished":
        raise Conflict(
            f"the plan is finished: all {plan['timesteps']} timesteps have been reported, "
            "there is no timestep to forecast"
        )
    if plan["status"] == "stopped":
        raise Conflict("the plan is stopped: there is no timestep to forecast")
    try:
        # what the next close will learn from: the stored state plus pending restatements
        return plan, Forecaster(learned_state(plan, ResultRepository(db)))
    except ForecastUnavailable as error:
        raise Conflict(str(error)) from None


def _scenario(item: BudgetForecast, plan: dict[str, Any]) -> dict[str, Any]:
    cpa = item.marginal_cpa
    names, current = plan.get("campaign_names") or {}, set(current_campaign_ids(plan))
    return {
        "timestep_budget": item.timestep_budget,
        "expected": item.expected,
        "lower": item.lower,
        "upper": item.upper,
        "marginal_return": item.marginal_return,
        "expected_conversions": item.conversions,
        "expected_revenue": item.revenue,
        "marginal_cpa": cpa if math.isfinite(cpa) else None,
        "marginal_roas": item.marginal_roas,
        "extrapolated": item.extrapolated,
        "allocations": [
            ForecastAllocation(
                campaign_id=campaign_id,
                campaign_name=names.get(campaign_id),
                budget=float(item.budgets[index]),
                expected=float(item.campaign_expected[index]),
                marginal_return=float(item.campaign_marginal[index]),
                extrapolated=bool(item.campaign_extrapolated[index]),
            )
            for index, campaign_id in enumerate(plan["campaign_ids"])
            if campaign_id in current
        ],
    }
