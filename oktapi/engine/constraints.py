"""A plan's per-campaign constraints: paused, locked, removed, and the effective bounds.

``State`` inherits these (``CampaignConstraints``): every policy and check honours the effective
bounds ``min_budgets`` / ``max_budgets``, in which pauses, locks and removals are bounds.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from oktapi.engine.campaign import Campaign


def flags(values: Any, n_campaigns: int) -> np.ndarray:
    """A bool array of one flag per campaign (all False when not given)."""
    if values is None:
        return np.zeros(n_campaigns, dtype=bool)
    return np.array(values, dtype=bool).reshape(n_campaigns)


def locks(values: Any, n_campaigns: int) -> np.ndarray:
    """Each campaign's locked budget as floats, NaN where not locked (all NaN when not given)."""
    if values is None:
        return np.full(n_campaigns, np.nan)
    return np.array(values, dtype=np.float64).reshape(n_campaigns)


class CampaignConstraints:
    """Paused and removed campaigns get 0, a locked one exactly its lock (NaN: not locked)."""

    campaigns: list[Campaign]
    paused: np.ndarray
    removed: np.ndarray
    locked: np.ndarray
    # Which campaigns took part in the stored allocation (None: no allocation stored).
    allocation_participating: np.ndarray | None

    @property
    def campaign_min_budgets(self) -> np.ndarray:
        """Each campaign's own min budget per timestep (its bounds, ignoring pause and lock)."""
        return np.array([c.min_budget for c in self.campaigns], dtype=np.float64)

    @property
    def campaign_max_budgets(self) -> np.ndarray:
        """Each campaign's own max budget per timestep (inf when unbounded)."""
        return np.array(
            [math.inf if c.max_budget is None else c.max_budget for c in self.campaigns],
            dtype=np.float64,
        )

    @property
    def participating(self) -> np.ndarray:
        """Campaigns that take part in allocations from now on: neither paused nor removed."""
        return ~(self.paused | self.removed)

    @property
    def is_locked(self) -> np.ndarray:
        """Campaigns with a locked budget that take part (a paused lock gets 0)."""
        return ~np.isnan(self.locked) & self.participating

    @property
    def min_budgets(self) -> np.ndarray:
        """Effective min budget per timestep: what every policy and check honours.

        A paused or removed campaign's bounds are [0, 0], a locked one's [lock, lock], so the
        policies keep pauses and locks through ``fit_to_bounds`` without special cases.
        """
        low = np.where(self.is_locked, self.locked, self.campaign_min_budgets)
        return np.where(self.participating, low, 0.0)

    @property
    def max_budgets(self) -> np.ndarray:
        """Effective max budget per timestep (inf when unbounded); see ``min_budgets``."""
        high = np.where(self.is_locked, self.locked, self.campaign_max_budgets)
        return np.where(self.participating, high, 0.0)

    @property
    def must_report(self) -> np.ndarray:
        """Campaigns whose results the open timestep needs before it can close.

        Those that took part in its allocation (as stored; as it would be computed now if none
        is stored). The others (paused, removed, added after it was computed) report nothing:
        their results are taken as 0.
        """
        if self.allocation_participating is not None:
            return self.allocation_participating.copy()
        return self.participating

    def add_constraint_column(self) -> None:
        """One more campaign: not paused, not removed, not locked, not in the stored allocation."""
        self.paused = np.append(self.paused, False)
        self.removed = np.append(self.removed, False)
        self.locked = np.append(self.locked, np.nan)
        if self.allocation_participating is not None:
            self.allocation_participating = np.append(self.allocation_participating, False)
