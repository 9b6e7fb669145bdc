"""Scores of one simulated run against the clairvoyant oracle, all on EXPECTED outcomes.

Scoring the true expected curve at the policy's budgets (not the noisy draws) removes the
environment's luck from the comparison, so ten seeds are enough to rank policies.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from bench.simulate.oracle import OracleTrajectory
from bench.simulate.scenarios import Scenario

REACH_FRACTION = 0.9


@dataclass
class RunMetrics:
    """Summary of one run: the bench's table cells and curves come from these."""

    percent_of_oracle: float  # primary: expected objective over the horizon, % of the oracle's
    cumulative_regret: np.ndarray  # (timesteps,) oracle minus policy, expected, accumulated
    timesteps_to_90: int  # timesteps before the expected rate first reaches 90% of the oracle's
    volatility: (
        float  # mean share of the budget moved between campaigns from one timestep to the next
    )
    expected_total: float
    oracle_total: float

    def to_dict(self) -> dict:
        """JSON-safe dict (lists instead of arrays)."""
        result = asdict(self)
        result["cumulative_regret"] = self.cumulative_regret.tolist()
        return result


def expected_by_timestep(scenario: Scenario, budgets: np.ndarray) -> np.ndarray:
    """Expected objective of each timestep (timesteps,) for a budget history (timesteps, n)."""
    return scenario.expected_history(budgets).sum(axis=1)


def timesteps_to_reach(policy_expected: np.ndarray, oracle_expected: np.ndarray) -> int:
    """Timesteps elapsed before the policy's expected rate first reaches 90% of the oracle's."""
    reached = policy_expected >= REACH_FRACTION * oracle_expected - 1e-12
    return int(np.argmax(reached)) if reached.any() else len(policy_expected)


def volatility(budgets: np.ndarray) -> float:
    """Mean share of the budget moved between campaigns from one timestep to the next.

    Half the L1 change over the previous total: 0 = steady, 1 = everything moved. A per-campaign
    relative change would explode for campaigns near zero budget.
    """
    if len(budgets) < 2:
        return 0.0
    moved = 0.5 * np.abs(np.diff(budgets, axis=0)).sum(axis=1)
    previous_total = budgets[:-1].sum(axis=1)
    return float(np.mean(moved / np.maximum(previous_total, 1e-12)))


def score(scenario: Scenario, budgets: np.ndarray, reference: OracleTrajectory) -> RunMetrics:
    """All metrics of a budget history (timesteps, n) against the oracle's trajectory."""
    policy_expected = expected_by_timestep(scenario, budgets)
    oracle_expected = reference.expected
    return RunMetrics(
        percent_of_oracle=float(100.0 * policy_expected.sum() / reference.total),
        cumulative_regret=np.cumsum(oracle_expected - policy_expected),
        timesteps_to_90=timesteps_to_reach(policy_expected, oracle_expected),
        volatility=volatility(budgets),
        expected_total=float(policy_expected.sum()),
        oracle_total=reference.total,
    )
