"""Looking ahead: what a budget per timestep would buy in the open timestep, and where it goes.

For a plan on the default policy (``response_curve``), from the same posterior fit the policy
allocates with (``ResponseCurvePolicy.fit``):
- ``Forecaster.forecast(budgets)``: per budget, the split the policy's machinery gives on the
  posterior-mean curves (min/max bounds, learned caps, explore_floor and the plan's own targets
  honoured; not max_change, see ``_bounds``), the objective expected in the open timestep with
  an 80% PREDICTION interval, the marginal return of the last unit, and whether the budget is
  beyond what the data support (``extrapolated``).
- ``Forecaster.recommend(target_cpa=..., target_roas=...)``: the largest budget whose last unit
  still meets the target, and its forecast (or why none does).
- ``Forecaster.curves()``: each campaign's learned expected response on a budget grid, with an
  80% credible interval of that expectation, for a dashboard to draw.

The prediction interval must contain the realised outcome ~80% of the time, so each draw takes
a posterior draw of every curve, then the noise of one timestep around it: conversions are
over-dispersed Poisson with the variance function Var = mu (a + b mu) fitted on the plan's own
Pearson residuals, plus a factor common to all campaigns of a timestep (seasonality and
market-wide swings move every campaign at once, which independent noise would understate), and
revenue is a sum of order values whose spread is estimated from the rows, around a revenue per
conversion drawn from its own uncertainty. Draws come from a generator seeded from the plan's
seed and timestep: a forecast never advances ``state.rng`` nor changes the state, so asking
for one cannot change a future allocation, and asking twice answers the same.
"""

from __future__ import annotations

import math

import numpy as np

from oktapi.engine.curves import raw_curve
from oktapi.engine.curves.value import VALUE_PRIOR_CONVERSIONS
from oktapi.engine.forecast_answers import (
    BudgetForecast,
    Curves,
    ForecastUnavailable,
    Recommendation,
)
from oktapi.engine.forecast_noise import noise_model
from oktapi.engine.policies import get_policy
from oktapi.engine.policies.bounds import fit_to_bounds
from oktapi.engine.policies.curve_limits import CAP_PROBE
from oktapi.engine.policies.curve_split import budget_grid, greedy_split, largest_budget_meeting
from oktapi.engine.policies.response_curve import CurveFit, ResponseCurvePolicy
from oktapi.engine.state import State

# Separates the forecast's seed sequence from the plan's own generator.
FORECAST_STREAM = 0xF02E
# Draws of (curves, noise) behind each prediction interval; the interval's quantiles.
PREDICTION_DRAWS = 1000
INTERVAL = (0.1, 0.9)
# A budget is extrapolated when it is this many times the most a campaign (or the plan, in
# total) spent in any kept timestep.
EXTRAPOLATION_FACTOR = 1.5
# The marginal return of the last unit: the objective lost by taking this share off the budget
# (the split re-solved), per unit taken off.
MARGINAL_STEP = 0.01
# Where a split ranks campaigns by conversions, the revenue of its last unit is read over this
# share of the budget: wide enough to hold several of the split's steps, so it does not jump
# with whichever campaign took the very last one.
MIX_WINDOW = 0.2
# Targets are looked for up to what the data support (EXTRAPOLATION_FACTOR x the most the plan
# spent in one timestep, or the sum of the campaigns' max budgets and caps when smaller), on a
# geometric grid refined by bisection: beyond it the curves' saturation is a guess (measured:
# docs/forecast.md).
RECOMMEND_GRID = 25
RECOMMEND_BISECTIONS = 20
# Curves: points per campaign, reaching max_budget or this many times the campaign's largest
# recent budget.
CURVE_POINTS = 25
CURVE_REACH = 3.0
# Posterior draws behind the curves' credible intervals (of the forecast's own sample).
CURVE_DRAWS = 400


