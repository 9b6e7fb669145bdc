"""User schemas: admins write them; nobody reads a password hash back."""

from typing import Annotated, Literal, Self

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from oktapi.models.base import Body, DocumentId, PartialBody, PublicDocument, Timestamps, encodable
from oktapi.password_policy import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, password_problem

Role = Literal["admin", "manager"]
MAX_CLIENTS_PER_USER = 1000

Username = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.@+-]+$"
    ),
]


def _hard_to_guess(password: str) -> str:
    problem = password_problem(password)
    if problem is not None:
        raise ValueError(problem)
    return password


# Long enough and uncommon enough to resist guessing; capped so hashing cannot be turned into a
# CPU sink. Whether it equals the username is checked where both are known.
Password = Annotated[
    str,
    StringConstraints(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH),
    AfterValidator(encodable),
    AfterValidator(_hard_to_guess),
]
ClientIds = Annotated[list[DocumentId], Field(max_length=MAX_CLIENTS_PER_USER)]


class UserCreate(Body):
    username: Username
    password: Password
    role: Role = "manager"
    client_ids: ClientIds = Field(default_factory=list)

    @model_validator(mode="after")
    def _password_is_not_the_username(self) -> Self:
        problem = password_problem(self.password, username=self.username)
        if problem is not None:
            raise ValueError(problem)
        return self


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
