"""TikTok Ads Manager custom report exports: `By Day`, `Campaign name`, `Cost`, `Conversions`.

Value columns such as `Total purchase value` carry the revenue; the last row is a total
("Total of 3 results"), skipped.
"""

from oktapi.reports.formats.base import ReportFormat

TIKTOK_ADS = ReportFormat(
    name="tiktok_ads",
    label="TikTok Ads Manager",
    aliases={
        "date": ("by day", "date", "day", "stat time day"),
        "campaign": ("campaign name", "campaign"),
        "external_id": ("campaign id",),
        "currency": ("currency", "currency code"),
        "spend": ("cost", "total cost"),
        "conversions": ("conversions", "total purchase", "purchases"),
        "revenue": (
            "total purchase value",
            "total complete payment value",
            "purchase value",
            "total value",
            "conversion value",
        ),
    },
    recognise=lambda names, preamble: (
        "by day" in names or ("campaign name" in names and "cost" in names)
    ),
    period_columns={"by week": "a week", "by month": "a month", "week": "a week"},
    how_to_get_days="export it with the time dimension By Day",
)
