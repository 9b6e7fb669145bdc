"""State: validation, pacing, serialization round trip and replay determinism."""

from __future__ import annotations

import json

import bson
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oktapi.engine import AI, POLICIES, Campaign, Results, State
from oktapi.engine.state import HISTORY_COLUMNS
from tests.engine.helpers import FOUR_RATES, run_plan


def _only_plain_types(value: object) -> bool:
    """True if value is built from str/float/int(<2**63)/bool/None/list/dict only."""
    if value is None or isinstance(value, str | bool | float):
        return True
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    if isinstance(value, list):
        return all(_only_plain_types(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _only_plain_types(v) for k, v in value.items())
    return False


def test_timestep_budget_is_remaining_over_remaining_timesteps(four_campaigns):
    state = State.create(four_campaigns, total_budget=1000.0, timesteps=10, seed=1)
    ai = AI(state)
    assert state.timestep_budget() == pytest.approx(100.0)
    allocation = ai.allocate()
    ai.update(Results(allocation.budgets * 0.5, np.zeros(4), np.zeros(4)))
    # half of the first 100 was not spent: it flows to the 9 remaining timesteps
    assert state.timestep_budget() == pytest.approx(950.0 / 9)
    assert state.budget_spent == pytest.approx(50.0)
    assert state.timestep == 1 and state.allocation is None


def test_overspending_never_makes_the_timestep_budget_negative(four_campaigns):
    state = State.create(four_campaigns, total_budget=100.0, timesteps=4, seed=1)
    ai = AI(state)
    allocation = ai.allocate()
    ai.update(Results(np.full(4, 50.0), np.zeros(4), np.zeros(4)))
    assert state.timestep_budget() == 0.0
    assert AI(state).allocate().budgets.sum() == 0.0
    assert allocation.timestep == 0


def test_finished_plan_refuses_more_timesteps(four_campaigns):
    state = State.create(four_campaigns, total_budget=100.0, timesteps=1, seed=1)
    ai = AI(state)
    allocation = ai.allocate()
    ai.update(Results(allocation.budgets, np.ones(4), np.zeros(4)))
    assert state.finished
    with pytest.raises(ValueError, match="finished"):
        ai.allocate()


def test_allocate_twice_gives_the_same_budgets_without_new_draws(four_campaigns):
    state = State.create(four_campaigns, 1000.0, 10, policy="even", seed=3)
    ai = AI(state)
    first = ai.allocate()
    rng_state = state.rng.bit_generator.state
    second = ai.allocate()
    np.testing.assert_array_equal(first.budgets, second.budgets)
    assert state.rng.bit_generator.state == rng_state


def test_results_before_allocation_are_refused(four_campaigns):
    state = State.create(four_campaigns, 1000.0, 10, seed=3)
    with pytest.raises(ValueError, match="allocate"):
        AI(state).update(Results(np.ones(4), np.ones(4), np.zeros(4)))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"campaigns": []}, "at least one campaign"),
        ({"campaigns": [Campaign("a"), Campaign("a")]}, "unique"),
        ({"total_budget": -1.0}, "total_budget"),
        ({"total_budget": float("nan")}, "finite"),
        ({"timesteps": 0}, "timesteps"),
        ({"objective": "clicks"}, "objective"),
        ({"step": 0.0}, "step"),
        ({"step": 1.5}, "step"),
        ({"policy": "magic"}, "available"),
        ({"policy_params": {"nope": 1}}, "unknown parameter"),
        ({"seed": 2**63}, "seed"),
        ({"seed": -1}, "seed"),
        (
            {"campaigns": [Campaign("a", min_budget=60.0), Campaign("b", min_budget=60.0)]},
            "min_budget",
        ),
    ],
)
def test_create_rejects_bad_input_saying_what_to_fix(kwargs, message):
    arguments = {
        "campaigns": [Campaign("a"), Campaign("b")],
        "total_budget": 1000.0,
        "timesteps": 10,
    }
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        State.create(**arguments)


def test_campaign_rejects_max_below_min():
    with pytest.raises(ValueError, match="max_budget"):
        Campaign("a", min_budget=5.0, max_budget=1.0)
    with pytest.raises(ValueError, match="min_budget"):
        Campaign("a", min_budget=-1.0)


def test_campaigns_may_be_given_as_dicts():
    state = State.create([{"id": "a", "max_budget": 3}, {"id": "b"}], 100.0, 10, seed=1)
    assert state.campaigns[0] == Campaign("a", 0.0, 3.0)


def test_history_views_are_read_only(four_campaigns):
    state, _ = run_plan(State.create(four_campaigns, 1000.0, 10, seed=1), FOUR_RATES, 2)
    with pytest.raises(ValueError):
        state.spend[0, 0] = 1.0


def test_history_grows_past_its_initial_buffer():
    campaigns = [Campaign("a"), Campaign("b")]
    state, allocations = run_plan(
        State.create(campaigns, 1e4, 40, seed=1), np.array([0.1, 0.2]), 40
    )
    kept = AI(state).policy.kept_rows()
    assert 16 < kept < 40  # past the initial buffer, and old rows were folded
    assert state.allocated.shape == (kept, 2) and state.history_start == 40 - kept
    np.testing.assert_array_equal(state.allocated, np.array(allocations)[-kept:])
    assert state.finished


