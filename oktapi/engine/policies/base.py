"""The one interface every policy implements, plus the machinery the seed policies share."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from scipy.special import gammaincinv

from oktapi.engine.policies.bounds import fit_to_bounds

if TYPE_CHECKING:
    from oktapi.engine.state import State

PolicyOutput = tuple[np.ndarray, list[dict] | None, str | None]

# A campaign that spent less than this share of what the best spender spent (as a share of
# budget) last timestep cannot win budget this timestep: it could not use more.
UNDER_DELIVERY_VS_BEST = 0.95

# Credible interval reported in explanations (5% and 95% posterior quantiles).
EXPLANATION_QUANTILES = (0.05, 0.95)

# History rows a policy keeps by default; older rows are folded into sums (``Policy.fold``).
KEPT_ROWS = 96


@dataclass(frozen=True)
class Param:
    """One tunable number of a policy: default and allowed range, so errors can say what to fix."""

    default: float | None
    low: float | None = None
    high: float | None = None
    low_inclusive: bool = True
    high_inclusive: bool = True
    allow_none: bool = False
    integer: bool = False
    help: str = ""

    def describe_range(self) -> str:
        """Human-readable allowed range, e.g. 'a number in (0, 1]'."""
        kind = "an integer" if self.integer else "a number"
        if self.low is None and self.high is None:
            text = kind
        else:
            left = ("[" if self.low_inclusive else "(") + (
                "-inf" if self.low is None else f"{self.low:g}"
            )
            right = ("inf" if self.high is None else f"{self.high:g}") + (
                "]" if self.high_inclusive else ")"
            )
            text = f"{kind} in {left}, {right}"
        return text + (" or null" if self.allow_none else "")

    def check(self, policy: str, key: str, value: Any) -> float | int | None:
        """Return the value as a plain float/int, or raise ValueError saying what to fix."""
        problem = f"policy '{policy}': parameter '{key}' must be {self.describe_range()}"
        if value is None:
            if self.allow_none:
                return None
            raise ValueError(f"{problem}, got null")
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            raise ValueError(f"{problem}, got {value!r}")
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"{problem}, got {value!r}")
        if self.integer and not number.is_integer():
            raise ValueError(f"{problem}, got {value!r}")
        too_low = self.low is not None and (
            number < self.low or (not self.low_inclusive and number == self.low)
        )
        too_high = self.high is not None and (
            number > self.high or (not self.high_inclusive and number == self.high)
        )
        if too_low or too_high:
            raise ValueError(f"{problem}, got {value!r}")
        return int(number) if self.integer else number


class Policy:
    """A budget-splitting rule: validated params in, one timestep's budgets out."""

    name: ClassVar[str]
    uses_step: ClassVar[bool] = False
    # What each parameter may be (specs); an instance's `params` are the validated values.
    param_specs: ClassVar[dict[str, Param]] = {}

    @classmethod
    def validate_params(cls, params: dict | None) -> dict:
        """Fill defaults and reject unknown keys or bad values with a message saying what to fix."""
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise ValueError(f"policy '{cls.name}': policy_params must be an object")
        unknown = sorted(set(params) - set(cls.param_specs))
        if unknown:
            allowed = ", ".join(sorted(cls.param_specs)) or "none"
            raise ValueError(
                f"policy '{cls.name}': unknown parameter(s) {', '.join(map(repr, unknown))}; "
                f"allowed: {allowed}"
            )
        return {
            key: spec.check(cls.name, key, params.get(key, spec.default))
            for key, spec in cls.param_specs.items()
        }

    def __init__(self, params: dict | None, step: float) -> None:
        self.params: dict[str, Any] = self.validate_params(params)
        self.step = float(step)

    def allocate(
        self, state: State, timestep_budget: float, rng: np.random.Generator
    ) -> PolicyOutput:
        """Budgets for the next timestep, per-campaign explanations (or None), and a note."""
        raise NotImplementedError

    def kept_rows(self) -> int:
        """How many recent history rows this policy needs as rows (older ones are folded)."""
        return KEPT_ROWS

    def fold(self, state: State) -> None:
        """Fold the rows beyond ``kept_rows`` into state.folded, then forget them.

        The default folds plain sums per campaign (what ``CampaignTotals`` reads), so the
        state's size and the work per timestep stay bounded however long the plan runs.
        """
        excess = state.kept - self.kept_rows()
        if excess <= 0:
            return
        self.fold_rows(state, excess)
        state.drop_oldest(excess)

    def fold_rows(self, state: State, count: int) -> None:
        """Add the oldest ``count`` kept rows to the folded statistics (before they are dropped)."""
        totals = _folded_totals(state)
        rows = slice(0, count)
        totals[0] += state.spend[rows].sum(axis=0)
        totals[1] += state.conversions[rows].sum(axis=0)
        totals[2] += state.revenue[rows].sum(axis=0)
        totals[3] += np.count_nonzero(state.allocated[rows] > 0.0, axis=0)
        state.folded["totals"] = totals.tolist()

    def add_column(self, state: State) -> None:
        """Extend the folded statistics by the campaign just added (``AI.add_campaign``): it
        has none. state.n_campaigns already counts it."""
        if "totals" in state.folded:
            totals = np.array(state.folded["totals"], dtype=np.float64)
            state.folded["totals"] = np.hstack((totals, np.zeros((4, 1)))).tolist()

    def restate_folded(
        self,
        state: State,
        timestep: int,
        indices: np.ndarray,
        previous: np.ndarray,
        previous_observed_at: np.ndarray,
        rows: np.ndarray,
    ) -> None:
        """Correct the folded statistics for new figures (spend, conversions, revenue) of a
        timestep that was already folded; ``previous`` are the figures they replace."""
        totals = _folded_totals(state)
        totals[:3, indices] += rows - previous
        state.folded["totals"] = totals.tolist()


