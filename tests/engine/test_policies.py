"""The seed policies: the step rule, each policy's own behaviour, params, and pinned outputs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chisquare

from oktapi.engine import AI, POLICIES, Campaign, Results, State, get_policy
from oktapi.engine.policies.base import CampaignTotals
from oktapi.engine.policies.softmax import Softmax
from oktapi.engine.policies.thompson import Thompson
from tests.engine.helpers import run_plan

SEED_POLICIES = ["epsilon_greedy", "ucb", "optimistic", "softmax", "thompson"]
GREEDY = {"epsilon_greedy": {"epsilon": 0.0}, "ucb": {"c": 0.0}, "optimistic": {"optimism": 1.0}}


def plan_with_history(
    policy: str,
    allocated: list[float],
    spend: list[float],
    conversions: list[float],
    *,
    revenue: list[float] | None = None,
    timesteps_done: int = 1,
    campaigns: list[Campaign] | None = None,
    params: dict | None = None,
    objective: str = "conversions",
    total_budget: float | None = None,
    step: float = 0.05,
    seed: int = 0,
) -> State:
    """A plan whose history repeats one row ``timesteps_done`` times; 100 per timestep left.

    With ``total_budget`` given, the budget left is what the history did not spend instead.
    """
    n_campaigns = len(allocated)
    campaigns = campaigns or [Campaign(f"c{index}") for index in range(n_campaigns)]
    timesteps = timesteps_done + 19
    state = State.create(
        campaigns,
        100.0 * timesteps if total_budget is None else total_budget,
        timesteps,
        objective=objective,
        policy=policy,
        policy_params=params,
        step=step,
        seed=seed,
    )
    row = np.array([allocated, spend, conversions, revenue or [0.0] * n_campaigns], dtype=float)
    for _ in range(timesteps_done):
        state.append_history(row)
    state.budget_spent = float(np.sum(spend)) * timesteps_done
    if total_budget is None:
        state.total_budget = state.budget_spent + 100.0 * (timesteps - timesteps_done)
    return state


# ----- the step rule ----------------------------------------------------------------------


@pytest.mark.parametrize("policy", sorted(GREEDY))
def test_winner_takes_one_step_of_budget_from_the_loser(policy):
    # rates 0.02, 0.05, 0.01, 0.03: c1 is best, c2 is worst
    state = plan_with_history(
        policy, [10, 20, 30, 40], [10, 20, 30, 40], [0.2, 1.0, 0.3, 1.2], params=GREEDY[policy]
    )
    budgets = AI(state).allocate().budgets
    # the split (10/20/30/40 %) of this timestep's 100, then 5 (= 0.05 * 100) moves c2 -> c1
    np.testing.assert_allclose(budgets, [10.0, 25.0, 25.0, 40.0])


def test_the_split_scales_with_the_timestep_budget():
    state = plan_with_history(
        "epsilon_greedy",
        [10, 20, 30, 40],
        [5, 10, 15, 20],
        [0.1, 0.5, 0.15, 0.6],
        params={"epsilon": 0.0},
        total_budget=2000.0,
    )
    assert state.timestep_budget() == pytest.approx(1950.0 / 19)  # 50 of 2000 spent
    budgets = AI(state).allocate().budgets
    scaled = np.array([0.1, 0.2, 0.3, 0.4]) * 1950.0 / 19
    step = 0.05 * 1950.0 / 19
    np.testing.assert_allclose(budgets, scaled + np.array([0.0, step, -step, 0.0]), atol=0.01)


def test_the_move_stops_at_the_losers_min_budget():
    campaigns = [Campaign("good"), Campaign("bad", min_budget=48.0)]
    state = plan_with_history(
        "ucb", [50, 50], [50, 50], [5, 1], campaigns=campaigns, params={"c": 0.0}
    )
    np.testing.assert_allclose(AI(state).allocate().budgets, [52.0, 48.0])


def test_the_move_stops_at_the_winners_max_budget():
    campaigns = [Campaign("good", max_budget=51.0), Campaign("bad")]
    state = plan_with_history(
        "ucb", [50, 50], [50, 50], [5, 1], campaigns=campaigns, params={"c": 0.0}
    )
    np.testing.assert_allclose(AI(state).allocate().budgets, [51.0, 49.0])


def test_a_winner_at_its_max_passes_the_step_to_the_next_best():
    campaigns = [Campaign("best", max_budget=30.0), Campaign("second"), Campaign("worst")]
    state = plan_with_history(
        "ucb", [30, 35, 35], [30, 35, 35], [3, 2, 1], campaigns=campaigns, params={"c": 0.0}
    )
    np.testing.assert_allclose(AI(state).allocate().budgets, [30.0, 40.0, 30.0])


def test_the_first_timestep_is_an_even_split_fitted_to_bounds_plus_one_step():
    campaigns = [Campaign("a", min_budget=40.0), Campaign("b"), Campaign("c", max_budget=10.0)]
    state = State.create(campaigns, 2000.0, 20, policy="ucb", seed=1)
    budgets = AI(state).allocate().budgets
    # even 33.3 each, shifted equally and clipped -> [45, 45, 10]; nothing is known yet, so
    # the step goes between two campaigns picked at random
    assert budgets.sum() == pytest.approx(100.0)
    assert sorted(np.abs(budgets - [45.0, 45.0, 10.0]).round(9).tolist()) == [0.0, 5.0, 5.0]


@pytest.mark.parametrize("policy", SEED_POLICIES)
def test_seed_policies_move_most_budget_to_the_best_campaign(policy):
    campaigns = [Campaign(name) for name in ("search", "social", "video", "display")]
    rates = np.array([0.05, 0.02, 0.08, 0.01])
    state = State.create(campaigns, 60 * 400.0, 60, policy=policy, step=0.1, seed=9)
    state, allocations = run_plan(state, rates, 60)
    final_share = allocations[-1] / allocations[-1].sum()
    assert final_share[2] > 0.6, final_share


def test_even_split_ignores_results():
    campaigns = [Campaign(name) for name in ("a", "b", "c")]
    _, allocations = run_plan(
        State.create(campaigns, 300.0, 10, policy="even", seed=1), np.array([0.1, 0.5, 0.9]), 10
    )
    for budgets in allocations:  # equal shares (to the cent); unspent budget flows to all alike
        np.testing.assert_allclose(budgets, budgets.mean(), atol=0.01)


# ----- each policy's own behaviour --------------------------------------------------------


def winners_over_draws(state: State, draws: int) -> np.ndarray:
    """How often each campaign gained budget, allocating the same timestep ``draws`` times."""
    ai = AI(state)
    before = state.allocated[-1] / state.allocated[-1].sum() * state.timestep_budget()
    counts = np.zeros(state.n_campaigns)
    for _ in range(draws):
        state.allocation = None  # a fresh allocation with the next random numbers
        counts[np.argmax(ai.allocate().budgets - before)] += 1
    return counts


def test_softmax_winners_follow_its_probabilities_chi_square():
    state = plan_with_history(
        "softmax",
        [25, 25, 25, 25],
        [25, 25, 25, 25],
        [2.5, 2.0, 1.5, 1.0],
        params={"temperature": 0.5},
    )
    policy = Softmax({"temperature": 0.5}, 0.05)
    totals = CampaignTotals.from_state(state)
    probabilities = policy.probabilities(totals.rate, np.ones(4, dtype=bool))
    # rates 0.1, 0.08, 0.06, 0.04 -> exp(0, -0.4, -0.8, -1.2) normalised
    expected_probabilities = np.exp([0.0, -0.4, -0.8, -1.2])
    np.testing.assert_allclose(probabilities, expected_probabilities / expected_probabilities.sum())
    draws = 4000
    counts = winners_over_draws(state, draws)
    assert chisquare(counts, probabilities * draws).pvalue > 0.001
    assert counts.min() > 0  # it really samples, not just takes the best


def test_softmax_low_temperature_is_almost_greedy_high_temperature_almost_uniform():
    rates = np.array([0.1, 0.08, 0.06, 0.04])
    eligible = np.ones(4, dtype=bool)
    assert Softmax({"temperature": 0.01}, 0.05).probabilities(rates, eligible)[0] > 0.99
    np.testing.assert_allclose(
        Softmax({"temperature": 1e6}, 0.05).probabilities(rates, eligible), 0.25, atol=1e-5
    )


def test_epsilon_one_explores_uniformly_chi_square():
    state = plan_with_history(
        "epsilon_greedy",
        [25, 25, 25, 25],
        [25, 25, 25, 25],
        [2.5, 2.0, 1.5, 1.0],
        params={"epsilon": 1.0},
    )
    draws = 3000
    counts = winners_over_draws(state, draws)
    # c3 is the loser whenever it isn't the winner; when it wins, nobody else gains
    assert chisquare(counts, np.full(4, draws / 4)).pvalue > 0.001


def test_epsilon_zero_is_greedy():
    state = plan_with_history(
        "epsilon_greedy",
        [25, 25, 25, 25],
        [25, 25, 25, 25],
        [2.0, 2.5, 1.5, 1.0],
        params={"epsilon": 0.0},
    )
    np.testing.assert_array_equal(winners_over_draws(state, 200), [0, 200, 0, 0])


def test_ucb_funds_never_funded_campaigns_first():
    # c2 never had budget (and no results); c0 has the best observed rate
    state = plan_with_history("ucb", [50, 50, 0], [50, 50, 0], [10, 1, 0], timesteps_done=5)
    np.testing.assert_allclose(AI(state).allocate().budgets, [50.0, 45.0, 5.0])


@pytest.mark.parametrize("policy", sorted(GREEDY))
def test_a_campaign_that_could_not_spend_its_budget_does_not_win_more(policy):
    # c0 has the best rate per unit spent but spent only half of its budget: the step goes to
    # c1, the best campaign that used its budget
    state = plan_with_history(
        policy, [40, 30, 30], [20, 30, 30], [2.0, 1.5, 0.3], params=GREEDY[policy]
    )
    np.testing.assert_allclose(AI(state).allocate().budgets, [40.0, 35.0, 25.0])


@pytest.mark.parametrize("policy", sorted(GREEDY))
def test_a_platform_that_underspends_everyone_alike_does_not_freeze_the_split(policy):
    state = plan_with_history(
        policy, [40, 30, 30], [36, 27, 27], [3.6, 1.35, 0.27], params=GREEDY[policy]
    )
    np.testing.assert_allclose(AI(state).allocate().budgets, [45.0, 30.0, 25.0])


def test_ucb_bonus_favours_the_less_funded_campaign_when_c_is_large():
    state = plan_with_history("ucb", [90, 10], [90, 10], [9.0, 0.8], timesteps_done=4)
    state.append_history(np.array([[90, 0], [90, 0], [9, 0], [0, 0]], dtype=float))
    totals = CampaignTotals.from_state(state)
    assert totals.rate[0] > totals.rate[1]
    explorer = get_policy("ucb")({"c": 5.0}, 0.05).scores(state, totals, state.rng)
    greedy = get_policy("ucb")({"c": 0.0}, 0.05).scores(state, totals, state.rng)
    assert explorer[1] > explorer[0] and greedy[0] > greedy[1]


def test_optimistic_values_fade_with_spend():
    # c1 has barely spent and converted nothing; its optimistic prior still beats c0's 5%
    state = plan_with_history("optimistic", [99, 1], [99, 1], [4.95, 0.0], timesteps_done=3)
    assert AI(state).allocate().budgets[1] > state.allocated[-1][1]
    # with enough spend and nothing to show, the optimism is gone
    state = plan_with_history("optimistic", [90, 10], [90, 10], [4.5, 0.0], timesteps_done=30)
    assert AI(state).allocate().budgets[1] < state.allocated[-1][1]


def test_thompson_posterior_is_the_conjugate_gamma_poisson_update():
    state = plan_with_history(
        "thompson",
        [50, 50],
        [40, 20],
        [4, 1],
        timesteps_done=3,
        params={"prior_strength": 2.0, "prior_mean": 0.1},
    )
    policy = Thompson(state.policy_params, 0.05)
    shape, rate = policy.posterior(state, CampaignTotals.from_state(state))
    np.testing.assert_allclose(shape, [2.0 + 12, 2.0 + 3])
    np.testing.assert_allclose(rate, [2.0 / 0.1 + 120, 2.0 / 0.1 + 60])


def test_thompson_revenue_posterior_is_on_revenue_per_unit_of_spend():
    state = plan_with_history(
        "thompson",
        [50, 50],
        [50, 50],
        [4, 1],
        revenue=[40.0, 60.0],
        objective="revenue",
        timesteps_done=3,
        params={"prior_strength": 1.0, "prior_mean": 0.5},
    )
    policy = Thompson(state.policy_params, 0.05)
    totals = CampaignTotals.from_state(state)
    assert totals.outcome_unit == pytest.approx(300.0 / 15)  # revenue per conversion, pooled
    shape, rate = policy.posterior(state, totals)
    posterior_mean_revenue_rate = shape / rate * totals.outcome_unit
    np.testing.assert_allclose(
        posterior_mean_revenue_rate, [(20 + 120) / (40 + 150), (20 + 180) / (40 + 150)]
    )


@pytest.mark.parametrize(("objective", "favoured"), [("conversions", 0), ("revenue", 1)])
def test_thompson_follows_the_objective(objective, favoured):
    # c0 converts 4x as often; c1's conversions are worth 10x as much
    state = plan_with_history(
        "thompson",
        [50, 50],
        [50, 50],
        [8, 2],
        revenue=[80.0, 200.0],
        objective=objective,
        timesteps_done=10,
    )
    counts = winners_over_draws(state, 300)
    assert counts[favoured] > 280


def test_thompson_explores_when_it_knows_little():
    state = plan_with_history("thompson", [50, 50], [50, 50], [1, 0], timesteps_done=1)
    counts = winners_over_draws(state, 1000)
    assert 100 < counts[1] < 500


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_explanations_give_expected_outcome_and_interval_per_campaign(policy):
    state = plan_with_history(policy, [50, 50], [50, 50], [5, 2], timesteps_done=4)
    allocation = AI(state).allocate()
    if allocation.explanations is None:
        pytest.skip(f"{policy} gives no explanations")
    for explanation, budget in zip(allocation.explanations, allocation.budgets, strict=True):
        assert set(explanation) >= {"expected", "lower", "upper", "marginal_return"}
        if explanation["expected"] is not None and budget > 0:
            assert explanation["lower"] <= explanation["expected"] <= explanation["upper"]


# ----- params -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "params", "message"),
    [
        ("epsilon_greedy", {"epsilon": 1.5}, r"'epsilon' must be a number in \[0, 1\]"),
        ("epsilon_greedy", {"epsilon": True}, "'epsilon' must be"),
        ("epsilon_greedy", {"epsilon": "0.1"}, "'epsilon' must be"),
        ("epsilon_greedy", {"eps": 0.1}, "unknown parameter.*'eps'.*allowed: epsilon"),
        ("ucb", {"c": -1}, r"'c' must be a number in \[0, inf\]"),
        ("ucb", {"c": float("nan")}, "'c' must be"),
        ("softmax", {"temperature": 0}, r"'temperature' must be a number in \(0, inf\]"),
        ("optimistic", {"optimism": 0.5}, "'optimism'"),
        ("optimistic", {"initial_value": 0}, "'initial_value'"),
        ("optimistic", {"prior_weight": -1}, "'prior_weight'"),
        ("thompson", {"prior_strength": 0}, "'prior_strength'"),
        ("thompson", {"alpha": 1}, "unknown parameter"),
        ("even", {"step": 0.1}, "allowed: none"),
    ],
)
def test_bad_params_are_rejected_saying_what_to_fix(policy, params, message):
    with pytest.raises(ValueError, match=message):
        get_policy(policy).validate_params(params)


@pytest.mark.parametrize(
    ("policy", "defaults"),
    [
        ("even", {}),
        ("epsilon_greedy", {"epsilon": 0.1}),
        ("ucb", {"c": 1.0}),
        ("optimistic", {"initial_value": None, "optimism": 2.0, "prior_weight": 1.0}),
        ("softmax", {"temperature": 0.1}),
        ("thompson", {"prior_strength": 1.0, "prior_mean": None}),
    ],
)
def test_validate_params_fills_defaults(policy, defaults):
    assert get_policy(policy).validate_params({}) == defaults
    assert get_policy(policy).validate_params(None) == defaults


def test_validate_params_returns_plain_numbers():
    params = get_policy("ucb").validate_params({"c": np.float32(2.0)})
    assert type(params["c"]) is float


def test_unknown_policy_lists_the_available_ones():
    with pytest.raises(ValueError, match=r"available: .*epsilon_greedy.*thompson"):
        get_policy("greedy")


def test_seed_policies_are_registered_and_use_the_step():
    assert set(SEED_POLICIES) | {"even"} <= set(POLICIES)
    assert all(POLICIES[name].uses_step for name in SEED_POLICIES)
    assert not POLICIES["even"].uses_step
    assert all(POLICIES[name].name == name for name in POLICIES)


# ----- fixed-seed regression: exact outputs of a short run ------------------------------

REGRESSION_VALUES = {
    ("even", "conversions"): [25.0, 25.0, 25.0, 25.0],
    ("even", "revenue"): [25.0, 25.0, 25.0, 25.0],
    ("epsilon_greedy", "conversions"): [80.0, 5.0, 0.0, 15.0],
    ("epsilon_greedy", "revenue"): [80.0, 5.0, 0.0, 15.0],
    ("ucb", "conversions"): [88.0, 5.0, 5.0, 2.0],
    ("ucb", "revenue"): [80.0, 5.0, 0.0, 15.0],
    ("optimistic", "conversions"): [88.0, 5.0, 5.0, 2.0],
    ("optimistic", "revenue"): [80.0, 5.0, 0.0, 15.0],
    ("softmax", "conversions"): [63.0, 5.0, 30.0, 2.0],
    ("softmax", "revenue"): [75.0, 5.0, 15.0, 5.0],
    ("thompson", "conversions"): [63.0, 5.0, 30.0, 2.0],
    ("thompson", "revenue"): [70.0, 5.0, 0.0, 25.0],
}


def regression_run(policy: str, objective: str) -> np.ndarray:
    """Six timesteps on a fixed market; the last allocation."""
    campaigns = [
        Campaign("search"),
        Campaign("social", min_budget=5.0),
        Campaign("video", max_budget=40.0),
        Campaign("display", min_budget=2.0, max_budget=60.0),
    ]
    rates = np.array([0.05, 0.02, 0.08, 0.01])
    value_per_conversion = np.array([10.0, 60.0, 5.0, 30.0])
    state = State.create(
        campaigns, 2000.0, 20, objective=objective, policy=policy, step=0.1, seed=2024
    )
    ai, market = AI(state), np.random.default_rng(7)
    for _ in range(6):
        budgets = ai.allocate().budgets
        conversions = market.poisson(rates * budgets).astype(float)
        ai.update(Results(budgets, conversions, conversions * value_per_conversion))
    return ai.allocate().budgets


@pytest.mark.parametrize(("policy", "objective"), sorted(REGRESSION_VALUES))
def test_fixed_seed_outputs_are_pinned(policy, objective):
    np.testing.assert_allclose(
        regression_run(policy, objective), REGRESSION_VALUES[policy, objective], rtol=1e-12
    )


def test_explanations_that_overflow_are_none_without_a_warning() -> None:
    """Extreme reports can overflow rate x budget: the explanation says None, numpy stays quiet."""
    import warnings

    from oktapi.engine.policies.base import explain

    budgets = np.array([1e300, 2.0])
    rate = np.array([1e300, 0.5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        explanations = explain(budgets, rate, rate * 0.5, rate * 2, np.array([True, True]))
    assert explanations[0]["expected"] is None and explanations[0]["upper"] is None
    assert explanations[1] == {"expected": 1.0, "lower": 0.5, "upper": 2.0, "marginal_return": 0.5}
