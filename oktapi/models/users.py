"""User schemas: admins write them; nobody reads a password hash back."""

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints

from oktapi.models.base import Body, DocumentId, PartialBody, PublicDocument, Timestamps, encodable
from oktapi.password_policy import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

Role = Literal["admin", "manager"]
MAX_CLIENTS_PER_USER = 1000

Username = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.@+-]+$"
    ),
]
# Long enough to resist guessing; capped so hashing cannot be turned into a CPU sink. The rest
# of oktapi.password_policy (common passwords, the username) is checked by the service, once,
# where the username is known.
Password = Annotated[
    str,
    StringConstraints(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH),
    AfterValidator(encodable),
]
ClientIds = Annotated[list[DocumentId], Field(max_length=MAX_CLIENTS_PER_USER)]


class UserCreate(Body):
    username: Username
    password: Password
    role: Role = "manager"
    client_ids: ClientIds = Field(default_factory=list)


class UserUpdate(PartialBody):
    """What an admin may change; every field optional."""

    role: Role | None = None
    client_ids: ClientIds | None = None
    disabled: bool | None = None
    password: Password | None = None


class UserPublic(PublicDocument, Timestamps):
    username: str
    role: Role
    client_ids: list[str]
    disabled: bool
