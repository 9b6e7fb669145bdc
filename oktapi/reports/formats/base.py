"""What a report format is: the header names of each field, how it is recognised, its quirks."""

import re
from collections.abc import Callable
from dataclasses import dataclass, field

# Fields a row can carry; loc entries and the plain format use these names.
FIELDS = (
    "timestep",
    "date",
    "end",
    "campaign",
    "external_id",
    "currency",
    "spend",
    "conversions",
    "revenue",
    "indicator",
)


def normal_header(name: str) -> str:
    """'Amount_spent  (EUR)' → 'amount spent (eur)': case, spaces, underscores and dashes ignored."""
    return re.sub(r"[\s_\-]+", " ", name.replace("\ufeff", "").strip().lower())


def header_currency(name: str) -> str | None:
    """'Amount spent (EUR)' → 'EUR': Meta writes the account currency into the column name."""
    match = re.search(r"\(\s*([A-Za-z]{3})\s*\)\s*$", name.strip())
    return match.group(1).upper() if match else None


@dataclass(frozen=True)
class ReportFormat:
    """One platform's export: which header names mean which field, and how it marks nothing."""

    name: str  # returned as Report.platform
    label: str  # how messages name it
    aliases: dict[str, tuple[str, ...]]  # field -> normalised header names, best first
    recognise: Callable[[set[str], list[str]], bool]  # (header names, preamble lines) -> is it
    # metric cells left empty or written "--" mean 0 (the platform leaves them so on quiet days)
    blank_is_zero: bool = True
    # header names whose rows are totals over a period longer than a day, and what to do instead
    period_columns: dict[str, str] = field(default_factory=dict)
    how_to_get_days: str = "download the report broken down by day"

    def columns(self, header: list[str]) -> dict[str, int]:
        """field -> index of its column in `header` (first alias found wins)."""
        normal = [normal_header(name) for name in header]
        found: dict[str, int] = {}
        for wanted, aliases in self.aliases.items():
            for alias in aliases:
                matches = [
                    index
                    for index, name in enumerate(normal)
                    if (name == alias or name.startswith(alias + " ("))
                    and index not in found.values()
                ]
                if matches:
                    found[wanted] = matches[0]
                    break
        return found

    def missing(self, columns: dict[str, int]) -> list[str]:
        """The required fields `columns` lacks, named as this format's headers."""
        missing = []
        if not {"date", "timestep"} & set(columns):
            missing.append(self._names("timestep", "date"))
        if not {"campaign", "external_id"} & set(columns):
            missing.append(self._names("campaign"))
        missing += [self._names(name) for name in ("spend", "conversions") if name not in columns]
        return missing

    def _names(self, *fields: str) -> str:
        names = [self.aliases[name][0] for name in fields if name in self.aliases]
        return " (or ".join(names) + ")" * (len(names) - 1)

    def looks_like_header(self, header: list[str], preamble: list[str]) -> bool:
        """This format's header line: recognised and with a campaign and a spend column."""
        columns = self.columns(header)
        names = {normal_header(name) for name in header}
        return (
            self.recognise(names, preamble)
            and bool({"campaign", "external_id"} & set(columns))
            and "spend" in columns
        )
