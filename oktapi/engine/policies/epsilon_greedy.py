"""Epsilon-greedy: fund the best observed campaign, but explore a random one now and then."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from oktapi.engine.policies.base import CampaignTotals, Param, StepPolicy, pick_best

if TYPE_CHECKING:
    from oktapi.engine.state import State


class EpsilonGreedy(StepPolicy):
    """Winner: with probability epsilon a uniformly random campaign, else the best observed rate."""

    name: ClassVar[str] = "epsilon_greedy"
    param_specs: ClassVar[dict[str, Param]] = {
        "epsilon": Param(0.1, 0.0, 1.0, help="probability of moving budget to a random campaign"),
    }

    def scores(self, state: State, totals: CampaignTotals, rng: np.random.Generator) -> np.ndarray:
        """Observed outcome per unit of spend (0 before any spend)."""
        return totals.rate

    def choose_winner(
        self, scores: np.ndarray, eligible: np.ndarray, rng: np.random.Generator
    ) -> int | None:
        """Explore with probability epsilon (one uniform draw every timestep), else exploit."""
        explore = rng.random() < self.params["epsilon"]
        if explore and eligible.any():
            candidates = np.flatnonzero(eligible)
            return int(candidates[rng.integers(len(candidates))])
        return pick_best(scores, eligible, rng)