def _folded_totals(state: State) -> np.ndarray:
    """Folded (spend, conversions, revenue, funded timesteps) per campaign, shape (4, n)."""
    totals = state.folded.get("totals")
    if totals is None:
        return np.zeros((4, state.n_campaigns))
    return np.array(totals, dtype=np.float64)


@dataclass(frozen=True)
class CampaignTotals:
    """What the history says about each campaign, as arrays aligned with state.campaigns."""

    spend: np.ndarray  # total spend
    outcome: np.ndarray  # total conversions, or revenue for the revenue objective
    conversions: np.ndarray
    funded: np.ndarray  # number of timesteps the campaign was given a budget > 0
    outcome_unit: float  # size of one "event" of the outcome (avg revenue per conversion)

    @classmethod
    def from_state(cls, state: State) -> CampaignTotals:
        """Sum the history once per allocate (vectorised over campaigns and timesteps)."""
        spend = state.spend.sum(axis=0)
        conversions = state.conversions.sum(axis=0)
        revenue = state.revenue.sum(axis=0)
        funded = np.count_nonzero(state.allocated > 0.0, axis=0).astype(np.float64)
        if "totals" in state.folded:
            folded = _folded_totals(state)
            spend, conversions = spend + folded[0], conversions + folded[1]
            revenue, funded = revenue + folded[2], funded + folded[3]
        if state.objective == "revenue":
            outcome = revenue
            total_conversions = float(conversions.sum())
            total_revenue = float(outcome.sum())
            unit = total_revenue / total_conversions if total_conversions > 0 else 1.0
            unit = unit if unit > 0 else 1.0
        else:
            outcome, unit = conversions, 1.0
        return cls(spend, outcome, conversions, funded, unit)

    @property
    def rate(self) -> np.ndarray:
        """Observed outcome per unit of spend; 0 for a campaign that has spent nothing."""
        spent = self.spend > 0.0
        with np.errstate(over="ignore"):  # a vanishing spend may give inf: still comparable
            return np.divide(self.outcome, self.spend, out=np.zeros_like(self.spend), where=spent)

    @property
    def pooled_rate(self) -> float:
        """Outcome per unit of spend over all campaigns; 0 before any spend."""
        total_spend = float(self.spend.sum())
        return float(self.outcome.sum()) / total_spend if total_spend > 0 else 0.0


