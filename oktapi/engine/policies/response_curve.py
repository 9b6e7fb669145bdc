"""The default policy: learn each campaign's response curve and jump to the best split.

Rule, each timestep (before any spend: an even split):
1. Fit a Bayesian response curve per campaign (``oktapi/engine/curves``: exponential-saturation
   and Hill S-curve shapes on a grid, conjugate Gamma-Poisson scale, pooled priors) to the
   history of (spend, conversions). Old rows weigh 0.5 ** (age / half_life), and a Bayesian change-point
   model per campaign drops the rows before a detected change, so drift and drops are followed
   within days. For the revenue objective, revenue per conversion is each campaign's average
   shrunk towards the average over campaigns (each counted once), multiplied onto the curve.
2. Under-delivery: a campaign that spent under 80% of what it was given is capped at the most
   it spent in such timesteps (within two half-lives), plus a 5% probe so a rising cap shows.
3. Split: buy budget in order of marginal return on a per-campaign budget grid (exact for
   concave curves; S-curves are priced on their concave hull). (1 - thompson_share) of the
   split comes from the posterior-mean curves, thompson_share from the average of the splits
   of ``draws`` Thompson draws — exploration without letting budgets jump on noise. The bench
   chose this mix: pure Thompson sampling explored too much on short or sparse plans, the pure
   posterior mean starved campaigns; 0.3 scored like the mean with exploration kept.
4. Targets: never buy a unit whose expected marginal return misses ``target_cpa`` /
   ``target_roas`` — the split may then add up to less than the timestep budget (``note``).
5. Bounds: min/max, learned caps, ``explore_floor`` and ``max_change`` (default 1: a budget
   can at most double from one timestep to the next) bound the search; the shared
   ``fit_to_bounds`` has the last word. ``cooldown`` (default 0) holds a campaign whose
   budget moved by more than 1% at that budget for the next ``cooldown`` timesteps (TikTok asks
   for budget changes within ±50% and 2 days apart: max_change 0.5, cooldown 2; Meta restarts
   its learning phase on large edits). Paused, locked and removed campaigns follow their
   constraints; the free campaigns absorb pacing.
Pacing is the plan's: the timestep budget is the remaining budget over the remaining timesteps.

This module holds the decision and its explanations; the limits of the search (learned caps,
cooldown, floor, max_change) are in ``curve_limits.py``, the split on the budget grid
(steps 3 and 4) in ``curve_split.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from oktapi.engine.curves import CurvePosterior, fit_curves, shape_grid
from oktapi.engine.curves.folding import (
    add_campaign_to_curve,
    fold_into_curve,
    folded_curve,
    restate_in_curve,
    row_maturity,
)
from oktapi.engine.curves.value import value_per_conversion
from oktapi.engine.policies.base import Param, Policy, PolicyOutput
from oktapi.engine.policies.bounds import fit_to_bounds
from oktapi.engine.policies.curve_limits import (
    CAP_MEMORY_HALF_LIVES,
    MAX_COOLDOWN,
    cooling_down,
    learned_cap,
    search_bounds,
)
from oktapi.engine.policies.curve_split import budget_grid, greedy_split, largest_budget_meeting

if TYPE_CHECKING:
    from oktapi.engine.state import State

# Changes of a campaign's regime are looked for within this many half-lives.
CHANGE_WINDOW_HALF_LIVES = 2.0
# History rows kept as rows (older ones are folded into sums): at least MIN_KEPT_ROWS, more if
# the change-point window or the learned-cap memory need it, at most MAX_KEPT_ROWS; 32 scored
# as keeping every row at a bounded cost per timestep (bench: docs/engine.md).
MIN_KEPT_ROWS = 32
MAX_KEPT_ROWS = 400
# Draws used for the 80% credible interval in the explanations.
INTERVAL_DRAWS = 200
INTERVAL = (0.1, 0.9)
# Stream of the generator the explanations before any spend draw from (not state.rng).
PRIOR_STREAM = 0x5052494F52


@dataclass(frozen=True)
class CurveFit:
    """One fit of the plan's history: what a split (or a forecast of one) is computed from."""

    posterior: CurvePosterior
    value: np.ndarray  # objective per conversion the split ranks by (1, or revenue per conversion)
    revenue_per_conversion: np.ndarray
    cap: np.ndarray  # learned spend cap per campaign (inf when none)
    previous: np.ndarray  # last closed timestep's budgets


