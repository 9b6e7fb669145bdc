"""Budget-splitting policies, registered by name in one place (``POLICIES``).

The seed policies (``epsilon_greedy``, ``ucb``, ``optimistic``, ``softmax``, ``thompson``)
follow the original Oktopus framework. The exact rule, each timestep t with budget B_t:

1. Split. The current split is last timestep's allocation as fractions of what was handed out
   (an even split before any history). Budgets = split * B_t, fitted to each campaign's
   min/max with ``fit_to_bounds`` (an equal shift, clipped, so the sum is B_t when feasible).
   Keeping fractions means pacing changes of B_t scale every campaign alike.
2. Score. The policy scores every campaign from the whole history: observed outcome per unit
   of spend (conversions, or revenue for the revenue objective), plus the policy's own twist
   (exploration bonus, optimistic prior, posterior sample).
3. Winner. Among campaigns below their max that were not under-delivering last timestep
   (spent less than 95% of the best delivery ratio, i.e. spend / budget; see
   ``base.under_delivering``; without this the seed rule keeps feeding a campaign that cannot
   spend, and the unspent money piles up to the last timestep), the policy picks one (best
   score, except epsilon_greedy explores a uniformly random one with probability epsilon and
   softmax samples one with probability proportional to exp(score / (temperature * best))).
4. Loser. Among the other campaigns above their min, the one with the lowest score.
5. Move. ``step * B_t`` goes from loser to winner, limited by the loser's budget above its min
   and the winner's room below its max (so bounds always hold). Ties are broken at random
   with the plan's own generator.

The timestep budget B_t is (total budget - spent) / (timesteps left), so budget a campaign
could not spend flows to later timesteps.
"""

from __future__ import annotations

from oktapi.engine.policies.base import Policy
from oktapi.engine.policies.epsilon_greedy import EpsilonGreedy
from oktapi.engine.policies.even import Even
from oktapi.engine.policies.optimistic import Optimistic
from oktapi.engine.policies.response_curve import ResponseCurvePolicy
from oktapi.engine.policies.softmax import Softmax
from oktapi.engine.policies.thompson import Thompson
from oktapi.engine.policies.ucb import UCB1

POLICIES: dict[str, type[Policy]] = {
    policy.name: policy
    for policy in (Even, EpsilonGreedy, UCB1, Optimistic, Softmax, Thompson, ResponseCurvePolicy)
}

DEFAULT_POLICY: str = "response_curve"


def get_policy(name: str) -> type[Policy]:
    """The policy class registered under ``name``; ValueError listing the names otherwise."""
    try:
        return POLICIES[name]
    except (KeyError, TypeError):
        available = ", ".join(sorted(POLICIES))
        raise ValueError(f"unknown policy {name!r}; available: {available}") from None


__all__ = ["DEFAULT_POLICY", "POLICIES", "Policy", "get_policy"]
