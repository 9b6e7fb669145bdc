"""What a caller reports to a plan: one timestep's results, or new figures of a closed one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from oktapi.engine.state import State


@dataclass
class Results:
    """One timestep's outcome, arrays aligned with state.campaigns."""

    spend: np.ndarray
    conversions: np.ndarray
    revenue: np.ndarray | None = None  # zeros if not reported

    def as_rows(self, n_campaigns: int) -> np.ndarray:
        """(3, n_campaigns) float64 rows; ValueError saying what to fix if invalid."""
        revenue = np.zeros(n_campaigns) if self.revenue is None else self.revenue
        rows = []
        for name, values in (
            ("spend", self.spend),
            ("conversions", self.conversions),
            ("revenue", revenue),
        ):
            array = np.asarray(values, dtype=np.float64)
            if array.shape != (n_campaigns,):
                raise ValueError(f"{name}: expected {n_campaigns} values, got shape {array.shape}")
            if not np.all(np.isfinite(array)) or np.any(array < 0):
                raise ValueError(f"{name}: values must be finite and >= 0")
            rows.append(array)
        return np.array(rows)


@dataclass
class Restatement:
    """New figures for some campaigns of one closed timestep, and the figures they replace.

    Arrays are aligned with ``indices`` (campaign positions in state.campaigns). The previous
    figures come from the caller's results store (the truth): the engine may have folded the
    timestep already. ``previous_observed_at`` is the plan version at which they were reported.
    """

    timestep: int
    indices: np.ndarray
    spend: np.ndarray
    conversions: np.ndarray
    revenue: np.ndarray
    previous_spend: np.ndarray
    previous_conversions: np.ndarray
    previous_revenue: np.ndarray
    previous_observed_at: np.ndarray

    def checked(self, state: State) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(indices, new rows (3, k), previous rows (3, k), previous observed_at); ValueError if bad."""
        timestep = self.timestep
        if isinstance(timestep, bool) or not isinstance(timestep, int | np.integer):
            raise ValueError(f"timestep must be an integer, got {timestep!r}")
        if not 0 <= timestep < state.timestep:
            raise ValueError(
                f"timestep {timestep} is not closed: the plan has closed timesteps "
                f"0..{state.timestep - 1}"
                if state.timestep > 0
                else f"timestep {timestep} is not closed: no timestep has been closed yet"
            )
        indices = np.asarray(self.indices)
        if indices.ndim != 1 or (indices.size and not np.issubdtype(indices.dtype, np.integer)):
            raise ValueError("indices must be a 1-d array of campaign positions (integers)")
        indices = indices.astype(np.int64)
        if np.any(indices < 0) or np.any(indices >= state.n_campaigns):
            raise ValueError(
                f"indices must be campaign positions in 0..{state.n_campaigns - 1}, "
                f"got {indices.tolist()}"
            )
        if len(np.unique(indices)) != len(indices):
            raise ValueError("indices must not repeat a campaign")
        rows = []
        for name in (
            "spend",
            "conversions",
            "revenue",
            "previous_spend",
            "previous_conversions",
            "previous_revenue",
        ):
            array = np.asarray(getattr(self, name), dtype=np.float64)
            if array.shape != indices.shape:
                raise ValueError(f"{name}: expected {len(indices)} values, got shape {array.shape}")
            if not np.all(np.isfinite(array)) or np.any(array < 0):
                raise ValueError(f"{name}: values must be finite and >= 0")
            rows.append(array)
        observed = np.asarray(self.previous_observed_at)
        if observed.shape != indices.shape or (
            observed.size and not np.issubdtype(observed.dtype, np.integer)
        ):
            raise ValueError(f"previous_observed_at: expected {len(indices)} integers")
        observed = observed.astype(np.int64)
        if np.any(observed < timestep) or np.any(observed > state.timestep):
            raise ValueError(
                f"previous_observed_at must be between the timestep ({timestep}) and the "
                f"plan's version ({state.timestep})"
            )
        return indices, np.array(rows[:3]), np.array(rows[3:]), observed
