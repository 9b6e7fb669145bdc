"""Campaign schemas: one ad campaign whose budget per timestep stays within its bounds."""

from typing import Annotated, ClassVar, Self

from pydantic import AfterValidator, StringConstraints, model_validator

from oktapi.models.base import Body, Money, Name, PartialBody, PublicDocument, Timestamps, printable

Platform = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(printable),
]
# The ad platform's own id for the campaign (Google Ads "Campaign ID", Meta's, ...), so a report
# download matches the campaign by it; unique per client when set.
ExternalId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(printable),
]


class CampaignCreate(Body):
    name: Name
    platform: Platform | None = None
    external_id: ExternalId | None = None
    min_budget: Money = 0.0
    max_budget: Money | None = None

    @model_validator(mode="after")
    def _bounds_in_order(self) -> Self:
        if self.max_budget is not None and self.min_budget > self.max_budget:
            raise ValueError("min_budget must not exceed max_budget")
        return self


class CampaignUpdate(PartialBody):
    """Partial update; `max_budget: null` removes the cap, `platform`/`external_id: null` clear."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset({"platform", "external_id", "max_budget"})

    name: Name | None = None
    platform: Platform | None = None
    external_id: ExternalId | None = None
    min_budget: Money | None = None
    max_budget: Money | None = None

    @model_validator(mode="after")
    def _bounds_in_order(self) -> Self:
        if (
            self.min_budget is not None
            and self.max_budget is not None
            and self.min_budget > self.max_budget
        ):
            raise ValueError("min_budget must not exceed max_budget")
        return self


class CampaignPublic(PublicDocument, Timestamps):
    client_id: str
    name: str
    platform: str | None
    external_id: str | None = None
    min_budget: float
    max_budget: float | None
