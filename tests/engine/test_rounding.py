"""Budgets in whole cents (whole yen): never above the timestep budget, never outside the bounds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oktapi.engine import AI, Campaign, Results, State
from oktapi.engine.policies.bounds import fit_to_bounds, within_bounds
from oktapi.engine.rounding import round_budgets


def _is_whole(values: np.ndarray, decimals: int) -> np.ndarray:
    units = values * 10.0**decimals
    return np.abs(units - np.round(units)) < 1e-6


@st.composite
def feasible_splits(draw):
    """A split that already fits its bounds and budget, as a policy hands it to the rounding."""
    n_campaigns = draw(st.integers(1, 12))
    decimals = draw(st.sampled_from([0, 2, 3]))
    timestep_budget = draw(st.sampled_from([0.0, 0.07, 1.0, 99.99, 1000.0 / 3, 12345.678, 1e6]))
    money = st.floats(0.0, 1.0, allow_subnormal=False)
    min_shares = np.array(draw(st.lists(money, min_size=n_campaigns, max_size=n_campaigns)))
    min_scale = draw(st.sampled_from([0.0, 0.3, 1.0]))
    low = timestep_budget * min_scale * min_shares / max(min_shares.sum(), 1.0)
    rooms = draw(st.lists(st.one_of(st.none(), money), min_size=n_campaigns, max_size=n_campaigns))
    high = np.array(
        [
            math.inf if room is None else low[index] + room * timestep_budget
            for index, room in enumerate(rooms)
        ]
    )
    wanted = np.array(draw(st.lists(money, min_size=n_campaigns, max_size=n_campaigns)))
    share = draw(st.sampled_from([0.5, 1.0]))
    requested = wanted / max(wanted.sum(), 1e-9) * timestep_budget * share
    budgets = fit_to_bounds(requested, timestep_budget, low, high)
    return budgets, timestep_budget, low, high, decimals


@settings(max_examples=400, deadline=None)
@given(split=feasible_splits(), seed=st.integers(0, 2**16))
def test_rounded_budgets_keep_the_sum_the_bounds_and_the_unit(split, seed):
    budgets, timestep_budget, low, high, decimals = split
    rounded = round_budgets(budgets, timestep_budget, low, high, decimals)
    unit = 10.0**-decimals
    assert rounded.shape == budgets.shape
    # Sum at most the budget, every budget within its bounds (the check AI.allocate makes).
    assert within_bounds(rounded, timestep_budget, low, high) is None
    # Whole units, except a campaign whose own bounds hold no whole unit or whose off-grid
    # minimum fills the budget: it keeps its exact budget.
    whole = _is_whole(rounded, decimals)
    kept = rounded == budgets
    assert np.all(whole | kept)
    # Less than a unit per campaign of the requested sum is lost, and no budget grows by more
    # than a unit (one may shrink more, to make room for minimums rounded up) unless every
    # other campaign with room grew too: the units still missing went round, one each.
    if low.sum() <= timestep_budget:
        assert rounded.sum() > budgets.sum() - unit * len(budgets) - 1e-9
    if np.any(rounded - budgets > unit + 1e-9):
        room = whole & (rounded + unit <= high + 1e-9)
        assert np.all(rounded[room] > budgets[room])
    # Where every campaign's bounds hold a whole unit, the sum is the requested sum in whole
    # units exactly (the timestep budget rounded down, when all of it was asked for), ties or
    # not, as far as the bounds in whole units allow (float noise: the slack the rounding takes).
    scale = 10.0**decimals
    slack = min(1e-9 * max(timestep_budget, 1.0) * scale, 1e-3)
    low_units = np.ceil(low * scale - slack)
    high_units = np.where(np.isfinite(high), np.floor(high * scale + slack), np.inf)
    cap = math.floor(timestep_budget * scale + slack)
    if np.all(low_units <= high_units) and low_units.sum() <= cap:
        wanted = min(cap, math.floor(math.fsum(budgets * scale) + 0.5), high_units.sum())
        assert round(rounded.sum() * scale) == max(wanted, low_units.sum())
    # The order campaigns are listed in changes nothing when the tie-break moves with them.
    order = np.random.default_rng(seed).permutation(len(budgets))
    priority = np.random.default_rng(seed + 1).permutation(len(budgets))
    rounded = round_budgets(budgets, timestep_budget, low, high, decimals, priority)
    shuffled = round_budgets(
        budgets[order], timestep_budget, low[order], high[order], decimals, priority[order]
    )
    np.testing.assert_array_equal(shuffled, rounded[order])


@settings(max_examples=300, deadline=None)
@given(
    n_campaigns=st.integers(1, 12),
    decimals=st.sampled_from([0, 2, 3]),
    whole_units=st.integers(0, 10**7),
    turn=st.integers(0, 50),
)
def test_an_even_split_of_any_budget_adds_up_to_it_exactly(
    n_campaigns, decimals, whole_units, turn
):
    """The tie case: every campaign loses the same in rounding; the units left still go out."""
    timestep_budget = whole_units / 10.0**decimals
    budgets = np.full(n_campaigns, timestep_budget / n_campaigns)
    priority = (np.arange(n_campaigns) - turn) % n_campaigns
    low, high = np.zeros(n_campaigns), np.full(n_campaigns, np.inf)
    rounded = round_budgets(budgets, timestep_budget, low, high, decimals, priority)
    assert np.all(_is_whole(rounded, decimals))
    assert round(rounded.sum() * 10.0**decimals) == whole_units
    assert rounded.max() - rounded.min() <= 10.0**-decimals + 1e-9  # still as even as can be


def test_an_even_split_hands_out_the_cent_left_by_priority():
    rounded = round_budgets(np.full(3, 100.0 / 3), 100.0, np.zeros(3), np.full(3, np.inf), 2)
    assert rounded.tolist() == [33.34, 33.33, 33.33]
    turned = round_budgets(
        np.full(3, 100.0 / 3), 100.0, np.zeros(3), np.full(3, np.inf), 2, np.array([2, 0, 1])
    )
    assert turned.tolist() == [33.33, 33.34, 33.33]


def test_zero_decimal_currencies_get_whole_units_within_the_budget():
    budgets = np.array([1234.6, 2345.7, 3419.7])
    rounded = round_budgets(budgets, 7000.0, np.zeros(3), np.full(3, np.inf), 0)
    np.testing.assert_array_equal(rounded, [1234.0, 2346.0, 3420.0])


def test_the_extra_cent_goes_to_the_largest_remainder_that_has_room():
    budgets = np.array([10.004, 10.0, 9.996])  # 30.000: rounded down they leave a cent
    high = np.array([np.inf, np.inf, 9.996])  # the largest remainder (9.996) has no room
    rounded = round_budgets(budgets, 30.0, np.zeros(3), high, 2)
    np.testing.assert_allclose(rounded, [10.01, 10.0, 9.99])


def test_campaigns_with_equal_remainders_share_the_units_left_by_priority():
    budgets = np.array([10.007, 10.007, 9.986])  # 30.000: 10.00 + 10.00 + 9.98 leaves 2 cents
    rounded = round_budgets(budgets, 30.0, np.zeros(3), np.full(3, np.inf), 2)
    np.testing.assert_allclose(rounded, [10.01, 10.01, 9.98])
    budgets = np.array([10.004, 10.004, 9.992])  # now the last one has the largest remainder
    rounded = round_budgets(budgets, 30.0, np.zeros(3), np.full(3, np.inf), 2)
    np.testing.assert_allclose(rounded, [10.01, 10.0, 9.99])  # 2 tied, 1 cent: the first
    rounded = round_budgets(budgets, 30.0, np.zeros(3), np.full(3, np.inf), 2, np.array([1, 0, 2]))
    np.testing.assert_allclose(rounded, [10.0, 10.01, 9.99])


def test_minimums_rounded_up_take_back_exactly_what_they_overshoot():
    # 0.005 minimums round up to 0.01 each: 4 cents of minimums, 2 to take from the others.
    low = np.array([0.005, 0.005, 0.005, 0.005, 0.0, 0.0])
    budgets = np.array([0.005, 0.005, 0.005, 0.005, 4.99, 4.99])  # 10.00 in all
    rounded = round_budgets(budgets, 10.0, low, np.full(6, np.inf), 2)
    assert round(rounded.sum() * 100) == 1000
    assert np.all(rounded >= low)


@pytest.mark.parametrize("decimals", [0, 2])
@pytest.mark.parametrize("policy", ["response_curve", "thompson", "even"])
def test_every_allocation_of_a_plan_is_whole_units_and_within_the_budget(decimals, policy):
    campaigns = [Campaign("a"), Campaign("b", min_budget=7.0), Campaign("c", max_budget=130.0)]
    state = State.create(campaigns, 9999.0, 30, policy=policy, seed=4, decimals=decimals)
    ai, market = AI(state), np.random.default_rng(4)
    rates = np.array([0.03, 0.01, 0.05])
    for _ in range(30):
        timestep_budget = state.timestep_budget()
        allocation = ai.allocate()
        budgets = allocation.budgets
        assert within_bounds(budgets, timestep_budget, state.min_budgets, state.max_budgets) is None
        assert np.all(_is_whole(budgets, decimals)), budgets
        assert budgets.sum() > timestep_budget - 3 * 10.0**-decimals  # under a unit each left
        # All of it, to the unit: the timestep budget rounded down (its fraction of a unit
        # stays in the plan's remaining budget).
        floor_units = math.floor(timestep_budget * 10.0**decimals + 1e-6)
        assert round(budgets.sum() * 10.0**decimals) == floor_units
        spend = budgets * market.uniform(0.8, 1.0, 3)
        ai.update(Results(spend, market.poisson(rates * spend).astype(float)))
    assert state.budget_spent <= state.total_budget
