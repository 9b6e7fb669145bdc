"""Step policies: a campaign added or resumed mid-plan starts from the others' mean share (within
its bounds), not from 0 budget it would have to win back a step at a time."""

from __future__ import annotations

import numpy as np
import pytest

from oktapi.engine import AI, Campaign, Results, State
from oktapi.engine.policies.bounds import within_bounds

STEP_POLICIES = ["thompson", "ucb", "epsilon_greedy", "optimistic", "softmax"]
STEP = 0.05


def _plan(policy: str, campaigns: list[Campaign]) -> tuple[AI, np.random.Generator]:
    state = State.create(campaigns, 12000.0, 12, policy=policy, step=STEP, seed=7)
    return AI(state), np.random.default_rng(3)


def _report(ai: AI, market: np.random.Generator) -> np.ndarray:
    budgets = ai.allocate().budgets
    spend = budgets * 0.95
    rates = np.linspace(0.01, 0.04, len(budgets))
    ai.update(Results(spend, market.poisson(rates * spend).astype(float)))
    return budgets


def _check(ai: AI, budgets: np.ndarray) -> None:
    state = ai.state
    timestep_budget = state.timestep_budget()
    assert within_bounds(budgets, timestep_budget, state.min_budgets, state.max_budgets) is None
    assert round(budgets.sum() * 100) == round(timestep_budget * 100)  # all of it, to the cent


@pytest.mark.parametrize("policy", STEP_POLICIES)
def test_an_added_campaign_starts_from_the_mean_share_of_the_others(policy: str) -> None:
    ai, market = _plan(policy, [Campaign("a"), Campaign("b"), Campaign("c")])
    for _ in range(4):
        _report(ai, market)
    ai.add_campaign(Campaign("new"))
    budgets = ai.allocate().budgets
    _check(ai, budgets)
    even = ai.state.timestep_budget() / 4
    step = STEP * ai.state.timestep_budget()
    # It starts at the even share of four; one step may move it either way.
    assert even - step - 0.01 <= budgets[3] <= even + step + 0.01
    spent_before = ai.state.budget_spent
    spend = budgets * 0.95
    ai.update(Results(spend, np.zeros(4)))
    assert ai.state.budget_spent == pytest.approx(spent_before + spend.sum())
    assert ai.state.budget_spent + ai.state.timestep_budget() * 7 == pytest.approx(12000.0)


@pytest.mark.parametrize("policy", STEP_POLICIES)
def test_a_resumed_campaign_starts_from_the_mean_share_within_its_bounds(policy: str) -> None:
    ai, market = _plan(policy, [Campaign("a"), Campaign("b"), Campaign("c", max_budget=200.0)])
    _report(ai, market)
    ai.set_campaign_constraints(2, paused=True)
    for _ in range(3):
        budgets = _report(ai, market)
        assert budgets[2] == 0.0
    ai.set_campaign_constraints(2, paused=False)
    budgets = ai.allocate().budgets
    _check(ai, budgets)
    assert budgets[2] == pytest.approx(200.0)  # the mean share (about 333) capped at its max
    ai.set_campaign_constraints(2, max_budget=None)
    budgets = ai.reallocate().budgets
    _check(ai, budgets)
    step = STEP * ai.state.timestep_budget()
    assert budgets[2] >= ai.state.timestep_budget() / 3 - step - 0.01


@pytest.mark.parametrize("policy", STEP_POLICIES)
def test_without_a_joiner_the_split_moves_by_at_most_one_step(policy: str) -> None:
    """Only joining changes the starting split: the others carry on from last timestep."""
    ai, market = _plan(policy, [Campaign("a"), Campaign("b")])
    for _ in range(3):
        _report(ai, market)
    last = ai.state.allocated[-1] / ai.state.allocated[-1].sum()
    budgets = ai.allocate().budgets
    moved = np.abs(budgets - last * ai.state.timestep_budget())
    assert np.all(moved <= STEP * ai.state.timestep_budget() + 0.01)
