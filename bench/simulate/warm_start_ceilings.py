"""What bounds the warm first week: the warm plan against two ceilings, per scenario.

``python -m bench.simulate.warm_start_ceilings --seeds 4 [--holdout | --fresh SEED]``

For each scenario and seed, after the warm-start bench's history (``warm_start_bench``):
- ``warm``: the default policy, as in the warm-start table; also its best 7-timestep window
  of the plan (what the policy reaches once it has learnt, for scale);
- ``told``: the same, told every campaign's true curve shape and without ``max_change`` (what
  is left to learn is the scales: the ceiling of a curve learner);
- ``bounded oracle``: the clairvoyant's best split each timestep, but moving under the default
  ``max_change`` (a budget at most doubles, or reaches an even share) from the history's last
  split: what the bound on the first moves costs even with the truth known.
Scores are first-week % of the (unbounded) oracle on expected outcomes, as in the table.
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from bench.simulate.metrics import expected_by_timestep
from bench.simulate.oracle import best_split, oracle
from bench.simulate.parallel import fork_map
from bench.simulate.run import environment_rng, plan_state
from bench.simulate.scenarios import SCENARIOS, Scenario, fresh_scenarios, holdout_scenarios
from bench.simulate.warm_start_bench import FIRST_WEEK, history_days
from oktapi.engine.ai import AI, Results
from oktapi.engine.policies.response_curve import ResponseCurvePolicy
from oktapi.engine.warm_start import warm_start

COLUMNS = ("warm", "warm, best week", "told", "bounded oracle")
_SCENARIOS: dict[str, Scenario] = {}


def _warm(scenario: Scenario, seed: int, told: bool) -> np.ndarray:
    params = {"max_change": None} if told else None
    state = plan_state(scenario, seed, policy_params=ResponseCurvePolicy.validate_params(params))
    warm_start(state, history_days(scenario, seed), 1)
    ai = AI(state)
    if told:
        ai.policy = ResponseCurvePolicy(
            state.policy_params, state.step, known_shapes=scenario.curve_shapes()
        )
    market = environment_rng(scenario, seed)
    budgets = np.zeros((scenario.timesteps, scenario.n_campaigns))
    for timestep in range(scenario.timesteps):
        budgets[timestep] = ai.allocate().budgets
        spend, conversions, revenue = scenario.draw(budgets[timestep], timestep, market)
        ai.update(Results(spend=spend, conversions=conversions, revenue=revenue))
    return budgets


def _bounded_oracle(scenario: Scenario, seed: int) -> np.ndarray:
    trajectory = oracle(scenario)
    max_change = ResponseCurvePolicy.validate_params(None)["max_change"]
    previous = history_days(scenario, seed).spend[-1]
    budgets = np.zeros_like(trajectory.budgets)
    for timestep, timestep_budget in enumerate(trajectory.timestep_budgets):
        if timestep == 0:
            previous = previous * (timestep_budget / previous.sum())
        even = timestep_budget / scenario.n_campaigns
        upper = np.minimum(
            scenario.max_budget, np.maximum(previous * (1 + max_change), max_change * even)
        )
        bounded = dataclasses.replace(scenario, max_budget=upper)
        budgets[timestep] = best_split(bounded, timestep, timestep_budget)
        previous = budgets[timestep]
    return budgets


def _task(task: tuple[str, int]) -> tuple[str, dict[str, float]]:
    name, seed = task
    scenario = _SCENARIOS[name]
    reference = oracle(scenario).expected
    week = min(FIRST_WEEK, scenario.timesteps)

    def first_week(budgets: np.ndarray) -> float:
        return 100.0 * float(
            expected_by_timestep(scenario, budgets)[:week].sum() / reference[:week].sum()
        )

    warm = _warm(scenario, seed, told=False)
    expected = expected_by_timestep(scenario, warm)
    windows = [
        expected[i : i + week].sum() / reference[i : i + week].sum()
        for i in range(max(scenario.timesteps - week + 1, 1))
    ]
    return name, {
        "warm": first_week(warm),
        "warm, best week": 100.0 * float(max(windows)),
        "told": first_week(_warm(scenario, seed, told=True)),
        "bounded oracle": first_week(_bounded_oracle(scenario, seed)),
    }


def run_ceilings(
    scenarios: list[Scenario], seeds: int, jobs: int = 2
) -> dict[str, dict[str, float]]:
    """Mean over seeds of each column, per scenario and (last) over scenarios."""
    _SCENARIOS.clear()
    _SCENARIOS.update({s.name: s for s in scenarios})
    for scenario in scenarios:
        oracle(scenario)  # once here, inherited by the workers
    tasks = [(s.name, seed) for s in scenarios for seed in range(seeds)]
    outcomes = fork_map(_task, tasks, jobs)
    rows = {
        s.name: {c: float(np.mean([o[c] for n, o in outcomes if n == s.name])) for c in COLUMNS}
        for s in scenarios
    }
    rows["mean"] = {c: float(np.mean([row[c] for row in rows.values()])) for c in COLUMNS}
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=2)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--holdout", action="store_true")
    group.add_argument("--fresh", type=int, default=None)
    args = parser.parse_args()
    if args.fresh is not None:
        scenarios = fresh_scenarios(args.fresh)
    elif args.holdout:
        scenarios = holdout_scenarios()
    else:
        scenarios = list(SCENARIOS.values())
    rows = run_ceilings(scenarios, args.seeds, args.jobs)
    print(f"first week, % of the oracle ({args.seeds} seeds)")
    print(f"{'scenario':<16}" + "".join(f"{column:>18}" for column in COLUMNS))
    for name, row in rows.items():
        print(f"{name:<16}" + "".join(f"{row[column]:>17.1f}%" for column in COLUMNS))


if __name__ == "__main__":
    main()
