"""The response-curve policy: what a user of the default allocator would notice.

Markets here have known saturating curves A * (1 - exp(-spend / k)), so a test can check the
allocation against the truth (targets, caps, drops) rather than against the policy's own belief.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from oktapi.engine import AI, Campaign, Results, State
from oktapi.engine.curves import fit_curves
from oktapi.engine.policies import DEFAULT_POLICY, get_policy
from tests.engine.helpers import run_plan

POLICY = "response_curve"


class Market:
    """Campaigns with true saturating curves, optional spend caps and value per conversion."""

    def __init__(
        self,
        saturation_level: list[float],
        half_budget: list[float],
        *,
        cap: list[float] | None = None,
        value: list[float] | None = None,
        seed: int = 11,
    ) -> None:
        self.level = np.array(saturation_level, dtype=float)
        self.half_budget = np.array(half_budget, dtype=float)
        n = len(self.level)
        self.cap = np.full(n, np.inf) if cap is None else np.array(cap, dtype=float)
        self.value = np.ones(n) if value is None else np.array(value, dtype=float)
        self.efficiency = np.ones(n)
        self.rng = np.random.default_rng(seed)

    def expected(self, spend: np.ndarray) -> np.ndarray:
        """Expected conversions at spend."""
        return self.efficiency * self.level * -np.expm1(-spend / self.half_budget)

    def marginal(self, budgets: np.ndarray) -> np.ndarray:
        """True d(conversions)/d(budget) at budgets (0 beyond a cap)."""
        slope = (
            self.efficiency * self.level / self.half_budget * np.exp(-budgets / self.half_budget)
        )
        return np.where(budgets < self.cap, slope, 0.0)

    def results(self, budgets: np.ndarray) -> Results:
        """One noisy timestep: spend up to the cap, Poisson conversions, revenue at the value."""
        spend = np.minimum(budgets, self.cap)
        conversions = self.rng.poisson(self.expected(spend)).astype(float)
        return Results(spend=spend, conversions=conversions, revenue=conversions * self.value)


def new_plan(n: int, timestep_budget: float, timesteps: int = 200, **kwargs) -> State:
    """A plan with n unbounded campaigns and the given budget per timestep."""
    campaigns = [Campaign(f"c{index}") for index in range(n)]
    return State.create(
        campaigns, timestep_budget * timesteps, timesteps, policy=POLICY, seed=5, **kwargs
    )


def play(state: State, market: Market, steps: int) -> list[np.ndarray]:
    """Let the policy allocate for ``steps`` timesteps against the market."""
    budgets = []
    ai = AI(state)
    for _ in range(steps):
        allocation = ai.allocate()
        budgets.append(allocation.budgets)
        ai.update(market.results(allocation.budgets))
    return budgets


def explore_history(state: State, market: Market, steps: int, highest: float) -> None:
    """Report ``steps`` timesteps of random budgets, so every curve is well identified."""
    for _ in range(steps):
        budgets = market.rng.uniform(0.0, highest, state.n_campaigns)
        results = market.results(budgets)
        state.append_history(
            np.vstack((budgets, results.spend, results.conversions, results.revenue))
        )
        state.budget_spent += float(results.spend.sum())


def test_it_is_the_default_policy() -> None:
    """A plan created without a policy gets the response-curve allocator."""
    assert DEFAULT_POLICY == POLICY
    state = State.create([Campaign("a"), Campaign("b")], 100.0, 10, seed=1)
    assert state.policy == POLICY


def test_the_first_timestep_is_an_even_split_explained_by_the_prior() -> None:
    """Before any result: an even split, explained by the pooled prior with wide intervals,
    drawn without touching the plan's generator (what follows is as it was without them)."""
    state = new_plan(4, 100.0)
    before = state.rng.bit_generator.state
    allocation = AI(state).allocate()
    assert state.rng.bit_generator.state == before
    np.testing.assert_allclose(allocation.budgets, 25.0)
    assert allocation.explanations is not None and len(allocation.explanations) == 4
    market = Market([40.0, 25.0, 10.0, 5.0], [150.0, 300.0, 60.0, 50.0])
    play(state, market, 10)
    learnt = AI(state).allocate().explanations
    assert learnt is not None
    for prior, later in zip(allocation.explanations, learnt, strict=True):
        assert 0 < prior["lower"] < prior["expected"] < prior["upper"]
        assert prior["marginal_return"] > 0
        # wide: the prior's interval spans a factor of several, the learnt one much less
        assert prior["upper"] / prior["lower"] > 5
        assert prior["upper"] / prior["lower"] > later["upper"] / later["lower"]


