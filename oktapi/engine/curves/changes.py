"""Change points: the probability that each row belongs to a campaign's current regime.

A campaign's scale A may change (a creative wears out, a competitor arrives); rows from before
a change would then pull the fit towards the old scale. `fit_curves` multiplies each row's
weight by the probability computed here that it belongs to the current regime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.special import gammaln

if TYPE_CHECKING:
    from oktapi.engine.curves.posterior import CurvePosterior

# Prior probability that a campaign's scale changes at a given timestep.
CHANGE_HAZARD = 0.02


def current_segment_probability(
    posterior: CurvePosterior,
    curve: np.ndarray,
    log_curve: np.ndarray,
    conversions: np.ndarray,
    weights: np.ndarray,
    window: int,
    folded: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """P(row t belongs to the campaign's current regime), shape (timesteps, n).

    Bayesian change-point model: at most one change of the scale A per campaign within the
    last ``window`` timesteps, with a geometric prior (hazard per timestep), under each
    campaign's most probable shape. Segment evidences are exact Gamma-Poisson marginals, for
    every split point at once (cumulative sums over the window).
    """
    timesteps, n_campaigns = conversions.shape
    window = min(window, timesteps - 1)
    shape_index = np.argmax(posterior.curvature_probs, axis=1)  # (n,)
    campaign = np.arange(n_campaigns)
    own_curve = curve[:, campaign, shape_index]  # (T, n)
    own_log_curve = log_curve[:, campaign, shape_index]
    prior_shape = posterior.prior_shape[shape_index]
    prior_rate = posterior.prior_rate[shape_index]
    weighted_conversions = weights * conversions
    parts = (weighted_conversions, weights * own_curve, weighted_conversions * own_log_curve)
    # Folded rows (older than every kept one) only add to the "no change" total.
    totals = [part.sum(axis=0, keepdims=True) for part in parts]
    if folded is not None:
        totals = [
            totals[0] + folded[0][None, :],
            totals[1] + folded[1][campaign, shape_index][None, :],
            totals[2] + folded[2][campaign, shape_index][None, :],
        ]
    # Candidate splits: 0 (no change in the window), then T-window .. T-1; "after" sums the rows
    # from the split on, "before" the rows ahead of it.
    after = [
        np.concatenate((total, np.cumsum(part[-window:][::-1], axis=0)[::-1]))
        for part, total in zip(parts, totals, strict=True)
    ]
    before = [part[:1] - part for part in after]

    def log_evidence(sums: list[np.ndarray]) -> np.ndarray:
        total_conversions, total_curve, conversions_log_curve = sums
        shape = prior_shape + total_conversions
        return (
            conversions_log_curve
            + gammaln(shape)
            - gammaln(prior_shape)
            + prior_shape * np.log(prior_rate)
            - shape * np.log(prior_rate + total_curve)
        )

    split = np.concatenate(([0], np.arange(timesteps - window, timesteps)))[:, None]
    log_prior = np.where(
        split == 0,
        window * np.log1p(-CHANGE_HAZARD),
        np.log(CHANGE_HAZARD) + (timesteps - 1 - split) * np.log1p(-CHANGE_HAZARD),
    )
    before_evidence = np.where(split == 0, 0.0, log_evidence(before))
    log_posterior = log_prior + log_evidence(after) + before_evidence  # (window + 1, n)
    log_posterior -= log_posterior.max(axis=0, keepdims=True)
    probability = np.exp(log_posterior)
    probability /= probability.sum(axis=0, keepdims=True)
    in_current = np.repeat(probability[:1], timesteps, axis=0)
    in_current[timesteps - window :] += np.cumsum(probability[1:], axis=0)
    return in_current
