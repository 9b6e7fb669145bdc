"""One campaign of a plan and the checks of the numbers a plan is written with."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from oktapi.engine.policies.bounds import TOLERANCE

# Decimals of the currency's minor unit budgets are rounded to by default (cents).
DEFAULT_DECIMALS = 2
MAX_DECIMALS = 4  # ISO 4217 minor units go from 0 (JPY) to 4 (CLF)


@dataclass
class Campaign:
    """One arm: an ad campaign and the bounds on the budget it may get per timestep."""

    id: str
    min_budget: float = 0.0
    max_budget: float | None = None  # None = unbounded
    platform: str | None = None  # e.g. "google", "meta": maturity is pooled by platform

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ValueError("campaign id must be a non-empty string")
        if self.platform is not None and (not isinstance(self.platform, str) or not self.platform):
            raise ValueError(f"campaign {self.id!r}: platform must be a non-empty string or null")
        self.min_budget = finite_number(self.min_budget, f"campaign {self.id!r}: min_budget")
        if self.min_budget < 0:
            raise ValueError(f"campaign {self.id!r}: min_budget must be >= 0")
        if self.max_budget is not None:
            self.max_budget = finite_number(self.max_budget, f"campaign {self.id!r}: max_budget")
            if self.max_budget < self.min_budget:
                raise ValueError(
                    f"campaign {self.id!r}: max_budget ({self.max_budget:g}) must be >= "
                    f"min_budget ({self.min_budget:g})"
                )

    def to_dict(self) -> dict:
        """Plain dict for storage."""
        return {
            "id": self.id,
            "min_budget": self.min_budget,
            "max_budget": self.max_budget,
            "platform": self.platform,
        }


def min_budget_excess(min_budgets: list[float], total_budget: float, timesteps: int) -> float:
    """How far the campaigns' minimums overshoot a timestep's budget; 0 when they fit."""
    excess = sum(min_budgets) - total_budget / timesteps
    return excess if excess > total_budget / timesteps * TOLERANCE else 0.0


def finite_number(value: Any, what: str) -> float:
    """Value as a float, or ValueError saying it must be a finite number (``what`` names it)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{what} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return number


def check_decimals(decimals: Any) -> int:
    """The currency's minor unit as an int, or ValueError saying what it must be."""
    if (
        isinstance(decimals, bool)
        or not isinstance(decimals, int | np.integer)
        or not 0 <= decimals <= MAX_DECIMALS
    ):
        raise ValueError(f"decimals must be an integer in [0, {MAX_DECIMALS}]; got {decimals!r}")
    return int(decimals)
