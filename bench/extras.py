"""The bench's extra tables: reporting lag (three ways of reporting) and the engine's cost."""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence

import numpy as np

from bench.runner import _SCENARIOS, DEFAULT_SEEDS, _compute_oracles
from bench.simulate import oracle, score
from bench.simulate.lag import LAG_SCENARIOS, MODES, run_lagged
from oktapi.engine.policies import DEFAULT_POLICY


def _simulate_lag(task: tuple[str, str, int]) -> tuple[str, str, int, float | str]:
    """Worker: one lag scenario played one way, scored by the final truth against the oracle."""
    name, mode, seed = task
    scenario = LAG_SCENARIOS[name]
    try:
        budgets = run_lagged(scenario, mode, seed)
    except Exception as error:  # report it in the table instead of losing the other runs
        return name, mode, seed, f"{type(error).__name__}: {error}"
    return (
        name,
        mode,
        seed,
        score(scenario.market, budgets, oracle(scenario.market)).percent_of_oracle,
    )


def run_lag_bench(seeds: int = DEFAULT_SEEDS, jobs: int = 2, first_seed: int = 0) -> dict:
    """The default policy on every lag scenario, each played the three ways of `MODES`.

    Returns {"seeds", "scenarios": {name: {"description", mode: {"mean", "std", "percents"}}},
    "mean": {mode: mean over scenarios}, "errors": [...]}.
    """
    markets = [s.market for s in LAG_SCENARIOS.values()]
    _SCENARIOS.update({market.name: market for market in markets})
    _compute_oracles(markets, jobs)
    tasks = [
        (name, mode, seed)
        for name in LAG_SCENARIOS
        for mode in MODES
        for seed in range(first_seed, first_seed + seeds)
    ]
    if jobs > 1:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            outcomes = pool.map(_simulate_lag, tasks, chunksize=2)
    else:
        outcomes = [_simulate_lag(task) for task in tasks]
    scenarios: dict[str, dict] = {
        name: {"description": scenario.description} for name, scenario in LAG_SCENARIOS.items()
    }
    errors = []
    for name, mode, _, outcome in outcomes:
        cell = scenarios[name].setdefault(mode, {"percents": []})
        if isinstance(outcome, str):
            errors.append(f"{name} {mode}: {outcome}")
        else:
            cell["percents"].append(outcome)
    for name in LAG_SCENARIOS:
        for mode in MODES:
            cell = scenarios[name][mode]
            values = cell["percents"]
            cell["mean"] = float(np.mean(values)) if values else float("nan")
            cell["std"] = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    mean = {
        mode: float(np.mean([scenarios[name][mode]["mean"] for name in LAG_SCENARIOS]))
        for mode in MODES
    }
    return {"seeds": seeds, "scenarios": scenarios, "mean": mean, "errors": errors}


def run_cost_bench(policies: Sequence[str] = (DEFAULT_POLICY, "thompson")) -> dict:
    """`timing.time_long_plan` for each policy."""
    from oktapi.engine.timing import time_long_plan

    return {"policies": [time_long_plan(policy) for policy in policies]}
