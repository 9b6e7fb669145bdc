"""What a caller may send to change a running plan: its settings, and its campaigns' rules."""

from typing import Any, ClassVar, Literal

from pydantic import Field

from oktapi.models.base import MAX_MONEY, Body, DocumentId, Money, Name, OrderedBounds, PartialBody
from oktapi.models.plans import MAX_TIMESTEPS


class PlanUpdate(PartialBody):
    """A change from the open timestep on; a field left out is unchanged.

    ``policy_params`` is merged into the stored parameters (the keys sent replace theirs, the
    others stay); ``status: "stopped"`` is final.
    """

    name: Name | None = None
    total_budget: float | None = Field(default=None, gt=0, le=MAX_MONEY, allow_inf_nan=False)
    timesteps: int | None = Field(default=None, ge=1, le=MAX_TIMESTEPS)
    policy_params: dict[str, Any] | None = None
    status: Literal["stopped"] | None = None


class PlanCampaignAdd(Body):
    """A campaign of the plan's client joining it from the open timestep on."""

    campaign_id: DocumentId


class PlanCampaignUpdate(PartialBody, OrderedBounds):
    """This plan's rules for one of its campaigns; null clears a rule (the campaign's own bound,
    no lock)."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset({"locked_budget", "min_budget", "max_budget"})

    paused: bool | None = None
    locked_budget: Money | None = None
    min_budget: Money | None = None
    max_budget: Money | None = None
