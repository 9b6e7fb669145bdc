"""Optimistic initial values: every campaign starts out looking great until spend proves otherwise."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from oktapi.engine.policies.base import CampaignTotals, Param, StepPolicy

if TYPE_CHECKING:
    from oktapi.engine.state import State


class Optimistic(StepPolicy):
    """Greedy on (outcome + initial_value * w) / (spend + w): the optimistic prior fades with spend.

    w is ``prior_weight`` timesteps of an even split's spend (total_budget / timesteps / n), so
    the prior matters for about that many timesteps of data. ``initial_value`` is the prior
    outcome per unit of spend; null means ``optimism`` times the best observed rate (scale-free).
    """

    name: ClassVar[str] = "optimistic"
    param_specs: ClassVar[dict[str, Param]] = {
        "initial_value": Param(
            None,
            0.0,
            None,
            low_inclusive=False,
            allow_none=True,
            help="optimistic outcome per unit of spend; null = optimism x best observed rate",
        ),
        "optimism": Param(2.0, 1.0, None, help="multiplier on the best observed rate"),
        "prior_weight": Param(
            1.0,
            0.0,
            None,
            low_inclusive=False,
            help="timesteps of even-split spend the optimistic value counts as",
        ),
    }

    def scores(self, state: State, totals: CampaignTotals, rng: np.random.Generator) -> np.ndarray:
        """Observed rate shrunk towards an optimistic value."""
        initial_value = self.params["initial_value"]
        if initial_value is None:
            best_rate = float(totals.rate.max())
            initial_value = self.params["optimism"] * best_rate
        even_spend = state.planned_even_share
        weight = self.params["prior_weight"] * even_spend
        if weight <= 0.0:  # zero total budget: nothing to weigh, fall back to the observed rate
            return totals.rate
        return (totals.outcome + initial_value * weight) / (totals.spend + weight)
