"""Campaign history schemas: daily results from before a plan, as sent and as read back."""

import datetime as dt

from pydantic import BaseModel, Field

from oktapi.models.base import Body
from oktapi.models.plans import Conversions, Count, ReportedMoney, ResultSource

# One upload: about three years of days of one campaign.
MAX_HISTORY_DAYS = 1100


class HistoryDay(Body):
    """What one campaign delivered on one day before (or outside) any plan."""

    date: dt.date = Field(strict=False, description="ISO date of the day; not in the future")
    spend: ReportedMoney
    conversions: Conversions
    revenue: ReportedMoney = 0.0
    clicks: Count | None = None
    impressions: Count | None = None


class HistoryPost(Body):
    """Days of one campaign; a day already recorded is restated with these figures."""

    results: list[HistoryDay] = Field(min_length=1, max_length=MAX_HISTORY_DAYS)


class HistoryDayPublic(BaseModel):
    """One recorded day: the latest figures, and how often they were restated."""

    date: dt.date
    spend: float
    conversions: float
    revenue: float
    clicks: int | None = None
    impressions: int | None = None
    revision: int = Field(description="Restatements that changed this day (0 = as first sent).")
    source: ResultSource
    reported_at: dt.datetime
    restated_at: dt.datetime | None = None


class CampaignHistory(BaseModel):
    """One page of a campaign's recorded days, oldest first."""

    campaign_id: str
    total: int = Field(description="Days recorded for the campaign (all pages).")
    entries: list[HistoryDayPublic]


class HistoryUploadPublic(BaseModel):
    """What an upload did: days added, days restated, days sent again as recorded."""

    rows: int
    campaign_ids: list[str] = Field(description="Campaigns the upload named.")
    added: int
    restated: int
    unchanged: int
    first_day: dt.date
    last_day: dt.date
    platform: str = Field(default="plain", description="The report format read (CSV only).")
    ignored_campaigns: list[str] = Field(
        default_factory=list,
        description="Campaigns the file names that are not the client's (ignore_unknown=true).",
    )
