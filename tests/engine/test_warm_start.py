"""A plan that learns from the days before it: blocks of its timestep length, honest intervals."""

from __future__ import annotations

import numpy as np
import pytest

from oktapi.engine import AI, Campaign, Results, State
from oktapi.engine.state import HISTORY_COLUMNS
from oktapi.engine.warm_start import DayRevision, PriorDays, prior_rows, warm_start


def _column(rows: np.ndarray, name: str) -> np.ndarray:
    return rows[HISTORY_COLUMNS.index(name)]


def _days(spend: list[list[float]], conversions: list[list[float]]) -> PriorDays:
    spend_array = np.array(spend, dtype=float)
    return PriorDays(
        spend_array,
        np.array(conversions, dtype=float),
        np.zeros_like(spend_array),
        np.ones(spend_array.shape, dtype=bool),
        np.zeros(spend_array.shape, dtype=np.int64),
    )


def _plan(n: int = 2, *, timesteps: int = 10, budget: float = 2000.0, seed: int = 3) -> State:
    return State.create([Campaign(f"c{i}") for i in range(n)], budget, timesteps, seed=seed)


def test_days_become_blocks_of_the_plans_timestep_ending_the_day_before_its_start() -> None:
    # 10 days of one campaign, timesteps of 4 days: blocks of days 2-5 and 6-9; days 0-1 are
    # half a block (counted, scaled to 4 days).
    prior = _days([[10.0]] * 10, [[1.0]] * 10)
    rows = prior_rows(prior, 4)
    assert rows.shape == (len(HISTORY_COLUMNS), 3, 1)
    spend = _column(rows, "spend")[:, 0]
    assert spend.tolist() == [40.0, 40.0, 40.0] == _column(rows, "allocated")[:, 0].tolist()
    assert _column(rows, "conversions")[:, 0].tolist() == [4.0, 4.0, 4.0]
    # reported right after each block
    assert _column(rows, "observed_at")[:, 0].tolist() == [-3.0, -2.0, -1.0]


def test_a_block_with_under_half_its_days_is_no_evidence_and_others_are_scaled() -> None:
    recorded = np.ones((7, 2), dtype=bool)
    recorded[:, 1] = [True, False, False, False, False, False, True]
    prior = PriorDays(
        np.full((7, 2), 5.0),
        np.full((7, 2), 1.0),
        np.zeros((7, 2)),
        recorded,
        np.zeros((7, 2), dtype=np.int64),
    )
    rows = prior_rows(prior, 7)
    assert _column(rows, "spend")[0, 0] == pytest.approx(35.0)
    # 2 of 7 days: a smaller spend it never had, so left out
    assert _column(rows, "spend")[0, 1] == 0.0
    assert _column(rows, "participated")[0].tolist() == [1.0, 0.0]  # no evidence at all

    recorded[:, 1] = [True, True, True, True, False, False, False]
    spend = _column(prior_rows(prior, 7), "spend")
    assert spend[0, 1] == pytest.approx(35.0)  # 4 of 7 days at 5 a day: 35 for the week


def test_late_reports_keep_their_age_and_leading_empty_blocks_are_dropped() -> None:
    prior = _days([[0.0], [0.0], [8.0], [8.0]], [[0.0], [0.0], [2.0], [2.0]])
    reported = np.array([[0], [0], [5], [0]])
    prior = PriorDays(prior.spend, prior.conversions, prior.revenue, prior.recorded, reported)
    rows = prior_rows(prior, 1)
    assert rows.shape[1] == 2  # the two days without spend or conversions before any are gone
    assert _column(rows, "observed_at")[:, 0].tolist() == [-2.0 + 5.0, -1.0]


def test_the_first_allocation_follows_the_history() -> None:
    # Campaign 0 converted four times as well as campaign 1 over four weeks at varied spend.
    rng = np.random.default_rng(5)
    spend = rng.uniform(50, 150, size=(28, 2))
    conversions = rng.poisson(spend * np.array([0.2, 0.05])).astype(float)
    warm = _plan()
    assert warm_start(warm, _days(spend.tolist(), conversions.tolist()), 1) == 28
    budgets = AI(warm).allocate().budgets
    cold = AI(_plan()).allocate().budgets
    assert cold[0] == pytest.approx(cold[1])
    assert budgets[0] > 1.5 * budgets[1]
    assert budgets.sum() == pytest.approx(200.0)


