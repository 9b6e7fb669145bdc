"""Plan schemas: what a caller may send to create a plan or report a timestep, and what it reads."""

from collections import Counter
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from oktapi.models.base import MAX_MONEY, Body, DocumentId, Name

MAX_TIMESTEPS = 10_000
MAX_PLAN_CAMPAIGNS = 500
MAX_SEED = 2**63 - 1  # BSON int64
MAX_COUNT = 10**15  # conversions, clicks, impressions: generous but finite


def _integral(value: Any) -> Any:
    """Accept 31.0 as 31 (scripts compute counts in floats); 31.5 still fails as not an integer."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Count = Annotated[int, BeforeValidator(_integral), Field(ge=0, le=MAX_COUNT)]
# Data-driven attribution credits fractions of a conversion (31.5): kept as reported, never rounded.
Conversions = Annotated[float, Field(ge=0, le=MAX_COUNT, allow_inf_nan=False)]
ReportedMoney = Annotated[float, Field(ge=0, le=MAX_MONEY, allow_inf_nan=False)]
Objective = Literal["conversions", "revenue"]
PlanStatus = Literal["active", "finished", "stopped"]
ResultSource = Literal["api", "csv"]


class PlanCreate(Body):
    """One budget optimisation: total budget b over n campaigns and t timesteps."""

    name: Name | None = None
    campaign_ids: list[DocumentId] = Field(min_length=1, max_length=MAX_PLAN_CAMPAIGNS)
    total_budget: float = Field(gt=0, le=MAX_MONEY, allow_inf_nan=False)
    timesteps: int = Field(ge=1, le=MAX_TIMESTEPS)
    start: date | None = Field(default=None, strict=False, description="ISO date of timestep 0")
    timestep_days: int = Field(default=1, ge=1, le=366)
    objective: Objective = "conversions"
    policy: str | None = Field(
        default=None, min_length=1, max_length=100, description="Left out: the best default."
    )
    policy_params: dict[str, Any] = Field(default_factory=dict)
    step: float = Field(default=0.05, gt=0, le=1, allow_inf_nan=False)
    seed: int | None = Field(
        default=None, ge=0, le=MAX_SEED, description="Left out: one is drawn and stored."
    )

    @field_validator("campaign_ids")
    @classmethod
    def _no_repeats(cls, campaign_ids: list[str]) -> list[str]:
        counts = Counter(campaign_ids)
        repeated = [cid for cid, count in counts.items() if count > 1]
        if repeated:
            listed = ", ".join(sorted(repeated))
            raise ValueError(f"each campaign may appear once; repeated: {listed}")
        return campaign_ids

    @model_validator(mode="after")
    def _ends_on_a_date(self) -> "PlanCreate":
        """Every timestep's period must be a real date, or posts past the calendar's end fail."""
        if self.start is None:
            return self
        days = self.timesteps * self.timestep_days
        if (date.max - self.start).days < days - 1:
            raise ValueError(
                f"a plan from start {self.start.isoformat()} with {self.timesteps} timesteps of "
                f"{self.timestep_days} days (timesteps x timestep_days = {days} days) would end "
                f"after {date.max.isoformat()}: use an earlier start, fewer timesteps or shorter "
                "timestep_days"
            )
        return self


class CampaignResult(Body):
    """What one campaign delivered in the reported timestep."""

    campaign_id: DocumentId
    spend: ReportedMoney
    conversions: Conversions
    revenue: ReportedMoney = 0.0
    clicks: Count | None = None
    impressions: Count | None = None


class ResultsPost(Body):
    """One timestep's results: all of the plan's campaigns, or a part of them (each once)."""

    timestep: int = Field(ge=0, le=2**31, description="The timestep these results are for.")
    results: list[CampaignResult] = Field(min_length=1, max_length=MAX_PLAN_CAMPAIGNS)


class ResultsRestatement(Body):
    """The figures a platform shows now for a closed timestep, for some or all campaigns."""

    results: list[CampaignResult] = Field(min_length=1, max_length=MAX_PLAN_CAMPAIGNS)


class ResultsWaiting(BaseModel):
    """A part of a timestep's results was taken; the timestep stays open for the others."""

    timestep: int
    status: Literal["waiting"] = "waiting"
    missing: list[str] = Field(description="Campaigns whose results have not arrived yet.")


