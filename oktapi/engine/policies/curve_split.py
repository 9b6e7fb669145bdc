"""The default policy's split solved on fitted response curves.

A budget grid per campaign (``budget_grid``), the marginal-return knapsack over it
(``greedy_split``) and the largest budget whose last unit still meets a target
(``largest_budget_meeting``). Shared by the policy (``response_curve.py``) and the forecasts
(``engine/forecast.py``), so a forecast splits as the policy does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from oktapi.engine.curves import CurvePosterior

# Budget grid for the split: points per campaign.
GRID_POINTS = 65


def budget_grid(lower: np.ndarray, upper: np.ndarray, timestep_budget: float) -> np.ndarray:
    """Grid of budgets per campaign from its lower to its upper bound, shape (n, G).

    Quadratically spaced: fine where small campaigns live, coarser (a few % of the budget)
    near the whole timestep budget; the split interpolates within a step, so it is continuous.
    """
    top = np.minimum(upper, np.maximum(timestep_budget, lower))
    fractions = np.linspace(0.0, 1.0, GRID_POINTS) ** 2
    return lower[:, None] + (top - lower)[:, None] * fractions[None, :]


def greedy_split(
    edges: np.ndarray, curve: np.ndarray, threshold: np.ndarray | None, free_budget: float
) -> np.ndarray:
    """Best split per curve set: buy budget in order of marginal return, shape (D, n).

    ``curve`` (D, n, G) is each draw's objective at the grid ``edges`` (n, G). Exact for
    concave curves (a fractional knapsack, with linear interpolation inside a grid step); for
    S-curves the first steps are priced at the best chord from the lower bound (the concave
    hull), since buying them is what unlocks the steep part. Steps whose return misses the
    threshold are never bought.
    """
    draws, _, grid_points = curve.shape
    size = np.diff(edges, axis=1)  # (n, G-1)
    reach = edges[:, 1:] - edges[:, :1]
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(size > 0, np.diff(curve, axis=2) / size, -np.inf)
        chord = np.where(reach > 0, (curve[:, :, 1:] - curve[:, :, :1]) / reach, -np.inf)
    steepest = np.argmax(chord, axis=2)  # (D, n)
    best_chord = np.take_along_axis(chord, steepest[:, :, None], axis=2)
    rate = np.where(np.arange(grid_points - 1) < steepest[:, :, None], best_chord, rate)
    if threshold is not None:
        rate = np.where(rate >= threshold[None, :, None], rate, -np.inf)
    flat_rate = rate.reshape(draws, -1)
    flat_size = np.broadcast_to(size.ravel(), flat_rate.shape)
    order = np.argsort(-flat_rate, axis=1, kind="stable")
    sorted_size = np.take_along_axis(flat_size, order, axis=1)
    sorted_rate = np.take_along_axis(flat_rate, order, axis=1)
    spent_before = np.cumsum(sorted_size, axis=1) - sorted_size
    bought = np.clip(free_budget - spent_before, 0.0, sorted_size)
    bought = np.where(np.isfinite(sorted_rate), bought, 0.0)
    amounts = np.zeros_like(flat_rate)
    np.put_along_axis(amounts, order, bought, axis=1)
    return edges[None, :, 0] + amounts.reshape(rate.shape).sum(axis=2)


def largest_budget_meeting(
    posterior: CurvePosterior, value: np.ndarray, threshold: np.ndarray, upper: np.ndarray
) -> np.ndarray:
    """Largest budget whose expected marginal return still meets the threshold (bisection)."""
    low = np.zeros_like(upper)
    high = np.where(np.isfinite(upper), upper, posterior.reference_spend * 1e6)
    meets_at_high = value * posterior.marginal(high) >= threshold
    for _ in range(50):
        middle = 0.5 * (low + high)
        meets = value * posterior.marginal(middle) >= threshold
        low = np.where(meets, middle, low)
        high = np.where(meets, high, middle)
    return np.where(meets_at_high, high, low)
