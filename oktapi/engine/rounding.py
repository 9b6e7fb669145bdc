"""Budgets rounded to the currency's minor unit, never above the timestep budget or the bounds.

A split like 333.3333333333333 cannot be set on an ad platform: every budget must be a whole
number of cents (of yen for JPY). Rounding each budget on its own can add up to more than the
timestep budget, so the largest-remainder method is used: every budget is first rounded down
(up to its min), then the units the rounded sum still lacks go, one each, to the campaigns that
lost the most in rounding and have room below their max. Pure and deterministic, so a
replayed plan rounds alike.
"""

from __future__ import annotations

import math

import numpy as np

from oktapi.engine.policies.bounds import TOLERANCE


def round_budgets(
    budgets: np.ndarray,
    timestep_budget: float,
    min_budgets: np.ndarray,
    max_budgets: np.ndarray,
    decimals: int,
) -> np.ndarray:
    """``budgets`` (already within bounds) as multiples of 10**-decimals.

    Guarantees: the rounded sum is at most ``timestep_budget`` and at most one unit from the
    requested sum (as close as that allows); every budget is within [min, max] of its own
    campaign. A campaign whose bounds hold no multiple of the unit (min 3.333, max 3.334)
    keeps its exact budget: its bounds come first; so do campaigns whose minimums, off the
    unit's grid, fill the timestep budget (rounded up they would not fit). When the minimums
    exceed the timestep budget (they are scaled down; they cannot be met), only the max
    bounds are kept.
    ``max_budgets`` may hold inf. Campaigns with equal remainders are rounded alike (an even
    split of 100 in three is 33.33 each, the cent left for later timesteps), so the result
    depends neither on the order campaigns are listed in nor on their ids.
    """
    budgets = np.asarray(budgets, dtype=np.float64)
    low = np.asarray(min_budgets, dtype=np.float64)
    high = np.asarray(max_budgets, dtype=np.float64)
    scale = 10.0**decimals
    # Float noise (0.29 * 100 = 28.999...) within the slack within_bounds accepts, in units.
    slack = min(TOLERANCE * max(float(timestep_budget), 1.0) * scale, 1e-3)
    units = budgets * scale
    low_units = np.ceil(low * scale - slack)
    high_units = np.where(np.isfinite(high), np.floor(high * scale + slack), np.inf)
    exact = low_units > high_units  # no multiple of the unit within its bounds
    cap = _cap(timestep_budget, scale, units, exact, slack)
    if float(low_units[~exact].sum()) > cap:
        # Minimums off the unit's grid that fill the budget: rounded up they would not fit,
        # so those campaigns keep their exact budgets (bounds and budget before rounding).
        off_grid = np.abs(low * scale - np.round(low * scale)) > slack
        exact = exact | off_grid
        cap = _cap(timestep_budget, scale, units, exact, slack)
    rounds = ~exact
    if float(low_units[rounds].sum()) > cap:
        low_units = np.zeros_like(low_units)  # minimums can't be met: keep the sum and the max
    floor = np.floor(units + slack)
    rounded = np.where(rounds, np.clip(floor, low_units, high_units), 0.0)
    # Remainders equal up to float noise tie (the same split computed in another order).
    remainder = np.round(np.where(rounds, units - rounded, 0.0), 6)  # < 0: rounded up to min
    target = min(cap, math.floor(math.fsum(units[rounds]) + 0.5))  # fsum: order-free
    missing = int(target - rounded[rounds].sum())
    if missing > 0:
        rounded = _give(rounded, missing, remainder, rounds & (remainder > 0), high_units)
    elif missing < 0:  # minimums rounded up took more than the rounded sum allows
        rounded = _take(rounded, -missing, remainder, rounds, low_units)
    result = np.where(rounds, np.round(rounded / scale, decimals), budgets)
    return np.where(np.isfinite(result), result, 0.0) + 0.0  # + 0.0: no -0.0 in JSON


def _cap(
    timestep_budget: float, scale: float, units: np.ndarray, exact: np.ndarray, slack: float
) -> int:
    """Whole units the rounded budgets may add up to: what the exact ones leave, rounded down."""
    budget_units = max(float(timestep_budget), 0.0) * scale - math.fsum(units[exact])
    return math.floor(budget_units + slack) if math.isfinite(budget_units) else 0


def _give(
    rounded: np.ndarray, count: int, remainder: np.ndarray, eligible: np.ndarray, high: np.ndarray
) -> np.ndarray:
    """Add up to ``count`` units, one per campaign (none grows by more than a unit), largest
    remainder first, within ``high``. Campaigns with equal remainders get a unit all or none:
    a group that does not fit ends the giving (its units stay in the budget, for later)."""
    rounded = rounded.copy()
    eligible = eligible & (rounded < high)
    for value in np.unique(remainder[eligible])[::-1]:
        group = eligible & (remainder == value)
        size = int(np.count_nonzero(group))
        if size > count:
            break
        rounded[group] += 1.0
        count -= size
    return rounded


def _take(
    rounded: np.ndarray, count: int, remainder: np.ndarray, eligible: np.ndarray, low: np.ndarray
) -> np.ndarray:
    """Remove at least ``count`` units (while any campaign is above ``low``), smallest
    remainder first; campaigns with equal remainders lose a unit all or none."""
    rounded = rounded.copy()
    while count > 0:
        eligible = eligible & (rounded > low)
        if not eligible.any():
            break
        group = eligible & (remainder == remainder[eligible].min())
        rounded[group] -= 1.0
        remainder = np.where(group, remainder + 1.0, remainder)
        count -= int(np.count_nonzero(group))
    return rounded
