"""AI applies a plan's policy: allocate the next timestep, then learn from its results."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from oktapi.engine.policies import get_policy
from oktapi.engine.policies.bounds import within_bounds
from oktapi.engine.state import State


@dataclass
class Allocation:
    """Budgets for one timestep, aligned with state.campaigns."""

    timestep: int
    timestep_budget: float
    budgets: np.ndarray
    explanations: list[dict] | None
    note: str | None = None


@dataclass
class Results:
    """One timestep's outcome, arrays aligned with state.campaigns."""

    spend: np.ndarray
    conversions: np.ndarray
    revenue: np.ndarray | None = None  # zeros if not reported

    def as_rows(self, n_campaigns: int) -> np.ndarray:
        """(3, n_campaigns) float64 rows; ValueError saying what to fix if invalid."""
        revenue = np.zeros(n_campaigns) if self.revenue is None else self.revenue
        rows = []
        for name, values in (
            ("spend", self.spend),
            ("conversions", self.conversions),
            ("revenue", revenue),
        ):
            array = np.asarray(values, dtype=np.float64)
            if array.shape != (n_campaigns,):
                raise ValueError(f"{name}: expected {n_campaigns} values, got shape {array.shape}")
            if not np.all(np.isfinite(array)) or np.any(array < 0):
                raise ValueError(f"{name}: values must be finite and >= 0")
            rows.append(array)
        return np.array(rows)


class AI:
    """Applies the plan's policy to its state; all randomness comes from state.rng."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.policy = get_policy(state.policy)(state.policy_params, state.step)

    def allocate(self) -> Allocation:
        """Budgets for the current timestep, stored in state.allocation.

        Calling it again before ``update`` returns the stored allocation without new draws,
        so a client asking twice gets the same answer and the replay stays deterministic.
        """
        state = self.state
        if state.finished:
            raise ValueError("the plan is finished: every timestep has been reported")
        timestep_budget = state.timestep_budget()
        if state.allocation is None:
            budgets, explanations, note = self.policy.allocate(state, timestep_budget, state.rng)
            budgets = np.asarray(budgets, dtype=np.float64)
            problem = within_bounds(budgets, timestep_budget, state.min_budgets, state.max_budgets)
            if problem:
                raise RuntimeError(f"policy {state.policy!r} broke a constraint: {problem}")
            min_total = float(state.min_budgets.sum())
            if note is None and min_total > timestep_budget:
                note = (
                    f"min_budget sum ({min_total:g}) exceeds the timestep budget "
                    f"({timestep_budget:g}): minimums scaled down to fit"
                )
            state.allocation, state.explanations, state.allocation_note = (
                budgets,
                explanations,
                note,
            )
        return Allocation(
            timestep=state.timestep,
            timestep_budget=timestep_budget,
            budgets=state.allocation.copy(),
            explanations=state.explanations,
            note=state.allocation_note,
        )

    def update(self, results: Results) -> None:
        """Record one timestep's results (after ``allocate``) and move to the next timestep."""
        state = self.state
        if state.finished:
            raise ValueError("the plan is finished: every timestep has been reported")
        if state.allocation is None:
            raise ValueError("call allocate before reporting this timestep's results")
        rows = results.as_rows(state.n_campaigns)
        state.append_history(np.vstack((state.allocation[None, :], rows)))
        state.budget_spent += float(rows[0].sum())
        state.allocation, state.explanations, state.allocation_note = None, None, None
