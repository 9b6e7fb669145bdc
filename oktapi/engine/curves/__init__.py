"""The response-curve model the default policy decides with (`policies/response_curve.py`).

- `families`: the curve families (exponential, Hill, logarithmic) as named types, and g(x);
- `grid`: the grid of shapes a campaign's posterior is spread over;
- `posterior`: the Gamma-Poisson posterior over (shape, scale) and `fit_curves`;
- `changes`: change-point detection (the rows of a campaign's current regime);
- `folding`: the additive sums old history rows are folded into;
- `value`: revenue per conversion, shrunk towards the plan's.
"""

from oktapi.engine.curves.families import (
    EXPONENTIAL,
    LOGARITHMIC,
    CurveFamily,
    Exponential,
    Hill,
    Logarithmic,
    family_of,
    raw_curve,
    saturation,
    saturation_slope,
)
from oktapi.engine.curves.grid import shape_grid
from oktapi.engine.curves.posterior import CurvePosterior, fit_curves

__all__ = [
    "EXPONENTIAL",
    "LOGARITHMIC",
    "CurveFamily",
    "CurvePosterior",
    "Exponential",
    "Hill",
    "Logarithmic",
    "family_of",
    "fit_curves",
    "raw_curve",
    "saturation",
    "saturation_slope",
    "shape_grid",
]
