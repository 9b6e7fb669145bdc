"""Campaign schemas: one ad campaign whose budget per timestep stays within its bounds."""

from typing import Annotated, ClassVar

from pydantic import AfterValidator, StringConstraints

from oktapi.models.base import (
    Body,
    Money,
    Name,
    OrderedBounds,
    PartialBody,
    PublicDocument,
    Timestamps,
    printable,
)

# Trimmed, 1 to 100 printable characters.
ShortLabel = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(printable),
]
Platform = ShortLabel
# The ad platform's own id for the campaign (Google Ads "Campaign ID", Meta's, ...), so a report
# download matches the campaign by it; unique per client when set.
ExternalId = ShortLabel


class CampaignCreate(Body, OrderedBounds):
    name: Name
    platform: Platform | None = None
    external_id: ExternalId | None = None
    min_budget: Money = 0.0
    max_budget: Money | None = None


class CampaignUpdate(PartialBody, OrderedBounds):
    """Partial update; `max_budget: null` removes the cap, `platform`/`external_id: null` clear."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset({"platform", "external_id", "max_budget"})

    name: Name | None = None
    platform: Platform | None = None
    external_id: ExternalId | None = None
    min_budget: Money | None = None
    max_budget: Money | None = None


class CampaignPublic(PublicDocument, Timestamps):
    client_id: str
    name: str
    platform: str | None
    external_id: str | None = None
    min_budget: float
    max_budget: float | None
