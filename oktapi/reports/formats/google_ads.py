"""Google Ads report downloads (CSV, and the UTF-16 tab-separated "Excel" CSV).

Above the header: the report title and the date range ("December 1, 2026 - December 3, 2026").
Rows segmented by `Day` (ISO or "Dec 1, 2026"); `Cost` and `Conv. value` with thousands
separators; `Conversions` fractional under data-driven attribution (41.50); `--` where there is
nothing; "Total: ..." rows at the end, which are skipped.
"""

from oktapi.reports.formats.base import ReportFormat

# Column names only Google Ads writes, telling its reports from TikTok's `Campaign name` + `Cost`.
GOOGLE_ONLY = frozenset({"conv. value", "currency code", "impr.", "all conv.", "conv. rate"})

GOOGLE_ADS = ReportFormat(
    name="google_ads",
    label="Google Ads",
    aliases={
        "date": ("day", "date"),
        "campaign": ("campaign", "campaign name"),
        "external_id": ("campaign id",),
        "currency": ("currency code", "currency"),
        "spend": ("cost",),
        "conversions": ("conversions",),
        "revenue": ("conv. value", "conversion value", "total conv. value"),
    },
    recognise=lambda names, preamble: (
        "cost" in names
        and "by day" not in names  # TikTok's
        and ("campaign" in names or bool(names & GOOGLE_ONLY))
    ),
    period_columns={"week": "a week", "month": "a month", "quarter": "a quarter", "year": "a year"},
    how_to_get_days="download it with Segment → Time → Day",
)