def current_split(state: State) -> np.ndarray:
    """Each campaign's share of what was handed out last timestep (even before any history).

    Equal to its fraction of last timestep's budget whenever the whole budget was handed out;
    kept as shares so a change in the timestep budget scales every campaign alike. A campaign
    that took no part in last timestep's allocation but does now (added, or resumed after a
    pause) starts from the mean share of the others, not from 0: with m campaigns carrying on
    and k joining, each joiner gets 1/(m+k) and the others keep their proportions.
    """
    n_campaigns = len(state.campaigns)
    if state.timestep > 0:
        last = state.allocated[-1]
        total = float(last.sum())
        if total > 0.0:
            return _with_joiners(state, last / total)
    return np.full(n_campaigns, 1.0 / n_campaigns)


def _with_joiners(state: State, shares: np.ndarray) -> np.ndarray:
    """``shares`` with a share for each campaign joining the split (see ``current_split``)."""
    participating = state.participating
    joining = participating & (state.participated[-1] == 0.0)
    carrying_on = participating & ~joining
    if not joining.any() or not carrying_on.any():
        return shares
    kept = np.where(carrying_on, shares, 0.0)
    kept_total = float(kept.sum())
    if kept_total <= 0.0:
        return shares
    joined = np.where(joining, kept_total / int(np.count_nonzero(carrying_on)), kept)
    return joined / float(joined.sum())


def pick_best(scores: np.ndarray, eligible: np.ndarray, rng: np.random.Generator) -> int | None:
    """Index of the highest score among eligible campaigns, ties broken at random."""
    if not eligible.any():
        return None
    masked = np.where(eligible & ~np.isnan(scores), scores, -np.inf)
    best = masked.max()
    ties = np.flatnonzero(eligible & (masked == best))
    return int(ties[0]) if len(ties) == 1 else int(ties[rng.integers(len(ties))])


def pick_worst(scores: np.ndarray, eligible: np.ndarray, rng: np.random.Generator) -> int | None:
    """Index of the lowest score among eligible campaigns, ties broken at random."""
    return pick_best(-scores, eligible, rng)


def move_step(
    budgets: np.ndarray,
    winner: int | None,
    loser: int | None,
    amount: float,
    min_budget: np.ndarray,
    max_budget: np.ndarray,
) -> np.ndarray:
    """Move ``amount`` from loser to winner, limited by the loser's min and the winner's max."""
    if winner is None or loser is None or winner == loser:
        return budgets
    moved = min(
        amount,
        float(budgets[loser] - min_budget[loser]),
        float(max_budget[winner] - budgets[winner]),
    )
    if moved > 0.0:
        budgets = budgets.copy()
        budgets[loser] -= moved
        budgets[winner] += moved
    return budgets


def under_delivering(state: State) -> np.ndarray:
    """Campaigns that spent clearly less of last timestep's budget than the best spender did.

    Such a campaign has shown it has no room for more, like one at its max_budget. Comparing
    with the best delivery ratio (not with 100%) keeps a platform that underspends everyone
    alike from freezing the split.
    """
    if state.timestep == 0:
        return np.zeros(state.n_campaigns, dtype=bool)
    allocated, spend = state.allocated[-1], state.spend[-1]
    funded = allocated > 0.0
    if not funded.any():
        return np.zeros(state.n_campaigns, dtype=bool)
    delivery = np.divide(spend, allocated, out=np.ones_like(spend), where=funded)
    best_delivery = float(delivery[funded].max())
    return funded & (delivery < UNDER_DELIVERY_VS_BEST * best_delivery)


