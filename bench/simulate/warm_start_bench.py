"""Warm start: each scenario with four weeks of history before the plan, against a cold start.

The history is what a buyer would have: 28 days of the same market (its first week's efficiency
repeated backwards, so weekly seasonality goes on as it will) at the plan's daily budget, split
unevenly and drifting: each campaign's share moves linearly from one Dirichlet(1) draw to
another over the four weeks, with +/-15% daily jitter, inside the campaigns' bounds. The draws
come from their own generator (seed, scenario, a stream of their own), so the cold and the warm
plan then face the same market luck. Scored like the main table, on expected outcomes against
the oracle: the first week (the first 7 timesteps, against the oracle's first 7) and the whole
plan. The last column checks the warm plan's first explanations: how often the 80% interval
of a funded campaign holds the true expected objective of its budget.
"""

from __future__ import annotations

import sys
import zlib
from typing import TYPE_CHECKING, Any

import numpy as np

from bench.simulate.metrics import expected_by_timestep
from bench.simulate.oracle import oracle
from bench.simulate.parallel import fork_map
from bench.simulate.run import campaigns_of, environment_rng
from bench.simulate.scenarios import Scenario
from oktapi.engine.ai import AI, Results
from oktapi.engine.policies import DEFAULT_POLICY
from oktapi.engine.policies.bounds import fit_to_bounds
from oktapi.engine.state import State
from oktapi.engine.warm_start import PriorDays, warm_start

if TYPE_CHECKING:
    from rich.console import Console

HISTORY_DAYS = 28
FIRST_WEEK = 7
DAILY_JITTER = 0.15
HISTORY_STREAM = 0x5157
# The bars: the first week at least this % of the oracle, and this many points above cold.
FIRST_WEEK_BAR = 95.0
GAIN_BAR = 5.0

_SCENARIOS: dict[str, Scenario] = {}


def history_rng(scenario: Scenario, seed: int) -> np.random.Generator:
    """The history's own generator: neither the plan's nor the plan's market's."""
    name_key = zlib.crc32(scenario.name.encode())
    return np.random.default_rng(np.random.SeedSequence([seed, HISTORY_STREAM, name_key]))


def history_days(scenario: Scenario, seed: int) -> PriorDays:
    """Four weeks before the plan at an uneven, drifting split of the plan's daily budget."""
    rng = history_rng(scenario, seed)
    n = scenario.n_campaigns
    daily = scenario.total_budget / scenario.timesteps
    first, last = rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(n))
    figures = np.zeros((3, HISTORY_DAYS, n))
    for day in range(HISTORY_DAYS):
        share = first + (last - first) * day / (HISTORY_DAYS - 1)
        share = share * rng.uniform(1 - DAILY_JITTER, 1 + DAILY_JITTER, n)
        budgets = fit_to_bounds(
            share / share.sum() * daily, daily, scenario.min_budget, scenario.max_budget
        )
        # day - HISTORY_DAYS days before the start: the first week's efficiency, repeated
        figures[:, day] = scenario.draw(budgets, (day - HISTORY_DAYS) % FIRST_WEEK, rng)
    recorded = np.ones((HISTORY_DAYS, n), dtype=bool)
    # reported a week after each day: final figures (the simulated market has no lag)
    reported = np.full((HISTORY_DAYS, n), 7, dtype=np.int64)
    return PriorDays(figures[0], figures[1], figures[2], recorded, reported)


def run_plan(
    scenario: Scenario, seed: int, prior: PriorDays | None
) -> tuple[np.ndarray, list[bool]]:
    """The default policy over the scenario's horizon, with or without the history first: the
    budgets, and for each funded campaign of the first allocation whether its 80% interval
    (the explanation's lower..upper) holds the true expected objective of its budget."""
    state = State.create(
        campaigns_of(scenario),
        scenario.total_budget,
        scenario.timesteps,
        objective=scenario.objective,
        policy=DEFAULT_POLICY,
        seed=seed,
    )
    if prior is not None:
        warm_start(state, prior, 1)
    ai = AI(state)
    market = environment_rng(scenario, seed)
    budgets = np.zeros((scenario.timesteps, scenario.n_campaigns))
    covered: list[bool] = []
    for timestep in range(scenario.timesteps):
        allocation = ai.allocate()
        budgets[timestep] = allocation.budgets
        if timestep == 0 and allocation.explanations is not None:
            covered = _covered(scenario, allocation.budgets, allocation.explanations)
        spend, conversions, revenue = scenario.draw(allocation.budgets, timestep, market)
        ai.update(Results(spend=spend, conversions=conversions, revenue=revenue))
    return budgets, covered


