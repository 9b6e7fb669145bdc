"""Constraints every registered policy keeps, over random inputs (hypothesis).

Iterates over POLICIES, so a newly registered policy is held to the same rules.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oktapi.engine import AI, POLICIES, Campaign, Results, State
from oktapi.engine.policies.bounds import TOLERANCE, fit_to_bounds

ALL_POLICIES = sorted(POLICIES)
# Policies whose allocation is a deterministic function of the history when scores don't tie.
DETERMINISTIC = {"even": {}, "ucb": {}, "optimistic": {}, "epsilon_greedy": {"epsilon": 0.0}}


def assert_keeps_constraints(state: State, budgets: np.ndarray, timestep_budget: float) -> None:
    """What a user would check on any allocation."""
    low, high = state.min_budgets, state.max_budgets
    slack = TOLERANCE * max(timestep_budget, 1.0)
    assert budgets.shape == (state.n_campaigns,)
    assert np.all(np.isfinite(budgets)), budgets
    assert np.all(budgets >= 0.0), budgets
    assert budgets.sum() <= timestep_budget + slack
    assert np.all(budgets <= high + slack)
    if low.sum() <= timestep_budget:
        assert np.all(budgets >= low - slack)


def assert_explanations_are_plain(explanations: list[dict] | None, n_campaigns: int) -> None:
    """Explanations are stored in the plan: JSON without NaN/inf, one per campaign."""
    if explanations is None:
        return
    assert len(explanations) == n_campaigns
    json.dumps(explanations, allow_nan=False)


@st.composite
def states_with_history(draw, policy: str) -> State:
    """Any plan, any bounds, any (possibly degenerate) history, any budget left."""
    n_campaigns = draw(st.integers(1, 8))
    timesteps = draw(st.integers(1, 30))
    total_budget = draw(st.sampled_from([0.0, 1.0, 1000.0, 1e7]))
    even_budget = total_budget / timesteps
    # No subnormal shares: budget * share / sum would lose all precision in the product and
    # make minimums that add up to more than the timestep budget (a plan State.create refuses).
    share = st.floats(0.0, 1.0, allow_subnormal=False)
    min_shares = draw(st.lists(share, min_size=n_campaigns, max_size=n_campaigns))
    min_scale = draw(st.sampled_from([0.0, 0.5, 1.0]))  # 1.0: minimums use the whole budget
    share_sum = sum(min_shares) or 1.0
    campaigns = []
    for index, share in enumerate(min_shares):
        low = even_budget * min_scale * (share / share_sum)
        room = draw(st.one_of(st.none(), st.floats(0.0, 2.0)))
        high = None if room is None else low + room * even_budget
        campaigns.append(Campaign(f"c{index}", low, high))
    state = State.create(
        campaigns,
        total_budget,
        timesteps,
        objective=draw(st.sampled_from(["conversions", "revenue"])),
        policy=policy,
        step=draw(st.sampled_from([0.01, 0.05, 0.2, 1.0])),
        seed=draw(st.integers(0, 2**32)),
    )
    past = draw(st.integers(0, timesteps - 1))
    cell = st.sampled_from([0.0, 0.0, 1e-9, 0.5, 3.0, 250.0])
    row = st.lists(cell, min_size=n_campaigns, max_size=n_campaigns)
    for _ in range(past):
        allocated, spend, conversions = draw(row), draw(row), draw(row)
        revenue = draw(row)
        state.append_history(np.array([allocated, spend, conversions, revenue]))
    state.budget_spent = draw(st.floats(0.0, 1.5)) * total_budget
    return state


@pytest.mark.parametrize("policy", ALL_POLICIES)
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_policy_keeps_the_constraints_on_any_history(policy, data):
    state = data.draw(states_with_history(policy))
    timestep_budget = state.timestep_budget()
    allocation = AI(state).allocate()
    assert allocation.timestep_budget == timestep_budget
    assert_keeps_constraints(state, allocation.budgets, timestep_budget)
    assert_explanations_are_plain(allocation.explanations, state.n_campaigns)
    json.dumps(state.to_dict(), allow_nan=False)


def _plan(policy: str, campaigns: list[Campaign], **kwargs) -> State:
    return State.create(
        campaigns, kwargs.pop("total_budget", 2800.0), 28, policy=policy, seed=5, **kwargs
    )


def _run(state: State, spend_share: float, conversions: float, steps: int) -> list[np.ndarray]:
    """Report ``steps`` timesteps with a fixed spend share and conversions, checking each one."""
    ai, allocations = AI(state), []
    for _ in range(steps):
        timestep_budget = state.timestep_budget()
        allocation = ai.allocate()
        assert_keeps_constraints(state, allocation.budgets, timestep_budget)
        assert_explanations_are_plain(allocation.explanations, state.n_campaigns)
        allocations.append(allocation.budgets)
        n = state.n_campaigns
        ai.update(Results(allocation.budgets * spend_share, np.full(n, conversions), np.zeros(n)))
    return allocations


FIVE = [Campaign(f"c{index}") for index in range(5)]


@pytest.mark.parametrize("policy", ALL_POLICIES)
@pytest.mark.parametrize("objective", ["conversions", "revenue"])
def test_campaigns_that_spend_nothing_for_weeks_cause_no_nan(policy, objective):
    _run(_plan(policy, FIVE, objective=objective), spend_share=0.0, conversions=0.0, steps=21)


@pytest.mark.parametrize("policy", ALL_POLICIES)
@pytest.mark.parametrize("objective", ["conversions", "revenue"])
def test_spending_without_converting_for_weeks_causes_no_nan(policy, objective):
    _run(_plan(policy, FIVE, objective=objective), spend_share=1.0, conversions=0.0, steps=21)


@pytest.mark.parametrize("policy", ALL_POLICIES)
def test_identical_campaigns_keep_the_whole_budget_in_play(policy):
    for budgets in _run(_plan(policy, FIVE), spend_share=1.0, conversions=2.0, steps=14):
        assert budgets.sum() == pytest.approx(100.0)


@pytest.mark.parametrize("policy", ALL_POLICIES)
def test_zero_remaining_budget_gives_zero_budgets(policy):
    state = _plan(policy, FIVE)
    _run(state, spend_share=1.0, conversions=1.0, steps=3)
    state.budget_spent = state.total_budget
    allocation = AI(state).allocate()
    np.testing.assert_array_equal(allocation.budgets, np.zeros(5))


@pytest.mark.parametrize("policy", ALL_POLICIES)
def test_minimums_that_sum_to_the_budget_are_exactly_what_is_given(policy):
    campaigns = [Campaign("a", 10.0), Campaign("b", 30.0), Campaign("c", 60.0, 80.0)]
    for budgets in _run(_plan(policy, campaigns), spend_share=1.0, conversions=1.0, steps=5):
        np.testing.assert_allclose(budgets, [10.0, 30.0, 60.0], rtol=1e-12)


@pytest.mark.parametrize("policy", ALL_POLICIES)
def test_overspend_that_leaves_less_than_the_minimums_scales_them_down_with_a_note(policy):
    campaigns = [Campaign("a", 1.0), Campaign("b", 2.0), Campaign("c")]
    state = _plan(policy, campaigns, total_budget=280.0)
    ai = AI(state)
    ai.allocate()
    ai.update(Results(np.array([100.0, 100.0, 78.0]), np.ones(3), np.zeros(3)))
    allocation = ai.allocate()  # 2 left for 27 timesteps: less than the 3 of minimums
    # Scaled down to 0.0247 and 0.0494, then rounded to cents within the 0.074 left.
    np.testing.assert_allclose(allocation.budgets, [0.02, 0.05, 0.0])
    assert "min_budget" in allocation.note


@pytest.mark.parametrize("policy", ALL_POLICIES)
def test_a_campaign_capped_at_zero_gets_nothing(policy):
    campaigns = [Campaign("a"), Campaign("off", max_budget=0.0), Campaign("b")]
    for budgets in _run(_plan(policy, campaigns), spend_share=1.0, conversions=1.0, steps=6):
        assert budgets[1] == 0.0
        assert budgets.sum() == pytest.approx(100.0)


def _history_rows(rng: np.random.Generator, n_campaigns: int, steps: int) -> list[np.ndarray]:
    """Tie-free random history rows (distinct rates per campaign)."""
    rows = []
    for _ in range(steps):
        allocated = rng.uniform(10.0, 50.0, n_campaigns)
        spend = allocated * rng.uniform(0.5, 1.0, n_campaigns)
        conversions = rng.uniform(0.0, 5.0, n_campaigns)
        rows.append(np.array([allocated, spend, conversions, conversions * 17.0]))
    return rows


def _permuted_plans(policy, params, seed, n_campaigns, steps, objective):
    rng = np.random.default_rng(seed)
    bounds = [
        (float(rng.uniform(0, 5)), None if rng.random() < 0.5 else float(rng.uniform(20, 60)))
    ]
    bounds = (
        bounds * n_campaigns
        if rng.random() < 0.2
        else [
            (float(rng.uniform(0, 5)), None if rng.random() < 0.5 else float(rng.uniform(20, 60)))
            for _ in range(n_campaigns)
        ]
    )
    campaigns = [Campaign(f"c{index}", *bounds[index]) for index in range(n_campaigns)]
    rows = _history_rows(rng, n_campaigns, steps)
    order = rng.permutation(n_campaigns)
    plans = []
    for permutation in (np.arange(n_campaigns), order):
        state = State.create(
            [campaigns[index] for index in permutation],
            total_budget=100.0 * n_campaigns * 40,
            timesteps=40,
            objective=objective,
            policy=policy,
            policy_params=params,
            seed=3,
        )
        for row in rows:
            state.append_history(row[:, permutation])
        plans.append(state)
    return plans


@pytest.mark.parametrize("policy", sorted(DETERMINISTIC))
@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    n_campaigns=st.integers(2, 9),
    steps=st.integers(1, 12),
    objective=st.sampled_from(["conversions", "revenue"]),
)
def test_deterministic_policies_ignore_campaign_order(policy, seed, n_campaigns, steps, objective):
    original, permuted = _permuted_plans(
        policy, DETERMINISTIC[policy], seed, n_campaigns, steps, objective
    )
    by_id = dict(
        zip([c.id for c in original.campaigns], AI(original).allocate().budgets, strict=True)
    )
    permuted_budgets = AI(permuted).allocate().budgets
    for campaign, budget in zip(permuted.campaigns, permuted_budgets, strict=True):
        assert budget == pytest.approx(by_id[campaign.id], rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("policy", ALL_POLICIES)
def test_campaign_order_changes_only_the_random_draws(policy):
    """Mean budget per campaign over many seeds is the same whatever the campaign order."""
    n_campaigns, draws = 5, 400
    means = []
    for permutation in (np.arange(n_campaigns), np.array([4, 1, 3, 0, 2])):
        rows = _history_rows(np.random.default_rng(1), n_campaigns, 6)
        for row in rows:  # c0 and c1 have the same, best history: their scores tie
            row[:, 1] = row[:, 0]
            row[2:, :2] *= 3.0
        totals = np.zeros(n_campaigns)
        for seed in range(draws):
            state = State.create(
                [Campaign(f"c{index}") for index in permutation],
                4000.0,
                40,
                policy=policy,
                seed=seed,
            )
            for row in rows:
                state.append_history(row[:, permutation])
            totals[permutation] += AI(state).allocate().budgets
        means.append(totals / draws)
    # One step moves 5 of the 100 budget: an order bias (say the first of c0/c1 always winning
    # their tie) shifts a mean by ~5, while sampling noise on a difference of means is ~0.25.
    np.testing.assert_allclose(means[0], means[1], atol=1.25)


@settings(max_examples=300, deadline=None)
@given(
    requested=st.lists(st.floats(-10.0, 100.0), min_size=1, max_size=10),
    data=st.data(),
    timestep_budget=st.floats(0.0, 500.0),
)
def test_fit_to_bounds_lands_in_bounds_and_is_a_no_op_on_fitting_budgets(
    requested, data, timestep_budget
):
    n = len(requested)
    low = np.array(data.draw(st.lists(st.floats(0.0, 30.0), min_size=n, max_size=n)))
    room = data.draw(
        st.lists(st.one_of(st.just(math.inf), st.floats(0.0, 80.0)), min_size=n, max_size=n)
    )
    high = low + np.array(room)
    fitted = fit_to_bounds(np.array(requested), timestep_budget, low, high)
    slack = TOLERANCE * max(timestep_budget, 1.0)
    assert np.all(np.isfinite(fitted)) and np.all(fitted >= 0)
    assert fitted.sum() <= timestep_budget + slack
    if low.sum() <= timestep_budget:
        assert np.all(fitted >= low - slack) and np.all(fitted <= high + slack)
        target = min(
            max(sum(max(r, 0.0) for r in requested), low.sum()), timestep_budget, high.sum()
        )
        assert fitted.sum() == pytest.approx(target, rel=1e-9, abs=1e-9)
        np.testing.assert_allclose(
            fit_to_bounds(fitted, timestep_budget, low, high), fitted, atol=slack
        )
    else:
        np.testing.assert_allclose(fitted, low * timestep_budget / low.sum(), atol=slack)


def test_fit_to_bounds_shifts_equally_then_clips():
    fitted = fit_to_bounds(
        np.full(3, 100 / 3), 100.0, np.array([50.0, 0.0, 0.0]), np.full(3, np.inf)
    )
    np.testing.assert_allclose(fitted, [50.0, 25.0, 25.0])
    fitted = fit_to_bounds(np.full(3, 100 / 3), 100.0, np.zeros(3), np.array([10.0, np.inf, 20.0]))
    np.testing.assert_allclose(fitted, [10.0, 70.0, 20.0])
    fitted = fit_to_bounds(np.full(2, 50.0), 100.0, np.zeros(2), np.array([10.0, 20.0]))
    np.testing.assert_allclose(fitted, [10.0, 20.0])  # can't place more than the maxima