def gamma_interval(shape: np.ndarray, rate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """5% and 95% quantiles of Gamma(shape, rate), vectorised."""
    low_q, high_q = EXPLANATION_QUANTILES
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # tiny spend -> inf
        return gammaincinv(shape, low_q) / rate, gammaincinv(shape, high_q) / rate


def _finite_or_none(values: np.ndarray) -> list[float | None]:
    """Plain floats for JSON, None where extreme inputs overflowed to inf/NaN."""
    return [value if math.isfinite(value) else None for value in values.tolist()]


def explain(
    budgets: np.ndarray,
    expected_rate: np.ndarray,
    lower_rate: np.ndarray | None,
    upper_rate: np.ndarray | None,
    known: np.ndarray,
) -> list[dict]:
    """Per-campaign explanation dicts (plain floats; None where nothing is known yet)."""
    unknown = [None] * len(budgets)
    with np.errstate(over="ignore", invalid="ignore"):  # extreme reports: None, not a warning
        expected = _finite_or_none(expected_rate * budgets)
        lower = _finite_or_none(lower_rate * budgets) if lower_rate is not None else unknown
        upper = _finite_or_none(upper_rate * budgets) if upper_rate is not None else unknown
    marginal = _finite_or_none(expected_rate)
    return [
        {"expected": e, "lower": lo, "upper": up, "marginal_return": m}
        if is_known
        else {"expected": None, "lower": None, "upper": None, "marginal_return": None}
        for e, lo, up, m, is_known in zip(
            expected, lower, upper, marginal, known.tolist(), strict=True
        )
    ]


def posterior_explanations(budgets: np.ndarray, totals: CampaignTotals) -> list[dict]:
    """Explain budgets with the observed rate and a Gamma-Poisson credible interval (Jeffreys prior)."""
    known = totals.spend > 0.0
    spend = np.where(known, totals.spend, 1.0)
    shape = totals.outcome / totals.outcome_unit + 0.5
    low, high = gamma_interval(shape, spend / totals.outcome_unit)
    return explain(budgets, totals.rate, low, high, known)


class StepPolicy(Policy):
    """The seed framework: keep the split, move ``step`` of the timestep budget loser -> winner.

    Subclasses only score campaigns (``scores``) and may override how the winner is chosen
    (``choose_winner``); the loser is the eligible campaign with the lowest score.
    """

    uses_step: ClassVar[bool] = True

    def scores(self, state: State, totals: CampaignTotals, rng: np.random.Generator) -> np.ndarray:
        """Each campaign's estimate; higher means more deserving of budget."""
        raise NotImplementedError

    def choose_winner(
        self, scores: np.ndarray, eligible: np.ndarray, rng: np.random.Generator
    ) -> int | None:
        """The campaign that gains budget (default: best score, random tie-break)."""
        return pick_best(scores, eligible, rng)

    def explanations(
        self, state: State, budgets: np.ndarray, totals: CampaignTotals
    ) -> list[dict] | None:
        """Per-campaign explanation of the budgets handed out."""
        return posterior_explanations(budgets, totals)

    def allocate(
        self, state: State, timestep_budget: float, rng: np.random.Generator
    ) -> PolicyOutput:
        """Scale last timestep's split to this budget, fit it to bounds, then move one step."""
        min_budget, max_budget = state.min_budgets, state.max_budgets
        budgets = fit_to_bounds(
            current_split(state) * timestep_budget, timestep_budget, min_budget, max_budget
        )
        totals = CampaignTotals.from_state(state)
        scores = self.scores(state, totals, rng)
        can_gain = (budgets < max_budget) & ~under_delivering(state)
        winner = self.choose_winner(scores, can_gain, rng)
        if winner is not None:
            can_lose = budgets > min_budget
            can_lose[winner] = False
            loser = pick_worst(scores, can_lose, rng)
            budgets = move_step(
                budgets, winner, loser, self.step * timestep_budget, min_budget, max_budget
            )
        return budgets, self.explanations(state, budgets, totals), None
