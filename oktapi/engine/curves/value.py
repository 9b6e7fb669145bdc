"""Revenue per conversion per campaign: each campaign's average shrunk towards the plan's."""

from __future__ import annotations

import math

import numpy as np

# Weight, in conversions, of the pooled value a campaign's own average is shrunk towards: one
# order's value varies less than values differ between campaigns (bench: docs/engine.md).
VALUE_PRIOR_CONVERSIONS = 0.25


def value_per_conversion(
    conversions: np.ndarray,
    revenue: np.ndarray,
    weights: np.ndarray,
    conversion_share: np.ndarray | None = None,
    revenue_share: np.ndarray | None = None,
    folded: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Revenue per conversion per campaign, shrunk towards the average over campaigns.

    With reporting lag a row shows conversion_share of its final conversions and revenue_share
    of its final revenue, so its revenue is compared with conversions * revenue_share /
    conversion_share (what its conversions would have earned by the age its revenue shows).
    """
    if weights.ndim == 1:  # per row; (rows, n) weighs each cell
        weights = weights[:, None]
    if conversion_share is not None:
        conversions = conversions * (revenue_share / np.maximum(conversion_share, 1e-12))
    weighted_conversions = np.sum(weights * conversions, axis=0)
    weighted_revenue = np.sum(weights * revenue, axis=0)
    if folded is not None:
        weighted_conversions = weighted_conversions + folded[0]
        weighted_revenue = weighted_revenue + folded[1]
    total = weighted_conversions.sum()
    pooled = 1.0
    if total > 0:
        # Each campaign counts once (weighted by its evidence, saturating at 1), so a
        # high-volume campaign does not lend its own value to every campaign yet to convert.
        evidence = weighted_conversions / (weighted_conversions + VALUE_PRIOR_CONVERSIONS)
        converted = weighted_conversions > 0
        with np.errstate(over="ignore", invalid="ignore"):
            own = np.where(
                converted, weighted_revenue / np.where(converted, weighted_conversions, 1.0), 0.0
            )
            pooled = float(np.sum(evidence * own) / np.sum(evidence))
        if not math.isfinite(pooled):
            pooled = weighted_revenue.sum() / total
    return (weighted_revenue + VALUE_PRIOR_CONVERSIONS * pooled) / (
        weighted_conversions + VALUE_PRIOR_CONVERSIONS
    )
