"""Even split: the baseline every other policy must beat."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from oktapi.engine.policies.base import CampaignTotals, Policy, PolicyOutput, posterior_explanations
from oktapi.engine.policies.bounds import fit_to_bounds

if TYPE_CHECKING:
    from oktapi.engine.state import State


class Even(Policy):
    """Give every campaign the same share of the timestep budget, then fit to min/max bounds."""

    name: ClassVar[str] = "even"
    uses_step: ClassVar[bool] = False

    def allocate(
        self, state: State, timestep_budget: float, rng: np.random.Generator
    ) -> PolicyOutput:
        """Same budget for all, shifted equally where a min or max bound forces it."""
        n_campaigns = len(state.campaigns)
        budgets = fit_to_bounds(
            np.full(n_campaigns, timestep_budget / n_campaigns),
            timestep_budget,
            state.min_budgets,
            state.max_budgets,
        )
        return budgets, posterior_explanations(budgets, CampaignTotals.from_state(state)), None