@pytest.mark.parametrize("objective", ["conversions", "revenue"])
def test_explanations_are_ordered_finite_intervals(objective: str) -> None:
    """expected sits inside its 80% interval, everything finite, marginal return >= 0."""
    market = Market([40.0, 25.0, 10.0], [150.0, 300.0, 60.0], value=[20.0, 50.0, 5.0])
    state = new_plan(3, 300.0, objective=objective)
    play(state, market, 12)
    allocation = AI(state).allocate()
    assert allocation.explanations is not None
    assert len(allocation.explanations) == 3
    for explanation in allocation.explanations:
        assert set(explanation) == {"expected", "lower", "upper", "marginal_return", "maturity"}
        assert explanation["maturity"] == 1.0
        assert all(math.isfinite(value) for value in explanation.values())
        assert explanation["lower"] <= explanation["expected"] <= explanation["upper"]
        assert explanation["lower"] >= 0.0
        assert explanation["marginal_return"] >= 0.0


def test_revenue_objective_without_revenue_reported_still_splits_on_conversions() -> None:
    """A client who never reports revenue gets the conversions split, not an arbitrary one."""
    market = Market([50.0, 50.0, 5.0], [50.0, 400.0, 100.0], value=[0.0, 0.0, 0.0])
    state = new_plan(3, 500.0, objective="revenue")
    budgets = play(state, market, 15)
    late = np.mean(budgets[-3:], axis=0)
    assert late[1] > late[0] > late[2]


def test_budget_moves_to_the_campaign_with_more_headroom() -> None:
    """With saturating curves the split is interior, not all-in: it follows the marginal return."""
    market = Market([50.0, 50.0], [50.0, 400.0])
    state = new_plan(2, 500.0)
    budgets = play(state, market, 20)
    late = np.mean(budgets[-5:], axis=0)
    # Truth: equal marginals at 50/50*e^(-x/50) = 50/400*e^(-y/400), x + y = 500 -> x ~ 135.
    assert 60.0 < late[0] < 220.0
    assert late.sum() == pytest.approx(500.0, rel=0.01)


def test_target_cpa_buys_only_units_that_meet_it() -> None:
    """No unit of budget whose true marginal cost per conversion is far above target_cpa."""
    market = Market([60.0, 40.0, 20.0], [200.0, 400.0, 100.0])
    state = new_plan(3, 1500.0, policy_params={"target_cpa": 20.0})
    explore_history(state, market, 60, highest=900.0)
    allocation = AI(state).allocate()
    threshold = 1.0 / 20.0
    truth = market.half_budget * np.log(market.level / (market.half_budget * threshold))
    assert np.all(market.marginal(allocation.budgets) >= 0.75 * threshold)
    np.testing.assert_allclose(allocation.budgets, truth, rtol=0.3)
    assert allocation.budgets.sum() < allocation.timestep_budget
    assert "target_cpa" in (allocation.note or "")


def test_target_roas_buys_only_units_that_meet_it() -> None:
    """Revenue objective: the last unit bought returns at least about target_roas."""
    market = Market([60.0, 40.0, 20.0], [200.0, 400.0, 100.0], value=[10.0, 30.0, 4.0])
    state = new_plan(3, 2000.0, objective="revenue", policy_params={"target_roas": 1.0})
    explore_history(state, market, 60, highest=900.0)
    allocation = AI(state).allocate()
    marginal_revenue = market.marginal(allocation.budgets) * market.value
    funded = allocation.budgets > 1.0
    assert np.all(marginal_revenue[funded] >= 0.75)
    # Campaign 2 never returns 1 per unit (20 * 4 / 100 = 0.8 at zero spend): not funded.
    assert allocation.budgets[2] < 0.05 * allocation.budgets.sum()
    assert allocation.budgets.sum() < allocation.timestep_budget
    assert "target_roas" in (allocation.note or "")


