"""One timestep's noise around the forecast's expected conversions and revenue.

Fitted on the plan's kept rows around the posterior-mean curves (`Forecaster` draws the
prediction intervals from it): over-dispersed Poisson conversions with the variance function
Var = mu (a + b mu), a factor common to all campaigns of a timestep, and the spread of one
conversion's revenue.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from oktapi.engine.curves.folding import row_maturity
from oktapi.engine.policies.response_curve import CurveFit
from oktapi.engine.state import State

# The squared coefficient of variation of one order's value is estimated, at most this.
MAX_ORDER_VALUE_CV2 = 4.0


@dataclass(frozen=True)
class NoiseModel:
    """One timestep's noise around the expected conversions and revenue, fitted on the rows."""

    base: float  # Var(conversions) / mu = base + slope * mu, independent per campaign
    slope: float
    common: float  # variance of a factor every campaign's mean shares in one timestep
    order_value_cv2: float  # squared coefficient of variation of one conversion's revenue
    value_evidence: np.ndarray  # (n,) weighted conversions behind each revenue per conversion


def noise_model(state: State, fit: CurveFit, half_life: float) -> NoiseModel:
    """Fit the noise of one timestep around the posterior-mean curves on the kept rows.

    Moments, weighted like the fit (0.5 ** (age / half_life)): per campaign, Pearson residuals
    give Var / mu = a + b mu (a >= 1, b >= 0); the spread of each row's total beyond what
    independent noise explains gives the variance of a factor common to the timestep's
    campaigns (its share of b moves from independent to common noise); the revenue of a row
    around its conversions times the revenue per conversion gives one order value's spread.
    """
    spend = np.asarray(state.spend, dtype=np.float64)
    conversions = np.maximum(np.asarray(state.conversions, dtype=np.float64), 0.0)
    revenue = np.asarray(state.revenue, dtype=np.float64)
    rows, n = spend.shape
    weights = (0.5 ** (np.arange(rows)[::-1] / half_life))[:, None] * np.ones((1, n))
    fitted = fit.posterior.expected(np.minimum(spend, fit.cap))
    conversion_share, _ = row_maturity(state, rows)
    if conversion_share is not None:
        fitted = fitted * conversion_share
    mask = (fitted > 1e-9) & (spend > 0)
    w = weights * mask
    mu = np.where(mask, fitted, 1.0)
    pearson = np.where(mask, (conversions - fitted) ** 2 / mu, 0.0)
    base, slope = _variance_function(w, mu, pearson)
    # Common factor: Var(row total) = sum mu (a + b mu) + common * (M^2 - sum mu^2).
    row_weight = weights[:, 0] * mask.any(axis=1)
    masked_mu = np.where(mask, fitted, 0.0)
    total_mean = masked_mu.sum(axis=1)
    total = np.where(mask, conversions, 0.0).sum(axis=1)
    independent = (masked_mu * (base + slope * masked_mu)).sum(axis=1)
    cross = total_mean**2 - (masked_mu**2).sum(axis=1)
    denominator = float(np.sum(row_weight * cross))
    common = 0.0
    if denominator > 0:
        common = float(np.sum(row_weight * ((total - total_mean) ** 2 - independent)))
        common = max(common / denominator, 0.0)
    slope = max(slope - common, 0.0)
    # Revenue: (R - v c)^2 ~ cv^2 v^2 c per row.
    value = fit.revenue_per_conversion
    value_evidence = np.sum(weights * conversions, axis=0)
    cv2 = 0.0
    if state.objective == "revenue" and np.any(value > 0):
        has = (conversions > 0) & (value[None, :] > 0)
        residual = np.where(
            has, (revenue - value * conversions) ** 2 / np.where(has, value**2, 1.0), 0.0
        )
        evidence = float(np.sum(weights * np.where(has, conversions, 0.0)))
        if evidence > 0:
            cv2 = min(float(np.sum(weights * residual)) / evidence, MAX_ORDER_VALUE_CV2)
    return NoiseModel(base, slope, common, cv2, value_evidence)


def _variance_function(w: np.ndarray, mu: np.ndarray, pearson: np.ndarray) -> tuple[float, float]:
    """Weighted least squares of pearson ~ a + b mu with a >= 1, b >= 0 (1, 0 without data)."""
    s0 = float(np.sum(w))
    if s0 <= 1.0:
        return 1.0, 0.0
    s1, s2 = float(np.sum(w * mu)), float(np.sum(w * mu * mu))
    t0, t1 = float(np.sum(w * pearson)), float(np.sum(w * mu * pearson))
    a, b = t0 / s0, 0.0
    det = s0 * s2 - s1 * s1
    if det > 1e-12 * s0 * s2:
        a, b = (s2 * t0 - s1 * t1) / det, (s0 * t1 - s1 * t0) / det
        if b < 0:
            a, b = t0 / s0, 0.0
    if a < 1.0:
        a, b = 1.0, max(float(np.sum(w * mu * (pearson - 1.0))) / s2, 0.0) if s2 > 0 else 0.0
    return float(a), float(b)
