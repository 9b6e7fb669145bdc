"""The one place that makes a budget vector respect min/max bounds and the timestep budget."""

from __future__ import annotations

import numpy as np

# Relative slack accepted when checking sums and bounds (float rounding only).
TOLERANCE = 1e-9


def fit_to_bounds(
    budgets: np.ndarray,
    timestep_budget: float,
    min_budget: np.ndarray,
    max_budget: np.ndarray,
) -> np.ndarray:
    """Closest budgets (equal shift, clipped) within [min, max] whose sum is kept if feasible.

    The target sum is the requested sum, raised to ``sum(min_budget)`` and lowered to
    ``min(timestep_budget, sum(max_budget))``; the result is ``clip(budgets + shift, min, max)``
    with the one shift that hits the target (the Euclidean projection onto that set), so a
    vector that already fits comes back unchanged. If the minimums alone exceed the timestep
    budget they cannot all be met: they are scaled down proportionally to fit the budget.
    ``max_budget`` may contain ``inf`` (unbounded). NaN or negative requests count as 0.
    """
    requested = np.asarray(budgets, dtype=np.float64)
    requested = np.where(np.isfinite(requested) & (requested > 0.0), requested, 0.0)
    low = np.asarray(min_budget, dtype=np.float64)
    high = np.maximum(np.asarray(max_budget, dtype=np.float64), low)
    total = max(float(timestep_budget), 0.0) if np.isfinite(timestep_budget) else 0.0

    low_sum = float(low.sum())
    if low_sum >= total:
        return low * (total / low_sum) if low_sum > 0.0 else np.zeros_like(low)

    target = min(max(float(requested.sum()), low_sum), total, float(high.sum()))
    if (
        np.all(requested >= low)
        and np.all(requested <= high)
        and abs(float(requested.sum()) - target) <= TOLERANCE * max(target, 1.0) * 1e-3
    ):
        return requested.copy()
    return _shift_into_box(requested, low, high, target)


def _shift_into_box(
    requested: np.ndarray, low: np.ndarray, high: np.ndarray, target: float
) -> np.ndarray:
    """Solve sum(clip(requested + shift, low, high)) == target exactly (piecewise linear)."""
    breakpoints = np.concatenate((low - requested, high - requested))
    breakpoints = np.unique(breakpoints[np.isfinite(breakpoints)])
    sums = np.clip(requested[None, :] + breakpoints[:, None], low, high).sum(axis=1)
    index = int(np.searchsorted(sums, target, side="left"))
    if index == 0:
        shift = float(breakpoints[0])
    elif index == len(breakpoints):
        unbounded = int(np.count_nonzero(~np.isfinite(high)))
        shift = float(breakpoints[-1]) + (target - float(sums[-1])) / max(unbounded, 1)
    else:
        left, right = float(breakpoints[index - 1]), float(breakpoints[index])
        gain = float(sums[index] - sums[index - 1])
        shift = left + (target - float(sums[index - 1])) * (right - left) / gain
    fitted = np.clip(requested + shift, low, high)
    overshoot = float(fitted.sum()) - target
    if overshoot > 0.0:  # rounding: take the excess from the campaign with most room above min
        slack = fitted - low
        fitted[int(np.argmax(slack))] -= min(overshoot, float(slack.max()))
    return fitted


def within_bounds(
    budgets: np.ndarray,
    timestep_budget: float,
    min_budget: np.ndarray,
    max_budget: np.ndarray,
) -> str | None:
    """Why ``budgets`` break a constraint, or None; shared by AI's output check and the tests."""
    budgets = np.asarray(budgets, dtype=np.float64)
    low = np.asarray(min_budget, dtype=np.float64)
    high = np.asarray(max_budget, dtype=np.float64)
    total = max(float(timestep_budget), 0.0)
    slack = TOLERANCE * max(total, 1.0)
    if budgets.shape != low.shape:
        return f"expected {low.shape[0]} budgets, got shape {budgets.shape}"
    if not np.all(np.isfinite(budgets)):
        return "budgets contain NaN or infinity"
    if np.any(budgets < 0.0):
        return "a budget is negative"
    if float(budgets.sum()) > total + slack:
        return f"budgets sum to {budgets.sum()!r}, more than the timestep budget {total!r}"
    if np.any(budgets > high + slack):
        return "a budget is above its campaign's max_budget"
    if float(low.sum()) <= total and np.any(budgets < low - slack):
        return "a budget is below its campaign's min_budget"
    return None
