"""Budgets rounded to the currency's minor unit, never above the timestep budget or the bounds.

A split like 333.3333333333333 cannot be set on an ad platform: every budget must be a whole
number of cents (of yen for JPY). Rounding each budget on its own can add up to more than the
timestep budget, so the largest-remainder method is used: every budget is first rounded down
(up to its min), then the units the rounded sum still lacks go, one each, to the campaigns that
lost the most in rounding and have room below their max, so the budgets add up to the
requested sum in whole units. Equal remainders are settled by a priority the caller passes (the
engine turns it every timestep, so no campaign is always the one that gets the extra cent).
Pure and deterministic, so a replayed plan rounds alike.
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
    priority: np.ndarray | None = None,
) -> np.ndarray:
    """``budgets`` (already within bounds) as multiples of 10**-decimals.

    Guarantees: the rounded sum is the requested sum rounded to the unit, lowered to the
    timestep budget rounded down to the unit (so exactly the timestep budget when the budgets
    asked for all of it and it is a whole number of units), unless the bounds hold no such
    sum; every budget is within [min, max] of its own campaign and grows by at most one unit
    (more only when the others sit at their max: the sum comes first).
    A campaign whose bounds hold no multiple of the unit (min 3.333, max 3.334) keeps its
    exact budget: its bounds come first; so do campaigns whose minimums, off the unit's grid,
    fill the timestep budget (rounded up they would not fit). When the minimums exceed the
    timestep budget (they are scaled down; they cannot be met), only the max bounds are kept.
    ``max_budgets`` may hold inf. Among campaigns with equal remainders the one with the lower
    ``priority`` gets a unit first and loses one last (default: the order they are listed in),
    so the result does not depend on the listing order when ``priority`` moves with them.
    """
    budgets = np.asarray(budgets, dtype=np.float64)
    low = np.asarray(min_budgets, dtype=np.float64)
    high = np.asarray(max_budgets, dtype=np.float64)
    order = np.arange(len(budgets)) if priority is None else np.asarray(priority)
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
        rounded = _give(rounded, missing, remainder, rounds, high_units, order)
    elif missing < 0:  # minimums rounded up took more than the rounded sum allows
        rounded = _take(rounded, -missing, remainder, rounds, low_units, order)
    result = np.where(rounds, np.round(rounded / scale, decimals), budgets)
    return np.where(np.isfinite(result), result, 0.0) + 0.0  # + 0.0: no -0.0 in JSON


def _cap(
    timestep_budget: float, scale: float, units: np.ndarray, exact: np.ndarray, slack: float
) -> int:
    """Whole units the rounded budgets may add up to: what the exact ones leave, rounded down."""
    budget_units = max(float(timestep_budget), 0.0) * scale - math.fsum(units[exact])
    return math.floor(budget_units + slack) if math.isfinite(budget_units) else 0


def _give(
    rounded: np.ndarray,
    count: int,
    remainder: np.ndarray,
    eligible: np.ndarray,
    high: np.ndarray,
    priority: np.ndarray,
) -> np.ndarray:
    """Add ``count`` units, one per campaign, largest remainder first, equal remainders by
    ``priority``, within ``high``. Only when the campaigns with room are fewer than the units
    (the others sit at their max) does one get a second unit, in the same order."""
    rounded = rounded.copy()
    while count > 0:
        candidates = np.flatnonzero(eligible & (rounded < high))
        if len(candidates) == 0:
            break
        ranked = candidates[np.lexsort((priority[candidates], -remainder[candidates]))]
        given = ranked[:count]
        rounded[given] += 1.0
        count -= len(given)
    return rounded


def _take(
    rounded: np.ndarray,
    count: int,
    remainder: np.ndarray,
    eligible: np.ndarray,
    low: np.ndarray,
    priority: np.ndarray,
) -> np.ndarray:
    """Remove ``count`` units (while any campaign is above ``low``), one at a time from the
    smallest remainder, equal remainders from the last by ``priority``."""
    rounded, remainder = rounded.copy(), remainder.copy()
    for _ in range(count):
        candidates = np.flatnonzero(eligible & (rounded > low))
        if len(candidates) == 0:
            break
        loser = candidates[np.lexsort((-priority[candidates], remainder[candidates]))[0]]
        rounded[loser] -= 1.0
        remainder[loser] += 1.0
    return rounded
