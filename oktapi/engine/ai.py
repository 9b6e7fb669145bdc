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


@dataclass
class Restatement:
    """New figures for some campaigns of one closed timestep, and the figures they replace.

    Arrays are aligned with ``indices`` (campaign positions in state.campaigns). The previous
    figures come from the caller's results store (the truth): the engine may have folded the
    timestep already. ``previous_observed_at`` is the plan version at which they were reported.
    """

    timestep: int
    indices: np.ndarray
    spend: np.ndarray
    conversions: np.ndarray
    revenue: np.ndarray
    previous_spend: np.ndarray
    previous_conversions: np.ndarray
    previous_revenue: np.ndarray
    previous_observed_at: np.ndarray

    def checked(self, state: State) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(indices, new rows (3, k), previous rows (3, k), previous observed_at); ValueError if bad."""
        timestep = self.timestep
        if isinstance(timestep, bool) or not isinstance(timestep, int | np.integer):
            raise ValueError(f"timestep must be an integer, got {timestep!r}")
        if not 0 <= timestep < state.timestep:
            raise ValueError(
                f"timestep {timestep} is not closed: the plan has closed timesteps "
                f"0..{state.timestep - 1}"
                if state.timestep > 0
                else f"timestep {timestep} is not closed: no timestep has been closed yet"
            )
        indices = np.asarray(self.indices)
        if indices.ndim != 1 or (indices.size and not np.issubdtype(indices.dtype, np.integer)):
            raise ValueError("indices must be a 1-d array of campaign positions (integers)")
        indices = indices.astype(np.int64)
        if np.any(indices < 0) or np.any(indices >= state.n_campaigns):
            raise ValueError(
                f"indices must be campaign positions in 0..{state.n_campaigns - 1}, "
                f"got {indices.tolist()}"
            )
        if len(np.unique(indices)) != len(indices):
            raise ValueError("indices must not repeat a campaign")
        rows = []
        for name in (
            "spend",
            "conversions",
            "revenue",
            "previous_spend",
            "previous_conversions",
            "previous_revenue",
        ):
            array = np.asarray(getattr(self, name), dtype=np.float64)
            if array.shape != indices.shape:
                raise ValueError(f"{name}: expected {len(indices)} values, got shape {array.shape}")
            if not np.all(np.isfinite(array)) or np.any(array < 0):
                raise ValueError(f"{name}: values must be finite and >= 0")
            rows.append(array)
        observed = np.asarray(self.previous_observed_at)
        if observed.shape != indices.shape or (
            observed.size and not np.issubdtype(observed.dtype, np.integer)
        ):
            raise ValueError(f"previous_observed_at: expected {len(indices)} integers")
        observed = observed.astype(np.int64)
        if np.any(observed < timestep) or np.any(observed > state.timestep):
            raise ValueError(
                f"previous_observed_at must be between the timestep ({timestep}) and the "
                f"plan's version ({state.timestep})"
            )
        return indices, np.array(rows[:3]), np.array(rows[3:]), observed


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
        self.policy.fold(state)

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