def _covered(scenario: Scenario, budgets: np.ndarray, explanations: list[dict]) -> list[bool]:
    truth = scenario.expected_objective(budgets, 0)
    funded = budgets > 0.01 * budgets.sum() / len(budgets)
    return [
        bool(entry["lower"] <= true_value <= entry["upper"])
        for entry, true_value, is_funded in zip(explanations, truth, funded, strict=True)
        if is_funded and entry["lower"] is not None and entry["upper"] is not None
    ]


def _scores(scenario: Scenario, budgets: np.ndarray) -> tuple[float, float]:
    """(% of the oracle in the first week, % over the whole plan), on expected outcomes."""
    reference = oracle(scenario).expected
    expected = expected_by_timestep(scenario, budgets)
    week = min(FIRST_WEEK, scenario.timesteps)
    return (
        100.0 * float(expected[:week].sum() / reference[:week].sum()),
        100.0 * float(expected.sum() / reference.sum()),
    )


def _task(task: tuple[str, int]) -> tuple[str, int, dict[str, float] | str]:
    name, seed = task
    scenario = _SCENARIOS[name]
    try:
        cold_week, cold_plan = _scores(scenario, run_plan(scenario, seed, None)[0])
        warm_budgets, covered = run_plan(scenario, seed, history_days(scenario, seed))
        warm_week, warm_plan = _scores(scenario, warm_budgets)
    except Exception as error:  # reported in the table, never a silent gap
        return name, seed, f"{type(error).__name__}: {error}"
    return (
        name,
        seed,
        {
            "cold_week": cold_week,
            "warm_week": warm_week,
            "cold_plan": cold_plan,
            "warm_plan": warm_plan,
            "covered": float(sum(covered)),
            "intervals": float(len(covered)),
        },
    )


def run_warm_start_bench(scenarios: list[Scenario], seeds: int, jobs: int = 2) -> dict[str, Any]:
    """Cold and warm first-week and whole-plan scores per scenario (means over seeds)."""
    _SCENARIOS.clear()
    _SCENARIOS.update({s.name: s for s in scenarios})
    for scenario in scenarios:
        oracle(scenario)  # computed once here, inherited by the workers
    tasks = [
        (s.name, seed)
        for s in sorted(scenarios, key=lambda s: -s.timesteps * s.n_campaigns)
        for seed in range(seeds)
    ]
    outcomes = fork_map(_task, tasks, jobs)
    runs: dict[str, list[dict[str, float]]] = {s.name: [] for s in scenarios}
    errors = []
    for name, seed, outcome in outcomes:
        if isinstance(outcome, str):
            errors.append(f"{name} seed {seed}: {outcome}")
        else:
            runs[name].append(outcome)
    keys = ("cold_week", "warm_week", "cold_plan", "warm_plan")
    rows = {
        name: {key: float(np.mean([run[key] for run in found])) for key in keys}
        for name, found in runs.items()
        if found
    }
    for name, row in rows.items():
        intervals = sum(run["intervals"] for run in runs[name])
        row["intervals"] = intervals
        row["coverage"] = 100.0 * sum(run["covered"] for run in runs[name]) / max(intervals, 1.0)
    mean = {key: float(np.mean([row[key] for row in rows.values()])) for key in keys}
    pooled = sum(row["intervals"] for row in rows.values())
    mean["intervals"] = pooled
    mean["coverage"] = sum(row["coverage"] * row["intervals"] for row in rows.values()) / max(
        pooled, 1.0
    )
    return {
        "seeds": seeds,
        "history_days": HISTORY_DAYS,
        "scenarios": rows,
        "mean": mean,
        "errors": errors,
    }


def print_warm_start_report(result: dict[str, Any], console: Console | None = None) -> None:
    """The warm-start table: first week and whole plan, cold and warm, per scenario."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console(
        width=max(Console().width, 160) if not sys.stdout.isatty() else None
    )
    table = Table(
        title=(
            f"Warm start: {result['history_days']} days of history at an uneven, drifting split "
            f"({DEFAULT_POLICY}, {result['seeds']} seeds; bars: first week >= "
            f"{FIRST_WEEK_BAR:g}% of the oracle and >= {GAIN_BAR:g} points above cold)"
        )
    )
    columns = (
        "scenario",
        "first week: cold",
        "warm",
        "gain",
        "whole plan: cold",
        "warm ",
        "first allocation: 80% covers",
    )
    for column in columns:
        table.add_column(column, justify="left" if column == "scenario" else "right")
    for name, row in [*result["scenarios"].items(), ("mean", result["mean"])]:
        table.add_row(
            name,
            f"{row['cold_week']:.1f}%",
            f"{row['warm_week']:.1f}%",
            f"{row['warm_week'] - row['cold_week']:+.1f}",
            f"{row['cold_plan']:.1f}%",
            f"{row['warm_plan']:.1f}%",
            f"{row['coverage']:.0f}% of {row['intervals']:.0f}",
        )
    console.print(table)
    for error in result["errors"]:
        console.print(f"[red]failed: {error}[/red]")
