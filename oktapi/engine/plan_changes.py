"""The engine side of plans that change while they run: ``AI`` inherits these edits.

Each edit validates everything first and changes nothing on a ValueError. None of them
recomputes the open timestep's allocation: call ``AI.reallocate`` for that (the caller knows
whether results of the open timestep have arrived already).
"""

from __future__ import annotations

import enum
import math
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from oktapi.engine.campaign import Campaign, finite_number
from oktapi.engine.policies.bounds import TOLERANCE

if TYPE_CHECKING:
    from oktapi.engine.policies.base import Policy
    from oktapi.engine.state import State


class Unchanged(enum.Enum):
    """Marks a keyword argument left out (None has a meaning: unlock, unbounded)."""

    UNCHANGED = "unchanged"


UNCHANGED = Unchanged.UNCHANGED


class PlanChanges:
    """Pause, lock, bound, add and remove campaigns; change the budget or the length."""

    state: State
    policy: Policy

    def set_campaign_constraints(
        self,
        index: int,
        *,
        paused: bool | None = None,
        locked: float | Unchanged | None = UNCHANGED,
        min_budget: float | Unchanged = UNCHANGED,
        max_budget: float | Unchanged | None = UNCHANGED,
    ) -> None:
        """Pause/resume, lock (a number) or unlock (None), and set the plan's bounds of one campaign.

        Arguments left out keep their value. ``max_budget=None`` is unbounded. A paused campaign
        gets 0 (its lock and bounds are kept for when it resumes); a locked one exactly its lock.
        ValueError with what to fix: a removed campaign, a lock outside [min_budget,
        max_budget], or an edit after which the locks and the other campaigns' minimums need
        more than the timestep budget.
        """
        state = self.state
        self._check_open("change a campaign's constraints")
        index = self._check_index(index)
        campaign = state.campaigns[index]
        if state.removed[index]:
            raise ValueError(
                f"campaign {campaign.id!r} was removed from the plan: add it again first"
            )
        if paused is not None and not isinstance(paused, bool | np.bool_):
            raise ValueError(f"paused must be true or false, got {paused!r}")
        low = campaign.min_budget if min_budget is UNCHANGED else min_budget
        high = campaign.max_budget if max_budget is UNCHANGED else max_budget
        updated = replace(campaign, min_budget=low, max_budget=high)  # validates the bounds
        lock = state.locked[index] if locked is UNCHANGED else locked
        if lock is not None and not (isinstance(lock, float) and math.isnan(lock)):
            lock = finite_number(lock, f"campaign {campaign.id!r}: locked_budget")
            top = math.inf if updated.max_budget is None else updated.max_budget
            if not updated.min_budget - _slack(lock) <= lock <= top + _slack(lock):
                bounds = (
                    f"[{updated.min_budget:g}, {'unbounded' if top == math.inf else f'{top:g}'}]"
                )
                raise ValueError(
                    f"campaign {campaign.id!r}: locked_budget {lock:g} is outside its bounds "
                    f"{bounds}; change the lock or the bounds"
                )
        else:
            lock = math.nan
        proposed_paused = state.paused.copy()
        if paused is not None:
            proposed_paused[index] = bool(paused)
        proposed_locked = state.locked.copy()
        proposed_locked[index] = lock
        campaigns = [*state.campaigns]
        campaigns[index] = updated
        self._check_fixed_budgets(campaigns, proposed_paused, state.removed, proposed_locked)
        state.campaigns = campaigns
        state.paused, state.locked = proposed_paused, proposed_locked

    def add_campaign(self, campaign: Campaign) -> int:
        """A campaign joins the plan (a new column at the end); its position in state.campaigns.

        It starts from the plan's pooled prior (what the policies assume of a campaign without
        data, with their widest uncertainty): its rows before it joined are "not in the plan"
        (``participated`` 0), not zeros. A campaign removed earlier joins again in its own
        column, its past kept. It takes part in allocations computed from now on (its budget in
        an allocation already computed is 0: call ``reallocate``). ValueError if it is already
        in the plan or its min_budget does not fit.
        """
        state = self.state
        self._check_open("add a campaign")
        if not isinstance(campaign, Campaign):
            raise ValueError(f"expected a Campaign, got {type(campaign).__name__}")
        ids = [c.id for c in state.campaigns]
        if campaign.id in ids:
            index = ids.index(campaign.id)
            if not state.removed[index]:
                raise ValueError(f"campaign {campaign.id!r} is already in the plan")
            campaigns = [*state.campaigns]
            campaigns[index] = campaign
            removed, paused, locked = state.removed.copy(), state.paused.copy(), state.locked.copy()
            removed[index], paused[index], locked[index] = False, False, math.nan
            self._check_fixed_budgets(campaigns, paused, removed, locked)
            state.campaigns, state.removed, state.paused, state.locked = (
                campaigns,
                removed,
                paused,
                locked,
            )
            return index
        self._check_fixed_budgets(
            [*state.campaigns, campaign],
            np.append(state.paused, False),
            np.append(state.removed, False),
            np.append(state.locked, np.nan),
        )
        index = state.add_column(campaign)
        self.policy.add_column(state)
        return index

    def remove_campaign(self, index: int) -> None:
        """Take a campaign out of future allocations; its past stays in the history.

        Its column stays (restatements of its past still apply, and its results keep
        informing the pooled prior), it gets 0 in every allocation computed from now on.
        ValueError for a campaign already removed or the plan's last one.
        """
        state = self.state
        self._check_open("remove a campaign")
        index = self._check_index(index)
        if state.removed[index]:
            raise ValueError(f"campaign {state.campaigns[index].id!r} is already removed")
        if int(np.count_nonzero(~state.removed)) <= 1:
            raise ValueError("a plan needs at least one campaign: this is its last one")
        state.removed = state.removed.copy()
        state.removed[index] = True

    def change_budget(
        self, total_budget: float | None = None, timesteps: int | None = None
    ) -> None:
        """Change the plan's total budget and/or number of timesteps from the open timestep on.

        Pacing follows: the timestep budget is the remaining budget over the remaining
        timesteps. What was learnt is unchanged (its units are the plan as first written:
        ``state.planned_budget``). ValueError if the total is below what was spent, the length
        not beyond the closed timesteps, or the locks and minimums no longer fit.
        """
        state = self.state
        total = state.total_budget
        if total_budget is not None:
            total = finite_number(total_budget, "total_budget")
            if total < state.budget_spent - _slack(state.budget_spent):
                raise ValueError(
                    f"total_budget {total:g} is below the budget already spent "
                    f"({state.budget_spent:g}); it must be at least that"
                )
        length = state.timesteps
        if timesteps is not None:
            if isinstance(timesteps, bool) or not isinstance(timesteps, int | np.integer):
                raise ValueError(f"timesteps must be an integer, got {timesteps!r}")
            if timesteps <= state.timestep:
                raise ValueError(
                    f"timesteps must be beyond the {state.timestep} closed timestep(s): at "
                    f"least {state.timestep + 1}, got {timesteps}"
                )
            length = int(timesteps)
        before = _fixed_excess(state, state.timestep_budget())
        after_budget = max((total - state.budget_spent) / (length - state.timestep), 0.0)
        after = _fixed_excess(state, after_budget)
        if after > _slack(after_budget) and after > before + _slack(after_budget):
            raise ValueError(
                f"the locked budgets and min_budget need {after + after_budget:g} per timestep, "
                f"more than the new timestep budget {after_budget:g}; lower them first or "
                f"choose a larger budget or fewer timesteps"
            )
        state.total_budget, state.timesteps = total, length
        if state.planned_budget <= 0.0 and not state.folded:
            state.planned_budget = total / length  # nothing learnt yet in the old units

    def _check_open(self, action: str) -> None:
        if self.state.finished:
            raise ValueError(
                f"cannot {action}: the plan is finished (every timestep has been reported)"
            )

    def _check_index(self, index: int) -> int:
        n_campaigns = self.state.n_campaigns
        if isinstance(index, bool) or not isinstance(index, int | np.integer):
            raise ValueError(f"campaign index must be an integer, got {index!r}")
        if not 0 <= index < n_campaigns:
            raise ValueError(f"campaign index must be in 0..{n_campaigns - 1}, got {index}")
        return int(index)

    def _check_fixed_budgets(
        self,
        campaigns: list[Campaign],
        paused: np.ndarray,
        removed: np.ndarray,
        locked: np.ndarray,
    ) -> None:
        """ValueError if the proposed constraints need more than the timestep budget and
        more than the current ones do (an edit that relaxes them is always accepted)."""
        state = self.state
        timestep_budget = state.timestep_budget()
        participating = ~(paused | removed)
        is_locked = ~np.isnan(locked) & participating
        minimums = np.array([c.min_budget for c in campaigns], dtype=np.float64)
        lock_total = float(locked[is_locked].sum())
        min_total = float(minimums[participating & ~is_locked].sum())
        excess = lock_total + min_total - timestep_budget
        if excess <= _slack(timestep_budget) or excess <= _fixed_excess(
            state, timestep_budget
        ) + _slack(timestep_budget):
            return
        if lock_total == 0.0:
            raise ValueError(
                f"the campaigns' min_budget add up to {min_total:g}, more than the timestep "
                f"budget {timestep_budget:g}; lower a min_budget"
            )
        if lock_total > timestep_budget:
            raise ValueError(
                f"the locked budgets add up to {lock_total:g}, more than the timestep budget "
                f"{timestep_budget:g}; lower or remove a lock"
            )
        raise ValueError(
            f"the locked budgets ({lock_total:g}) and the other campaigns' min_budget "
            f"({min_total:g}) add up to more than the timestep budget {timestep_budget:g}; "
            f"lower a lock or a min_budget"
        )


def _slack(amount: float) -> float:
    """Float rounding accepted when comparing budgets (relative, like within_bounds)."""
    return TOLERANCE * max(abs(amount), 1.0)


def _fixed_excess(state: State, timestep_budget: float) -> float:
    """How far the locks and minimums of the campaigns taking part exceed a timestep budget."""
    return float(state.min_budgets.sum()) - timestep_budget