class Forecaster:
    """Forecasts of one plan's open timestep; reads the state, never changes it."""

    def __init__(self, state: State) -> None:
        if state.finished:
            raise ForecastUnavailable("the plan is finished: there is no timestep to forecast")
        if state.policy != ResponseCurvePolicy.name:
            raise ForecastUnavailable(
                f"forecasts need the response curves the {ResponseCurvePolicy.name!r} policy "
                f"learns; this plan uses {state.policy!r}"
            )
        if not np.any(np.asarray(state.spend) > 0):
            raise ForecastUnavailable(
                "nothing has been spent yet: a forecast needs the results of at least one "
                "timestep with spend"
            )
        self.state = state
        policy = get_policy(state.policy)(state.policy_params, state.step)
        assert isinstance(policy, ResponseCurvePolicy)
        self.policy: ResponseCurvePolicy = policy
        self.fit: CurveFit = self.policy.fit(state, state.timestep_budget())
        self.objective_value = (
            self.fit.revenue_per_conversion
            if state.objective == "revenue"
            else np.ones(state.n_campaigns)
        )
        spend = np.asarray(state.spend, dtype=np.float64)
        self.most_spent = spend.max(axis=0)
        self.most_spent_total = float(spend.sum(axis=1).max())
        self.noise = noise_model(state, self.fit, self.policy.params["half_life"])
        posterior_seed, self.noise_seed = np.random.SeedSequence(
            [state.seed, state.timestep, FORECAST_STREAM]
        ).spawn(2)
        # One posterior sample serves every split: intervals of nearby budgets move smoothly.
        self.draws = self.fit.posterior.sample(
            np.random.default_rng(posterior_seed), PREDICTION_DRAWS
        )
        # The drawn shapes with A folded into the normalisation (saturation's g(r) = 1).
        posterior = self.fit.posterior
        index, scale = self.draws
        curvature, family = posterior.curvatures[index], posterior.families[index]
        self._drawn_shapes = (
            curvature,
            family,
            scale / raw_curve(np.float64(posterior.reference_spend), curvature, family),
        )

    # ----- the split ------------------------------------------------------------------------

    def split(self, timestep_budget: float) -> np.ndarray:
        """The policy's split of a budget on the posterior-mean curves (no Thompson draws)."""
        return self._splits(timestep_budget, (1.0,))[0]

    def _splits(self, timestep_budget: float, shares: tuple[float, ...]) -> list[np.ndarray]:
        """Splits of share * timestep_budget for each share, on the grid of timestep_budget
        (one evaluation of the curves serves a budget and its marginal return)."""
        state, fit, policy = self.state, self.fit, self.policy
        min_budget, max_budget = state.min_budgets, state.max_budgets
        if timestep_budget <= 0:
            return [np.zeros(state.n_campaigns) for _ in shares]
        lower, upper = self._bounds(timestep_budget)
        threshold = policy._threshold(fit.value, fit.revenue_per_conversion)
        # Budget within what the data support is bought first: beyond it a campaign's
        # posterior mean is its prior's guess (an S-curve never funded looks as steep as the
        # steepest shape it might have), which would otherwise take the whole budget.
        supported = np.clip(EXTRAPOLATION_FACTOR * self.most_spent, lower, upper)
        edges = budget_grid(lower, supported, timestep_budget)
        curve = self._objective_curve(edges)
        affordable = None
        if threshold is not None:
            affordable = largest_budget_meeting(fit.posterior, fit.value, threshold, upper)
        splits = []
        outer: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        for share in shares:
            budget = share * timestep_budget
            free_budget = max(budget - lower.sum(), 0.0)
            budgets = greedy_split(edges, curve[None], threshold, free_budget)[0]
            left = budget - budgets.sum()
            if left > 1e-9 * max(budget, 1.0) and np.any(upper > supported):
                # More than the supported budgets absorb: the rest is extrapolated (a budget
                # and its marginal step usually start it from the same split: one grid).
                if outer is None or not np.array_equal(outer[0], budgets):
                    outer_edges = budget_grid(budgets, upper, timestep_budget)
                    outer = (budgets, outer_edges, self._objective_curve(outer_edges)[None])
                budgets = greedy_split(outer[1], outer[2], threshold, left)[0]
            if affordable is not None:
                budgets = np.minimum(budgets, np.maximum(affordable, lower))
            splits.append(fit_to_bounds(budgets, budget, min_budget, max_budget))
        return splits

    def _objective_curve(self, edges: np.ndarray) -> np.ndarray:
        """What the split ranks by (objective per conversion times conversions) at a grid (n, G)."""
        return self.fit.value[:, None] * self.fit.posterior.expected(edges.T).T

    def _bounds(self, timestep_budget: float) -> tuple[np.ndarray, np.ndarray]:
        """Per-campaign [lower, upper] of the search: the policy's, without ``max_change``.

        max_change only smooths the way from last timestep's split to a new one; a forecast
        asks where a budget is best spent, and the plan gets there within a few timesteps.
        """
        state = self.state
        even_share = timestep_budget / state.n_campaigns
        upper = np.minimum(state.max_budgets, self.fit.cap * (1 + CAP_PROBE))
        upper = np.minimum(upper, timestep_budget)
        lower = np.maximum(state.min_budgets, self.policy.params["explore_floor"] * even_share)
        lower = np.minimum(lower, upper)
        if lower.sum() > timestep_budget:
            lower = lower * (timestep_budget / lower.sum())
        return lower, np.maximum(upper, lower)

    def _conversions(self, budgets: np.ndarray) -> np.ndarray:
        """Posterior-mean conversions per campaign of a split (what a capped campaign spends)."""
        return self.fit.posterior.expected(np.minimum(budgets, self.fit.cap))

    def _totals(self, budgets: np.ndarray) -> tuple[float, float]:
        """Expected (conversions, revenue) of a split."""
        conversions = self._conversions(budgets)
        return float(conversions.sum()), float(
            (self.fit.revenue_per_conversion * conversions).sum()
        )

    def _marginals(self, timestep_budget: float) -> tuple[np.ndarray, float, float]:
        """The split of a budget and (conversions, revenue) per unit of its last unit: what
        taking MARGINAL_STEP of the budget off (the split re-solved) loses, per unit."""
        smallest = MARGINAL_STEP * max(self.state.timestep_budget(), 1.0)
        if MARGINAL_STEP * timestep_budget < 1e-6 * smallest:
            # (Next to) nothing: the return of the first units, from zero.
            budgets = self.split(timestep_budget)
            more = self.split(smallest)
            high, low = self._totals(more), self._totals(np.zeros(self.state.n_campaigns))
            return budgets, (high[0] - low[0]) / smallest, (high[1] - low[1]) / smallest
        shares: tuple[float, ...] = (1.0, 1.0 - MARGINAL_STEP)
        if self.state.objective != "revenue":
            # A split ranked by conversions gives its last step to one campaign or another,
            # whose revenue per conversion differs: the revenue of the last unit is the
            # conversions it brings times the revenue per conversion of the last MIX_WINDOW.
            shares += (1.0 - MIX_WINDOW,)
        budgets, less, *wide = self._splits(timestep_budget, shares)
        step = MARGINAL_STEP * timestep_budget
        high, low = self._totals(budgets), self._totals(less)
        conversions, revenue = (high[0] - low[0]) / step, (high[1] - low[1]) / step
        if wide:
            far = self._totals(wide[0])
            if high[0] > far[0]:
                revenue = conversions * (high[1] - far[1]) / (high[0] - far[0])
        return budgets, conversions, revenue

    # ----- forecasts ------------------------------------------------------------------------

    def forecast(self, timestep_budgets: list[float] | np.ndarray) -> list[BudgetForecast]:
        """One BudgetForecast per budget, in the given order."""
        return [self._forecast(float(budget)) for budget in timestep_budgets]

    def _forecast(self, timestep_budget: float) -> BudgetForecast:
        fit = self.fit
        budgets, marginal_conversions, marginal_revenue = self._marginals(timestep_budget)
        conversions = self._conversions(budgets)
        revenue = fit.revenue_per_conversion * conversions
        expected = self.objective_value * conversions
        lower, upper = self.predict(budgets[None, :])
        marginal = marginal_revenue if self.state.objective == "revenue" else marginal_conversions
        uncapped = budgets < fit.cap
        campaign_marginal = np.where(
            uncapped,
            self.objective_value * fit.posterior.marginal(np.minimum(budgets, fit.cap)),
            0.0,
        )
        campaign_extrapolated = budgets > EXTRAPOLATION_FACTOR * self.most_spent
        return BudgetForecast(
            timestep_budget=timestep_budget,
            budgets=budgets,
            expected=float(expected.sum()),
            lower=float(min(lower[0], expected.sum())),
            upper=float(max(upper[0], expected.sum())),
            marginal_return=float(marginal),
            conversions=float(conversions.sum()),
            revenue=float(revenue.sum()),
            marginal_conversions=float(marginal_conversions),
            marginal_revenue=float(marginal_revenue),
            extrapolated=bool(
                campaign_extrapolated.any()
                or timestep_budget > EXTRAPOLATION_FACTOR * self.most_spent_total
            ),
            campaign_expected=expected,
            campaign_marginal=campaign_marginal,
            campaign_extrapolated=campaign_extrapolated,
        )

    def expected(self, budgets: np.ndarray) -> float:
        """Posterior-mean objective of one split (n,), e.g. the allocation actually handed out."""
        return float(np.sum(self.objective_value * self._conversions(np.asarray(budgets))))

    def predict(self, budgets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """80% prediction interval of the realised objective of each split (k, n) -> (k,), (k,).

        Every split sees the same posterior draws (one generator from the plan's seed and
        timestep), so intervals of nearby budgets move smoothly.
        """
        budgets = np.atleast_2d(np.asarray(budgets, dtype=np.float64))
        lower, upper = np.zeros(len(budgets)), np.zeros(len(budgets))
        for row, split in enumerate(budgets):
            outcome = self._predictive_draws(split, np.random.default_rng(self.noise_seed))
            lower[row], upper[row] = np.quantile(outcome, INTERVAL)
        return lower, upper

    def _predictive_draws(self, budgets: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Draws (PREDICTION_DRAWS,) of the timestep's realised objective for one split."""
        noise = self.noise
        effective = np.minimum(budgets, self.fit.cap)
        curvature, family, scale = self._drawn_shapes
        mean = scale * raw_curve(effective[None, :], curvature, family)
        if noise.common > 0:
            common_shape = 1.0 / noise.common
            mean = mean * rng.gamma(common_shape, 1.0 / common_shape, size=(PREDICTION_DRAWS, 1))
        mean = np.maximum(mean, 0.0)
        extra = np.maximum(noise.base - 1.0 + noise.slope * mean, 0.0)  # Var / mu - 1
        over = extra > 1e-12
        # Gamma-Poisson with Var = mu (1 + extra): rate ~ Gamma(mu / extra, extra).
        rate = mean.copy()
        rate[over] = rng.gamma(mean[over] / extra[over], extra[over])
        conversions = rng.poisson(rate).astype(np.float64)
        if self.state.objective != "revenue":
            return conversions.sum(axis=1)
        value = self.fit.revenue_per_conversion
        cv2 = noise.order_value_cv2
        if cv2 > 0:
            # The revenue per conversion itself is uncertain: Gamma with its evidence's spread.
            value_shape = (noise.value_evidence + VALUE_PRIOR_CONVERSIONS) / cv2
            value = rng.gamma(value_shape, value / value_shape, size=mean.shape)
            shape = np.where(conversions > 0, conversions / cv2, 1.0)
            revenue = np.where(conversions > 0, rng.gamma(shape, value * cv2), 0.0)
        else:
            revenue = conversions * value
        return revenue.sum(axis=1)

    # ----- targets --------------------------------------------------------------------------

    def recommend(
        self, *, target_cpa: float | None = None, target_roas: float | None = None
    ) -> Recommendation:
        """The largest budget whose last unit still meets the target, and its forecast."""
        if (target_cpa is None) == (target_roas is None):
            raise ValueError("give exactly one of target_cpa and target_roas")
        if target_cpa is not None:
            name, target = "target_cpa", float(target_cpa)

            def meets(budget: float) -> bool:
                return self._marginals(budget)[1] * target >= 1.0

        else:
            name, target = "target_roas", float(target_roas)  # type: ignore[arg-type]

            def meets(budget: float) -> bool:
                return self._marginals(budget)[2] >= target

        top = self._search_top()
        least = max(float(self.state.min_budgets.sum()), top * 1e-3)
        grid = np.geomspace(least, top, RECOMMEND_GRID) if top > least else np.array([top])
        met = np.array([meets(float(budget)) for budget in grid])
        if not met.any():
            best = max(
                (self._marginals(float(b))[1:] for b in grid),
                key=lambda m: m[0] if target_cpa is not None else m[1],
            )
            if target_cpa is not None:
                found = f"the lowest marginal CPA found is {_money(1 / best[0] if best[0] > 0 else math.inf)}"
            else:
                found = f"the highest marginal ROAS found is {best[1]:.3g}"
            return Recommendation(
                None,
                f"no budget from {_money(grid[0])} to {_money(top)} per timestep meets "
                f"{name} {target:g}: {found}",
            )
        last = int(np.flatnonzero(met)[-1])
        if last == len(grid) - 1:
            return Recommendation(
                self._forecast(float(top)),
                f"{name} {target:g} is still met at {_money(top)} per timestep, the most the "
                f"data support ({EXTRAPOLATION_FACTOR:g}x the most spent in one timestep, or "
                "the campaigns' max budgets and caps): a larger budget may meet it too, but "
                "its curves would be extrapolated",
            )
        low, high = float(grid[last]), float(grid[last + 1])
        for _ in range(RECOMMEND_BISECTIONS):
            middle = 0.5 * (low + high)
            if meets(middle):
                low = middle
            else:
                high = middle
            if high - low <= 1e-4 * high:
                break
        return Recommendation(self._forecast(low), None)

    def _search_top(self) -> float:
        """Largest budget a target is looked for at: the most the data support."""
        reach = EXTRAPOLATION_FACTOR * self.most_spent_total
        room = np.minimum(self.state.max_budgets, self.fit.cap * (1 + CAP_PROBE))
        return float(min(reach, room.sum())) if np.isfinite(room.sum()) else reach

    # ----- curves ---------------------------------------------------------------------------

    def curves(self, points: int = CURVE_POINTS) -> Curves:
        """Each campaign's expected objective on 0 .. its max_budget (or CURVE_REACH x its
        largest recent budget), with an 80% credible interval of that expectation."""
        state, fit = self.state, self.fit
        n = state.n_campaigns
        current = (
            state.allocation
            if state.allocation is not None
            else self.split(state.timestep_budget())
        )
        recent = np.maximum(np.asarray(state.allocated).max(axis=0), self.most_spent)
        reach = CURVE_REACH * np.maximum(
            np.maximum(recent, current), state.timestep_budget() / max(n, 1)
        )
        top = np.where(np.isfinite(state.max_budgets), state.max_budgets, reach)
        top = np.where(top > 0, top, reach)
        budgets = top[:, None] * np.linspace(0.0, 1.0, points)[None, :]  # (n, G)
        effective = np.minimum(budgets, fit.cap[:, None])
        expected = self.objective_value[:, None] * fit.posterior.expected(effective.T).T
        index, scale = (part[:CURVE_DRAWS] for part in self.draws)
        sampled = fit.posterior.sampled_curves(effective[None], index, scale)
        sampled = sampled * self.objective_value[None, :, None]
        lower, upper = np.quantile(sampled, INTERVAL, axis=0)
        return Curves(
            budgets=budgets,
            expected=expected,
            lower=np.minimum(lower, expected),
            upper=np.maximum(upper, expected),
            current_budget=np.asarray(current, dtype=np.float64),
        )


def _money(amount: float) -> str:
    return f"{amount:,.2f}" if math.isfinite(amount) else "infinite"