class ResponseCurvePolicy(Policy):
    """Thompson sampling over Bayesian saturating response curves, solved as a knapsack."""

    name: ClassVar[str] = "response_curve"
    uses_step: ClassVar[bool] = False
    param_specs: ClassVar[dict[str, Param]] = {
        "half_life": Param(
            14.0, low=0.0, low_inclusive=False, help="timesteps after which a result counts half"
        ),
        "draws": Param(16, low=0, high=100, integer=True, help="Thompson draws averaged"),
        "thompson_share": Param(
            0.3,
            low=0.0,
            high=1.0,
            help="share of the split that follows Thompson draws (the rest: the posterior mean)",
        ),
        "detect_changes": Param(
            1, low=0, high=1, integer=True, help="1: forget a campaign's past when it changes"
        ),
        "explore_floor": Param(
            0.0, low=0.0, high=1.0, help="least share of an even split every campaign keeps"
        ),
        "max_change": Param(
            1.0,
            low=0.0,
            low_inclusive=False,
            allow_none=True,
            help="largest relative change of a campaign's budget between timesteps",
        ),
        "cooldown": Param(
            0,
            low=0,
            high=MAX_COOLDOWN,
            integer=True,
            help="timesteps a campaign's budget is held after it changed (by more than 1%)",
        ),
        "target_cpa": Param(
            None, low=0.0, low_inclusive=False, allow_none=True, help="most a conversion may cost"
        ),
        "target_roas": Param(
            None,
            low=0.0,
            low_inclusive=False,
            allow_none=True,
            help="least revenue per unit of budget on the last unit bought",
        ),
    }

    def __init__(
        self,
        params: dict | None,
        step: float,
        *,
        known_shapes: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        """known_shapes, each campaign's true (curvature, family code), is for the bench's "told
        the shapes" ceiling only (`bench.simulate.run(..., tell_shapes=True)`): a plan never
        knows them, and every policy the service builds has None."""
        super().__init__(params, step)
        self.known_shapes = known_shapes

    def kept_rows(self) -> int:
        """Rows kept as rows: at least MIN_KEPT_ROWS, and what the change-point window and
        the learned-cap memory need (at most MAX_KEPT_ROWS); older rows are folded."""
        half_life = self.params["half_life"]
        needed = math.ceil(max(CHANGE_WINDOW_HALF_LIVES, CAP_MEMORY_HALF_LIVES) * half_life) + 1
        return min(max(MIN_KEPT_ROWS, needed), MAX_KEPT_ROWS)

    def fold_rows(self, state: State, count: int) -> None:
        """Fold the oldest rows into the curve fit's discounted sums (`curves.folding`)."""
        super().fold_rows(state, count)
        grid = self._grid(state)
        if grid is not None:
            fold_into_curve(state, grid, self.params["half_life"], count)

    def restate_folded(
        self,
        state: State,
        timestep: int,
        indices: np.ndarray,
        previous: np.ndarray,
        previous_observed_at: np.ndarray,
        rows: np.ndarray,
    ) -> None:
        """Replace a folded row's contribution: subtract the previous figures', add the new."""
        super().restate_folded(state, timestep, indices, previous, previous_observed_at, rows)
        grid = self._grid(state)
        if grid is not None and "curve" in state.folded:
            restate_in_curve(
                state,
                grid,
                self.params["half_life"],
                timestep,
                indices,
                previous,
                previous_observed_at,
                rows,
            )

    def add_column(self, state: State) -> None:
        """The added campaign's folded curve sums are zeros, its tempering 1 (no rows yet)."""
        super().add_column(state)
        add_campaign_to_curve(state)

    def _grid(self, state: State) -> tuple[np.ndarray, np.ndarray, float] | None:
        """(curvatures, families, reference spend) of the plan's shape grid, or None."""
        planned = state.planned_budget
        if planned <= 0:
            return None
        reference_spend = planned / state.planned_campaigns
        if self.known_shapes is not None:
            curvatures, families = (np.asarray(part, dtype=float) for part in self.known_shapes)
        else:
            curvatures, families, _ = shape_grid(reference_spend, state.planned_campaigns)
        return curvatures, families, reference_spend

    def allocate(
        self, state: State, timestep_budget: float, rng: np.random.Generator
    ) -> PolicyOutput:
        """Budgets for the next timestep, with per-campaign explanations and an optional note."""
        n = len(state.campaigns)
        min_budget, max_budget = state.min_budgets, state.max_budgets
        if n == 0 or timestep_budget <= 0:
            return np.zeros(n), None, None
        spend = np.asarray(state.spend, dtype=float).reshape(-1, n)
        if not np.any(spend > 0):
            even = np.full(n, timestep_budget / n)
            budgets = fit_to_bounds(even, timestep_budget, min_budget, max_budget)
            return budgets, self._prior_explanations(state, budgets), None

        fit = self.fit(state, timestep_budget)
        posterior, value, cap = fit.posterior, fit.value, fit.cap
        # The rows the next update may fold are tempered as this fit tempered them.
        state.folded["tempering"] = posterior.tempering[0].tolist()
        previous = fit.previous
        if state.timestep == 0 and previous.sum() > 0:
            # A plan that learnt from days before it moves from their last split, at its budget.
            previous = previous * (timestep_budget / previous.sum())
        held = cooling_down(state, int(self.params["cooldown"]))
        if held.any():  # held at last timestep's budget, within today's bounds
            kept = np.clip(previous, min_budget, max_budget)
            min_budget = np.where(held, kept, min_budget)
            max_budget = np.where(held, kept, max_budget)
        lower, upper = search_bounds(
            timestep_budget,
            min_budget,
            max_budget,
            cap,
            previous,
            explore_floor=self.params["explore_floor"],
            max_change=self.params["max_change"],
        )
        threshold = self._threshold(value, fit.revenue_per_conversion)

        edges = budget_grid(lower, upper, timestep_budget)
        curve = value[:, None] * posterior.expected(edges.T).T
        free_budget = max(timestep_budget - lower.sum(), 0.0)
        budgets = greedy_split(edges, curve[None], threshold, free_budget)[0]
        share = self.params["thompson_share"]
        if self.params["draws"] > 0 and share > 0:
            index, scale = posterior.sample(rng, self.params["draws"])
            sampled_curve = posterior.sampled_curves(edges[None], index, scale * value)
            sampled = greedy_split(edges, sampled_curve, threshold, free_budget)
            budgets = (1 - share) * budgets + share * sampled.mean(axis=0)

        note = None
        if threshold is not None:
            affordable = largest_budget_meeting(posterior, value, threshold, upper)
            budgets = np.minimum(budgets, np.maximum(affordable, lower))
            if budgets.sum() < timestep_budget * (1 - 1e-6):
                note = f"spending less than the budget: {self._target_names()}"
        budgets = fit_to_bounds(budgets, timestep_budget, min_budget, max_budget)
        if note is None and budgets.sum() < timestep_budget * (1 - 1e-6):
            note = "spending less than the budget: campaigns are capped or at their max_budget"
        explanations = _explain(posterior, value, budgets, cap, rng)
        return budgets, explanations, note

    def _prior_explanations(self, state: State, budgets: np.ndarray) -> list[dict]:
        """Explanations before any spend: the prior's curves, with its wide intervals.

        Drawn from a generator of their own (seed, timestep), not from state.rng, so that the
        plan's draws, and every allocation after, are what they would be without them.
        """
        fit = self.fit(state, float(budgets.sum()))
        rng = np.random.Generator(np.random.PCG64([state.seed, state.timestep, PRIOR_STREAM]))
        return _explain(fit.posterior, fit.value, budgets, fit.cap, rng)

    def fit(self, state: State, timestep_budget: float) -> CurveFit:
        """The posterior of every campaign's curve and what the split needs besides (no draws,
        state unchanged): shared by ``allocate`` and the forecasts. Needs some spend."""
        n = len(state.campaigns)
        spend = np.asarray(state.spend, dtype=float).reshape(-1, n)
        allocated = np.asarray(state.allocated, dtype=float).reshape(-1, n)
        conversions = np.asarray(state.conversions, dtype=float).reshape(-1, n)
        revenue = np.asarray(state.revenue, dtype=float).reshape(-1, n)
        half_life = self.params["half_life"]
        age = np.arange(len(spend))[::-1]
        # A cell of a campaign that was off (paused, removed, not yet in the plan) is no
        # evidence: it spent 0 because it was off.
        participated = np.asarray(state.participated, dtype=float).reshape(-1, n)
        weights = (0.5 ** (age / half_life))[:, None] * participated
        reference_spend = _reference_spend(state, timestep_budget, n)

        conversion_share, revenue_share = row_maturity(state, len(spend))
        folded = None
        grid = self._grid(state) if "curve" in state.folded else None
        if grid is not None:  # rows are folded into curve sums only on a plan with a grid
            folded = folded_curve(state, grid, half_life)
            # Discounted from when they were folded to now.
            decay = 0.5 ** ((state.timestep - folded["asof"]) / half_life)
            folded = {key: value * decay for key, value in folded.items() if key != "asof"}
        revenue_per_conversion = value_per_conversion(
            conversions,
            revenue,
            weights,
            conversion_share,
            revenue_share,
            None if folded is None else (folded["value_conversions"], folded["revenue"]),
        )
        # Revenue objective without any revenue reported yet: conversions are all we can rank.
        use_revenue = state.objective == "revenue" and revenue_per_conversion.max() > 0
        value = revenue_per_conversion if use_revenue else np.ones(n)
        posterior = fit_curves(
            spend,
            conversions,
            weights,
            reference_spend,
            detect_changes=bool(self.params["detect_changes"]),
            change_window=math.ceil(CHANGE_WINDOW_HALF_LIVES * half_life),
            known_shapes=self.known_shapes,
            maturity=conversion_share,
            folded=None
            if folded is None
            else (folded["conversions"], folded["exposure"], folded["conversions_log_curve"]),
            grid_campaigns=state.planned_campaigns,
        )
        cap = learned_cap(allocated, spend * participated, age, half_life)
        previous = allocated[-1] if len(allocated) else np.zeros(n)
        return CurveFit(posterior, value, revenue_per_conversion, cap, previous)

    def _threshold(
        self, value: np.ndarray, revenue_per_conversion: np.ndarray
    ) -> np.ndarray | None:
        """Least marginal objective per unit of budget each campaign must return, or None.

        ``value`` converts conversions into the objective (1, or revenue per conversion):
        target_cpa asks value / cpa of it, target_roas asks roas * value / revenue per conversion.
        """
        threshold = None
        if self.params["target_cpa"] is not None:
            threshold = value / self.params["target_cpa"]
        if self.params["target_roas"] is not None:
            with np.errstate(divide="ignore"):
                roas = self.params["target_roas"] * value / revenue_per_conversion
            threshold = roas if threshold is None else np.maximum(threshold, roas)
        return threshold

    def _target_names(self) -> str:
        """Which targets are set, for the note."""
        return " and ".join(k for k in ("target_cpa", "target_roas") if self.params[k] is not None)


def _reference_spend(state: State, timestep_budget: float, n: int) -> float:
    """An even share of the timestep budget as first planned: the unit every prior is
    expressed in (fixed, so budget and campaign edits leave what was learnt unchanged)."""
    planned = state.planned_budget
    typical = planned if planned > 0 else timestep_budget
    return max(typical, 1e-12) / state.planned_campaigns


def _explain(
    posterior: CurvePosterior,
    value: np.ndarray,
    budgets: np.ndarray,
    cap: np.ndarray,
    rng: np.random.Generator,
) -> list[dict]:
    """Per campaign: expected objective at its budget, 80% credible interval, marginal return."""
    effective = np.minimum(budgets, cap)
    expected = value * posterior.expected(effective)
    marginal = np.where(budgets < cap, value * posterior.marginal(effective), 0.0)
    index, scale = posterior.sample(rng, INTERVAL_DRAWS)
    sampled = value * posterior.sampled_curves(effective[None, :, None], index, scale)[:, :, 0]
    lower, upper = np.quantile(sampled, INTERVAL, axis=0)
    lower = np.minimum(lower, expected)
    upper = np.maximum(upper, expected)
    return [
        {
            "expected": float(e),
            "lower": float(lo),
            "upper": float(hi),
            "marginal_return": float(m),
        }
        for e, lo, hi, m in zip(expected, lower, upper, marginal, strict=True)
    ]
