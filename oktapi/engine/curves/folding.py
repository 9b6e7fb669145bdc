"""The additive sums the curve fit keeps for history rows older than the kept rows.

What the fit needs from a row is additive: its weighted conversions, curve exposure (thinned by
its maturity) and conversions * log curve per grid shape, plus its weighted revenue and
maturity-corrected conversions for the value per conversion. `ResponseCurvePolicy.fold_rows`
adds rows here; the sums live in ``state.folded["curve"]``, discounted to their ``asof``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from oktapi.engine.curves.families import saturation

if TYPE_CHECKING:
    from oktapi.engine.state import State

_CURVE_SUMS = ("conversions", "exposure", "conversions_log_curve", "revenue", "value_conversions")


def folded_curve(
    state: State, grid: tuple[np.ndarray, np.ndarray, float], half_life: float
) -> dict:
    """The folded sums as arrays, discounted to ``asof`` (zeros when nothing is folded yet).

    On read the sums are brought to asof = state.timestep, so rows added now use weights
    relative to the current timestep.
    """
    n, grid_size = state.n_campaigns, len(grid[0])
    stored = state.folded.get("curve")
    folded: dict[str, Any]
    if stored is None:
        folded = {
            "conversions": np.zeros(n),
            "exposure": np.zeros((n, grid_size)),
            "conversions_log_curve": np.zeros((n, grid_size)),
            "revenue": np.zeros(n),
            "value_conversions": np.zeros(n),
        }
        folded["asof"] = state.timestep
        return folded
    folded = {key: np.array(stored[key], dtype=np.float64) for key in _CURVE_SUMS}
    folded["asof"] = int(stored["asof"])
    return folded


def curve_to_plain(folded: dict) -> dict:
    """The folded sums as plain lists for the state, discounted to their asof."""
    return {key: np.asarray(folded[key]).tolist() for key in _CURVE_SUMS} | {
        "asof": int(folded["asof"])
    }


def bring_to(folded: dict, timestep: int, half_life: float) -> None:
    """Discount the folded sums in place from their asof to ``timestep``."""
    decay = 0.5 ** ((timestep - folded["asof"]) / half_life)
    for key in _CURVE_SUMS:
        folded[key] = folded[key] * decay
    folded["asof"] = timestep


def folded_tempering(state: State, n: int) -> np.ndarray:
    """Each campaign's over-dispersion tempering of the oldest row in the last fit (1 before)."""
    tempering = state.folded.get("tempering")
    return np.ones(n) if tempering is None else np.asarray(tempering, dtype=np.float64)


def add_rows(
    folded: dict,
    grid: tuple[np.ndarray, np.ndarray, float],
    spend: np.ndarray,
    conversions: np.ndarray,
    revenue: np.ndarray,
    weights: np.ndarray,
    conversion_share: np.ndarray | None,
    revenue_share: np.ndarray | None,
) -> None:
    """Add rows (rows, n) with per-cell weights to the folded sums."""
    curvatures, families, reference_spend = grid
    curve = saturation(spend[:, :, None], curvatures, families, reference_spend)
    with np.errstate(divide="ignore"):
        log_curve = np.log(np.maximum(curve, 1e-300))
    value_conversions = conversions
    if conversion_share is not None:
        curve = curve * conversion_share[:, :, None]
        value_conversions = conversions * (revenue_share / np.maximum(conversion_share, 1e-12))
    weighted = weights * conversions
    folded["conversions"] = folded["conversions"] + weighted.sum(axis=0)
    folded["exposure"] = folded["exposure"] + np.einsum("tn,tnk->nk", weights, curve)
    folded["conversions_log_curve"] = folded["conversions_log_curve"] + np.einsum(
        "tn,tnk->nk", weighted, log_curve
    )
    folded["revenue"] = folded["revenue"] + (weights * revenue).sum(axis=0)
    folded["value_conversions"] = folded["value_conversions"] + (weights * value_conversions).sum(
        axis=0
    )


