"""AI.restate: new figures for a closed timestep, what they change and what they refuse."""

from __future__ import annotations

import json

import numpy as np
import pytest

from oktapi.engine import AI, Campaign, Restatement, Results, State
from tests.engine.helpers import FOUR_RATES, run_plan


def restatement(state: State, timestep: int, indices, conversions, spend=None, revenue=None):
    """A restatement of the kept figures of ``timestep`` for ``indices`` (previous from state)."""
    indices = np.asarray(indices, dtype=np.int64)
    row = timestep - state.history_start
    previous_spend = state.spend[row, indices].copy()
    previous_conversions = state.conversions[row, indices].copy()
    previous_revenue = state.revenue[row, indices].copy()
    return Restatement(
        timestep=timestep,
        indices=indices,
        spend=previous_spend if spend is None else np.asarray(spend, dtype=float),
        conversions=np.asarray(conversions, dtype=float),
        revenue=previous_revenue if revenue is None else np.asarray(revenue, dtype=float),
        previous_spend=previous_spend,
        previous_conversions=previous_conversions,
        previous_revenue=previous_revenue,
        previous_observed_at=state.observed_at[row, indices].astype(np.int64),
    )


@pytest.fixture
def played(four_campaigns) -> State:
    state, _ = run_plan(State.create(four_campaigns, 1000.0, 10, seed=1), FOUR_RATES, 4)
    return state


def test_restate_overwrites_cells_moves_budget_spent_and_stamps_the_version(played):
    state = played
    spent = state.budget_spent
    old_spend = state.spend[1].copy()
    change = restatement(state, 1, [0, 2], [7.5, 3.25], spend=old_spend[[0, 2]] + [10.0, -1.0])
    AI(state).restate(change)
    assert state.budget_spent == pytest.approx(spent + 9.0)
    np.testing.assert_array_equal(state.conversions[1, [0, 2]], [7.5, 3.25])
    np.testing.assert_array_equal(state.spend[1, [0, 2]], old_spend[[0, 2]] + [10.0, -1.0])
    np.testing.assert_array_equal(state.observed_at[1], [4.0, 1.0, 4.0, 1.0])
    np.testing.assert_array_equal(state.observed_at[:, 1][[0, 2, 3]], [0.0, 2.0, 3.0])
    assert state.timestep == 4 and state.allocation is None


def test_restate_draws_nothing_and_equal_figures_change_nothing_but_their_age(played):
    state = played
    rng_state = state.rng.bit_generator.state
    before = state.to_dict()
    row = state.conversions[2].copy()
    AI(state).restate(restatement(state, 2, [0, 1, 2, 3], row))
    after = state.to_dict()
    assert state.rng.bit_generator.state == rng_state
    assert after["budget_spent"] == before["budget_spent"]
    for column in ("allocated", "spend", "conversions", "revenue"):
        assert after["history"][column] == before["history"][column]
    # Same figures a day later: the learner saw them not grow, so maturity stays 1.
    assert AI(state).maturity_at_first_report().tolist() == [1.0] * 4


def test_restate_works_on_a_finished_plan(four_campaigns):
    state, _ = run_plan(State.create(four_campaigns, 1000.0, 3, seed=1), FOUR_RATES, 3)
    assert state.finished
    spent = state.budget_spent
    AI(state).restate(restatement(state, 0, [1], [5.0], spend=state.spend[0, [1]] + 2.0))
    assert state.budget_spent == pytest.approx(spent + 2.0)
    assert state.conversions[0, 1] == 5.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"timestep": 4}, "not closed"),
        ({"timestep": -1}, "not closed"),
        ({"timestep": 1.0}, "integer"),
        ({"indices": np.array([4])}, "campaign positions"),
        ({"indices": np.array([0, 0])}, "repeat"),
        ({"conversions": np.array([-1.0])}, "conversions"),
        ({"revenue": np.array([np.nan])}, "revenue"),
        ({"spend": np.array([np.inf])}, "spend"),
        ({"conversions": np.array([1.0, 2.0])}, "expected 1 values"),
        ({"previous_observed_at": np.array([0])}, "previous_observed_at"),
        ({"previous_observed_at": np.array([5])}, "previous_observed_at"),
    ],
)
def test_bad_restatements_are_refused_and_change_nothing(played, change, message):
    state = played
    base = restatement(state, 1, [0], [9.0])
    fields = {**base.__dict__, **change}
    if "indices" in change:
        size = len(change["indices"])
        for name in ("spend", "conversions", "revenue", "previous_spend"):
            fields[name] = np.ones(size)
        fields["previous_conversions"] = np.ones(size)
        fields["previous_revenue"] = np.ones(size)
        fields["previous_observed_at"] = np.ones(size, dtype=np.int64)
    before = state.to_dict()
    with pytest.raises(ValueError, match=message):
        AI(state).restate(Restatement(**fields))
    assert state.to_dict() == before


def test_no_closed_timestep_means_nothing_to_restate(four_campaigns):
    state = State.create(four_campaigns, 1000.0, 10, seed=1)
    index = np.zeros(1, dtype=np.int64)
    change = Restatement(0, index, *([np.zeros(1)] * 6), index)
    with pytest.raises(ValueError, match="no timestep has been closed"):
        AI(state).restate(change)


def test_state_with_restatements_and_platforms_round_trips(four_campaigns):
    campaigns = [
        Campaign(c.id, c.min_budget, c.max_budget, platform=p)
        for c, p in zip(four_campaigns, ["google", "google", "meta", None], strict=True)
    ]
    state, _ = run_plan(State.create(campaigns, 1000.0, 10, seed=1), FOUR_RATES, 5)
    ai = AI(state)
    ai.restate(restatement(state, 3, [0, 2], state.conversions[3, [0, 2]] * 2 + 1))
    ai.allocate()
    data = json.loads(json.dumps(state.to_dict(), allow_nan=False))
    reloaded = State.from_dict(data)
    assert reloaded.to_dict() == state.to_dict()
    assert [c.platform for c in reloaded.campaigns] == ["google", "google", "meta", None]
    np.testing.assert_array_equal(reloaded.observed_at, state.observed_at)
    np.testing.assert_array_equal(reloaded.maturity.links, state.maturity.links)
    assert reloaded.explanations[0]["maturity"] < 1.0


def test_a_state_saved_before_observed_at_loads_with_age_zero_figures(four_campaigns):
    state, _ = run_plan(State.create(four_campaigns, 1000.0, 10, seed=1), FOUR_RATES, 3)
    data = state.to_dict()
    for key in ("history_start", "folded", "maturity"):
        del data[key]
    del data["history"]["observed_at"]
    for campaign in data["campaigns"]:
        del campaign["platform"]
    reloaded = State.from_dict(data)
    np.testing.assert_array_equal(reloaded.observed_at, [[0.0] * 4, [1.0] * 4, [2.0] * 4])
    assert reloaded.to_dict() == {**state.to_dict(), "folded": {}}
    np.testing.assert_array_equal(AI(reloaded).allocate().budgets, AI(state).allocate().budgets)


def test_fractional_conversions_are_kept_as_reported(four_campaigns):
    state = State.create(four_campaigns, 1000.0, 10, seed=1)
    ai = AI(state)
    budgets = ai.allocate().budgets
    ai.update(Results(budgets, np.array([0.5, 1.25, 0.0, 2.75]), np.array([1.5, 0.0, 0.0, 3.0])))
    np.testing.assert_array_equal(state.conversions[0], [0.5, 1.25, 0.0, 2.75])
    assert State.from_dict(state.to_dict()).conversions[0].tolist() == [0.5, 1.25, 0.0, 2.75]
