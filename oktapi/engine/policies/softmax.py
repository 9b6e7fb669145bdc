"""Softmax (Boltzmann): the winner is drawn with probability growing with its observed rate."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from oktapi.engine.policies.base import CampaignTotals, Param, StepPolicy

if TYPE_CHECKING:
    from oktapi.engine.state import State


def softmax_probabilities(
    scores: np.ndarray, eligible: np.ndarray, temperature: float
) -> np.ndarray:
    """P(winner = i) ∝ exp(score_i / (temperature * best score)) over eligible campaigns.

    Dividing by the best score makes the temperature scale-free (rates of 0.001 or 50 behave
    alike); with no positive score every eligible campaign is equally likely.
    """
    best = float(scores[eligible].max()) if eligible.any() else 0.0
    scale = best if best > 0.0 else 1.0
    logits = np.where(eligible, (scores - best) / (temperature * scale), -np.inf)
    weights = np.exp(logits)
    total = weights.sum()
    return weights / total if total > 0 else weights


class Softmax(StepPolicy):
    """Winner sampled from softmax_probabilities of the observed rates; loser the lowest rate."""

    name: ClassVar[str] = "softmax"
    param_specs: ClassVar[dict[str, Param]] = {
        "temperature": Param(
            0.1,
            0.0,
            None,
            low_inclusive=False,
            help="higher spreads the choice more evenly; in units of the best observed rate",
        ),
    }

    def scores(self, state: State, totals: CampaignTotals, rng: np.random.Generator) -> np.ndarray:
        """Observed outcome per unit of spend (0 before any spend)."""
        return totals.rate

    def probabilities(self, scores: np.ndarray, eligible: np.ndarray) -> np.ndarray:
        """Winner probabilities, exposed so tests can check the draws follow them."""
        return softmax_probabilities(scores, eligible, self.params["temperature"])

    def choose_winner(
        self, scores: np.ndarray, eligible: np.ndarray, rng: np.random.Generator
    ) -> int | None:
        """One inverse-CDF draw from the probabilities."""
        if not eligible.any():
            return None
        cumulative = np.cumsum(self.probabilities(scores, eligible))
        index = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
        index = min(index, len(scores) - 1)
        while not eligible[index]:  # only reachable through float rounding at the top end
            index -= 1
        return index
