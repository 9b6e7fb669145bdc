"""Forecast schemas: what a caller may ask of a plan's open timestep, and what it reads back."""

from typing import Self

from pydantic import BaseModel, Field, model_validator

from oktapi.models.base import MAX_MONEY, Body, Money

MAX_FORECAST_BUDGETS = 100
MAX_TARGET_ROAS = 1e6


class ForecastRequest(Body):
    """Budgets per timestep to forecast, and/or one target to find the largest budget for."""

    timestep_budgets: list[Money] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_FORECAST_BUDGETS,
        description="Budgets for the open timestep to forecast, each >= 0.",
    )
    target_cpa: float | None = Field(
        default=None,
        gt=0,
        le=MAX_MONEY,
        allow_inf_nan=False,
        description="Most an extra conversion may cost at the last unit of budget.",
    )
    target_roas: float | None = Field(
        default=None,
        gt=0,
        le=MAX_TARGET_ROAS,
        allow_inf_nan=False,
        description="Least extra revenue per unit of budget at the last unit.",
    )

    @model_validator(mode="after")
    def _something_to_answer(self) -> Self:
        if self.target_cpa is not None and self.target_roas is not None:
            raise ValueError("give target_cpa or target_roas, not both")
        if self.timestep_budgets is None and self.target_cpa is None and self.target_roas is None:
            raise ValueError("give timestep_budgets, target_cpa or target_roas")
        return self


class ForecastAllocation(BaseModel):
    """One campaign's share of a forecast budget."""

    campaign_id: str
    campaign_name: str | None = None
    budget: float
    expected: float = Field(description="Objective this budget is expected to bring.")
    marginal_return: float = Field(description="Expected extra objective per extra unit here.")
    extrapolated: bool = Field(description="More than 1.5x the most this campaign ever spent.")


class BudgetScenario(BaseModel):
    """One budget per timestep: its best split and what it is expected to bring."""

    timestep_budget: float
    expected: float = Field(description="The plan's objective expected in the open timestep.")
    lower: float = Field(description="80% prediction interval of the realised objective: low end.")
    upper: float = Field(description="High end of that interval.")
    marginal_return: float = Field(description="Objective per unit of the last unit of budget.")
    expected_conversions: float
    expected_revenue: float
    marginal_cpa: float | None = Field(
        description="Budget per extra conversion at the last unit; null when it buys none."
    )
    marginal_roas: float = Field(description="Extra revenue per unit at the last unit.")
    extrapolated: bool = Field(
        description="Beyond what the data support: a campaign's budget, or the total, is more "
        "than 1.5x the most ever spent."
    )
    allocations: list[ForecastAllocation]


class Recommended(BudgetScenario):
    """The largest budget whose last unit still meets the target."""

    target_cpa: float | None = None
    target_roas: float | None = None


class ForecastPublic(BaseModel):
    """Forecasts of the plan's open timestep."""

    plan_id: str
    timestep: int
    objective: str
    scenarios: list[BudgetScenario]
    recommended: Recommended | None = Field(
        default=None, description="With a target: the largest budget meeting it, or null."
    )
    note: str | None = Field(
        default=None, description="Why no budget meets the target, or caveats."
    )


class CampaignCurve(BaseModel):
    """A campaign's learned response: expected objective on a budget grid, with an 80% interval."""

    campaign_id: str
    campaign_name: str | None = None
    current_budget: float
    budgets: list[float]
    expected: list[float]
    lower: list[float] = Field(description="80% credible interval of the expected objective.")
    upper: list[float]


class CurvesPublic(BaseModel):
    plan_id: str
    timestep: int
    objective: str
    campaigns: list[CampaignCurve]
