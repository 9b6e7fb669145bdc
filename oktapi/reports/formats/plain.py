"""The plain columns of API.md: date or timestep, campaign, spend, conversions, revenue."""

from oktapi.reports.formats.base import ReportFormat

PLAIN = ReportFormat(
    name="plain",
    label="plain CSV",
    aliases={
        "timestep": ("timestep", "time step"),
        "date": ("date", "day"),
        "campaign": ("campaign", "campaign name"),
        "external_id": ("campaign id", "external id"),
        "currency": ("currency", "currency code"),
        "spend": ("spend", "cost"),
        "conversions": ("conversions",),
        "revenue": ("revenue", "conversion value", "conversions value", "conv. value"),
    },
    recognise=lambda names, preamble: True,
    blank_is_zero=False,  # a hand-made file with a blank spend is more likely a mistake
)
