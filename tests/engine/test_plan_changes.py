"""Plans that change while they run: budgets, lengths, campaigns paused, locked, added, removed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from oktapi.engine import AI, Campaign, Results, State
from oktapi.engine.policies import POLICIES
from oktapi.engine.policies.bounds import within_bounds

RATES = {"search": 0.05, "social": 0.02, "video": 0.08, "display": 0.01, "newcomer": 0.06}
ALL_POLICIES = sorted(POLICIES)


def _plan(policy: str = "response_curve", timesteps: int = 30, **kwargs) -> State:
    campaigns = [
        Campaign("search"),
        Campaign("social", min_budget=5.0),
        Campaign("video", max_budget=60.0),
        Campaign("display", min_budget=2.0, max_budget=80.0),
    ]
    return State.create(campaigns, 6000.0, timesteps, policy=policy, seed=11, **kwargs)


def _report(state: State, market: np.random.Generator, share: float = 0.9) -> Results:
    """What the campaigns that must report produced: the others report 0."""
    rates = np.array([RATES[c.id] for c in state.campaigns])
    spend = share * state.allocation * state.must_report
    conversions = market.poisson(rates * spend).astype(np.float64)
    return Results(spend=spend, conversions=conversions, revenue=conversions * 20.0)


def _played(
    timesteps_played: int, market_seed: int, **plan
) -> tuple[State, AI, np.random.Generator]:
    """A `_plan` with its first timesteps allocated and reported from a seeded market."""
    state, market = _plan(**plan), np.random.default_rng(market_seed)
    ai = AI(state)
    for _ in range(timesteps_played):
        ai.allocate()
        ai.update(_report(state, market))
    return state, ai, market


def _check(state: State, budgets: np.ndarray, timestep_budget: float) -> None:
    """What a user checks on every allocation of an edited plan."""
    assert within_bounds(budgets, timestep_budget, state.min_budgets, state.max_budgets) is None
    assert np.all(budgets[state.paused | state.removed] == 0.0)
    locked = state.is_locked
    np.testing.assert_allclose(budgets[locked], state.locked[locked])
    cents = budgets * 100
    np.testing.assert_allclose(cents, np.round(cents), atol=1e-6)
    # Pacing: what is left is spread over what is left, so spent + remaining = total.
    remaining = timestep_budget * (state.timesteps - state.timestep)
    assert state.budget_spent + remaining == pytest.approx(state.total_budget)


EDITS = {
    5: lambda ai: ai.change_budget(total_budget=9000.0),  # raised
    8: lambda ai: ai.set_campaign_constraints(1, paused=True),
    11: lambda ai: ai.set_campaign_constraints(0, locked=120.0),
    13: lambda ai: ai.add_campaign(Campaign("newcomer", max_budget=150.0)),
    15: lambda ai: ai.set_campaign_constraints(1, paused=False),
    18: lambda ai: ai.change_budget(timesteps=40),  # extended
    21: lambda ai: ai.remove_campaign(3),
    24: lambda ai: ai.set_campaign_constraints(0, locked=None, max_budget=200.0),
    27: lambda ai: ai.change_budget(total_budget=7000.0),  # cut
    30: lambda ai: ai.set_campaign_constraints(2, min_budget=10.0),
}


@pytest.mark.parametrize("policy", ALL_POLICIES)
def test_a_long_plan_edited_many_times_keeps_its_budget_bounds_and_locks(policy):
    state, market = _plan(policy), np.random.default_rng(3)
    while not state.finished:
        state = State.from_dict(state.to_dict())  # every timestep saved and loaded
        ai = AI(state)
        if state.timestep in EDITS:
            ai.allocate()
            EDITS[state.timestep](ai)
            allocation = ai.reallocate()
        else:
            allocation = ai.allocate()
        _check(state, allocation.budgets, allocation.timestep_budget)
        ai.update(_report(state, market))
    assert state.timesteps == 40
    assert state.budget_spent <= state.total_budget + 1e-6
    assert state.budget_spent > 0.85 * state.total_budget  # 90% spent: pacing used the rest
    participated = state.participated  # kept rows: timesteps history_start .. 39
    before_joining = 13 - state.history_start  # the newcomer joined at timestep 13
    assert before_joining > 0
    assert np.all(participated[:before_joining, 4] == 0.0)
    assert np.all(participated[before_joining:, 4] == 1.0)
    assert np.all(participated[21 - state.history_start :, 3] == 0.0)  # removed at 21
    assert np.all(state.allocated[:, 4][participated[:, 4] == 0.0] == 0.0)


def test_a_paused_campaign_gets_nothing_reports_nothing_and_its_share_goes_to_the_others():
    state, ai, market = _played(6, market_seed=1)
    before = ai.allocate().budgets
    ai.set_campaign_constraints(2, paused=True)
    assert state.must_report.all()  # the allocation computed before the pause still stands
    after = ai.reallocate()
    assert after.budgets[2] == 0.0 and before[2] > 0.0
    assert state.must_report.tolist() == [True, True, False, True]
    assert after.budgets.sum() == pytest.approx(after.timestep_budget, abs=0.03)
    ai.update(_report(state, market))
    assert state.participated[-1].tolist() == [1.0, 1.0, 0.0, 1.0]
    ai.set_campaign_constraints(2, paused=False)
    assert ai.allocate().budgets[2] > 0.0


def test_a_locked_campaign_gets_exactly_its_lock_and_the_rest_share_what_is_left():
    state = _plan()
    ai = AI(state)
    ai.allocate()
    ai.set_campaign_constraints(3, locked=55.5)
    budgets = ai.reallocate().budgets
    assert budgets[3] == 55.5
    assert budgets.sum() == pytest.approx(200.0, abs=0.03)  # under a cent each left


def test_bad_edits_say_what_to_fix_and_change_nothing():
    state, ai, _ = _played(3, market_seed=2)
    ai.allocate()
    ai.set_campaign_constraints(0, locked=100.0)
    saved = state.to_dict()
    cases = [
        (lambda: ai.set_campaign_constraints(2, locked=61.0), "outside its bounds"),
        (lambda: ai.set_campaign_constraints(1, locked=500.0), "more than the timestep budget"),
        # 100 + 101 + display's min 2 > the 202.2 left per timestep
        (lambda: ai.set_campaign_constraints(1, locked=101.0), "min_budget"),
        (lambda: ai.set_campaign_constraints(0, min_budget=101.0), "outside its bounds"),
        (lambda: ai.set_campaign_constraints(3, max_budget=1.0), "max_budget"),
        (lambda: ai.set_campaign_constraints(9, paused=True), "0..3"),
        (lambda: ai.change_budget(total_budget=10.0), "already spent"),
        (lambda: ai.change_budget(timesteps=3), "at least 4"),
        (lambda: ai.change_budget(total_budget=state.budget_spent + 300.0), "locked"),
        (lambda: ai.add_campaign(Campaign("search")), "already in the plan"),
        (lambda: ai.add_campaign(Campaign("big", min_budget=150.0)), "timestep budget"),
        (lambda: ai.set_campaign_constraints(1, min_budget=101.0), "lower a lock or a min_budget"),
    ]
    for edit, message in cases:
        with pytest.raises(ValueError, match=message):
            edit()
        assert state.to_dict() == saved, message


def test_removing_the_last_campaign_or_one_twice_is_refused():
    state = State.create([Campaign("a"), Campaign("b")], 100.0, 5, seed=1)
    ai = AI(state)
    ai.remove_campaign(0)
    with pytest.raises(ValueError, match="already removed"):
        ai.remove_campaign(0)
    with pytest.raises(ValueError, match="last one"):
        ai.remove_campaign(1)
    with pytest.raises(ValueError, match="add it again"):
        ai.set_campaign_constraints(0, paused=True)


def test_an_edit_leaves_what_was_learnt_about_the_other_campaigns_unchanged():
    """Budget, length, pause, lock and an added campaign: the fitted curves of the campaigns
    already in the plan stay exactly what they were (a finished plan is 60 timesteps long, so
    rows were folded before the campaign joins)."""
    state, ai, _ = _played(45, market_seed=5, timesteps=60)
    assert state.history_start > 0  # rows were folded
    policy = ai.policy

    def fitted(state: State) -> tuple[np.ndarray, np.ndarray]:
        posterior = policy.fit(state, state.timestep_budget()).posterior
        return posterior.curvature_probs[:4], posterior.mean_scale()[:4]

    before = fitted(state)
    ai.change_budget(total_budget=12000.0, timesteps=80)
    ai.set_campaign_constraints(1, paused=True)
    ai.set_campaign_constraints(0, locked=50.0)
    ai.add_campaign(Campaign("newcomer"))
    after = fitted(State.from_dict(state.to_dict()))
    for one, other in zip(before, after, strict=True):
        np.testing.assert_allclose(one, other, rtol=1e-12)


def test_an_added_campaign_starts_from_the_pooled_prior_and_its_past_is_not_in_the_plan():
    state, ai, market = _played(10, market_seed=6)
    ai.allocate()
    index = ai.add_campaign(Campaign("newcomer"))
    assert index == 4 and state.n_campaigns == 5
    assert state.participated[:, 4].tolist() == [0.0] * 10
    assert not state.must_report[4]  # not in the allocation computed before it joined
    budgets = ai.reallocate().budgets
    assert budgets[4] > 0.0  # the pooled prior gives it a fair chance
    assert state.must_report[4]
    explanations = state.explanations
    assert explanations is not None and explanations[4]["lower"] < explanations[4]["upper"]
    ai.update(_report(state, market))
    assert state.participated[-1, 4] == 1.0


def test_a_removed_campaign_keeps_its_past_and_can_join_again():
    state, ai, market = _played(4, market_seed=7)
    spent_before = state.spend[:, 2].copy()
    ai.remove_campaign(2)
    ai.allocate()
    assert state.allocation[2] == 0.0 and not state.must_report[2]
    ai.update(_report(state, market))
    np.testing.assert_array_equal(state.spend[:4, 2], spent_before)
    assert ai.add_campaign(Campaign("video", max_budget=30.0)) == 2
    assert ai.allocate().budgets[2] <= 30.0
    assert state.participated[:, 2].tolist() == [1.0, 1.0, 1.0, 1.0, 0.0]


def test_reallocating_replays_identically_from_the_seed():
    def play() -> list[list[float]]:
        state, market = _plan(), np.random.default_rng(8)
        ai, budgets = AI(state), []
        for timestep in range(12):
            ai.allocate()
            if timestep == 6:
                ai.set_campaign_constraints(1, paused=True)
                ai.reallocate()
            budgets.append(state.allocation.tolist())
            ai.update(_report(state, market))
        return budgets

    assert play() == play()


def test_a_plan_extended_after_it_finished_allocates_again():
    state, ai, _ = _played(3, market_seed=9, timesteps=3)
    assert state.finished
    with pytest.raises(ValueError, match="finished"):
        ai.reallocate()
    ai.change_budget(timesteps=5)
    allocation = ai.allocate()
    assert allocation.timestep == 3
    assert allocation.budgets.sum() == pytest.approx((6000.0 - state.budget_spent) / 2, abs=0.01)


def test_a_state_saved_before_plans_could_change_loads_with_every_campaign_taking_part():
    state, ai, market = _played(5, market_seed=10)
    ai.allocate()
    old = state.to_dict()
    for key in (
        "paused",
        "removed",
        "locked",
        "allocation_participating",
        "planned_budget",
        "planned_campaigns",
        "decimals",
    ):
        del old[key]
    del old["history"]["participated"]
    loaded = State.from_dict(old)
    assert loaded.participated.tolist() == [[1.0] * 4] * 5
    assert not loaded.paused.any() and not loaded.removed.any()
    assert np.isnan(loaded.locked).all()
    assert loaded.must_report.all() and loaded.decimals == 2
    assert loaded.planned_budget == 200.0 and loaded.planned_campaigns == 4
    AI(loaded).update(_report(loaded, market))  # and it runs on
    assert loaded.timestep == 6


def test_constraints_survive_a_round_trip_without_nan_in_the_json():
    state = _plan()
    ai = AI(state)
    ai.set_campaign_constraints(0, locked=30.0)
    ai.set_campaign_constraints(1, paused=True)
    ai.add_campaign(Campaign("newcomer"))
    ai.remove_campaign(3)
    ai.allocate()
    document = state.to_dict()
    import json

    json.dumps(document, allow_nan=False)
    loaded = State.from_dict(document)
    assert loaded.to_dict() == document
    assert loaded.locked[0] == 30.0 and math.isnan(loaded.locked[2])
    assert loaded.must_report.tolist() == [True, False, True, False, True]


@pytest.mark.parametrize("decimals", [-1, 5, 2.0, True, "2"])
def test_decimals_must_be_a_minor_unit_iso_4217_knows(decimals):
    with pytest.raises(ValueError, match="decimals"):
        _plan(decimals=decimals)
