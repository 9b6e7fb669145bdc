"""How good the forecasts are, measured against the simulated truth (`python -m bench --forecast`).

(b) Calibration: a plan on the default policy meets a scenario; before each timestep after the
first, the forecast of the allocation the plan is about to hand out (`Forecaster.predict` and
`expected` on its budgets) is compared with what the market then delivers (drawn by the
environment's generator). Reported: how often the 80% prediction interval holds the realised
objective, which side it misses on, and the relative error and bias of the expected value next
to the noise floor (the same error of the TRUE mean, which no forecast can beat). Also shown:
the forecast of the same budget per timestep through its own split (`Forecaster.forecast`),
which is the posterior-mean optimum without max_change or the Thompson share, so it is judged
against an outcome of a different split — its bias includes how much better it expects its own
split to be.
(c) Targets: at the middle and the last timestep, targets are set to the truth's marginal CPA
(conversion plans) or ROAS (revenue plans) of the best split at 0.5, 1 and 2 times the planned
timestep budget; the forecast recommends a budget for each, and the truth's marginal return of
the best split of that budget is compared with the target. Scenarios whose true marginal return
hardly changes with the budget (linear campaigns: any budget or none meets a target) are left
out of (c), as the table says.
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from bench.simulate.oracle import best_split
from bench.simulate.parallel import fork_map
from bench.simulate.run import campaigns_of, environment_rng
from oktapi.engine.ai import AI, Results
from oktapi.engine.forecast import Forecaster
from oktapi.engine.forecast_answers import ForecastUnavailable

if TYPE_CHECKING:
    from rich.console import Console
from bench.simulate.scenarios import Scenario
from oktapi.engine.state import State

TARGET_MULTIPLIERS = (0.5, 1.0, 2.0)
# The truth's marginal return: objective lost by taking this share off the budget, per unit.
TRUE_MARGINAL_STEP = 0.05
# A scenario whose true marginal return moves less than this between 0.5x and 2x the planned
# budget has no budget a target picks out.
FLAT_MARGINAL = 0.05
COVERAGE_BAR = (75.0, 85.0)
TARGET_BAR = 15.0


@dataclass
class CalibrationRun:
    """One plan's forecasts next to what happened, per forecast timestep."""

    expected: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    realised: np.ndarray
    true_mean: np.ndarray
    lower_at_allocation: np.ndarray
    upper_at_allocation: np.ndarray
    expected_at_allocation: np.ndarray
    target_errors: list[tuple[float, float]]  # (multiplier, relative error of the true
    # marginal CPA/ROAS at the recommended budget)
    target_budget_ratios: list[float]  # recommended / true budget meeting the target


def true_marginal(scenario: Scenario, timestep: int, timestep_budget: float) -> float:
    """The truth's objective per unit of the last unit of the best split of a budget."""
    less = timestep_budget * (1 - TRUE_MARGINAL_STEP)
    high = scenario.expected_objective(best_split(scenario, timestep, timestep_budget), timestep)
    low = scenario.expected_objective(best_split(scenario, timestep, less), timestep)
    return float(high.sum() - low.sum()) / (timestep_budget - less)


def _targets(scenario: Scenario, timestep: int) -> list[tuple[float, float]] | None:
    """(budget, true marginal return there) for each multiplier, or None when flat."""
    planned = scenario.total_budget / scenario.timesteps
    points = [
        (m * planned, true_marginal(scenario, timestep, m * planned)) for m in TARGET_MULTIPLIERS
    ]
    marginals = np.array([marginal for _, marginal in points])
    if marginals.min() <= 0 or marginals.max() / marginals.min() - 1 < FLAT_MARGINAL:
        return None
    return points


