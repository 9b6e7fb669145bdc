"""One plan's campaigns, budget, history and random generator, serializable to plain JSON/BSON.

``State`` is assembled from one module per job: the campaigns and the checks of a plan's numbers
(``campaign.py``), the per-campaign constraints (``constraints.py``), the kept history
(``history.py``) and the plain-dict document with the random generator's codec
(``serialization.py``). This module holds the plan itself: what it is made of, how a fresh one
is checked, its pacing, and a campaign joining it.
"""

from __future__ import annotations

import secrets

import numpy as np

from oktapi.engine.campaign import (
    DEFAULT_DECIMALS,
    Campaign,
    check_decimals,
    finite_number,
    min_budget_excess,
)
from oktapi.engine.constraints import CampaignConstraints, flags, locks
from oktapi.engine.history import HISTORY_COLUMNS, HistoryColumns, history_buffer
from oktapi.engine.maturity import Maturity
from oktapi.engine.policies import DEFAULT_POLICY, get_policy
from oktapi.engine.serialization import state_arguments, state_to_dict

__all__ = [
    "HISTORY_COLUMNS",
    "OBJECTIVES",
    "Campaign",
    "State",
    "finite_number",
    "min_budget_excess",
]

OBJECTIVES = ("conversions", "revenue")
MAX_SEED = 2**63 - 1  # BSON int64