def test_a_warm_state_round_trips_and_goes_on_like_any_plan() -> None:
    spend = [[100.0, 100.0]] * 30
    state = _plan(timesteps=5)
    warm_start(state, _days(spend, [[10.0, 2.0]] * 30), 1)
    first = AI(state).allocate()
    copy = State.from_dict(state.to_dict())
    assert copy.history_start == state.history_start < 0
    assert AI(copy).allocate().budgets.tolist() == first.budgets.tolist()
    for _ in range(5):
        ai = AI(copy)
        allocation = ai.allocate()
        ai.update(Results(allocation.budgets, allocation.budgets * [0.1, 0.02], np.zeros(2)))
    assert copy.finished
    assert copy.budget_spent == pytest.approx(2000.0)  # the history's spend is not the plan's


def test_only_a_fresh_plan_learns_from_days_before_it() -> None:
    state = _plan()
    ai = AI(state)
    ai.update(Results(ai.allocate().budgets, np.zeros(2), np.zeros(2)))
    with pytest.raises(ValueError, match="before its first allocation"):
        warm_start(state, _days([[1.0, 1.0]], [[0.0, 0.0]]), 1)


def test_restated_history_days_teach_how_conversions_mature() -> None:
    state = _plan()
    prior = _days([[100.0, 100.0]] * 14, [[10.0, 10.0]] * 14)
    revisions = [
        DayRevision(campaign, 0, 3, (6.0, 0.0), (10.0, 0.0))
        for campaign in (0, 1)
        for _ in range(10)
    ]
    prior = PriorDays(
        prior.spend,
        prior.conversions,
        prior.revenue,
        prior.recorded,
        prior.reported_after,
        revisions,
    )
    warm_start(state, prior, 1)
    assert state.maturity.learnt
    explanations = AI(state).allocate().explanations
    assert explanations is not None
    # a figure reported the next day shows clearly under its final conversions
    assert all(entry["maturity"] < 0.8 for entry in explanations)


def _coverage_and_width(jitter: float, seeds: int) -> tuple[float, float]:
    """Share of 80% intervals containing the true expected conversions at the first budgets,
    and their median width relative to the expected value where budgets moved far from the
    history's spend, after four weeks whose spend varied by +/- jitter around one split."""
    level = np.array([40.0, 25.0, 60.0, 15.0])
    half_budget = np.array([60.0, 150.0, 90.0, 30.0])
    hits, widths = [], []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        usual = rng.dirichlet(np.full(4, 3.0)) * 400.0
        spend = usual * rng.uniform(1 - jitter, 1 + jitter, size=(28, 4))
        conversions = rng.poisson(level * -np.expm1(-spend / half_budget)).astype(float)
        state = _plan(4, timesteps=30, budget=12000.0, seed=seed)
        warm_start(state, _days(spend.tolist(), conversions.tolist()), 1)
        allocation = AI(state).allocate()
        truth = level * -np.expm1(-allocation.budgets / half_budget)
        explanations = allocation.explanations or []
        lower = np.array([entry["lower"] for entry in explanations])
        upper = np.array([entry["upper"] for entry in explanations])
        expected = np.array([entry["expected"] for entry in explanations])
        hits.extend(((lower <= truth) & (truth <= upper)).tolist())
        far = np.abs(allocation.budgets - usual) > 0.5 * usual
        widths.extend(((upper - lower) / expected)[far].tolist())
    return float(np.mean(hits)), float(np.median(widths))


def test_intervals_stay_honest_when_the_history_barely_varied_its_spend() -> None:
    """Spend that barely moved says little about curvature: far from it the intervals widen
    (they then hold the truth more often than 80%, never less), while after a history whose
    spend varied they hold it about as often as they claim."""
    flat_coverage, flat_width = _coverage_and_width(0.02, seeds=40)
    varied_coverage, varied_width = _coverage_and_width(0.6, seeds=40)
    assert flat_coverage >= 0.75
    assert 0.7 <= varied_coverage <= 0.92
    assert flat_width > 1.3 * varied_width
