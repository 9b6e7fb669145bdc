"""Forecasts of the open timestep: splits, intervals, targets and curves from the policy's own fit."""

from __future__ import annotations

import numpy as np
import pytest

from bench.simulate import get_scenario
from bench.simulate.forecast_bench import calibration_run, true_marginal
from bench.simulate.run import campaigns_of, environment_rng
from oktapi.engine import AI, Campaign, Results, State
from oktapi.engine.forecast import EXTRAPOLATION_FACTOR, Forecaster
from oktapi.engine.forecast_answers import ForecastUnavailable
from oktapi.engine.policies.bounds import within_bounds


def _learned(name: str = "saturating", timesteps: int = 12, seed: int = 1) -> State:
    """A default-policy plan that met a simulated market for some timesteps (allocation open)."""
    scenario = get_scenario(name)
    state = State.create(
        campaigns_of(scenario),
        scenario.total_budget,
        scenario.timesteps,
        objective=scenario.objective,
        seed=seed,
    )
    ai, market = AI(state), environment_rng(scenario, seed)
    for timestep in range(timesteps):
        allocation = ai.allocate()
        spend, conversions, revenue = scenario.draw(allocation.budgets, timestep, market)
        ai.update(Results(spend=spend, conversions=conversions, revenue=revenue))
    ai.allocate()
    return state


def test_a_forecast_neither_changes_the_state_nor_the_allocations_that_follow() -> None:
    state = _learned()
    twin = State.from_dict(state.to_dict())
    before = state.to_dict()
    forecaster = Forecaster(state)
    forecaster.forecast([500, 1500, 4000])
    forecaster.recommend(target_cpa=20)
    forecaster.curves()
    assert state.to_dict() == before
    scenario = get_scenario("saturating")
    for plan in (state, twin):
        AI(plan).update(Results(*scenario.draw(plan.allocation, 12, np.random.default_rng(0))))
    assert np.array_equal(AI(state).allocate().budgets, AI(twin).allocate().budgets)


def test_the_same_state_forecasts_the_same_numbers() -> None:
    first = Forecaster(_learned()).forecast([1000, 2000])
    again = Forecaster(_learned()).forecast([1000, 2000])
    for one, other in zip(first, again, strict=True):
        assert (one.expected, one.lower, one.upper) == (other.expected, other.lower, other.upper)
        assert np.array_equal(one.budgets, other.budgets)


def test_splits_respect_bounds_and_more_budget_buys_more_at_a_falling_marginal_return() -> None:
    state = _learned("large_bounded", timesteps=15)
    budgets = [500, 2500, 5000, 10000, 40000]
    forecasts = Forecaster(state).forecast(budgets)
    for budget, forecast in zip(budgets, forecasts, strict=True):
        assert within_bounds(forecast.budgets, budget, state.min_budgets, state.max_budgets) is None
        assert forecast.lower <= forecast.expected <= forecast.upper
    expected = [f.expected for f in forecasts]
    marginal = [f.marginal_return for f in forecasts]
    assert expected == sorted(expected)
    assert marginal[0] > marginal[-1] >= 0
    assert not forecasts[0].extrapolated and forecasts[-1].extrapolated


def test_the_interval_holds_about_eight_in_ten_realised_timesteps() -> None:
    """Seeded, so exact: the bench measures the same over more scenarios and seeds."""
    run = calibration_run(get_scenario("saturating"), 0, targets=False)
    inside = (run.lower_at_allocation <= run.realised) & (run.realised <= run.upper_at_allocation)
    assert 0.65 <= inside.mean() <= 0.95
    # Not a trivially wide interval: its width is of the order of the Poisson noise.
    width = run.upper_at_allocation - run.lower_at_allocation
    assert np.median(width / np.sqrt(run.true_mean)) < 6


