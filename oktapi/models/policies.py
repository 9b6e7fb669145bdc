"""What the service tells callers about its allocation policies and their tunable parameters."""

from pydantic import BaseModel, Field


class PolicyParamPublic(BaseModel):
    """One tunable number: its default and what it may be, so a form can say so before sending."""

    default: float | None
    low: float | None
    high: float | None
    low_inclusive: bool
    high_inclusive: bool
    allow_none: bool = Field(description="null is accepted (e.g. no limit).")
    integer: bool
    range: str = Field(description="The allowed values in words, e.g. 'a number in (0, 1]'.")
    help: str


class PolicyPublic(BaseModel):
    name: str
    default: bool = Field(description="The policy a plan gets when it names none.")
    uses_step: bool = Field(description="The plan's `step` applies to it.")
    params: dict[str, PolicyParamPublic]