def test_a_capped_campaign_keeps_about_its_cap_and_the_rest_goes_elsewhere() -> None:
    """The best campaign cannot spend over 60: it is held near that, the others get the rest."""
    market = Market([1000.0, 60.0, 60.0], [5000.0, 300.0, 300.0], cap=[60.0, np.inf, np.inf])
    state = new_plan(3, 600.0)
    budgets = play(state, market, 15)
    late = np.mean(budgets[-4:], axis=0)
    assert late[0] <= 60.0 * 1.2
    assert late.sum() >= 0.95 * 600.0


def test_an_efficiency_drop_moves_budget_away_within_days() -> None:
    """The best campaign loses 80% of its efficiency: its budget halves within five timesteps."""
    market = Market([80.0, 40.0, 40.0], [300.0, 300.0, 300.0])
    state = new_plan(3, 600.0)
    before = play(state, market, 25)[-1]
    market.efficiency = np.array([0.2, 1.0, 1.0])
    after = play(state, market, 5)[-1]
    assert before[0] > 250.0
    assert after[0] < 0.5 * before[0]


def test_max_change_limits_how_fast_a_budget_moves() -> None:
    """With max_change 0.2 no campaign's budget moves more than 20% (and a cent of rounding)."""
    market = Market([80.0, 10.0, 10.0], [300.0, 300.0, 300.0])
    state = new_plan(3, 600.0, policy_params={"max_change": 0.2})
    budgets = np.array(play(state, market, 10))
    assert np.all(budgets[1:] <= 1.2 * budgets[:-1] + 0.01)
    assert np.all(budgets[1:] >= 0.8 * budgets[:-1] - 0.01)


def test_explore_floor_keeps_every_campaign_funded() -> None:
    """explore_floor 0.3: every campaign keeps at least 30% of an even share."""
    market = Market([80.0, 1.0, 1.0], [3000.0, 300.0, 300.0])
    state = new_plan(3, 600.0, policy_params={"explore_floor": 0.3})
    budgets = np.array(play(state, market, 10))
    assert np.all(budgets >= 0.3 * 200.0 - 1e-9)


def test_replaying_from_the_seed_gives_identical_allocations() -> None:
    """Same seed, same results: same budgets, also when the plan is saved and reloaded."""
    rates = np.array([0.02, 0.05, 0.01, 0.03])
    campaigns = [
        Campaign(f"c{index}", max_budget=400.0 if index == 1 else None) for index in range(4)
    ]

    def plan() -> State:
        return State.create(campaigns, 20_000.0, 30, policy=POLICY, seed=42)

    _, straight = run_plan(plan(), rates, 12)
    _, reloaded = run_plan(plan(), rates, 12, reload_each_step=True)
    _, again = run_plan(plan(), rates, 12)
    np.testing.assert_array_equal(np.array(straight), np.array(reloaded))
    np.testing.assert_array_equal(np.array(straight), np.array(again))


@pytest.mark.parametrize("objective", ["conversions", "revenue"])
@pytest.mark.parametrize("spend_scale", [1e-300, 1e-9, 1.0, 1e12, 1e15])
@pytest.mark.parametrize("conversion_scale", [0.0, 1.0, 1e15])
def test_extreme_reports_give_finite_budgets_without_warnings(
    objective: str, spend_scale: float, conversion_scale: float
) -> None:
    """Absurd but legal spend and conversion magnitudes: finite output, no numpy warnings."""
    state = new_plan(3, 100.0, timesteps=10, objective=objective)
    ai = AI(state)
    spends = (np.array([0.3, 1.0, 1.0]), np.array([1.0, 0.5, 0.0]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for timestep in range(5):
            allocation = ai.allocate()
            assert np.all(np.isfinite(allocation.budgets))
            for explanation in allocation.explanations or []:
                assert all(math.isfinite(value) for value in explanation.values())
            conversions = conversion_scale * np.array([1.0, 0.0, 2.0])
            ai.update(
                Results(
                    spend=spend_scale * spends[timestep % 2],
                    conversions=conversions,
                    revenue=3.0 * conversions,
                )
            )


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"half_life": 0}, "half_life"),
        ({"draws": 101}, "draws"),
        ({"explore_floor": 1.5}, "explore_floor"),
        ({"target_cpa": -1.0}, "target_cpa"),
        ({"max_change": "fast"}, "max_change"),
        ({"halflife": 7}, "halflife"),
    ],
)
def test_bad_params_are_rejected_saying_what_to_fix(params: dict, problem: str) -> None:
    """A typo or an impossible value fails at plan creation, naming the parameter."""
    with pytest.raises(ValueError, match=problem):
        get_policy(POLICY).validate_params(params)


