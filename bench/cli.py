"""`python -m bench`: every registered policy against the clairvoyant oracle.

Runs each policy (seed policies at several steps s, the others once) on every scenario over
several seeds, prints % of the oracle's expected objective (mean +- std per scenario and the mean
over scenarios), the allocate timing per policy and the Chapelle & Li check, and writes
results.json plus one cumulative-regret PNG per scenario.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from bench.extras import run_changes_bench, run_cost_bench, run_lag_bench
from bench.runner import (
    DEFAULT_SEEDS,
    DEFAULT_STEPS,
    QUICK_SCENARIOS,
    QUICK_SEEDS,
    QUICK_STEPS,
    _resolve_scenarios,
    default_variants,
    run_bench,
)
from bench.simulate import Scenario, fresh_scenarios
from bench.tables import (
    plot_regret,
    print_changes_report,
    print_cost_report,
    print_lag_report,
    print_report,
)
from oktapi.engine.policies import DEFAULT_POLICY


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the process exit code (1 if any run failed)."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
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
    _add_extra(
        parser,
        "lag",
        "also run the reporting-lag scenarios three ways (final, morning, restated daily)",
        "run only the reporting-lag table (and --cost)",
    )
    _add_extra(
        parser,
        "changes",
        "also run plans edited mid-run (a campaign added, one removed) against the oracle",
        "run only the edited-plans table",
    )
    _add_extra(parser, "cost", "also time one engine timestep at 20 and 2,400 of a 2,500 x 10 plan")
    _add_extra(
        parser,
        "forecast",
        "also measure the forecasts: 80%% interval coverage, error, target recommendations",
        "run only the forecast table",
    )
    _add_extra(
        parser,
        "warm-start",
        "also run each scenario after four weeks of history, against a cold start",
        "run only the warm-start table",
    )
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
    jobs = max(args.jobs, 1)
    if args.lag or args.lag_only:
        extra["lag"] = run_lag_bench(seeds, jobs=jobs)
        _print_extra("lag", extra["lag"])
    if args.changes or args.changes_only:
        extra["changes"] = run_changes_bench(
            seeds,
            jobs=jobs,
            policies=policies or (DEFAULT_POLICY,),
            bases=[s for s in scenarios or () if isinstance(s, Scenario)] or None,
        )
        _print_extra("changes", extra["changes"])
    if args.changes_only:
        return _write_only(out_dir / "changes.json", extra["changes"], extra["changes"])
    if args.cost:
        extra["cost"] = run_cost_bench()
        _print_extra("cost", extra["cost"])
    if args.forecast or args.forecast_only:
        from bench.simulate.forecast_bench import run_forecast_bench

        extra["forecast"] = run_forecast_bench(
            _resolve_scenarios(scenarios, args.holdout), seeds, jobs=jobs
        )
        _print_extra("forecast", extra["forecast"])
    if args.warm_start or args.warm_start_only:
        from bench.simulate.warm_start_bench import run_warm_start_bench

        extra["warm_start"] = run_warm_start_bench(
            _resolve_scenarios(scenarios, args.holdout), seeds, jobs=jobs
        )
        _print_extra("warm_start", extra["warm_start"])
    if args.warm_start_only:
        return _write_only(out_dir / "warm_start.json", extra["warm_start"], extra["warm_start"])
    if args.forecast_only:
        return _write_only(out_dir / "forecast.json", extra["forecast"], extra["forecast"])
    if args.lag_only:
        return _write_only(out_dir / "results.json", extra, extra.get("lag", {}))

    result = run_bench(
        variants,
        scenarios,
        seeds,
        holdout=args.holdout,
        jobs=jobs,
        progress=not args.no_progress,
        time_policies=True,
        chapelle_li_seeds=20 if args.quick else 100,
        ceiling=args.ceiling,
    )
    print_report(result)
    for key, table in extra.items():
        _print_extra(key, table)
    (out_dir / "results.json").write_text(json.dumps(result.to_dict() | extra, indent=1))
    paths = plot_regret(result, out_dir)
    print(f"Wrote {out_dir / 'results.json'} and {len(paths)} PNGs in {out_dir}/")
    failed = any(cell.errors for row in result.measured_rows for cell in row.cells.values())
    failed = failed or any(table.get("errors") for table in extra.values())
    return 1 if failed else 0


def _add_extra(
    parser: argparse.ArgumentParser, name: str, help_text: str, only_help: str | None = None
) -> None:
    """--NAME for an extra table beside the policy table and, with only_help, --NAME-only."""
    parser.add_argument(f"--{name}", action="store_true", help=help_text)
    if only_help is not None:
        parser.add_argument(f"--{name}-only", action="store_true", help=only_help)


def _print_extra(key: str, table: dict) -> None:
    """Print one extra table by its key in results.json."""
    if key == "forecast":  # the forecast and warm-start modules load only when asked for
        from bench.simulate.forecast_bench import print_forecast_report

        print_forecast_report(table)
    elif key == "warm_start":
        from bench.simulate.warm_start_bench import print_warm_start_report

        print_warm_start_report(table)
    else:
        printers = {
            "lag": print_lag_report,
            "changes": print_changes_report,
            "cost": print_cost_report,
        }
        printers[key](table)


def _write_only(path: Path, written: dict, table: dict) -> int:
    """Write an --X-only run's JSON; the exit code is 1 if its table had errors."""
    path.write_text(json.dumps(written, indent=1))
    print(f"Wrote {path}")
    return 1 if table.get("errors") else 0
