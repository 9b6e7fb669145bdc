"""`python -m oktapi.bench`: every registered policy against the clairvoyant oracle.

Runs each policy (seed policies at several steps s, the others once) on every scenario over
several seeds, prints % of the oracle's expected objective (mean +- std per scenario and the mean
over scenarios), the allocate timing per policy and the Chapelle & Li check, and writes
results.json plus one cumulative-regret PNG per scenario.

From Python, for tuning one policy on a few scenarios:
    from oktapi.bench import Variant, run_bench
    result = run_bench([Variant("response_curve", params={...})], scenarios=["saturating"])
    result.rows[0].overall_mean
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from oktapi.engine.policies import DEFAULT_POLICY, POLICIES, get_policy
from oktapi.engine.simulate import (
    HOLDOUT_SCENARIOS,
    SCENARIOS,
    Scenario,
    chapelle_li_check,
    fresh_scenarios,
    get_scenario,
    oracle,
    run,
    score,
)
from oktapi.engine.simulate.lag import LAG_SCENARIOS, MODES, run_lagged
from oktapi.engine.simulate.oracle import OracleTrajectory, has_oracle, store_oracle

if TYPE_CHECKING:
    from rich.console import Console

DEFAULT_STEPS = (0.01, 0.05, 0.10, 0.20)
QUICK_STEPS = (0.05, 0.20)
QUICK_SCENARIOS = ("linear_cpa", "saturating", "capped_delivery", "sparse_counts")
DEFAULT_SEEDS = 10
QUICK_SEEDS = 3
ORACLE_LABEL = "oracle"
STEPLESS = 0.05  # step handed to policies that ignore it (State.create requires one)


@dataclass(frozen=True)
class Variant:
    """One row of the table: a policy, its step (None when it ignores the step) and params."""

    policy: str
    step: float | None = None
    params: dict | None = None
    told_shapes: bool = False  # the ceiling: the policy is told every campaign's curve shape

    @property
    def label(self) -> str:
        """Row label, e.g. 'thompson s=5%' or 'response_curve'."""
        if self.told_shapes:
            return f"{self.policy}, told the shapes"
        if self.step is None:
            return self.policy
        return f"{self.policy} s={self.step * 100:g}%"


@dataclass
class Cell:
    """One policy on one scenario, over seeds."""

    percents: list[float]
    timesteps_to_90: list[int]
    volatility: list[float]
    regret_mean: list[float]  # mean cumulative regret by timestep
    errors: list[str] = field(default_factory=list)

    @property
    def mean(self) -> float:
        """Mean % of oracle over seeds (NaN if every run failed)."""
        return float(np.mean(self.percents)) if self.percents else float("nan")

    @property
    def std(self) -> float:
        """Standard deviation over seeds."""
        return float(np.std(self.percents, ddof=1)) if len(self.percents) > 1 else 0.0

    def to_dict(self) -> dict:
        """JSON-safe summary."""
        return {
            "mean": self.mean,
            "std": self.std,
            "percent_of_oracle": self.percents,
            "timesteps_to_90": float(np.mean(self.timesteps_to_90)) if self.percents else None,
            "volatility": float(np.mean(self.volatility)) if self.percents else None,
            "cumulative_regret_mean": self.regret_mean,
            "errors": self.errors,
        }


@dataclass
class Row:
    """A variant's cells over the scenarios."""

    variant: Variant
    cells: dict[str, Cell]

    @property
    def label(self) -> str:
        """Row label."""
        return self.variant.label

    @property
    def overall_mean(self) -> float:
        """Mean over scenarios of the per-scenario mean % of oracle."""
        return float(np.mean([cell.mean for cell in self.cells.values()]))

    def to_dict(self) -> dict:
        """JSON-safe summary."""
        return {
            "label": self.label,
            "policy": self.variant.policy,
            "step": self.variant.step,
            "params": self.variant.params or {},
            "overall_mean": self.overall_mean,
            "scenarios": {name: cell.to_dict() for name, cell in self.cells.items()},
        }