@pytest.mark.parametrize("dispersion", [0.0, 0.3])
def test_a_few_conversions_are_not_discounted_like_noisy_large_counts(dispersion: float) -> None:
    """Over-dispersion grows with the count: rows of 1 conversion are tempered far less than
    rows of 300, and Poisson data are not tempered at all (one factor for the plan would treat
    a sparse campaign's few conversions as if they were as noisy as a large one's)."""
    rng = np.random.default_rng(3)
    timesteps = 60
    spend = np.tile([100.0, 100.0], (timesteps, 1))
    mean = np.array([1.0, 300.0])
    rate = mean if dispersion == 0 else rng.gamma(1 / dispersion, mean * dispersion, spend.shape)
    conversions = rng.poisson(rate).astype(float)
    posterior = fit_curves(spend, conversions, np.ones(timesteps), 100.0, detect_changes=False)
    small, large = posterior.tempering.mean(axis=0)
    if dispersion == 0:
        assert small <= 1.2 and large <= 1.2
    else:
        assert large > 30 and small < large / 4


def test_told_the_shapes_each_posterior_keeps_its_own_curve_and_learns_its_scale() -> None:
    """The bench's ceiling: given every campaign's true shape, a linear campaign's curve stays
    a straight line, an S-curve keeps its shape, and only their scales are learned."""
    rng = np.random.default_rng(11)
    timesteps, reference = 30, 100.0
    spend = rng.uniform(50.0, 150.0, (timesteps, 2))

    def hill(x):
        return x**2 / (x**2 + 100.0**2)

    truth = np.stack([0.2 * spend[:, 0], 40.0 * hill(spend[:, 1])], axis=1)
    conversions = rng.poisson(truth).astype(float)
    shapes = (np.array([1e9, 100.0]), np.array([0.0, 2.0]))  # linear; Hill h=2 at k=100
    posterior = fit_curves(spend, conversions, np.ones(timesteps), reference, known_shapes=shapes)
    assert np.array_equal(posterior.curvature_probs, np.eye(2))
    low, high = posterior.expected(np.array([[50.0, 50.0], [200.0, 200.0]]))
    assert high[0] / low[0] == pytest.approx(4.0, rel=1e-4)
    assert high[1] / low[1] == pytest.approx(hill(200.0) / hill(50.0), rel=1e-6)
    assert posterior.expected(np.array([100.0, 100.0])) == pytest.approx([20.0, 20.0], rel=0.15)


def test_cooldown_holds_a_changed_budget_for_that_many_timesteps() -> None:
    """cooldown 2 (with max_change 0.5, TikTok's guidance): a campaign's budget changes at
    most every third timestep, by at most half, and the plan still moves towards the best."""
    market = Market([80.0, 10.0, 10.0], [300.0, 300.0, 300.0])
    state = new_plan(3, 600.0, policy_params={"cooldown": 2, "max_change": 0.5})
    budgets = np.array(play(state, market, 16))
    moved = np.abs(np.diff(budgets, axis=0)) > 0.01 * budgets[:-1]
    for campaign in range(3):
        changes = np.flatnonzero(moved[:, campaign])
        assert np.all(np.diff(changes) >= 3), changes
    assert np.all(budgets[1:] <= 1.5 * budgets[:-1] + 0.01)
    assert budgets[-1, 0] > 2 * budgets[0, 0]  # the best campaign still got most of it


def test_cooldown_leaves_pauses_and_locks_alone() -> None:
    market = Market([80.0, 10.0, 10.0], [300.0, 300.0, 300.0])
    state = new_plan(3, 600.0, policy_params={"cooldown": 3})
    play(state, market, 4)
    ai = AI(state)
    ai.allocate()
    ai.set_campaign_constraints(1, paused=True)
    ai.set_campaign_constraints(2, locked=123.0)
    budgets = ai.reallocate().budgets
    assert budgets[1] == 0.0 and budgets[2] == 123.0


def test_cooldown_must_be_a_whole_number_of_timesteps() -> None:
    with pytest.raises(ValueError, match="cooldown"):
        new_plan(3, 600.0, policy_params={"cooldown": 1.5})
