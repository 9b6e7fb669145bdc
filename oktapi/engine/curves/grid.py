"""The grid of curve shapes every campaign's posterior is spread over.

Exponential saturation over log-spaced k (from "saturated at once" to "linear over the whole
budget") and Hill S-curves of a few powers with k near an even share; every k is relative to the
reference spend r (an even share of the planned timestep budget). Why these and why bounded:
docs/engine.md, "The curve grid".
"""

from __future__ import annotations

import numpy as np

from oktapi.engine.curves.families import EXPONENTIAL, Hill

# Exponential k from r/20 to "linear far beyond the whole timestep budget" (grows with n).
CURVATURE_GRID_SIZE = 24
LOWEST_CURVATURE = 1 / 20
HIGHEST_CURVATURE_PER_CAMPAIGN = 20.0
# Hill S-curves: half-saturation k within HILL_RANGE of r (unbounded k extrapolates wildly),
# HILL_GRID_SIZE per power, HILL_PRIOR_SHARE of the prior before the population adapts it.
HILL_POWERS = (2.0, 3.0)
HILL_GRID_SIZE = 10
HILL_RANGE = 8.0
HILL_PRIOR_SHARE = 0.3


def shape_grid(
    reference_spend: float, n_campaigns: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(k, family code, prior weight) of every grid shape (codes: `families.family_of`)."""
    highest = HIGHEST_CURVATURE_PER_CAMPAIGN * max(n_campaigns, 1)
    exponential = reference_spend * np.geomspace(LOWEST_CURVATURE, highest, CURVATURE_GRID_SIZE)
    hill = reference_spend * np.geomspace(1 / HILL_RANGE, HILL_RANGE, HILL_GRID_SIZE)
    curvatures = np.concatenate([exponential, *([hill] * len(HILL_POWERS))])
    families = np.concatenate(
        [
            np.full(CURVATURE_GRID_SIZE, EXPONENTIAL.code),
            np.repeat([Hill(power).code for power in HILL_POWERS], HILL_GRID_SIZE),
        ]
    )
    hill_share = HILL_PRIOR_SHARE if HILL_POWERS else 0.0
    prior = np.where(
        families == EXPONENTIAL.code,
        (1 - hill_share) / CURVATURE_GRID_SIZE,
        hill_share / max(len(HILL_POWERS) * HILL_GRID_SIZE, 1),
    )
    return curvatures, families, prior
