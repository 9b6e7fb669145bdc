"""The simulation loop: a plan meets a simulated market, one timestep at a time.

State.create -> AI(state).allocate() -> the truth draws spend/conversions/revenue for the budgets
-> AI.update(Results) -> ... until the horizon. The environment's noise comes from its own
generator, seeded from (seed, scenario), never from the plan's rng, so a policy cannot see or
disturb the draws, and two policies with one seed face the same market luck where they act alike.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from bench.simulate.metrics import RunMetrics, score
from bench.simulate.oracle import oracle
from bench.simulate.scenarios import Scenario, get_scenario
from oktapi.engine.ai import AI, Results
from oktapi.engine.policies import DEFAULT_POLICY
from oktapi.engine.policies.response_curve import ResponseCurvePolicy
from oktapi.engine.state import Campaign, State

ENVIRONMENT_STREAM = 0x0E4F  # separates the environment's seed sequence from the plan's seed


@dataclass
class RunTrace:
    """Everything one run did: budgets handed out and what the market answered."""

    scenario: str
    policy: str
    step: float
    seed: int
    budgets: np.ndarray  # (timesteps, n) allocated
    spend: np.ndarray  # (timesteps, n) drawn
    conversions: np.ndarray
    revenue: np.ndarray
    timestep_budgets: np.ndarray  # (timesteps,)


def environment_rng(scenario: Scenario, seed: int) -> np.random.Generator:
    """The market's own generator: depends on the seed and scenario, never on the policy."""
    name_key = zlib.crc32(scenario.name.encode())
    return np.random.default_rng(np.random.SeedSequence([seed, ENVIRONMENT_STREAM, name_key]))


def campaigns_of(scenario: Scenario) -> list[Campaign]:
    """The plan's view of the scenario: ids and bounds only, never the truth."""
    return [
        Campaign(
            id=campaign_id,
            min_budget=float(low),
            max_budget=None if np.isinf(high) else float(high),
        )
        for campaign_id, low, high in zip(
            scenario.campaign_ids, scenario.min_budget, scenario.max_budget, strict=True
        )
    ]


def plan_state(
    scenario: Scenario,
    seed: int,
    campaigns: list[Campaign] | None = None,
    *,
    policy: str = DEFAULT_POLICY,
    policy_params: dict | None = None,
    step: float = 0.05,
) -> State:
    """A new plan over the scenario's budget, horizon and objective; its campaigns are
    `campaigns_of(scenario)` unless given (a plan that sees platforms, or only some)."""
    return State.create(
        campaigns_of(scenario) if campaigns is None else campaigns,
        scenario.total_budget,
        scenario.timesteps,
        objective=scenario.objective,
        policy=policy,
        policy_params=policy_params,
        step=step,
        seed=seed,
    )


def run(
    scenario: Scenario | str,
    policy: str = "even",
    params: dict | None = None,
    step: float = 0.05,
    seed: int = 0,
    *,
    tell_shapes: bool = False,
) -> RunTrace:
    """Simulate one plan over the scenario's horizon with the named policy.

    tell_shapes hands the policy every campaign's true curve shape (`Scenario.curve_shapes`),
    leaving only the scales to learn: the bench's ceiling for a learner of curves, not a plan.
    """
    if isinstance(scenario, str):
        scenario = get_scenario(scenario)
    state = plan_state(scenario, seed, policy=policy, policy_params=params, step=step)
    ai = AI(state)
    if tell_shapes:
        if not isinstance(ai.policy, ResponseCurvePolicy):
            raise ValueError(f"policy {policy!r} cannot be told the curve shapes")
        # The same policy (same params and step), built with the truth the plan never has.
        ai.policy = ResponseCurvePolicy(
            state.policy_params, state.step, known_shapes=scenario.curve_shapes()
        )
    market_rng = environment_rng(scenario, seed)
    timesteps, n = scenario.timesteps, scenario.n_campaigns
    budgets = np.zeros((timesteps, n))
    outcomes = np.zeros((3, timesteps, n))
    timestep_budgets = np.zeros(timesteps)
    for timestep in range(timesteps):
        allocation = ai.allocate()
        budgets[timestep] = allocation.budgets
        timestep_budgets[timestep] = allocation.timestep_budget
        spend, conversions, revenue = scenario.draw(allocation.budgets, timestep, market_rng)
        outcomes[:, timestep] = spend, conversions, revenue
        ai.update(Results(spend=spend, conversions=conversions, revenue=revenue))
    return RunTrace(
        scenario=scenario.name,
        policy=policy,
        step=step,
        seed=seed,
        budgets=budgets,
        spend=outcomes[0],
        conversions=outcomes[1],
        revenue=outcomes[2],
        timestep_budgets=timestep_budgets,
    )


def evaluate(
    scenario: Scenario | str,
    policy: str = "even",
    params: dict | None = None,
    step: float = 0.05,
    seeds: int | list[int] = 10,
) -> list[RunMetrics]:
    """Metrics of one policy on one scenario for each seed (a tuning loop's building block)."""
    if isinstance(scenario, str):
        scenario = get_scenario(scenario)
    seed_list = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    reference = oracle(scenario)
    return [
        score(scenario, run(scenario, policy, params, step, seed).budgets, reference)
        for seed in seed_list
    ]
