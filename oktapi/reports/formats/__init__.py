"""The report formats Oktopus reads, most specific first: the first that recognises a header wins."""

from oktapi.reports.formats.base import ReportFormat
from oktapi.reports.formats.google_ads import GOOGLE_ADS
from oktapi.reports.formats.meta_ads import META_ADS
from oktapi.reports.formats.microsoft_ads import MICROSOFT_ADS
from oktapi.reports.formats.plain import PLAIN
from oktapi.reports.formats.tiktok_ads import TIKTOK_ADS

FORMATS: tuple[ReportFormat, ...] = (META_ADS, MICROSOFT_ADS, GOOGLE_ADS, TIKTOK_ADS, PLAIN)

__all__ = [
    "FORMATS",
    "GOOGLE_ADS",
    "META_ADS",
    "MICROSOFT_ADS",
    "PLAIN",
    "TIKTOK_ADS",
    "ReportFormat",
]
