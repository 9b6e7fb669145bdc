"""The bench's extra tables: reporting lag (three ways of reporting), plans that change while
they run (a campaign added, one removed) and the engine's cost."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from bench.runner import _SCENARIOS, DEFAULT_SEEDS, _compute_oracles
from bench.simulate import Scenario, oracle, run, score
from bench.simulate.changes import (
    CHANGE_SCENARIOS,
    ChangeScenario,
    run_changing,
    with_changes,
)
from bench.simulate.lag import LAG_SCENARIOS, MODES, run_lagged
from bench.simulate.parallel import fork_map
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
    descriptions = {name: scenario.description for name, scenario in LAG_SCENARIOS.items()}
    return _percent_table(_simulate_lag, descriptions, MODES, markets, seeds, jobs, first_seed)


def _percent_table(
    worker: Callable[[tuple[str, str, int]], tuple[str, str, int, float | str]],
    descriptions: dict[str, str],
    columns: Sequence[str],
    markets: Sequence[Scenario],
    seeds: int,
    jobs: int,
    first_seed: int = 0,
) -> dict:
    """worker on every (scenario, column, seed) after the markets' oracles are computed: the
    % of the oracle per cell as mean, std and the runs, the mean per column over scenarios."""
    _SCENARIOS.update({market.name: market for market in markets})
    _compute_oracles(markets, jobs)
    tasks = [
        (name, column, seed)
        for name in descriptions
        for column in columns
        for seed in range(first_seed, first_seed + seeds)
    ]
    outcomes = fork_map(worker, tasks, jobs, chunksize=2)
    scenarios: dict[str, dict] = {
        name: {"description": description} for name, description in descriptions.items()
    }
    errors = []
    for name, column, _, outcome in outcomes:
        cell = scenarios[name].setdefault(column, {"percents": []})
        if isinstance(outcome, str):
            errors.append(f"{name} {column}: {outcome}")
        else:
            cell["percents"].append(outcome)
    for name in descriptions:
        for column in columns:
            cell = scenarios[name][column]
            values = cell["percents"]
            cell["mean"] = float(np.mean(values)) if values else float("nan")
            cell["std"] = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    mean = {
        column: float(np.mean([scenarios[name][column]["mean"] for name in descriptions]))
        for column in columns
    }
    return {"seeds": seeds, "scenarios": scenarios, "mean": mean, "errors": errors}


# Columns of the changes table: each policy on the edited plan (the default policy unless told
# otherwise), the default policy on the unedited base market (for scale: what the change costs),
# and the even split on the edited plan.
UNEDITED, EVEN_EDITED = "unedited", "even, edited"
# The change scenarios the workers play (the shipped ones, or fresh ones added before forking).
_CHANGES: dict[str, ChangeScenario] = dict(CHANGE_SCENARIOS)


def change_columns(policies: Sequence[str] = (DEFAULT_POLICY,)) -> tuple[str, ...]:
    """The columns of the changes table for these policies."""
    return (*(f"{policy}, edited" for policy in policies), UNEDITED, EVEN_EDITED)


def _simulate_changes(task: tuple[str, str, int]) -> tuple[str, str, int, float | str]:
    """Worker: one change scenario (or its unedited base) played once, scored by the oracle."""
    name, column, seed = task
    scenario = _CHANGES[name]
    try:
        if column == UNEDITED:
            base = _SCENARIOS[name.removesuffix("_changes")]
            budgets = run(base, DEFAULT_POLICY, seed=seed).budgets
            return name, column, seed, score(base, budgets, oracle(base)).percent_of_oracle
        policy = "even" if column == EVEN_EDITED else column.removesuffix(", edited")
        budgets = run_changing(scenario, seed, policy)
    except Exception as error:  # report it in the table instead of losing the other runs
        return name, column, seed, f"{type(error).__name__}: {error}"
    market = scenario.market
    return name, column, seed, score(market, budgets, oracle(market)).percent_of_oracle


def run_changes_bench(
    seeds: int = DEFAULT_SEEDS,
    jobs: int = 2,
    policies: Sequence[str] = (DEFAULT_POLICY,),
    bases: Sequence[Scenario] | None = None,
) -> dict:
    """Each policy on plans edited mid-run (`CHANGE_SCENARIOS`, or ``bases`` edited by
    `with_changes`), against an oracle that knows the change, beside the default policy on the
    same market unedited and the even split.

    Returns {"seeds", "columns", "scenarios": {name: {"description", column: {"mean", "std",
    "percents"}}}, "mean": {column: mean over scenarios}, "errors": [...]}.
    """
    from bench.simulate import get_scenario

    if bases is None:
        changes = dict(CHANGE_SCENARIOS)
        bases = [get_scenario(name.removesuffix("_changes")) for name in changes]
    else:
        changes = {s.name: s for s in (with_changes(base) for base in bases)}
    _CHANGES.update(changes)
    markets = [s.market for s in changes.values()]
    descriptions = {name: scenario.description for name, scenario in changes.items()}
    columns = change_columns(policies)
    table = _percent_table(
        _simulate_changes, descriptions, columns, [*markets, *bases], seeds, jobs
    )
    return {**table, "columns": list(columns)}


def run_cost_bench(policies: Sequence[str] = (DEFAULT_POLICY, "thompson")) -> dict:
    """`timing.time_long_plan` for each policy."""
    from oktapi.engine.timing import time_long_plan

    return {"policies": [time_long_plan(policy) for policy in policies]}