@dataclass
class BenchResult:
    """Everything the bench measured.

    `rows` are the policies a plan can use; the oracle (always 100%) and the ceiling (the
    default policy told every curve shape, when asked for) are references kept apart.
    """

    rows: list[Row]
    oracle_row: Row
    scenarios: list[Scenario]
    seeds: int
    allocate_ms: dict[str, float]
    chapelle_li: dict | None
    wall_seconds: float = 0.0
    ceiling_row: Row | None = None

    @property
    def measured_rows(self) -> list[Row]:
        """Every simulated row: the policies, then the ceiling if it was run."""
        return self.rows + ([self.ceiling_row] if self.ceiling_row else [])

    @property
    def best(self) -> Row:
        """The variant with the highest mean % of oracle over scenarios."""
        return max(self.rows, key=lambda row: row.overall_mean)

    def best_per_policy(self) -> dict[str, Row]:
        """For each policy, its best step."""
        best: dict[str, Row] = {}
        for row in self.rows:
            current = best.get(row.variant.policy)
            if current is None or row.overall_mean > current.overall_mean:
                best[row.variant.policy] = row
        return best

    def to_dict(self) -> dict:
        """JSON-safe results, as written to results.json."""
        return {
            "seeds": self.seeds,
            "scenarios": {
                s.name: {
                    "description": s.description,
                    "n_campaigns": s.n_campaigns,
                    "timesteps": s.timesteps,
                    "objective": s.objective,
                    "total_budget": s.total_budget,
                    "holdout": s.holdout,
                    "oracle_expected_total": oracle(s).total,
                }
                for s in self.scenarios
            },
            "rows": [self.oracle_row.to_dict()] + [row.to_dict() for row in self.rows],
            "ceiling": self.ceiling_row.to_dict() if self.ceiling_row else None,
            "best": {"label": self.best.label, "overall_mean": self.best.overall_mean},
            "best_seed_policy": next(
                (
                    {"label": row.label, "overall_mean": row.overall_mean}
                    for row in sorted(self.rows, key=lambda row: -row.overall_mean)
                    if row.variant.step is not None
                ),
                None,
            ),
            "best_step_per_policy": {
                name: {"label": row.label, "overall_mean": row.overall_mean}
                for name, row in self.best_per_policy().items()
            },
            "allocate_ms": self.allocate_ms,
            "chapelle_li": self.chapelle_li,
            "wall_seconds": self.wall_seconds,
        }


def default_variants(
    policies: Sequence[str] | None = None,
    steps: Sequence[float] = DEFAULT_STEPS,
    params: dict[str, dict] | None = None,
) -> list[Variant]:
    """Every registered policy (or the named ones): step policies at each step, others once.

    params maps a policy name to its policy_params (validated by the policy).
    """
    params = params or {}
    unknown = set(params) - set(POLICIES)
    if unknown:
        raise ValueError(f"--params names unknown policies: {', '.join(sorted(unknown))}")
    names = list(POLICIES) if policies is None else list(policies)
    if policies is None and "even" not in names:
        names.append("even")
    variants: list[Variant] = []
    for name in names:
        policy_class = get_policy(name)
        policy_params = policy_class.validate_params(params.get(name)) if name in params else None
        if getattr(policy_class, "uses_step", False):
            variants.extend(Variant(name, step, policy_params) for step in steps)
        else:
            variants.append(Variant(name, None, policy_params))
    return variants


def _resolve_scenarios(names: Sequence[str | Scenario] | None, holdout: bool) -> list[Scenario]:
    """Scenario objects (given, or by name), or the whole shipped (or holdout) set."""
    if names:
        return [name if isinstance(name, Scenario) else get_scenario(name) for name in names]
    return list((HOLDOUT_SCENARIOS if holdout else SCENARIOS).values())


_VARIANTS: list[Variant] = []
_SCENARIOS: dict[str, Scenario] = {}


def _oracle_of(name: str) -> OracleTrajectory:
    """Worker: one scenario's oracle trajectory."""
    return oracle(_SCENARIOS[name])


def _compute_oracles(scenarios: Sequence[Scenario], jobs: int) -> None:
    """Fill this process's oracle cache, in parallel when jobs > 1 (the DP is the slow part)."""
    missing = [s for s in scenarios if not has_oracle(s)]
    if jobs > 1 and len(missing) > 1:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            largest_first = sorted(missing, key=lambda s: -s.timesteps * s.n_campaigns)
            names = [s.name for s in largest_first]
            for scenario, trajectory in zip(
                largest_first, pool.map(_oracle_of, names, chunksize=1), strict=True
            ):
                store_oracle(scenario, trajectory)
    for scenario in scenarios:
        oracle(scenario)