class State(HistoryColumns, CampaignConstraints):
    """One plan: what to split, how, what happened so far, and the plan's own random generator.

    History arrays have one row per kept timestep (``history_start`` .. ``timestep`` - 1) and one
    column per campaign (``HistoryColumns``): read-only views of a buffer that grows by
    doubling, so appending a row is O(n_campaigns). ``AI.update`` folds rows older than the
    policy's window into ``folded`` (discounted sufficient statistics, bounded in size), so the
    kept history and the work per timestep stay bounded however long the plan runs.
    ``maturity`` holds what the plan learnt from restatements about figures that are still
    incomplete. The per-campaign constraints and effective bounds: ``CampaignConstraints``.
    """

    def __init__(
        self,
        *,
        campaigns: list[Campaign],
        total_budget: float,
        timesteps: int,
        objective: str,
        policy: str,
        policy_params: dict,
        step: float,
        seed: int,
        rng: np.random.Generator,
        timestep: int = 0,
        budget_spent: float = 0.0,
        history: np.ndarray | None = None,
        history_start: int = 0,
        allocation: np.ndarray | None = None,
        explanations: list[dict] | None = None,
        allocation_note: str | None = None,
        folded: dict | None = None,
        maturity: Maturity | None = None,
        paused: np.ndarray | None = None,
        locked: np.ndarray | None = None,
        removed: np.ndarray | None = None,
        allocation_participating: np.ndarray | None = None,
        planned_budget: float | None = None,
        planned_campaigns: int | None = None,
        decimals: int = DEFAULT_DECIMALS,
    ) -> None:
        self.campaigns = campaigns
        self.total_budget = total_budget
        self.timesteps = timesteps
        self.objective = objective
        self.policy = policy
        self.policy_params = policy_params
        self.step = step
        self.seed = seed
        self.rng = rng
        self.timestep = timestep
        self.budget_spent = budget_spent
        self.history_start = history_start
        n_campaigns = len(campaigns)
        self._history = history_buffer(history, history_start, timestep, timesteps, n_campaigns)
        self.allocation = allocation
        self.explanations = explanations
        self.allocation_note = allocation_note
        self.folded = {} if folded is None else folded
        self.maturity = Maturity(n_campaigns) if maturity is None else maturity
        # Per-campaign constraints of the plan (``CampaignConstraints``: see ``min_budgets``):
        # paused and removed campaigns get 0, a locked one exactly its lock (NaN: not locked).
        self.paused = flags(paused, n_campaigns)
        self.removed = flags(removed, n_campaigns)
        self.locked = locks(locked, n_campaigns)
        # Which campaigns took part in the stored allocation (None: no allocation stored).
        self.allocation_participating = (
            None
            if allocation_participating is None
            else flags(allocation_participating, n_campaigns)
        )
        # The units the learnt model is expressed in, fixed when the plan is created so that
        # budget, length and campaign edits leave what was learnt unchanged: the timestep
        # budget and the number of campaigns as first planned.
        self.planned_budget = (
            total_budget / max(timesteps, 1) if planned_budget is None else float(planned_budget)
        )
        self.planned_campaigns = n_campaigns if planned_campaigns is None else planned_campaigns
        self.decimals = check_decimals(decimals)

    @classmethod
    def create(
        cls,
        campaigns: list[Campaign],
        total_budget: float,
        timesteps: int,
        *,
        objective: str = "conversions",
        policy: str = DEFAULT_POLICY,
        policy_params: dict | None = None,
        step: float = 0.05,
        seed: int | None = None,
        decimals: int = DEFAULT_DECIMALS,
    ) -> State:
        """A fresh plan; raises ValueError saying what to fix for any bad input.

        ``decimals`` is the currency's minor unit (2 for EUR/USD, 0 for JPY): every allocation
        is rounded to it (``rounding.round_budgets``).
        """
        campaigns = [c if isinstance(c, Campaign) else Campaign(**c) for c in campaigns]
        if not campaigns:
            raise ValueError("a plan needs at least one campaign")
        ids = [c.id for c in campaigns]
        if len(set(ids)) != len(ids):
            raise ValueError("campaign ids must be unique")
        total_budget = finite_number(total_budget, "total_budget")
        if total_budget < 0:
            raise ValueError("total_budget must be >= 0")
        if isinstance(timesteps, bool) or not isinstance(timesteps, int | np.integer):
            raise ValueError(f"timesteps must be an integer, got {timesteps!r}")
        if timesteps < 1:
            raise ValueError("timesteps must be >= 1")
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}; got {objective!r}")
        step = finite_number(step, "step")
        if not 0.0 < step <= 1.0:
            raise ValueError(
                f"step must be in (0, 1] (a fraction of the timestep budget); got {step!r}"
            )
        params = get_policy(policy).validate_params(policy_params)
        if min_budget_excess([c.min_budget for c in campaigns], total_budget, timesteps) > 0:
            min_total = sum(c.min_budget for c in campaigns)
            even_budget = total_budget / timesteps
            raise ValueError(
                f"the campaigns' min_budget sum to {min_total:g} per timestep, more than the "
                f"timestep budget {even_budget:g}; lower them or raise total_budget"
            )
        if seed is None:
            seed = secrets.randbits(63)
        if (
            isinstance(seed, bool)
            or not isinstance(seed, int | np.integer)
            or not 0 <= seed <= MAX_SEED
        ):
            raise ValueError(f"seed must be an integer in [0, 2**63 - 1]; got {seed!r}")
        seed = int(seed)
        return cls(
            campaigns=campaigns,
            total_budget=total_budget,
            timesteps=int(timesteps),
            objective=objective,
            policy=policy,
            policy_params=params,
            step=step,
            seed=seed,
            rng=np.random.Generator(np.random.PCG64(seed)),
            decimals=check_decimals(decimals),
        )

    # ----- derived values -------------------------------------------------------------------

    @property
    def n_campaigns(self) -> int:
        """Number of campaigns (columns of the history)."""
        return len(self.campaigns)

    @property
    def planned_even_share(self) -> float:
        """An even share of the timestep budget as first planned: the unit priors are set in."""
        return self.planned_budget / max(self.planned_campaigns, 1)

    @property
    def finished(self) -> bool:
        """True once every timestep has been reported."""
        return self.timestep >= self.timesteps

    def timestep_budget(self) -> float:
        """Remaining budget over remaining timesteps, so unspent budget flows forward (>= 0)."""
        if self.finished:
            return 0.0
        remaining = self.total_budget - self.budget_spent
        return max(remaining / (self.timesteps - self.timestep), 0.0)

    @property
    def platforms(self) -> list[str | None]:
        """Each campaign's platform (None when not given)."""
        return [c.platform for c in self.campaigns]

    def add_column(self, campaign: Campaign) -> int:
        """Append a campaign as a new column (used by ``AI.add_campaign``); its position.

        Its kept rows say "not in the plan" (participated 0, no figures), its constraints are
        none, its maturity statistics empty. Policies extend their folded statistics.
        """
        n_campaigns = self.n_campaigns
        self.add_history_column()
        self.campaigns = [*self.campaigns, campaign]
        self.add_constraint_column()
        if self.allocation is not None:
            self.allocation = np.append(self.allocation, 0.0)
        if self.explanations is not None:
            keys = self.explanations[0].keys() if self.explanations else ()
            self.explanations = [*self.explanations, dict.fromkeys(keys)]
        self.maturity = self.maturity.with_campaign()
        return n_campaigns

    # ----- serialization --------------------------------------------------------------------

    def to_dict(self, *, history: bool = True) -> dict:
        """Plain JSON/BSON-safe dict: str, float, int < 2**63, bool, None, list, dict only.

        History is one list of rows (lists of floats) per HISTORY_COLUMNS column, not a dict per
        cell: the kept rows, timesteps ``history_start`` .. ``timestep`` - 1. ``history=False``
        leaves it out (``{}``), for a caller that stores the columns its own way. The fields
        and the random generator's codec: ``serialization.py``.
        """
        return state_to_dict(self, history=history)

    @classmethod
    def from_dict(cls, data: dict) -> State:
        """Exact inverse of to_dict (the random generator continues where it stopped).

        States saved before restatements existed or before plans could change load with
        the defaults ``serialization.state_arguments`` documents.
        """
        return cls(**state_arguments(data))
