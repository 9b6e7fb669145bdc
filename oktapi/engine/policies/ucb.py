"""UCB1: fund the campaign whose rate could plausibly be highest (optimism under uncertainty)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from oktapi.engine.policies.base import CampaignTotals, Param, StepPolicy

if TYPE_CHECKING:
    from oktapi.engine.state import State


class UCB1(StepPolicy):
    """Score = rate + c * scale * sqrt(2 ln T / n); campaigns never funded score +inf (first).

    T is the number of timesteps so far, n the timesteps the campaign was given budget, and
    scale the best observed rate, so the bonus is in the rate's units as UCB1 assumes rewards
    in [0, 1].
    """

    name: ClassVar[str] = "ucb"
    param_specs: ClassVar[dict[str, Param]] = {
        "c": Param(1.0, 0.0, None, help="exploration constant multiplying the confidence bonus"),
    }

    def scores(self, state: State, totals: CampaignTotals, rng: np.random.Generator) -> np.ndarray:
        """Upper confidence bound of each campaign's outcome per unit of spend."""
        rate = totals.rate
        best_rate = float(rate.max())
        scale = best_rate if best_rate > 0.0 else 1.0
        funded = totals.funded
        log_timesteps = np.log(max(state.timestep, 1))
        bonus = np.sqrt(2.0 * log_timesteps / np.maximum(funded, 1.0))
        return np.where(funded > 0, rate + self.params["c"] * scale * bonus, np.inf)