def _simulate(task: tuple[int, str, int]) -> tuple[int, str, int, dict | str]:
    """Worker: one (variant, scenario, seed) run scored against the cached oracle."""
    variant_index, scenario_name, seed = task
    variant = _VARIANTS[variant_index]
    scenario = _SCENARIOS[scenario_name]
    step = STEPLESS if variant.step is None else variant.step
    try:
        trace = run(
            scenario, variant.policy, variant.params, step, seed, tell_shapes=variant.told_shapes
        )
    except Exception as error:  # report it in the table instead of losing the other runs
        return variant_index, scenario_name, seed, f"{type(error).__name__}: {error}"
    metrics = score(scenario, trace.budgets, oracle(scenario))
    return (
        variant_index,
        scenario_name,
        seed,
        {
            "percent": metrics.percent_of_oracle,
            "timesteps_to_90": metrics.timesteps_to_90,
            "volatility": metrics.volatility,
            "regret": metrics.cumulative_regret,
        },
    )


def run_bench(
    variants: Sequence[Variant] | None = None,
    scenarios: Sequence[str | Scenario] | None = None,
    seeds: int = DEFAULT_SEEDS,
    *,
    holdout: bool = False,
    jobs: int = 2,
    progress: bool = False,
    time_policies: bool = False,
    chapelle_li_seeds: int = 0,
    ceiling: bool = False,
) -> BenchResult:
    """Simulate every variant on every scenario for seeds 0..seeds-1 and summarise.

    ceiling adds the default policy told every campaign's true curve shape (`ceiling_row`):
    how much of the gap to the oracle is learning the shapes.
    """
    started = time.perf_counter()
    variant_list = list(variants) if variants is not None else default_variants()
    scenario_list = _resolve_scenarios(scenarios, holdout)
    if ceiling:
        params = next((v.params for v in variant_list if v.policy == DEFAULT_POLICY), None)
        variant_list.append(Variant(DEFAULT_POLICY, params=params, told_shapes=True))
    _VARIANTS[:] = variant_list
    _SCENARIOS.clear()
    _SCENARIOS.update({s.name: s for s in scenario_list})
    _compute_oracles(scenario_list, jobs)  # once, before the simulation workers fork
    # Longest runs first so the workers finish together.
    ordered = sorted(scenario_list, key=lambda s: -s.timesteps * (1 + s.n_campaigns / 10))
    tasks = [
        (variant_index, scenario.name, seed)
        for scenario in ordered
        for variant_index in range(len(variant_list))
        for seed in range(seeds)
    ]
    outcomes = _execute(tasks, jobs, progress)

    rows = []
    for variant_index, variant in enumerate(variant_list):
        cells = {}
        for scenario in scenario_list:
            done = [outcomes[(variant_index, scenario.name, seed)] for seed in range(seeds)]
            good = [outcome for outcome in done if isinstance(outcome, dict)]
            cells[scenario.name] = Cell(
                percents=[o["percent"] for o in good],
                timesteps_to_90=[o["timesteps_to_90"] for o in good],
                volatility=[o["volatility"] for o in good],
                regret_mean=np.mean([o["regret"] for o in good], axis=0).tolist() if good else [],
                errors=[outcome for outcome in done if isinstance(outcome, str)],
            )
        rows.append(Row(variant, cells))
    ceiling_row = rows.pop() if ceiling else None
    oracle_row = Row(
        Variant(ORACLE_LABEL),
        {
            s.name: Cell(
                percents=[100.0] * seeds,
                timesteps_to_90=[0] * seeds,
                volatility=[score(s, oracle(s).budgets, oracle(s)).volatility] * seeds,
                regret_mean=[0.0] * s.timesteps,
            )
            for s in scenario_list
        },
    )
    allocate_ms = _time_policies([row.variant for row in rows]) if time_policies else {}
    chapelle = chapelle_li_check(chapelle_li_seeds).to_dict() if chapelle_li_seeds else None
    return BenchResult(
        rows=rows,
        oracle_row=oracle_row,
        scenarios=scenario_list,
        seeds=seeds,
        allocate_ms=allocate_ms,
        chapelle_li=chapelle,
        wall_seconds=time.perf_counter() - started,
        ceiling_row=ceiling_row,
    )


def _execute(
    tasks: list[tuple[int, str, int]], jobs: int, progress: bool
) -> dict[tuple[int, str, int], dict | str]:
    """Run the tasks, in a fork pool when jobs > 1, with an optional rich progress bar."""
    outcomes: dict[tuple[int, str, int], dict | str] = {}
    bar = None
    if progress:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        bar = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        bar.start()
        bar_task = bar.add_task("simulating", total=len(tasks))
    try:
        if jobs > 1:
            context = multiprocessing.get_context("fork")
            with context.Pool(jobs) as pool:
                for outcome in pool.imap_unordered(_simulate, tasks, chunksize=4):
                    outcomes[outcome[:3]] = outcome[3]
                    if bar is not None:
                        bar.advance(bar_task)
        else:
            for task in tasks:
                outcome = _simulate(task)
                outcomes[outcome[:3]] = outcome[3]
                if bar is not None:
                    bar.advance(bar_task)
    finally:
        if bar is not None:
            bar.stop()
    return outcomes


