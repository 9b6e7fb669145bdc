"""The policy table: every variant on every scenario over seeds, scored against the oracle.

From Python, for tuning one policy on a few scenarios:
    from bench import Variant, run_bench
    result = run_bench([Variant("response_curve", params={...})], scenarios=["saturating"])
    result.rows[0].overall_mean
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bench.simulate import (
    HOLDOUT_SCENARIOS,
    SCENARIOS,
    Scenario,
    chapelle_li_check,
    get_scenario,
    oracle,
    run,
    score,
)
from bench.simulate.oracle import OracleTrajectory, has_oracle, store_oracle
from bench.simulate.parallel import fork_map
from oktapi.engine.policies import DEFAULT_POLICY, POLICIES, get_policy

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
        largest_first = sorted(missing, key=lambda s: -s.timesteps * s.n_campaigns)
        names = [s.name for s in largest_first]
        trajectories = fork_map(_oracle_of, names, jobs)
        for scenario, trajectory in zip(largest_first, trajectories, strict=True):
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
