"""What a forecast answers (``engine/forecast.py``): a budget's split and expected outcome, a
target's recommendation, the learned curves; and why a plan cannot be forecast."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


class ForecastUnavailable(ValueError):
    """The plan cannot be forecast (finished, another policy, nothing reported yet)."""


@dataclass(frozen=True)
class BudgetForecast:
    """One budget per timestep: its split and what it is expected to bring in the open timestep."""

    timestep_budget: float
    budgets: np.ndarray  # (n,) the split
    expected: float  # the plan's objective
    lower: float  # 80% prediction interval of the realised objective
    upper: float
    marginal_return: float  # objective per unit of the last unit of budget
    conversions: float  # expected conversions (the objective when it is conversions)
    revenue: float  # expected revenue
    marginal_conversions: float  # conversions per unit of the last unit
    marginal_revenue: float  # revenue per unit of the last unit
    extrapolated: bool
    campaign_expected: np.ndarray  # (n,) expected objective per campaign
    campaign_marginal: np.ndarray  # (n,) marginal objective per unit at each campaign's budget
    campaign_extrapolated: np.ndarray  # (n,) bool

    @property
    def marginal_cpa(self) -> float:
        """Budget per extra conversion at the last unit (inf when it buys none)."""
        return 1.0 / self.marginal_conversions if self.marginal_conversions > 0 else math.inf

    @property
    def marginal_roas(self) -> float:
        """Extra revenue per unit of budget at the last unit."""
        return self.marginal_revenue


@dataclass(frozen=True)
class Recommendation:
    """The largest budget meeting a target, or None and why."""

    forecast: BudgetForecast | None
    reason: str | None


@dataclass(frozen=True)
class Curves:
    """Per campaign, the learned expected objective on a budget grid (n, CURVE_POINTS)."""

    budgets: np.ndarray
    expected: np.ndarray
    lower: np.ndarray  # 80% credible interval of the expected objective
    upper: np.ndarray
    current_budget: np.ndarray  # (n,) the open timestep's budget
