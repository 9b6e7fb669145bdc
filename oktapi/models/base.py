"""Field types and base classes shared by every entity's Create/Update/Public schemas."""

import unicodedata
from datetime import datetime
from typing import Annotated, Any, ClassVar, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

MAX_MONEY = 1e12
MAX_NAME_LENGTH = 200


def encodable(text: str) -> str:
    """Refuse lone surrogates: JSON can escape them but UTF-8, BSON and argon2 cannot hold them."""
    if any("\ud800" <= char <= "\udfff" for char in text):
        raise ValueError("text must be valid Unicode (no lone surrogates)")
    return text


def printable(text: str) -> str:
    """Refuse control characters (NUL, newlines, escapes) in labels shown on dashboards."""
    encodable(text)
    if any(unicodedata.category(char) == "Cc" for char in text):
        raise ValueError("text must not contain control characters")
    return text


# Trimmed, 1 to 200 printable characters: what a person would type as a label.
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME_LENGTH),
    AfterValidator(printable),
]
# An id as stored (uuid4().hex); the length cap keeps garbage out of queries and errors.
DocumentId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
# Money in the client's currency: finite, never negative, never absurd.
Money = Annotated[float, Field(ge=0, le=MAX_MONEY, allow_inf_nan=False)]


class Body(BaseModel):
    """A request body: unknown fields are refused and types are not coerced from strings."""

    model_config = ConfigDict(extra="forbid", strict=True)


class PartialBody(Body):
    """A PATCH body: a field left out is unchanged; null is refused unless it means "clear"."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _refuse_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                if value is None and key in cls.model_fields and key not in cls.NULLABLE:
                    raise ValueError(f"{key} cannot be null; leave it out to keep it unchanged")
        return data

    def changes(self) -> dict[str, Any]:
        """Only the fields the caller sent, ready for a `$set`."""
        return self.model_dump(exclude_unset=True)


class OrderedBounds(BaseModel):
    """A body with min_budget and max_budget fields: the min may not exceed the max."""

    @model_validator(mode="after")
    def _bounds_in_order(self) -> Self:
        low, high = getattr(self, "min_budget", None), getattr(self, "max_budget", None)
        if low is not None and high is not None and low > high:
            raise ValueError("min_budget must not exceed max_budget")
        return self


class PublicDocument(BaseModel):
    """A response built from a stored document: `_id` becomes `id`, unknown keys are dropped."""

    model_config = ConfigDict(extra="ignore")

    id: str

    @classmethod
    def from_doc(cls, document: dict[str, Any]) -> Self:
        return cls.model_validate({**document, "id": document["_id"]})


class Timestamps(BaseModel):
    created_at: datetime
    updated_at: datetime