class CampaignAllocation(BaseModel):
    """The budget to set on one campaign; the explanation fields appear when the policy gives them."""

    campaign_id: str
    campaign_name: str | None = None
    budget: float
    paused: bool | None = Field(default=None, description="True: paused in this plan (budget 0).")
    locked: bool | None = Field(default=None, description="True: budget locked by the plan.")
    expected: float | None = Field(
        default=None, description="Outcome the policy expects from this budget."
    )
    lower: float | None = Field(default=None, description="Low end of that expectation.")
    upper: float | None = Field(default=None, description="High end of that expectation.")
    marginal_return: float | None = Field(
        default=None, description="Expected extra outcome per extra unit of budget."
    )
    maturity: float | None = Field(
        default=None,
        description="Learned share of a timestep's final conversions visible when first reported.",
    )


class AllocationPublic(BaseModel):
    """The budgets of one timestep; they sum to at most timestep_budget and respect the bounds."""

    timestep: int
    allocations: list[CampaignAllocation]
    timestep_budget: float
    note: str | None = None
    period_start: date | None = Field(
        default=None, description="First day, if the plan has a start"
    )
    period_end: date | None = Field(default=None, description="Last day, if the plan has a start")


class PlanCampaignPublic(BaseModel):
    """One campaign of a plan with the rules this plan sets on it (null: the campaign's own)."""

    campaign_id: str
    campaign_name: str | None = None
    paused: bool = False
    removed: bool = False
    locked_budget: float | None = None
    min_budget: float | None = None
    max_budget: float | None = None


class LearnedFromPublic(BaseModel):
    """What a plan's first allocation learnt from before the plan began."""

    timesteps: int = Field(
        description="Timesteps of the plan's length the days before its start made (0: none)."
    )
    history_days: int = Field(description="Campaign-days of history sent before the plan.")
    history_campaign_ids: list[str] = Field(
        default_factory=list, description="The campaigns those history days are of."
    )
    plan_days: int = Field(description="Campaign-days reported to earlier plans.")
    plan_ids: list[str] = Field(description="The earlier plans those days were reported to.")


class PlanPublic(BaseModel):
    """A plan as callers see it: its settings, where it stands, and the current allocation."""

    model_config = ConfigDict(extra="ignore")

    id: str
    client_id: str
    name: str
    campaign_ids: list[str]
    total_budget: float
    timesteps: int
    start: date | None
    timestep_days: int
    objective: Objective
    policy: str
    policy_params: dict[str, Any]
    step: float
    seed: int
    status: PlanStatus
    timestep: int = Field(
        description="The next timestep to be reported (= timesteps when finished)."
    )
    budget_spent: float
    budget_remaining: float
    allocation: AllocationPublic | None = Field(
        description="Budgets for `timestep`; null once finished."
    )
    missing: list[str] | None = Field(
        default=None,
        description="Campaigns of the open timestep whose results have not arrived yet.",
    )
    campaigns: list[PlanCampaignPublic] | None = Field(
        default=None, description="Per campaign: its name and the plan's own rules for it."
    )
    note: str | None = Field(default=None, description="What a change did, when it was delayed.")
    learned_from: LearnedFromPublic | None = Field(
        default=None,
        description="What the first allocation learnt from: campaign history and earlier plans "
        "over the same campaigns (a day of a campaign counts once, from the latest source).",
    )
    created_at: datetime
    updated_at: datetime


class CampaignResultPublic(BaseModel):
    """One campaign's reported numbers, as stored."""

    campaign_id: str
    spend: float
    conversions: float
    revenue: float
    clicks: int | None = None
    impressions: int | None = None


class HistoryEntry(BaseModel):
    """One timestep: the allocation given and the latest results (null while still open)."""

    timestep: int
    allocation: AllocationPublic
    results: list[CampaignResultPublic] | None
    reported_at: datetime | None
    revision: int | None = Field(
        default=None,
        description="Restatements that changed this timestep (0 = as first reported).",
    )
    restated_at: datetime | None = None


class PlanHistory(BaseModel):
    plan_id: str
    status: PlanStatus
    timestep: int
    entries: list[HistoryEntry]


class CsvImportPublic(BaseModel):
    """What a CSV upload did to each timestep it named."""

    rows: int
    closed: list[int] = Field(description="Timesteps the file completed and closed.")
    restated: list[int] = Field(description="Closed timesteps whose figures the file changed.")
    waiting: list[int] = Field(description="The open timestep, if the file reported it in part.")
    unchanged: list[int] = Field(description="Closed timesteps the file repeated as recorded.")
    status: PlanStatus
    timestep: int
    allocation: AllocationPublic | None
    missing: list[str] | None = None
    platform: str = Field(
        default="plain",
        description="The report format read: google_ads, meta_ads, tiktok_ads, microsoft_ads, plain.",
    )
    ignored_campaigns: list[str] = Field(
        default_factory=list,
        description="Campaigns the file names that are not in the plan (with ignore_unknown=true).",
    )
