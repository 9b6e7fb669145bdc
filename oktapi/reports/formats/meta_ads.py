"""Meta Ads Manager exports (Facebook, Instagram).

Each row covers `Reporting starts` to `Reporting ends` (one day only when the report is broken
down by day). `Amount spent (EUR)` carries the account currency in its name. `Results` counts
whatever the campaign optimises for, named by `Result indicator`; Meta leaves both empty on a
day without results. Purchase value columns carry the revenue.
"""

from oktapi.reports.formats.base import ReportFormat

# Result indicators that count conversions: pixel and Conversions API events, purchases, leads.
CONVERSION_MARKERS = (
    "offsite_conversion",
    "purchase",
    "lead",
    "complete_registration",
    "subscribe",
    "start_trial",
    "conversions:",
)


def is_conversion(indicator: str) -> bool:
    """True for 'actions:offsite_conversion.fb_pixel_purchase', false for 'actions:link_click'."""
    text = indicator.strip().lower()
    return any(marker in text for marker in CONVERSION_MARKERS)


META_ADS = ReportFormat(
    name="meta_ads",
    label="Meta Ads Manager",
    aliases={
        "date": ("day", "reporting starts", "date"),
        "end": ("reporting ends",),
        "campaign": ("campaign name", "campaign"),
        "external_id": ("campaign id",),
        "currency": ("currency",),
        "spend": ("amount spent",),
        "conversions": ("results", "purchases", "website purchases"),
        "indicator": ("result indicator",),
        "revenue": (
            "purchases conversion value",
            "website purchases conversion value",
            "purchase conversion value",
            "results value",
            "conversion value",
        ),
    },
    recognise=lambda names, preamble: (
        "reporting starts" in names
        or "result indicator" in names
        or any(name == "amount spent" or name.startswith("amount spent (") for name in names)
    ),
    period_columns={"week": "a week", "month": "a month"},
    how_to_get_days="export it with Breakdown → By time → Day",
)
