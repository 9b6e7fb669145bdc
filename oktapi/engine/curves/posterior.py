"""Bayesian response curves per campaign: the posterior over (shape, scale) and its fit.

Model: expected conversions A·g(spend), g one of the shapes of `grid.shape_grid`. Given the
shape, A has a conjugate Gamma-Poisson posterior, so the exact posterior over (shape, A) takes a
few vectorised numpy operations (no MCMC, no Gaussian process) — well under the 20 ms budget for
50 campaigns and 90 timesteps — and the split stays a cheap greedy (exact for the concave
shapes, on the concave hull for S-curves).

Everything is scale-free: every g is normalised so g(r) = 1 at the reference spend r (A means
"conversions per timestep at an even share"), and the prior on A is centred on the plan's pooled
estimate with a strength estimated from how much the campaigns differ (partial pooling, at most
2 pseudo-conversions). The prior over shapes is the population of the plan's campaigns (one
empirical-Bayes EM step), so a sparse campaign borrows its siblings' shape. Observations are
weighted (discounting, change points: `changes.py`) and tempered by the estimated
over-dispersion of each row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

from oktapi.engine.curves.changes import current_segment_probability
from oktapi.engine.curves.families import saturation, saturation_slope
from oktapi.engine.curves.grid import shape_grid

# Prior on A: Gamma centred on the plan's pooled estimate, its shape (pseudo-conversions of
# evidence) estimated from the campaigns' spread and kept in this range.
MIN_PRIOR_SHAPE = 0.5
MAX_PRIOR_SHAPE = 2.0
# Mixing weight of a flat prior in the pooled curvature prior (no shape ever ruled out a priori).
FLAT_CURVATURE_SHARE = 0.2
# The over-dispersion factor (quasi-Poisson) is estimated but kept in this range.
MAX_DISPERSION = 50.0
# Weight of the fitted variance function against the plan's one factor in the geometric mean
# each row is tempered by (`_dispersion`); chosen on the bench (docs/engine.md).
VARIANCE_FUNCTION_WEIGHT = 0.5


@dataclass(frozen=True)
class CurvePosterior:
    """Posterior over (shape, A) per campaign: categorical over the grid, Gamma(A | shape)."""

    curvatures: np.ndarray  # (K,)
    families: np.ndarray  # (K,) family codes (`families.family_of`)
    reference_spend: float
    curvature_probs: np.ndarray  # (n, K)
    scale_shape: np.ndarray  # (n, K)
    scale_rate: np.ndarray  # (n, K)
    dispersion: float
    tempering: np.ndarray  # (T, n) what each row's evidence was divided by (over-dispersion)
    prior_shape: np.ndarray  # (K,) pooled Gamma prior of A | k
    prior_rate: np.ndarray  # (K,)
    curvature_prior: np.ndarray  # (K,) the population's curvature distribution

    @property
    def n_campaigns(self) -> int:
        """Number of campaigns the posterior covers."""
        return self.curvature_probs.shape[0]

    def mean_scale(self) -> np.ndarray:
        """E[A | k] per campaign and curvature, shape (n, K)."""
        return self.scale_shape / self.scale_rate

    def expected(self, spend: np.ndarray) -> np.ndarray:
        """Posterior mean of expected conversions at spend (..., n)."""
        curve = saturation(spend[..., None], self.curvatures, self.families, self.reference_spend)
        return np.einsum("nk,...nk->...n", self.curvature_probs * self.mean_scale(), curve)

    def marginal(self, spend: np.ndarray) -> np.ndarray:
        """Posterior mean of d(conversions)/d(spend) at spend (..., n)."""
        slope = saturation_slope(
            spend[..., None], self.curvatures, self.families, self.reference_spend
        )
        return np.einsum("nk,...nk->...n", self.curvature_probs * self.mean_scale(), slope)

    def sampled_curves(self, spend: np.ndarray, index: np.ndarray, scale: np.ndarray) -> np.ndarray:
        """Expected conversions of drawn curves (index, scale: (D, n)) at spend (D|1, n, G)."""
        return scale[:, :, None] * saturation(
            spend,
            self.curvatures[index][:, :, None],
            self.families[index][:, :, None],
            self.reference_spend,
        )

    def sample(self, rng: np.random.Generator, draws: int) -> tuple[np.ndarray, np.ndarray]:
        """Draw (grid shape index, A) per campaign: two arrays of shape (draws, n)."""
        n, grid_size = self.curvature_probs.shape
        cumulative = np.cumsum(self.curvature_probs, axis=1)
        uniforms = rng.random((draws, n)) * cumulative[:, -1]
        index = np.minimum((uniforms[:, :, None] >= cumulative[None]).sum(axis=2), grid_size - 1)
        campaign = np.arange(n)[None, :]
        shape = self.scale_shape[campaign, index]
        rate = self.scale_rate[campaign, index]
        return index, rng.gamma(shape) / rate


def _log_evidence(
    conversions_log_curve: np.ndarray,
    total_conversions: np.ndarray,
    total_curve: np.ndarray,
    prior_shape: np.ndarray,
    prior_rate: np.ndarray,
) -> np.ndarray:
    """log p(data | k) up to terms constant in k (Gamma-Poisson marginal), shape (n, K)."""
    shape = prior_shape[None, :] + total_conversions[:, None]
    return (
        conversions_log_curve
        + gammaln(shape)
        - gammaln(prior_shape)[None, :]
        + (prior_shape * np.log(prior_rate))[None, :]
        - shape * np.log(prior_rate[None, :] + total_curve)
    )


def _pooled_prior(
    total_conversions: np.ndarray, total_curve: np.ndarray, dispersion: float
) -> tuple[np.ndarray, np.ndarray]:
    """Gamma prior (shape, rate) of A for each curvature, estimated from the plan's campaigns.

    Empirical Bayes by moments: the mean is the pooled estimate; the shape is mean^2 over the
    between-campaign variance left after removing the (over-dispersed) Poisson noise, so the
    prior is strong when campaigns look alike and weak when they clearly differ.
    """
    exposure = total_curve.sum(axis=0)  # (K,)
    pooled = (total_conversions.sum() + MIN_PRIOR_SHAPE) / (exposure + 1.0)  # (K,)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        rates = total_conversions[:, None] / total_curve  # (n, K)
        spread = np.nansum(total_curve * (rates - pooled[None, :]) ** 2, axis=0)
    # Only campaigns with evidence count (one added to the plan, or never funded, has none
    # and must not make the others look alike).
    observed = np.count_nonzero(total_curve > 0, axis=0)
    effective = exposure - np.sum(total_curve**2, axis=0) / np.maximum(exposure, 1e-300)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        noise = np.maximum(observed - 1, 0) * dispersion * pooled
        between = (spread - noise) / np.maximum(effective, 1e-300)
        shape = np.where(between > 0, pooled**2 / np.maximum(between, 1e-300), MAX_PRIOR_SHAPE)
    shape = np.where(np.isfinite(shape), shape, MAX_PRIOR_SHAPE)
    # No evidence at all (before any spend): the widest prior.
    shape = np.where(exposure > 0, shape, MIN_PRIOR_SHAPE)
    shape = np.clip(shape, MIN_PRIOR_SHAPE, MAX_PRIOR_SHAPE)
    return shape, shape / pooled


def fit_curves(
    spend: np.ndarray,
    conversions: np.ndarray,
    weights: np.ndarray,
    reference_spend: float,
    *,
    detect_changes: bool = True,
    change_window: int = 28,
    known_shapes: tuple[np.ndarray, np.ndarray] | None = None,
    maturity: np.ndarray | None = None,
    folded: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    grid_campaigns: int | None = None,
) -> CurvePosterior:
    """Posterior of every campaign's curve from (timesteps, n) histories and weights.

    Weights (timesteps,) discount old rows (drift); they are divided by an estimated
    over-dispersion factor so noisy campaigns are not believed too soon, and (detect_changes)
    multiplied per campaign by the probability that a row belongs to the current regime.
    known_shapes, each campaign's true (curvature, family), is for the bench's ceiling only:
    the grid is then those n shapes and each campaign's posterior sits on its own.
    maturity (timesteps, n), when given, is the share of each row's final conversions its
    figures show (reporting lag): the row's expected conversions are maturity * A * g(spend),
    so its curve exposure is thinned by it (a young row counts as that share of an outcome,
    neither dropped nor taken as final). folded, when given, is what rows older than the
    history hold add to the sums: (conversions (n,), exposure (n, K), conversions * log curve
    (n, K)), weighted and tempered already; they count as rows before any change window.
    Counts may be fractional: every sum is over floats and
    the Gamma-Poisson terms use gammaln, a quasi-likelihood tempered by the over-dispersion.
    Weights may be (timesteps, n): a cell of weight 0 (a campaign that was off) is no
    evidence. grid_campaigns (default n) sizes the shape grid: a plan keeps the number it
    started with, so a campaign added later leaves the grid, and what was learnt, unchanged.
    """
    weights = np.broadcast_to(weights if weights.ndim == 2 else weights[:, None], spend.shape)
    n_campaigns = spend.shape[1]
    if known_shapes is None:
        curvatures, families, shape_prior = shape_grid(
            reference_spend, n_campaigns if grid_campaigns is None else grid_campaigns
        )
    else:
        curvatures, families = (np.asarray(part, dtype=float) for part in known_shapes)
        shape_prior = np.full(n_campaigns, 1.0 / n_campaigns)
    curve = saturation(spend[:, :, None], curvatures, families, reference_spend)  # (T, n, K)
    with np.errstate(divide="ignore"):
        log_curve = np.log(np.maximum(curve, 1e-300))
    if maturity is not None:
        # log(maturity) would add sum(conversions * log maturity) to every shape's and every
        # segment split's evidence alike: a constant, left out of log_curve.
        curve = curve * maturity[:, :, None]
    conversions = np.maximum(conversions, 0.0)

    def posterior(
        row_weights: np.ndarray,
        dispersion: float,
        tempering: np.ndarray,
        folded_weight: np.ndarray | float = 1.0,
    ) -> CurvePosterior:
        weighted_conversions = row_weights * conversions  # (T, n)
        total_conversions = weighted_conversions.sum(axis=0)  # (n,)
        total_curve = np.einsum("tn,tnk->nk", row_weights, curve)  # (n, K)
        conversions_log_curve = np.einsum("tn,tnk->nk", weighted_conversions, log_curve)
        if folded is not None:
            weight = np.broadcast_to(folded_weight, (n_campaigns,))
            total_conversions = total_conversions + weight * folded[0]
            total_curve = total_curve + weight[:, None] * folded[1]
            conversions_log_curve = conversions_log_curve + weight[:, None] * folded[2]
        # Partial pooling: A | k is centred on the plan's pooled estimate under that k.
        prior_shape, prior_rate = _pooled_prior(total_conversions, total_curve, dispersion)
        log_evidence = _log_evidence(
            conversions_log_curve, total_conversions, total_curve, prior_shape, prior_rate
        )
        if known_shapes is None:
            # Population prior over k: one EM step from a flat prior, mixed with the flat prior.
            flat = _normalise(log_evidence + np.log(shape_prior))
            # The population is the campaigns with evidence (all of them before any).
            evidence = total_curve.sum(axis=1) > 0
            members = flat[evidence] if evidence.any() else flat
            population = (1 - FLAT_CURVATURE_SHARE) * members.mean(
                axis=0
            ) + FLAT_CURVATURE_SHARE * shape_prior
            probs = _normalise(log_evidence + np.log(population)[None, :])
        else:
            population, probs = shape_prior, np.eye(n_campaigns)
        return CurvePosterior(
            curvatures=curvatures,
            families=families,
            reference_spend=reference_spend,
            curvature_probs=probs,
            scale_shape=prior_shape[None, :] + total_conversions[:, None],
            scale_rate=prior_rate[None, :] + total_curve,
            dispersion=dispersion,
            tempering=tempering,
            prior_shape=prior_shape,
            prior_rate=prior_rate,
            curvature_prior=population,
        )

    first = posterior(weights, 1.0, np.ones(spend.shape))
    dispersion, tempering = _dispersion(first, curve, spend, conversions, weights)
    folded_weight: np.ndarray | float = 1.0
    if detect_changes and len(spend) > 1:
        in_current = current_segment_probability(
            first, curve, log_curve, conversions, weights / tempering, change_window, folded
        )
        weights = weights * in_current
        folded_weight = in_current[0]  # folded rows are older than the oldest kept one
    elif np.all(tempering <= 1.0):
        return first
    return posterior(weights / tempering, dispersion, tempering, folded_weight)


def _normalise(log_weights: np.ndarray) -> np.ndarray:
    """Row-wise softmax, safe for large magnitudes."""
    shifted = np.exp(log_weights - log_weights.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _dispersion(
    posterior: CurvePosterior,
    curve: np.ndarray,
    spend: np.ndarray,
    conversions: np.ndarray,
    weights: np.ndarray,
) -> tuple[float, np.ndarray]:
    """How much noisier than Poisson the data are: (the plan's factor, each row's factor).

    The plan's factor is the Pearson chi-square per observation. One factor for every row
    over-tempers low-count rows and under-tempers high-count ones when the noise is Poisson
    plus a gamma-distributed rate (variance mu + d·mu^2, the negative binomial's, which is how
    ad conversions are usually modelled), so each row's factor also follows a variance function
    Var(y) / mu = a + b·mu (a >= 1, b >= 0), fitted by weighted least squares on the Pearson
    residuals. A row is tempered by the geometric mean of the two (VARIANCE_FUNCTION_WEIGHT):
    on the bench the variance function alone gained on the held-out markets but starved
    S-curves on `revenue_values`, whose low-count rows it trusts sooner.
    """
    rows = spend.shape
    mean_curve = posterior.curvature_probs * posterior.mean_scale()
    fitted = np.einsum("nk,tnk->tn", mean_curve, curve)
    mask = (fitted > 1e-9) & (spend > 0)
    w = weights * mask
    effective = np.sum(w)
    if effective <= 1.0:
        return 1.0, np.ones(rows)
    mu = np.where(mask, fitted, 1.0)
    pearson = np.where(mask, (conversions - fitted) ** 2 / mu, 0.0)
    dispersion = float(np.clip(np.sum(w * pearson) / effective, 1.0, MAX_DISPERSION))
    if effective <= 2.0:
        return dispersion, np.full(rows, dispersion)
    # Normal equations of pearson ~ a + b·mu.
    s0, s1, s2 = effective, np.sum(w * mu), np.sum(w * mu * mu)
    t0, t1 = np.sum(w * pearson), np.sum(w * mu * pearson)
    det = s0 * s2 - s1 * s1
    a, b = t0 / s0, 0.0
    if det > 1e-12 * s0 * s2:
        a, b = (s2 * t0 - s1 * t1) / det, (s0 * t1 - s1 * t0) / det
        if b < 0:
            a, b = t0 / s0, 0.0
    if a < 1.0:
        a, b = 1.0, max(np.sum(w * mu * (pearson - 1.0)) / s2, 0.0)
    own = np.clip(a + b * fitted, 1.0, MAX_DISPERSION)
    return dispersion, dispersion ** (1 - VARIANCE_FUNCTION_WEIGHT) * own**VARIANCE_FUNCTION_WEIGHT
