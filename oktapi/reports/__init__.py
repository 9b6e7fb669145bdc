"""Platform report downloads (Google Ads, Meta, TikTok, Microsoft Advertising, plain CSV) → rows.

Pure parsing: no database and no web framework. `read_report` is the one entry point.
"""

from oktapi.reports.matching import MatchedRows, match_rows
from oktapi.reports.problems import ReportRejected
from oktapi.reports.reader import Report, ReportRow, read_report
from oktapi.reports.text import MAX_CELL_CHARS, MAX_DATA_ROWS
from oktapi.reports.values import DateOrder

__all__ = [
    "MAX_CELL_CHARS",
    "MAX_DATA_ROWS",
    "DateOrder",
    "MatchedRows",
    "Report",
    "ReportRejected",
    "ReportRow",
    "match_rows",
    "read_report",
]
