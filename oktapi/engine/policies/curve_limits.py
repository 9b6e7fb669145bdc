"""How far the default policy lets a campaign's budget go: the limits of its search.

A campaign that under-delivers is capped at what it spent (``learned_cap``); one whose budget
just moved is held there for ``cooldown`` timesteps (``cooling_down``); the explore floor and
``max_change`` bound the move from the last budget (``search_bounds``). The policy is
``response_curve.py``; the forecasts (``engine/forecast.py``) reuse the cap's probe.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from oktapi.engine.state import State

# A campaign that spent under this share of what it was given is capped at what it spent (its
# delivery, not its results, stopped it), plus a probe so a cap that rises is noticed.
CAP_DELIVERY_SHARE = 0.8
CAP_PROBE = 0.05
# Rows older than this many half-lives no longer count as evidence of a cap.
CAP_MEMORY_HALF_LIVES = 2.0
# cooldown: a change of a campaign's budget by more than this share starts its hold (smaller
# moves are pacing and rounding); at most MAX_COOLDOWN timesteps (within the kept rows).
COOLDOWN_TOLERANCE = 0.01
MAX_COOLDOWN = 30


def learned_cap(
    allocated: np.ndarray, spend: np.ndarray, age: np.ndarray, half_life: float
) -> np.ndarray:
    """The most each campaign spent in recent timesteps where it under-delivered, else inf."""
    recent = (age <= CAP_MEMORY_HALF_LIVES * half_life)[:, None]
    under = recent & (spend < CAP_DELIVERY_SHARE * allocated)
    cap = np.where(under, spend, -np.inf).max(axis=0, initial=-np.inf)
    return np.where(np.isfinite(cap), np.maximum(cap, 0.0), np.inf)


def cooling_down(state: State, cooldown: int) -> np.ndarray:
    """Campaigns whose budget changed (by more than COOLDOWN_TOLERANCE) within the last
    ``cooldown`` timesteps, taking part in both: their budget is held."""
    n = state.n_campaigns
    if cooldown == 0 or state.kept < 2:
        return np.zeros(n, dtype=bool)
    recent = slice(max(state.kept - cooldown - 1, 0), state.kept)
    allocated = np.asarray(state.allocated[recent], dtype=float)
    took_part = np.asarray(state.participated[recent], dtype=float) > 0
    before, after = allocated[:-1], allocated[1:]
    moved = np.abs(after - before) > COOLDOWN_TOLERANCE * np.maximum(before, 1e-12)
    changed = moved & took_part[:-1] & took_part[1:]
    fixed = state.min_budgets >= state.max_budgets  # paused, removed, locked: not held
    return changed.any(axis=0) & took_part[-1] & ~fixed


def search_bounds(
    timestep_budget: float,
    min_budget: np.ndarray,
    max_budget: np.ndarray,
    cap: np.ndarray,
    previous: np.ndarray,
    *,
    explore_floor: float,
    max_change: float | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-campaign [lower, upper] for the search: bounds, learned caps, floor, max_change.

    The even share (floor, max_change's room for a small budget) is that of the budget
    left by locks among the campaigns free to move; a locked, paused or removed campaign
    (min = max) gets exactly its bound whatever max_change says.
    """
    fixed = min_budget >= max_budget
    free = int(np.count_nonzero(~fixed))
    even_share = max(timestep_budget - float(min_budget[fixed].sum()), 0.0) / max(free, 1)
    upper = np.minimum(max_budget, cap * (1 + CAP_PROBE))
    upper = np.minimum(upper, timestep_budget)
    lower = np.maximum(min_budget, explore_floor * even_share)
    if max_change is not None:
        lower = np.maximum(lower, previous * (1 - max_change))
        upper = np.minimum(upper, np.maximum(previous * (1 + max_change), max_change * even_share))
    lower = np.where(fixed, min_budget, np.minimum(lower, upper))
    upper = np.where(fixed, min_budget, upper)
    if lower.sum() > timestep_budget:
        lower = lower * (timestep_budget / lower.sum())
    return lower, np.maximum(upper, lower)
