"""Clairvoyant oracle: the best split of each timestep's budget for someone who knows the truth.

Exact dynamic programming over a budget grid (max-plus convolution, vectorised over the grid),
so it is right for non-concave S-curves where greedy marginal allocation is not. Each campaign
first gets its min_budget; the rest is split in grid steps of (timestep budget - sum of mins) /
(grid_points - 1). Pacing is the plan's: timestep budget = remaining budget / remaining
timesteps, with the oracle's expected spend (caps can keep it from spending everything).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from bench.simulate.scenarios import Scenario

DEFAULT_GRID_POINTS = 401


def max_plus_split(values: np.ndarray) -> tuple[float, np.ndarray]:
    """Best sum of values[i, k_i] with sum(k_i) <= G-1, exactly; returns (best, k per campaign).

    values: (n, G), the value of giving campaign i k grid units. Values need not be concave.
    Each campaign is one max-plus convolution, done as a (G, G) array without a Python loop
    over grid points: a sliding window over the -inf padded running best gives best[j - k].
    """
    n, grid_points = values.shape
    padding = np.full(grid_points - 1, -np.inf)
    best = values[0].copy()  # best[j]: best value of campaigns 0..i using exactly j units
    choices = np.zeros((n, grid_points), dtype=np.int64)
    choices[0] = np.arange(grid_points)
    rows = np.arange(grid_points)
    for campaign in range(1, n):
        # windows[j, m] = padded[j + m], so windows[j, G-1-k] = best[j - k] (-inf when k > j).
        windows = sliding_window_view(np.concatenate((padding, best)), grid_points)
        candidates = windows[:, ::-1] + values[campaign][None, :]
        choices[campaign] = np.argmax(candidates, axis=1)
        best = candidates[rows, choices[campaign]]
    units = int(np.argmax(best))
    best_value = float(best[units])
    shares = np.zeros(n, dtype=np.int64)
    for campaign in range(n - 1, -1, -1):
        shares[campaign] = choices[campaign, units]
        units -= shares[campaign]
    return best_value, shares


def best_split(
    scenario: Scenario,
    timestep: int,
    timestep_budget: float,
    grid_points: int = DEFAULT_GRID_POINTS,
) -> np.ndarray:
    """Budgets (n,) maximising the expected objective of one timestep within bounds and caps."""
    free_budget = max(timestep_budget - scenario.min_budget.sum(), 0.0)
    extra = np.linspace(0.0, free_budget, grid_points)
    candidate_budgets = np.minimum(
        scenario.min_budget[:, None] + extra[None, :], scenario.max_budget[:, None]
    )
    values = scenario.expected_objective(candidate_budgets.T, timestep).T  # (n, G)
    # Among equal values prefer the smaller budget, so money that buys nothing stays unspent.
    _, shares = max_plus_split(values)
    budgets = candidate_budgets[np.arange(scenario.n_campaigns), shares]
    # Never hand a capped campaign more than it can deliver: the rest stays for later timesteps.
    return np.minimum(budgets, np.maximum(scenario.spend_cap, scenario.min_budget))


@dataclass
class OracleTrajectory:
    """What the clairvoyant does over the horizon, and what it expects to earn each timestep."""

    budgets: np.ndarray  # (timesteps, n)
    timestep_budgets: np.ndarray  # (timesteps,)
    expected: np.ndarray  # (timesteps,) expected objective of each timestep

    @property
    def total(self) -> float:
        """Expected objective over the horizon: the 100% of every score."""
        return float(self.expected.sum())


_CACHE: dict[tuple[str, int], OracleTrajectory] = {}


def oracle(scenario: Scenario, grid_points: int = DEFAULT_GRID_POINTS) -> OracleTrajectory:
    """The oracle's whole trajectory; deterministic, so cached per scenario content and grid."""
    key = (scenario.fingerprint, grid_points)
    if key in _CACHE:
        return _CACHE[key]
    timesteps, n = scenario.timesteps, scenario.n_campaigns
    budgets = np.zeros((timesteps, n))
    timestep_budgets = np.zeros(timesteps)
    expected = np.zeros(timesteps)
    split_cache: dict[bytes, np.ndarray] = {}
    remaining = scenario.total_budget
    for timestep in range(timesteps):
        timestep_budget = max(remaining / (timesteps - timestep), 0.0)
        # Same efficiencies and budget give the same split: solve the DP once for them.
        budget_key = np.float64(round(timestep_budget / scenario.total_budget, 9)).tobytes()
        key_bytes = np.round(scenario.efficiency[timestep], 10).tobytes() + budget_key
        if key_bytes not in split_cache:
            split_cache[key_bytes] = best_split(scenario, timestep, timestep_budget, grid_points)
        budgets[timestep] = split_cache[key_bytes]
        timestep_budgets[timestep] = timestep_budget
        expected[timestep] = scenario.expected_objective(budgets[timestep], timestep).sum()
        remaining -= scenario.expected_spend(budgets[timestep]).sum()
    trajectory = OracleTrajectory(budgets, timestep_budgets, expected)
    _CACHE[key] = trajectory
    return trajectory


def store_oracle(
    scenario: Scenario, trajectory: OracleTrajectory, grid_points: int = DEFAULT_GRID_POINTS
) -> None:
    """Put a trajectory computed elsewhere (e.g. in a worker process) into this process's cache."""
    _CACHE[(scenario.fingerprint, grid_points)] = trajectory


def has_oracle(scenario: Scenario, grid_points: int = DEFAULT_GRID_POINTS) -> bool:
    """Whether the scenario's oracle is already cached in this process."""
    return (scenario.fingerprint, grid_points) in _CACHE