def _time_policies(variants: Sequence[Variant]) -> dict[str, float]:
    """Median ms of one AI.allocate for 50 campaigns with 90 timesteps of history, per policy."""
    from oktapi.engine.timing import time_allocate

    timings: dict[str, float] = {}
    for variant in variants:
        if variant.policy not in timings:
            timings[variant.policy] = time_allocate(
                variant.policy, repeats=50, params=variant.params
            )
    return timings


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


def print_lag_report(lag: dict, console: Console | None = None) -> None:
    """The lag table: final numbers at once, the morning's never restated, restated daily."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(
        title=(
            "Reporting lag: % of the oracle by the final outcome "
            f"(response_curve, mean ± std over {lag['seeds']} seeds)"
        )
    )
    for column in ("scenario", "final at once", "morning, never restated", "restated daily (7)"):
        table.add_column(column, justify="left" if column == "scenario" else "right")
    for name, cells in lag["scenarios"].items():
        table.add_row(name, *(f"{cells[m]['mean']:.1f}±{cells[m]['std']:.1f}" for m in MODES))
    table.add_row("mean", *(f"{lag['mean'][m]:.1f}" for m in MODES))
    console.print(table)
    mean = lag["mean"]
    console.print(
        f"restated daily - final at once: {mean['restated'] - mean['final']:+.1f} points; "
        f"restated daily - never restated: {mean['restated'] - mean['morning']:+.1f} points"
    )
    for error in lag["errors"][:3]:
        console.print(f"[red]{error}[/red]")


def print_cost_report(cost: dict, console: Console | None = None) -> None:
    """Engine time of one timestep early and late in a long plan."""
    from rich.console import Console

    console = console or Console()
    for row in cost["policies"]:
        points = [key for key in row if key.isdigit()]
        early, late = row[points[0]], row[points[-1]]
        console.print(
            f"Engine cost, {row['policy']} ({row['timesteps']:,} timesteps x {row['n_campaigns']} "
            f"campaigns, restating the last {row['restate_days']} every timestep): one timestep "
            f"at {points[0]}: p50 {early['p50_ms']:.1f} ms ({early['p50_cpu_ms']:.1f} ms CPU), "
            f"at {points[-1]}: {late['p50_ms']:.1f} ms ({late['p50_cpu_ms']:.1f} ms CPU); "
            f"late / early {row['ratio']:.2f} ({row['cpu_ratio']:.2f} CPU); state "
            f"{early['state_json_chars']:,} -> {late['state_json_chars']:,} JSON characters"
        )


def run_cost_bench(policies: Sequence[str] = (DEFAULT_POLICY, "thompson")) -> dict:
    """`timing.time_long_plan` for each policy."""
    from oktapi.engine.timing import time_long_plan

    return {"policies": [time_long_plan(policy) for policy in policies]}


def print_report(result: BenchResult, console: Console | None = None) -> None:
    """The % of oracle table, the best variant, timings and the Chapelle & Li regret."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console(
        width=max(Console().width, 220) if not sys.stdout.isatty() else None
    )
    names = [s.name for s in result.scenarios]
    table = Table(
        title=f"% of the clairvoyant oracle's expected objective (mean ± std over {result.seeds} seeds)"
    )
    table.add_column("policy", no_wrap=True)
    for name in names:
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("mean", justify="right", no_wrap=True)
    best_per_column = {
        name: max(row.cells[name].mean for row in result.rows) if result.rows else None
        for name in names
    }
    references = [result.oracle_row] + ([result.ceiling_row] if result.ceiling_row else [])
    for row in [*references, *result.rows]:
        cells = []
        for name in names:
            cell = row.cells[name]
            if cell.errors and not cell.percents:
                cells.append("[red]error[/red]")
                continue
            text = f"{cell.mean:.1f}±{cell.std:.1f}"
            if row not in references and cell.mean == best_per_column[name]:
                text = f"[bold green]{text}[/bold green]"
            if cell.errors:
                text += f" [red]({len(cell.errors)} err)[/red]"
            cells.append(text)
        table.add_row(row.label, *cells, f"{row.overall_mean:.1f}")
    console.print(table)
    if result.rows:
        best = result.best
        console.print(
            f"Best: [bold]{best.label}[/bold] at {best.overall_mean:.1f}% of the oracle "
            f"(mean over {len(names)} scenarios)"
        )
        stepped = [row for row in result.rows if row.variant.step is not None]
        if stepped and best.variant.step is None:
            best_seed = max(stepped, key=lambda row: row.overall_mean)
            console.print(
                f"Best seed policy (moves a step s): [bold]{best_seed.label}[/bold] at "
                f"{best_seed.overall_mean:.1f}%"
            )
        summary = Table(title="Per policy at its best step")
        for column in ("policy", "best row", "% oracle", "timesteps to 90%*", "volatility"):
            summary.add_column(column, justify="right" if column != "policy" else "left")
        summary.add_column("allocate ms (50 campaigns, 90 timesteps)", justify="right")
        for policy, row in result.best_per_policy().items():
            to_90 = np.mean([np.mean(c.timesteps_to_90) for c in row.cells.values() if c.percents])
            moved = np.mean([np.mean(c.volatility) for c in row.cells.values() if c.percents])
            timing = result.allocate_ms.get(policy)
            summary.add_row(
                policy,
                row.label,
                f"{row.overall_mean:.1f}",
                f"{to_90:.1f}",
                f"{moved:.3f}",
                "-" if timing is None else f"{timing:.3f}",
            )
        console.print(summary)
        console.print(
            "* timesteps before the expected daily objective first reaches 90% of the oracle's "
            "(the horizon if never); volatility = mean share of the budget moved per timestep"
        )
    if result.chapelle_li:
        cl = result.chapelle_li
        console.print(
            f"Chapelle & Li check (10 arms 0.5/0.4x9, 10,000 pulls in batches of 100, Thompson): "
            f"regret {cl['mean']:.1f} ± {cl['std']:.1f} over {cl['seeds']} seeds "
            "(issue's reference ≈ 147 ± 20; MABWiser on this protocol: 167 ± 41 over 100 seeds)"
        )
    errors = [
        (row.label, name, error)
        for row in result.measured_rows
        for name, cell in row.cells.items()
        for error in cell.errors[:1]
    ]
    for label, name, error in errors:
        console.print(f"[red]{label} on {name} failed:[/red] {error}")
    console.print(f"Wall time {result.wall_seconds:.1f} s")