def calibration_run(scenario: Scenario, seed: int, *, targets: bool = True) -> CalibrationRun:
    """One plan of the default policy on the scenario, forecast before every timestep."""
    state = State.create(
        campaigns_of(scenario),
        scenario.total_budget,
        scenario.timesteps,
        objective=scenario.objective,
        seed=seed,
    )
    ai = AI(state)
    market = environment_rng(scenario, seed)
    columns: dict[str, list[float]] = {
        key: []
        for key in (
            "expected",
            "lower",
            "upper",
            "realised",
            "true_mean",
            "lower_at_allocation",
            "upper_at_allocation",
            "expected_at_allocation",
        )
    }
    errors: list[tuple[float, float]] = []
    ratios: list[float] = []
    target_timesteps = {scenario.timesteps // 2, scenario.timesteps - 1} if targets else set()
    for timestep in range(scenario.timesteps):
        allocation = ai.allocate()
        forecaster = None
        with contextlib.suppress(ForecastUnavailable):  # nothing spent yet
            forecaster = Forecaster(state)
        spend, conversions, revenue = scenario.draw(allocation.budgets, timestep, market)
        if forecaster is not None:
            forecast = forecaster.forecast([allocation.timestep_budget])[0]
            low, high = forecaster.predict(allocation.budgets[None, :])
            realised = revenue.sum() if scenario.objective == "revenue" else conversions.sum()
            true_mean = scenario.expected_objective(allocation.budgets, timestep).sum()
            for key, value in (
                ("expected", forecast.expected),
                ("lower", forecast.lower),
                ("upper", forecast.upper),
                ("realised", realised),
                ("true_mean", true_mean),
                ("lower_at_allocation", low[0]),
                ("upper_at_allocation", high[0]),
                ("expected_at_allocation", forecaster.expected(allocation.budgets)),
            ):
                columns[key].append(float(value))
            if timestep in target_timesteps:
                _score_targets(scenario, timestep, forecaster, errors, ratios)
        ai.update(Results(spend=spend, conversions=conversions, revenue=revenue))
    arrays = {key: np.array(values) for key, values in columns.items()}
    return CalibrationRun(**arrays, target_errors=errors, target_budget_ratios=ratios)


def _score_targets(
    scenario: Scenario,
    timestep: int,
    forecaster: Forecaster,
    errors: list[tuple[float, float]],
    ratios: list[float],
) -> None:
    """Recommend a budget for each target and compare the truth's marginal return there."""
    points = _targets(scenario, timestep)
    if points is None:
        return
    for multiplier, (budget, marginal) in zip(TARGET_MULTIPLIERS, points, strict=True):
        if scenario.objective == "revenue":
            recommendation = forecaster.recommend(target_roas=marginal)
        else:
            recommendation = forecaster.recommend(target_cpa=1.0 / marginal)
        if recommendation.forecast is None:
            errors.append((multiplier, 1.0))  # counted as missing by 100%
            ratios.append(0.0)
            continue
        recommended = recommendation.forecast.timestep_budget
        achieved = true_marginal(scenario, timestep, recommended)
        if scenario.objective == "revenue":
            error = abs(achieved / marginal - 1.0)
        else:
            error = abs(marginal / achieved - 1.0) if achieved > 0 else 1.0
        errors.append((multiplier, error))
        ratios.append(recommended / budget)


_SCENARIOS: dict[str, Scenario] = {}


def _task(task: tuple[str, int]) -> tuple[str, int, CalibrationRun | str]:
    name, seed = task
    try:
        return name, seed, calibration_run(_SCENARIOS[name], seed)
    except Exception as error:  # reported in the table, the other runs go on
        return name, seed, f"{type(error).__name__}: {error}"


def run_forecast_bench(scenarios: list[Scenario], seeds: int, jobs: int = 2) -> dict:
    """Calibration and target tables over the scenarios and seeds 0..seeds-1 (JSON-safe)."""
    _SCENARIOS.clear()
    _SCENARIOS.update({s.name: s for s in scenarios})
    tasks = [
        (s.name, seed)
        for s in sorted(scenarios, key=lambda s: -s.timesteps * s.n_campaigns)
        for seed in range(seeds)
    ]
    outcomes = fork_map(_task, tasks, jobs)
    by_scenario: dict[str, list[CalibrationRun]] = {s.name: [] for s in scenarios}
    errors = []
    for name, seed, outcome in outcomes:
        if isinstance(outcome, str):
            errors.append(f"{name} seed {seed}: {outcome}")
        else:
            by_scenario[name].append(outcome)
    rows: dict[str, dict[str, Any]] = {}
    for scenario in scenarios:
        runs = by_scenario[scenario.name]
        if not runs:
            continue
        joined = {
            key: np.concatenate([getattr(run, key) for run in runs])
            for key in (
                "expected",
                "lower",
                "upper",
                "realised",
                "true_mean",
                "lower_at_allocation",
                "upper_at_allocation",
                "expected_at_allocation",
            )
        }
        realised = joined["realised"]
        inside_split = (joined["lower"] <= realised) & (realised <= joined["upper"])
        inside = (joined["lower_at_allocation"] <= realised) & (
            realised <= joined["upper_at_allocation"]
        )
        expected = joined["expected_at_allocation"]
        total = max(float(realised.sum()), 1e-12)
        pairs = [pair for run in runs for pair in run.target_errors]
        target_errors = [error for _, error in pairs]
        by_multiplier = {
            f"{m:g}x": 100.0 * float(np.median([e for k, e in pairs if k == m]))
            for m in TARGET_MULTIPLIERS
            if any(k == m for k, _ in pairs)
        }
        ratios = [r for run in runs for r in run.target_budget_ratios]
        rows[scenario.name] = {
            "forecasts": len(realised),
            "coverage": 100.0 * float(inside.mean()),
            "below": 100.0 * float((realised < joined["lower_at_allocation"]).mean()),
            "above": 100.0 * float((realised > joined["upper_at_allocation"]).mean()),
            "relative_error": 100.0 * float(np.abs(expected - realised).sum()) / total,
            "noise_floor": 100.0 * float(np.abs(joined["true_mean"] - realised).sum()) / total,
            "bias": 100.0 * float((expected - realised).sum()) / total,
            "coverage_forecast_split": 100.0 * float(inside_split.mean()),
            "bias_forecast_split": 100.0 * float((joined["expected"] - realised).sum()) / total,
            "target_error_by_multiplier": by_multiplier,
            "targets": len(target_errors),
            "target_error_median": 100.0 * float(np.median(target_errors))
            if target_errors
            else None,
            "target_budget_ratio_median": float(np.median(ratios)) if ratios else None,
        }
    coverages = [row["coverage"] for row in rows.values()]
    target_medians = [
        row["target_error_median"]
        for row in rows.values()
        if row["target_error_median"] is not None
    ]
    all_inside = sum(row["coverage"] * row["forecasts"] for row in rows.values())
    all_forecasts = sum(row["forecasts"] for row in rows.values())
    return {
        "seeds": seeds,
        "scenarios": rows,
        "coverage_pooled": all_inside / max(all_forecasts, 1),
        "coverage_median": float(np.median(coverages)) if coverages else None,
        "target_error_median_scenario": float(np.median(target_medians))
        if target_medians
        else None,
        "errors": errors,
    }


def print_forecast_report(result: dict, console: Console | None = None) -> None:
    """The calibration and target tables."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console(
        width=max(Console().width, 200) if not sys.stdout.isatty() else None
    )
    table = Table(
        title=(
            "Forecasts of the next timestep (response_curve, "
            f"{result['seeds']} seeds; bars: 80% intervals cover {COVERAGE_BAR[0]:g}-"
            f"{COVERAGE_BAR[1]:g}%, true marginal CPA/ROAS at the recommended budget within "
            f"{TARGET_BAR:g}% of the target on the median scenario)"
        )
    )
    for column in (
        "scenario",
        "forecasts",
        "80% covers",
        "below / above",
        "rel. error",
        "noise floor",
        "bias",
        "forecast split: covers / bias",
        "targets",
        "target error (median)",
        "at 0.5x / 1x / 2x",
        "budget / true",
    ):
        table.add_column(column, justify="left" if column == "scenario" else "right")
    for name, row in result["scenarios"].items():
        by_multiplier = row["target_error_by_multiplier"]
        table.add_row(
            name,
            str(row["forecasts"]),
            f"{row['coverage']:.1f}%",
            f"{row['below']:.1f} / {row['above']:.1f}",
            f"{row['relative_error']:.1f}%",
            f"{row['noise_floor']:.1f}%",
            f"{row['bias']:+.1f}%",
            f"{row['coverage_forecast_split']:.1f}% / {row['bias_forecast_split']:+.1f}%",
            str(row["targets"]) if row["targets"] else "flat: -",
            "-" if row["target_error_median"] is None else f"{row['target_error_median']:.1f}%",
            " / ".join(f"{by_multiplier[key]:.0f}" for key in by_multiplier) or "-",
            "-"
            if row["target_budget_ratio_median"] is None
            else f"{row['target_budget_ratio_median']:.2f}",
        )
    console.print(table)
    target = result["target_error_median_scenario"]
    console.print(
        f"80% intervals cover {result['coverage_pooled']:.1f}% of realised timesteps (pooled; "
        f"median scenario {result['coverage_median']:.1f}%); at the recommended budgets the "
        "true marginal CPA/ROAS is off the target by "
        + ("-" if target is None else f"{target:.1f}%")
        + " on the median scenario"
    )
    for error in result["errors"][:3]:
        console.print(f"[red]{error}[/red]")
