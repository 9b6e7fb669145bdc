"""Client schemas: an advertiser whose campaigns share one currency."""

from typing import Annotated

from pydantic import BeforeValidator, StringConstraints

from oktapi.models.base import Body, Name, PartialBody, PublicDocument, Timestamps


def _normalise_currency(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


# ISO 4217-like: three letters, stored upper case ("eur" is read as "EUR").
Currency = Annotated[
    str, BeforeValidator(_normalise_currency), StringConstraints(pattern=r"^[A-Z]{3}$")
]


class ClientCreate(Body):
    name: Name
    currency: Currency = "USD"


class ClientUpdate(PartialBody):
    name: Name | None = None
    currency: Currency | None = None


class ClientPublic(PublicDocument, Timestamps):
    name: str
    currency: str
    created_by: str | None = None