def plot_regret(result: BenchResult, out_dir: Path) -> list[Path]:
    """One PNG per scenario: mean cumulative regret of each policy at its best step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    best_rows = list(result.best_per_policy().values())
    paths = []
    for scenario in result.scenarios:
        figure, axes = plt.subplots(figsize=(8, 5))
        timesteps = np.arange(1, scenario.timesteps + 1)
        for row in best_rows:
            regret = row.cells[scenario.name].regret_mean
            if regret:
                axes.plot(timesteps, regret, label=row.label)
        axes.axhline(0.0, color="black", linewidth=0.8, label="oracle")
        axes.set_xlabel("timestep")
        unit = "revenue" if scenario.objective == "revenue" else "conversions"
        axes.set_ylabel(f"cumulative expected regret ({unit})")
        axes.set_title(f"{scenario.name}: {scenario.description}", fontsize=9)
        axes.legend(fontsize=8)
        figure.tight_layout()
        path = out_dir / f"{scenario.name}.png"
        figure.savefig(path, dpi=90)
        plt.close(figure)
        paths.append(path)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the process exit code (1 if any run failed)."""
    parser = argparse.ArgumentParser(
        prog="python -m oktapi.bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="fewer seeds, scenarios and steps")
    parser.add_argument("--holdout", action="store_true", help="run the holdout scenarios")
    parser.add_argument(
        "--fresh",
        type=int,
        metavar="SEED",
        help="run FRESH_COUNT new randomised holdout-family scenarios drawn with this seed",
    )
    parser.add_argument(
        "--fresh-count", type=int, default=10, help="how many fresh scenarios (default 10)"
    )
    parser.add_argument("--policies", help="comma-separated policy names (default: all registered)")
    parser.add_argument("--scenarios", help="comma-separated scenario names")
    parser.add_argument("--seeds", type=int, help=f"seeds per scenario (default {DEFAULT_SEEDS})")
    parser.add_argument("--steps", help="comma-separated steps, e.g. 0.01,0.05")
    parser.add_argument(
        "--params",
        help='policy params as JSON, e.g. \'{"response_curve": {"half_life": 14}}\'',
    )
    parser.add_argument(
        "--ceiling",
        action="store_true",
        help="add the default policy told every campaign's true curve shape (a reference row)",
    )
    parser.add_argument(
        "--lag",
        action="store_true",
        help="also run the reporting-lag scenarios three ways (final, morning, restated daily)",
    )
    parser.add_argument(
        "--lag-only", action="store_true", help="run only the reporting-lag table (and --cost)"
    )
    parser.add_argument(
        "--cost",
        action="store_true",
        help="also time one engine timestep at 20 and 2,400 of a 2,500 x 10 plan",
    )
    parser.add_argument(
        "--forecast",
        action="store_true",
        help="also measure the forecasts: 80%% interval coverage, error, target recommendations",
    )
    parser.add_argument("--forecast-only", action="store_true", help="run only the forecast table")
    parser.add_argument("--out", default="bench", help="directory for results.json and PNGs")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = parser.parse_args(argv)

    steps: tuple[float, ...] = QUICK_STEPS if args.quick else DEFAULT_STEPS
    if args.steps:
        steps = tuple(float(step) for step in args.steps.split(","))
    seeds = args.seeds or (QUICK_SEEDS if args.quick else DEFAULT_SEEDS)
    scenarios: list[str | Scenario] | None = args.scenarios.split(",") if args.scenarios else None
    if args.fresh is not None and (scenarios or args.holdout):
        parser.error("--fresh replaces --scenarios and --holdout; give only one of them")
    if scenarios is None and args.quick and not args.holdout:
        scenarios = list(QUICK_SCENARIOS)
    policies = args.policies.split(",") if args.policies else None
    try:
        if args.fresh is not None:
            scenarios = list(fresh_scenarios(args.fresh, args.fresh_count))
        params = json.loads(args.params) if args.params else None
        if params is not None and not (
            isinstance(params, dict) and all(isinstance(v, dict) for v in params.values())
        ):
            raise ValueError("--params must be a JSON object of policy name -> params object")
        variants = default_variants(policies, steps, params)
        if scenarios:
            _resolve_scenarios(scenarios, args.holdout)  # unknown names: the usage error here
    except ValueError as error:  # json.JSONDecodeError is a ValueError too
        parser.error(str(error))

    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    extra: dict = {}
    if args.lag or args.lag_only:
        extra["lag"] = run_lag_bench(seeds, jobs=max(args.jobs, 1))
        print_lag_report(extra["lag"])
    if args.cost:
        extra["cost"] = run_cost_bench()
        print_cost_report(extra["cost"])
    if args.forecast or args.forecast_only:
        from oktapi.engine.simulate.forecast_bench import print_forecast_report, run_forecast_bench

        extra["forecast"] = run_forecast_bench(
            _resolve_scenarios(scenarios, args.holdout), seeds, jobs=max(args.jobs, 1)
        )
        print_forecast_report(extra["forecast"])
    if args.forecast_only:
        (out_dir / "forecast.json").write_text(json.dumps(extra["forecast"], indent=1))
        print(f"Wrote {out_dir / 'forecast.json'}")
        return 1 if extra["forecast"]["errors"] else 0
    if args.lag_only:
        (out_dir / "results.json").write_text(json.dumps(extra, indent=1))
        print(f"Wrote {out_dir / 'results.json'}")
        return 1 if extra.get("lag", {}).get("errors") else 0

    result = run_bench(
        variants,
        scenarios,
        seeds,
        holdout=args.holdout,
        jobs=max(args.jobs, 1),
        progress=not args.no_progress,
        time_policies=True,
        chapelle_li_seeds=20 if args.quick else 100,
        ceiling=args.ceiling,
    )
    print_report(result)
    if "lag" in extra:
        print_lag_report(extra["lag"])
    if "cost" in extra:
        print_cost_report(extra["cost"])
    if "forecast" in extra:
        from oktapi.engine.simulate.forecast_bench import print_forecast_report

        print_forecast_report(extra["forecast"])
    (out_dir / "results.json").write_text(json.dumps(result.to_dict() | extra, indent=1))
    paths = plot_regret(result, out_dir)
    print(f"Wrote {out_dir / 'results.json'} and {len(paths)} PNGs in {out_dir}/")
    failed = any(cell.errors for row in result.measured_rows for cell in row.cells.values())
    failed = failed or bool(extra.get("lag", {}).get("errors"))
    failed = failed or bool(extra.get("forecast", {}).get("errors"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
