"""Time one ``AI.allocate`` on a synthetic plan, for the bench to report (not for unit tests)."""

from __future__ import annotations

import time

import numpy as np

from oktapi.engine.ai import AI, Results
from oktapi.engine.state import Campaign, State


def synthetic_state(
    policy: str,
    n_campaigns: int = 50,
    history: int = 90,
    *,
    params: dict | None = None,
    objective: str = "conversions",
    seed: int = 0,
) -> State:
    """A plan with ``history`` timesteps of Poisson results already reported."""
    market = np.random.default_rng(seed)
    rates = market.uniform(0.005, 0.05, n_campaigns)
    campaigns = [Campaign(f"campaign-{index}") for index in range(n_campaigns)]
    state = State.create(
        campaigns,
        total_budget=1000.0 * n_campaigns * (history + 1),
        timesteps=history + 1,
        objective=objective,
        policy=policy,
        policy_params=params,
        seed=seed,
    )
    ai = AI(state)
    for _ in range(history):
        spend = ai.allocate().budgets * market.uniform(0.8, 1.0, n_campaigns)
        conversions = market.poisson(rates * spend).astype(np.float64)
        ai.update(Results(spend, conversions, conversions * market.uniform(10, 50, n_campaigns)))
    return state


def time_allocate(
    policy: str,
    n_campaigns: int = 50,
    history: int = 90,
    repeats: int = 200,
    *,
    params: dict | None = None,
    objective: str = "conversions",
) -> float:
    """Median milliseconds of one ``AI.allocate`` (policy, bounds check, explanations)."""
    state = synthetic_state(policy, n_campaigns, history, params=params, objective=objective)
    ai = AI(state)
    timings = []
    for _ in range(repeats):
        state.allocation = None  # allocate is idempotent per timestep; force a fresh one
        started = time.perf_counter()
        ai.allocate()
        timings.append(time.perf_counter() - started)
    return float(np.median(timings) * 1000.0)


if __name__ == "__main__":
    from oktapi.engine.policies import POLICIES

    for name in POLICIES:
        print(f"{name:16s} {time_allocate(name):.3f} ms  (50 campaigns, 90 timesteps of history)")