def test_history_serializes_as_rows_of_floats_not_cells(four_campaigns):
    state, _ = run_plan(State.create(four_campaigns, 1000.0, 10, seed=1), FOUR_RATES, 3)
    history = state.to_dict()["history"]
    assert set(history) == set(HISTORY_COLUMNS)
    assert "observed_at" in history
    assert history["observed_at"] == [[float(t)] * 4 for t in range(3)]
    assert all(len(rows) == 3 and all(len(row) == 4 for row in rows) for rows in history.values())
    assert all(isinstance(value, float) for row in history["spend"] for value in row)


@st.composite
def plans(draw) -> tuple[State, np.ndarray, int]:
    """A random plan (any policy, objective, bounds) plus true rates and steps to run."""
    n_campaigns = draw(st.integers(1, 6))
    timesteps = draw(st.integers(1, 12))
    total_budget = draw(st.floats(0.0, 1e7, allow_nan=False))
    even_budget = total_budget / timesteps
    campaigns = []
    for index in range(n_campaigns):
        low = draw(st.floats(0.0, 1.0)) * even_budget / n_campaigns
        high = draw(st.one_of(st.none(), st.floats(0.0, 2.0)))
        campaigns.append(
            Campaign(f"c{index}", low, None if high is None else low + high * even_budget)
        )
    state = State.create(
        campaigns,
        total_budget,
        timesteps,
        objective=draw(st.sampled_from(["conversions", "revenue"])),
        policy=draw(st.sampled_from(sorted(POLICIES))),
        step=draw(st.floats(0.01, 1.0)),
        seed=draw(st.integers(0, 2**63 - 1)),
    )
    rates = np.array(
        draw(st.lists(st.floats(0.0, 1.0), min_size=n_campaigns, max_size=n_campaigns))
    )
    return state, rates, draw(st.integers(0, timesteps))


@settings(max_examples=60, deadline=None)
@given(plans(), st.booleans())
def test_to_dict_round_trips_exactly_and_is_json_and_bson_safe(plan, with_allocation):
    state, rates, steps = plan
    state, _ = run_plan(state, rates, steps)
    if with_allocation and not state.finished:
        AI(state).allocate()
    data = state.to_dict()
    assert _only_plain_types(data)
    decoded = json.loads(json.dumps(data, allow_nan=False))
    assert bson.decode(bson.encode(decoded)) == decoded
    reloaded = State.from_dict(decoded)
    assert reloaded.to_dict() == data
    assert reloaded.rng.bit_generator.state == state.rng.bit_generator.state
    for column in ("allocated", "spend", "conversions", "revenue"):
        np.testing.assert_array_equal(getattr(reloaded, column), getattr(state, column))


@pytest.mark.parametrize("policy", sorted(POLICIES))
@pytest.mark.parametrize("objective", ["conversions", "revenue"])
def test_replay_from_seed_is_identical_even_when_reloaded_every_timestep(
    policy, objective, four_campaigns
):
    def fresh() -> State:
        return State.create(four_campaigns, 3000.0, 15, objective=objective, policy=policy, seed=11)

    _, uninterrupted = run_plan(fresh(), FOUR_RATES, 15)
    _, replayed = run_plan(fresh(), FOUR_RATES, 15)
    _, reloaded = run_plan(fresh(), FOUR_RATES, 15, reload_each_step=True)
    for first, second, third in zip(uninterrupted, replayed, reloaded, strict=True):
        np.testing.assert_array_equal(first, second)
        np.testing.assert_array_equal(first, third)


@settings(max_examples=40, deadline=None)
@given(
    spend_shares=st.lists(st.floats(0.0, 1.5), min_size=1, max_size=10),
    total_budget=st.floats(0.0, 1e6),
)
def test_timestep_budget_is_what_is_left_over_the_timesteps_left(spend_shares, total_budget):
    timesteps = len(spend_shares) + 1
    state = State.create([Campaign("a"), Campaign("b")], total_budget, timesteps, seed=1)
    ai = AI(state)
    for share in spend_shares:
        allocation = ai.allocate()
        ai.update(Results(allocation.budgets * share, np.zeros(2), np.zeros(2)))
        left = total_budget - state.budget_spent
        expected = max(left / (timesteps - state.timestep), 0.0)
        assert state.timestep_budget() == pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_a_plan_whose_campaigns_spend_what_they_get_spends_the_whole_budget(policy, four_campaigns):
    state = State.create(four_campaigns, 3000.0, 12, policy=policy, seed=4)
    ai, market = AI(state), np.random.default_rng(0)
    while not state.finished:
        budgets = ai.allocate().budgets
        conversions = market.poisson(FOUR_RATES * budgets).astype(float)
        ai.update(Results(budgets, conversions, conversions * 3.0))
    assert state.budget_spent == pytest.approx(3000.0, rel=1e-9)