def test_target_cpa_lands_where_the_last_unit_costs_the_target() -> None:
    forecaster = Forecaster(_learned())
    recommendation = forecaster.recommend(target_cpa=20)
    assert recommendation.reason is None
    chosen = recommendation.forecast
    assert chosen.marginal_cpa == pytest.approx(20, rel=0.05)  # the split grid's resolution
    above = forecaster.forecast([chosen.timestep_budget * 1.2])[0]
    assert above.marginal_cpa > 20
    unreachable = forecaster.recommend(target_cpa=0.5)
    assert unreachable.forecast is None and "target_cpa 0.5" in unreachable.reason
    with pytest.raises(ValueError, match="exactly one"):
        forecaster.recommend(target_cpa=1, target_roas=1)


def test_a_budget_the_plan_spends_goes_where_the_data_are_not_to_an_unfunded_s_curve() -> None:
    """hill_scurves late in the plan: two S-curves were barely funded, and their posterior mean
    beyond the data is the prior's guess. The forecast's split of the planned budget keeps to
    what was spent (nothing extrapolated) and expects what the truth then delivers."""
    scenario = get_scenario("hill_scurves")
    state = _learned("hill_scurves", timesteps=41, seed=0)
    planned = scenario.total_budget / scenario.timesteps
    forecast = Forecaster(state).forecast([planned])[0]
    assert not forecast.extrapolated
    truth = scenario.expected_objective(forecast.budgets, 41).sum()
    assert forecast.expected == pytest.approx(truth, rel=0.15)


def test_a_target_picks_the_budget_where_the_truths_last_unit_costs_about_the_target() -> None:
    """The truth's marginal CPA at half the planned budget is the target: the recommended
    budget is near that half, and the truth's last unit there costs about the target."""
    scenario = get_scenario("hill_scurves")
    state = _learned("hill_scurves", timesteps=41, seed=0)
    half = 0.5 * scenario.total_budget / scenario.timesteps
    target = true_marginal(scenario, 41, half)
    recommended = Forecaster(state).recommend(target_cpa=1 / target).forecast
    assert recommended.timestep_budget == pytest.approx(half, rel=0.25)
    assert true_marginal(scenario, 41, recommended.timestep_budget) == pytest.approx(
        target, rel=0.25
    )


def test_a_budget_far_beyond_what_was_spent_is_flagged_per_campaign() -> None:
    state = _learned()
    forecaster = Forecaster(state)
    most = np.asarray(state.spend).max(axis=0)
    huge = forecaster.forecast([20 * most.sum()])[0]
    assert huge.extrapolated
    assert np.array_equal(huge.campaign_extrapolated, huge.budgets > EXTRAPOLATION_FACTOR * most)


def test_curves_rise_from_zero_to_each_campaigns_max_budget_or_beyond_its_recent_budget() -> None:
    state = _learned("large_bounded", timesteps=15)
    curves = Forecaster(state).curves()
    bounded = np.isfinite(state.max_budgets)
    assert np.allclose(curves.budgets[bounded, -1], state.max_budgets[bounded])
    assert np.all(curves.budgets[~bounded, -1] >= 2.9 * curves.current_budget[~bounded])
    assert np.allclose(curves.current_budget, state.allocation)
    assert np.all(np.diff(curves.expected, axis=1) >= -1e-9)
    assert np.all((curves.lower <= curves.expected) & (curves.expected <= curves.upper))


def test_plans_that_cannot_be_forecast_say_why() -> None:
    campaigns = [Campaign("a"), Campaign("b")]
    fresh = State.create(campaigns, 1000.0, 10, seed=1)
    with pytest.raises(ForecastUnavailable, match="nothing has been spent"):
        Forecaster(fresh)
    other = State.create(campaigns, 1000.0, 10, policy="thompson", seed=1)
    ai = AI(other)
    ai.allocate()
    ai.update(Results(spend=np.array([50.0, 50.0]), conversions=np.array([3.0, 1.0])))
    with pytest.raises(ForecastUnavailable, match="uses 'thompson'"):
        Forecaster(other)
