"""The clairvoyant oracle is the 100% every policy is scored against: it must be right."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from bench.simulate import SCENARIOS, Scenario, best_split, max_plus_split, oracle, score
from bench.simulate.scenarios import EXPONENTIAL, HILL, LINEAR, holdout_scenarios


def _scenario(**overrides) -> Scenario:
    """A small single-timestep-family scenario; overrides change any field."""
    fields = {
        "name": "tiny",
        "description": "test",
        "objective": "conversions",
        "total_budget": 1_000.0,
        "timesteps": 10,
        "curve_kind": EXPONENTIAL,
        "scale": [30.0, 20.0, 10.0],
        "half_budget": [40.0, 25.0, 10.0],
        "hill_shape": 1.0,
        "value_per_conversion": 1.0,
        "spend_cap": np.inf,
        "min_budget": 0.0,
        "max_budget": np.inf,
        "efficiency": 1.0,
    }
    fields.update(overrides)
    return Scenario(**fields)


def test_dp_matches_brute_force_on_non_concave_values():
    """Exhaustive search over every split of a small grid finds the same best total."""
    rng = np.random.default_rng(3)
    values = np.cumsum(rng.uniform(0, 1, (3, 9)) ** 3, axis=1)  # increasing, lumpy, non-concave
    values -= values[:, :1]
    best, shares = max_plus_split(values)
    brute = max(
        values[0, a] + values[1, b] + values[2, c]
        for a, b, c in itertools.product(range(9), repeat=3)
        if a + b + c <= 8
    )
    assert best == pytest.approx(brute)
    assert shares.sum() <= 8
    assert values[np.arange(3), shares].sum() == pytest.approx(brute)


def test_dp_puts_an_s_curve_all_in_when_splitting_would_waste_it():
    """Two identical Hill curves: half each earns less than all on one; greedy would split."""
    scenario = _scenario(
        curve_kind=HILL,
        scale=[100.0, 100.0],
        half_budget=[80.0, 80.0],
        hill_shape=4.0,
        total_budget=1_000.0,
    )
    budgets = best_split(scenario, 0, 100.0)
    assert sorted(budgets.round(6)) == [0.0, 100.0]


def test_oracle_matches_the_analytic_optimum_of_concave_curves():
    """Exponential curves: the optimum equalises marginal returns (water filling), in closed form."""
    scenario = _scenario()
    budget = 100.0
    scale, half = scenario.scale, scenario.half_budget
    # Marginal return scale/half*exp(-x/half) = lam for funded campaigns; sum of x = budget.
    funded = np.ones(3, dtype=bool)
    for _ in range(3):
        log_lam = (np.sum(half[funded] * np.log(scale[funded] / half[funded])) - budget) / half[
            funded
        ].sum()
        analytic = np.where(funded, half * (np.log(scale / half) - log_lam), 0.0)
        funded = analytic > 0
    analytic = np.maximum(analytic, 0.0)
    assert analytic.sum() == pytest.approx(budget)
    budgets = best_split(scenario, 0, budget)
    optimum = scenario.expected_objective(analytic, 0).sum()
    found = scenario.expected_objective(budgets, 0).sum()
    assert found == pytest.approx(optimum, rel=1e-4)
    assert np.abs(budgets - analytic).max() < budget / 100


def test_linear_curves_put_everything_on_the_cheapest_campaign():
    """Constant CPA: the best split is all-in on the lowest CPA."""
    scenario = SCENARIOS["linear_cpa"]
    budgets = oracle(scenario).budgets
    assert np.allclose(budgets[:, 0], scenario.total_budget / scenario.timesteps)
    assert np.allclose(budgets[:, 1:], 0.0)


def test_oracle_respects_bounds_and_caps():
    """Min budgets are given, max budgets and delivery caps are never exceeded."""
    scenario = _scenario(
        min_budget=[0.0, 15.0, 5.0],
        max_budget=[30.0, np.inf, np.inf],
        spend_cap=[np.inf, 40.0, np.inf],
        curve_kind=LINEAR,
        scale=[1.0, 0.5, 0.1],
    )
    budgets = best_split(scenario, 0, 100.0)
    assert budgets.sum() <= 100.0 + 1e-9
    assert np.all(budgets >= scenario.min_budget - 1e-9)
    assert budgets[0] == pytest.approx(30.0)  # best campaign up to its max
    # Next best up to about its delivery cap: past 98% of it, the 10% delivery noise makes the
    # expected marginal return (0.5 * P(delivered)) fall below the worst campaign's 0.1.
    assert budgets[1] == pytest.approx(0.98 * 40.0, abs=0.5)
    assert budgets[2] == pytest.approx(100.0 - 30.0 - budgets[1])  # the rest


def test_oracle_with_binding_caps_carries_unspent_budget_forward():
    """When caps stop it spending, the next timestep budget grows, as the plan's pacing does."""
    scenario = _scenario(curve_kind=LINEAR, scale=[1.0, 0.5, 0.2], spend_cap=[20.0, 30.0, 40.0])
    trajectory = oracle(scenario)
    assert np.all(np.diff(trajectory.timestep_budgets) > 0)
    assert np.allclose(trajectory.budgets, [20.0, 30.0, 40.0], rtol=0.02)  # ~each cap


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_even_split_never_beats_the_oracle(name):
    """No fixed split earns more than the clairvoyant, on every shipped scenario."""
    scenario = SCENARIOS[name]
    reference = oracle(scenario)
    timestep_budget = scenario.total_budget / scenario.timesteps
    even = np.full(
        (scenario.timesteps, scenario.n_campaigns), timestep_budget / scenario.n_campaigns
    )
    even = np.clip(even, scenario.min_budget, scenario.max_budget)
    assert score(scenario, even, reference).percent_of_oracle <= 100.0 + 1e-9


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_oracle_scores_100_percent_with_no_regret(name):
    """The oracle's own trajectory is the reference: exactly 100%, zero regret, reached at once."""
    scenario = SCENARIOS[name]
    reference = oracle(scenario)
    metrics = score(scenario, reference.budgets, reference)
    assert metrics.percent_of_oracle == pytest.approx(100.0)
    assert np.allclose(metrics.cumulative_regret, 0.0)
    assert metrics.timesteps_to_90 == 0


def test_random_splits_never_beat_the_oracle_timestep():
    """Thousands of random feasible splits of one timestep all earn at most the oracle's."""
    scenario = SCENARIOS["hill_scurves"]
    timestep_budget = scenario.total_budget / scenario.timesteps
    best = scenario.expected_objective(best_split(scenario, 0, timestep_budget), 0).sum()
    rng = np.random.default_rng(11)
    splits = rng.dirichlet(np.full(scenario.n_campaigns, 0.3), size=5_000) * timestep_budget
    assert scenario.expected_objective(splits, 0).sum(axis=1).max() <= best * (1 + 1e-3)


def test_holdout_scenarios_are_reproducible_and_differ_from_shipped():
    """The holdout generator is seeded: same seed, same scenarios; its names are its own."""
    first, second = holdout_scenarios(seed=5, count=3), holdout_scenarios(seed=5, count=3)
    assert [s.fingerprint for s in first] == [s.fingerprint for s in second]
    assert not {s.name for s in first} & set(SCENARIOS)
    assert all(s.holdout for s in first)
