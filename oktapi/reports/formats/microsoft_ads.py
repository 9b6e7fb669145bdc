"""Microsoft Advertising report downloads.

"Key: value" preamble lines (Report Name, Report Time, Time Zone, Report Aggregation, ...)
above the header; `Gregorian date` or `Time period`; `Spend`, `Conversions`, `Revenue`; and a
"©2026 Microsoft Corporation. All rights reserved." footer, skipped.
"""

from oktapi.reports.formats.base import ReportFormat, normal_header

PREAMBLE_KEYS = ("report name", "report time", "time zone", "report aggregation")


def preamble_values(preamble: list[str]) -> dict[str, str]:
    """'Report Aggregation: Daily' lines as {'report aggregation': 'Daily'}."""
    values = {}
    for line in preamble:
        key, colon, value = line.strip().strip('"').partition(":")
        if colon:
            values[normal_header(key)] = value.strip().strip('",')
    return values


MICROSOFT_ADS = ReportFormat(
    name="microsoft_ads",
    label="Microsoft Advertising",
    aliases={
        "date": ("gregorian date", "time period", "timeperiod", "date", "day"),
        "campaign": ("campaign name", "campaignname", "campaign"),
        "external_id": ("campaign id", "campaignid"),
        "currency": ("currency code", "currencycode", "currency"),
        "spend": ("spend",),
        "conversions": ("conversions", "conv.", "all conversions"),
        "revenue": ("revenue", "all revenue"),
    },
    recognise=lambda names, preamble: (
        bool(set(preamble_values(preamble)) & set(PREAMBLE_KEYS))
        or bool(names & {"gregorian date", "time period", "timeperiod"})
    ),
    period_columns={"week": "a week", "month": "a month", "year": "a year"},
    how_to_get_days="download it with Daily aggregation (View: Day)",
)