def fold_into_curve(
    state: State, grid: tuple[np.ndarray, np.ndarray, float], half_life: float, count: int
) -> None:
    """Fold the oldest ``count`` rows into ``state.folded["curve"]``.

    Each row is weighted by its discount and divided by its over-dispersion tempering (the one
    of the last fit). Kept discounted to ``asof``: at a later timestep the sums are multiplied
    by 0.5 ** (elapsed / half_life).
    """
    n = state.n_campaigns
    folded = folded_curve(state, grid, half_life)
    bring_to(folded, state.timestep, half_life)
    spend = state.spend[:count]
    conversions = np.maximum(state.conversions[:count], 0.0)
    revenue = state.revenue[:count]
    age = state.timestep - 1 - (state.history_start + np.arange(count))
    weights = (0.5 ** (age / half_life))[:, None] / folded_tempering(state, n)
    weights = weights * state.participated[:count]  # a campaign that was off: no evidence
    conversion_share, revenue_share = row_maturity(state, state.kept)
    if conversion_share is not None and revenue_share is not None:  # None together
        conversion_share, revenue_share = conversion_share[:count], revenue_share[:count]
    add_rows(folded, grid, spend, conversions, revenue, weights, conversion_share, revenue_share)
    state.folded["curve"] = curve_to_plain(folded)


def restate_in_curve(
    state: State,
    grid: tuple[np.ndarray, np.ndarray, float],
    half_life: float,
    timestep: int,
    indices: np.ndarray,
    previous: np.ndarray,
    previous_observed_at: np.ndarray,
    rows: np.ndarray,
) -> None:
    """Replace a folded row's contribution to the sums: subtract the previous figures', add
    the new ones (each at the maturity its figures had)."""
    n = state.n_campaigns
    folded = folded_curve(state, grid, half_life)
    bring_to(folded, state.timestep, half_life)
    weight = 0.5 ** ((state.timestep - 1 - timestep) / half_life)
    weights = np.zeros((1, n))
    weights[0, indices] = weight / folded_tempering(state, n)[indices]
    for sign, figures, observed in (
        (-1.0, previous, previous_observed_at),
        (1.0, rows, np.full(len(indices), state.timestep)),
    ):
        spend, conversions, revenue = (np.zeros((1, n)) for _ in range(3))
        spend[0, indices], conversions[0, indices], revenue[0, indices] = figures
        conversion_share = revenue_share = None
        if state.maturity.learnt:
            ages = np.zeros((1, n), dtype=np.int64)
            ages[0, indices] = observed - timestep
            conversion_share, revenue_share = state.maturity.shares(state.platforms, ages)
        add_rows(
            folded,
            grid,
            spend,
            conversions,
            revenue,
            sign * weights,
            conversion_share,
            revenue_share,
        )
    state.folded["curve"] = curve_to_plain(folded)


def add_campaign_to_curve(state: State) -> None:
    """Extend the folded sums by the campaign just added: zeros, tempering 1 (no rows yet)."""
    if "tempering" in state.folded:
        state.folded["tempering"] = [*state.folded["tempering"], 1.0]
    stored = state.folded.get("curve")
    if stored is not None:
        for key in _CURVE_SUMS:
            values = np.asarray(stored[key], dtype=np.float64)
            stored[key] = np.concatenate((values, np.zeros((1, *values.shape[1:])))).tolist()


def row_maturity(state: State, rows: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Share of the final conversions and revenue each kept row shows, or None before any
    restatement was seen (the plan then treats every figure as final, as it always did)."""
    if not state.maturity.learnt or rows == 0:
        return None, None
    timesteps = state.history_start + np.arange(rows)
    ages = np.asarray(state.observed_at, dtype=float).reshape(rows, -1) - timesteps[:, None]
    return state.maturity.shares(state.platforms, ages.astype(np.int64))
