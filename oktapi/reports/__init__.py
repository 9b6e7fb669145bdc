"""Platform report downloads (Google Ads, Meta, TikTok, Microsoft Advertising, plain CSV) → rows.

Pure parsing: no database and no web framework. `read_report` is the one entry point.
"""

from oktapi.reports.matching import MatchedRows, match_rows, read_and_match
from oktapi.reports.problems import ReportRejected
from oktapi.reports.reader import Report, ReportRow, read_report, read_report_with_problems
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
    "read_and_match",
    "read_report",
    "read_report_with_problems",
]
