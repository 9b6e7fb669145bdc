"""AI applies a plan's policy: allocate the next timestep, then learn from its results.

What a caller reports (``Results``, ``Restatement``) is in ``results.py``; the edits of a plan
that changes while it runs (pause, lock, bounds, add, remove, budget), which ``AI`` inherits,
in ``plan_changes.py``.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from oktapi.engine.plan_changes import UNCHANGED, PlanChanges, Unchanged
from oktapi.engine.policies import get_policy
from oktapi.engine.policies.bounds import within_bounds
from oktapi.engine.results import Restatement, Results
from oktapi.engine.rounding import round_budgets
from oktapi.engine.state import State

__all__ = ["AI", "UNCHANGED", "Allocation", "Restatement", "Results", "Unchanged"]


@dataclass
class Allocation:
    """Budgets for one timestep, aligned with state.campaigns."""

    timestep: int
    timestep_budget: float
    budgets: np.ndarray
    explanations: list[dict] | None
    note: str | None = None


class AI(PlanChanges):
    """Applies the plan's policy to its state; all randomness comes from state.rng.

    The plan-change edits (``set_campaign_constraints``, ``add_campaign``, ``remove_campaign``,
    ``change_budget``) come from ``PlanChanges``; ``reallocate`` recomputes the open timestep
    after them.
    """

    def __init__(self, state: State) -> None:
        self.state = state
        self.policy = get_policy(state.policy)(state.policy_params, state.step)

    def allocate(self) -> Allocation:
        """Budgets for the current timestep, stored in state.allocation.

        Calling it again before ``update`` returns the stored allocation without new draws,
        so a client asking twice gets the same answer and the replay stays deterministic.
        Budgets are rounded to the currency's minor unit (``state.decimals``) and keep the
        effective bounds (``state.min_budgets`` / ``max_budgets``: pauses, locks, removals).
        """
        state = self.state
        if state.finished:
            raise ValueError("the plan is finished: every timestep has been reported")
        timestep_budget = state.timestep_budget()
        if state.allocation is None:
            budgets, explanations, note = self.policy.allocate(state, timestep_budget, state.rng)
            budgets = np.asarray(budgets, dtype=np.float64)
            min_budgets, max_budgets = state.min_budgets, state.max_budgets
            problem = within_bounds(budgets, timestep_budget, min_budgets, max_budgets)
            if problem:
                raise RuntimeError(f"policy {state.policy!r} broke a constraint: {problem}")
            budgets = round_budgets(
                budgets,
                timestep_budget,
                min_budgets,
                max_budgets,
                state.decimals,
                _tie_order(state),
            )
            problem = within_bounds(budgets, timestep_budget, min_budgets, max_budgets)
            if problem:
                raise RuntimeError(f"rounding to {state.decimals} decimals broke: {problem}")
            min_total = float(min_budgets.sum())
            if note is None and min_total > timestep_budget:
                note = (
                    f"min_budget sum ({min_total:g}) exceeds the timestep budget "
                    f"({timestep_budget:g}): minimums scaled down to fit"
                )
            if explanations is not None:
                maturity = self.maturity_at_first_report()
                explanations = [
                    {**explanation, "maturity": float(share)}
                    for explanation, share in zip(explanations, maturity, strict=True)
                ]
            state.allocation, state.explanations, state.allocation_note = (
                budgets,
                explanations,
                note,
            )
            state.allocation_participating = state.participating
        return Allocation(
            timestep=state.timestep,
            timestep_budget=timestep_budget,
            budgets=state.allocation.copy(),
            explanations=state.explanations,
            note=state.allocation_note,
        )

    def update(self, results: Results) -> None:
        """Record one timestep's results (after ``allocate``) and move to the next timestep.

        Results cover every campaign of the plan; those not in ``state.must_report`` (paused,
        removed or added after the allocation) are reported as 0 by the caller. The row keeps
        who took part, so the learning gives the others' cells no weight.
        """
        state = self.state
        if state.finished:
            raise ValueError("the plan is finished: every timestep has been reported")
        if state.allocation is None:
            raise ValueError("call allocate before reporting this timestep's results")
        rows = results.as_rows(state.n_campaigns)
        state.append_history(np.vstack((state.allocation[None, :], rows)), state.must_report)
        state.budget_spent += float(rows[0].sum())
        state.allocation, state.explanations, state.allocation_note = None, None, None
        state.allocation_participating = None
        self.policy.fold(state)

    def reallocate(self) -> Allocation:
        """Drop the open timestep's allocation and compute it again under the new constraints.

        Its draws come from state.rng (continuing where the first allocation left it), so a
        replay of the same edits gives the same budgets. ValueError on a finished plan.
        """
        state = self.state
        self._check_open("reallocate")
        state.allocation, state.explanations, state.allocation_note = None, None, None
        state.allocation_participating = None
        return self.allocate()

    def restate(self, restatement: Restatement) -> None:
        """Replace some figures of a closed timestep (the plan learns from them from now on).

        Deterministic (no draws from state.rng) and valid on a finished plan. The new figures'
        observed_at is the plan's version now. budget_spent moves by the spend delta, kept rows
        are overwritten, folded statistics corrected, and the maturity learner learns how much
        the figures grew from their age then to their age now. ValueError on bad input.
        """
        state = self.state
        indices, rows, previous, observed = restatement.checked(state)
        timestep = int(restatement.timestep)
        state.budget_spent += float(rows[0].sum() - previous[0].sum())
        if timestep >= state.history_start:
            state.set_cells(timestep, indices, rows, state.timestep)
        else:
            self.policy.restate_folded(state, timestep, indices, previous, observed, rows)
        state.maturity.learn(
            indices,
            observed - timestep,
            np.full(len(indices), state.timestep - timestep),
            (previous[1], previous[2]),
            (rows[1], rows[2]),
        )

    def maturity_at_first_report(self) -> np.ndarray:
        """Each campaign's learnt share of a timestep's final conversions visible at age 0."""
        state = self.state
        if not state.maturity.learnt:
            return np.ones(state.n_campaigns)
        conversions, _ = state.maturity.shares(state.platforms, np.zeros(state.n_campaigns))
        return conversions


def _tie_order(state: State) -> np.ndarray:
    """Who gets a unit left by equal rounding remainders first: a stable hash of the timestep
    and each campaign's figures so far (allocated, spend, conversions, revenue of its kept
    rows), so it changes every timestep (no campaign is always the one that gets the extra
    cent) and depends neither on the campaigns' order, nor on their ids, nor on a draw.
    Campaigns alike in all of these fall back to the order they are listed in."""
    figures = np.vstack(
        (
            state.allocated.sum(axis=0),
            state.spend.sum(axis=0),
            state.conversions.sum(axis=0),
            state.revenue.sum(axis=0),
        )
    )
    stamp = np.int64(state.timestep).tobytes()
    return np.array(
        [zlib.crc32(stamp + figures[:, index].tobytes()) for index in range(state.n_campaigns)],
        dtype=np.int64,
    )
