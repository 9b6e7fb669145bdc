"""Markets whose plan changes while it runs: a campaign joins mid-plan, another leaves.

A `ChangeScenario` is a shipped `Scenario` whose best campaign is not in the plan for its first
third (it launches then, and joins through `AI.add_campaign`) and whose second best leaves
after two thirds (`AI.remove_campaign`). The truth knows the change too: a campaign out of the
plan has efficiency 0 while it is out, so the clairvoyant oracle, which knows the efficiencies,
gives it nothing then and splits the budget among the others, and the 100% of the score is what
the best split of the campaigns actually available earns.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from bench.simulate.run import campaigns_of, environment_rng, plan_state
from bench.simulate.scenarios import SCENARIOS, Scenario
from oktapi.engine.ai import AI, Results
from oktapi.engine.policies import DEFAULT_POLICY


@dataclass(frozen=True)
class ChangeScenario:
    """A market (the truth) and when which campaign joins and leaves the plan."""

    market: Scenario
    joins: tuple[tuple[int, int], ...]  # (campaign, the timestep from which it is in the plan)
    leaves: tuple[tuple[int, int], ...]  # (campaign, the timestep from which it is out)

    @property
    def name(self) -> str:
        """The market's name."""
        return self.market.name

    @property
    def description(self) -> str:
        """What changes when."""
        return self.market.description


def with_changes(base: Scenario) -> ChangeScenario:
    """The base market, its best campaign joining after a third, its second best leaving
    after two thirds ("best": the most objective at an even share of the budget)."""
    timesteps, n = base.timesteps, base.n_campaigns
    even = np.full(n, base.total_budget / timesteps / n)
    ranked = np.argsort(-base.expected_objective(even, 0))
    joining, leaving = int(ranked[0]), int(ranked[1])
    join_at, leave_at = timesteps // 3, (2 * timesteps) // 3
    market = copy.copy(base)
    market.name = f"{base.name}_changes"
    market.description = (
        f"{base.name}: its best campaign joins at timestep {join_at}, "
        f"its second best leaves at {leave_at}"
    )
    market.efficiency = base.efficiency.copy()
    market.efficiency[:join_at, joining] = 0.0
    market.efficiency[leave_at:, leaving] = 0.0
    return ChangeScenario(market, ((joining, join_at),), ((leaving, leave_at),))


CHANGE_SCENARIOS: dict[str, ChangeScenario] = {
    scenario.name: scenario
    for scenario in (
        with_changes(SCENARIOS[name]) for name in ("saturating", "hill_scurves", "weekly_revenue")
    )
}


def run_changing(
    scenario: ChangeScenario, seed: int, policy: str = DEFAULT_POLICY, params: dict | None = None
) -> np.ndarray:
    """One plan on the market, edited as a client would (before the open timestep is allocated:
    add, remove, then allocate); the budgets per market campaign, shape (timesteps, n)."""
    market = scenario.market
    campaigns = campaigns_of(market)
    joins, leaves = dict(scenario.joins), dict(scenario.leaves)
    columns = [index for index in range(market.n_campaigns) if index not in joins]
    state = plan_state(
        market, seed, [campaigns[index] for index in columns], policy=policy, policy_params=params
    )
    ai, market_rng = AI(state), environment_rng(market, seed)
    budgets = np.zeros((market.timesteps, market.n_campaigns))
    for timestep in range(market.timesteps):
        for index, at in joins.items():
            if at == timestep:
                ai.add_campaign(campaigns[index])
                columns.append(index)
        for index, at in leaves.items():
            if at == timestep:
                ai.remove_campaign(columns.index(index))
        allocation = ai.allocate()
        budgets[timestep, columns] = allocation.budgets
        spend, conversions, revenue = market.draw(budgets[timestep], timestep, market_rng)
        ai.update(Results(spend[columns], conversions[columns], revenue[columns]))
    return budgets
