"""Engine-test helpers: run plans against a fixed synthetic market."""

from __future__ import annotations

import numpy as np

from oktapi.engine import AI, Results, State


def simulated_results(
    budgets: np.ndarray, rates: np.ndarray, rng: np.random.Generator, value: float = 20.0
) -> Results:
    """Campaigns spend 90% of their budget and convert Poisson(rate * spend)."""
    spend = 0.9 * budgets
    conversions = rng.poisson(rates * spend).astype(np.float64)
    return Results(spend=spend, conversions=conversions, revenue=conversions * value)


def run_plan(
    state: State,
    rates: np.ndarray,
    steps: int,
    *,
    reload_each_step: bool = False,
    market_seed: int = 7,
) -> tuple[State, list[np.ndarray]]:
    """Allocate/update ``steps`` timesteps; optionally save and reload the state in between."""
    market = np.random.default_rng(market_seed)
    allocations = []
    for _ in range(steps):
        if reload_each_step:
            state = State.from_dict(state.to_dict())
        allocation = AI(state).allocate()
        allocations.append(allocation.budgets)
        if reload_each_step:
            state = State.from_dict(state.to_dict())
        AI(state).update(simulated_results(allocation.budgets, rates, market))
    return state, allocations


FOUR_RATES = np.array([0.05, 0.02, 0.08, 0.01])
