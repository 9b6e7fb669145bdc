"""The curve families a campaign's response can follow, and the normalised curves g(x).

Each family is a named type (as pymc-marketing names its saturation functions) with a
`lookup_name` and a `code`: a grid of shapes is two arrays, curvatures k and the family code of
each shape, so every shape of a grid is evaluated in one vectorised pass. A family's `curve`
gives its unnormalised shape at x/k; `saturation` normalises it so g(reference spend) = 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np


class CurveFamily:
    """One family of response curves: its name, its code in a grid, its shape at x/k."""

    lookup_name: ClassVar[str]

    @property
    def code(self) -> float:
        """The family's code in a grid's `families` array."""
        raise NotImplementedError

    def curve(self, ratio: np.ndarray) -> np.ndarray:
        """Unnormalised shape at ratio = spend / k."""
        raise NotImplementedError


@dataclass(frozen=True)
class Exponential(CurveFamily):
    """Exponential saturation 1 - e^(-x/k): concave, from "saturated at once" to linear."""

    lookup_name: ClassVar[str] = "exponential"

    @property
    def code(self) -> float:
        """Code 0."""
        return 0.0

    def curve(self, ratio: np.ndarray) -> np.ndarray:
        """1 - e^(-x/k)."""
        return -np.expm1(-ratio)


@dataclass(frozen=True)
class Hill(CurveFamily):
    """Hill S-curve x^h / (x^h + k^h) of power h (> 0): the shape marketing-mix models fit."""

    power: float
    lookup_name: ClassVar[str] = "hill"

    @property
    def code(self) -> float:
        """Code h, the power."""
        return self.power

    def curve(self, ratio: np.ndarray) -> np.ndarray:
        """(x/k)^h / (1 + (x/k)^h), the common powers by multiplication."""
        if self.power == 2:
            powered = ratio * ratio
        elif self.power == 3:
            powered = ratio * ratio * ratio
        else:
            powered = ratio**self.power
        return powered / (1.0 + powered)


@dataclass(frozen=True)
class Logarithmic(CurveFamily):
    """log(1 + x/k): never saturates. Not on the policy's grid (see docs/engine.md), but a
    shape the bench's "told the shapes" ceiling can be told."""

    lookup_name: ClassVar[str] = "logarithmic"

    @property
    def code(self) -> float:
        """Code -1."""
        return -1.0

    def curve(self, ratio: np.ndarray) -> np.ndarray:
        """log(1 + x/k)."""
        return np.log1p(ratio)


EXPONENTIAL = Exponential()
LOGARITHMIC = Logarithmic()


def family_of(code: float) -> CurveFamily:
    """The family a grid code stands for: 0 exponential, -1 logarithmic, h > 0 Hill of power h."""
    if code == EXPONENTIAL.code:
        return EXPONENTIAL
    if code == LOGARITHMIC.code:
        return LOGARITHMIC
    if code > 0:
        return Hill(code)
    raise ValueError(f"no curve family has the code {code}")


def raw_curve(spend: np.ndarray | float, curvature: np.ndarray, family: np.ndarray) -> np.ndarray:
    """Unnormalised shape of each (curvature, family code) at spend."""
    ratio = np.maximum(spend, 0.0) / curvature
    if np.ndim(family) == 1 and np.shape(ratio)[-1:] == np.shape(family):
        # The grid itself along the last axis: each family is one contiguous block of columns.
        result = np.empty(np.shape(ratio))
        for start, stop, code in _family_blocks(family):
            result[..., start:stop] = family_of(code).curve(ratio[..., start:stop])
        return result
    # Shapes of mixed families element by element (a drawn shape per campaign).
    powered = ratio ** np.maximum(family, 1.0)
    result = np.where(family > 0, powered / (1.0 + powered), -np.expm1(-ratio))
    if np.any(family == LOGARITHMIC.code):
        result = np.where(family == LOGARITHMIC.code, np.log1p(ratio), result)
    return result


def _family_blocks(family: np.ndarray) -> list[tuple[int, int, float]]:
    """(start, stop, code) of each run of equal family codes along the grid."""
    edges = np.flatnonzero(np.diff(family)) + 1
    starts = np.concatenate(([0], edges))
    stops = np.concatenate((edges, [len(family)]))
    return [(int(a), int(b), float(family[a])) for a, b in zip(starts, stops, strict=True)]


def _raw_slope(spend: np.ndarray, curvature: np.ndarray, family: np.ndarray) -> np.ndarray:
    """Derivative of the unnormalised shape with respect to spend."""
    ratio = np.maximum(spend, 0.0) / curvature
    power = np.maximum(family, 1.0)
    hill = power * ratio ** (power - 1.0) / (1.0 + ratio**power) ** 2
    slope = np.where(family > 0, hill, np.exp(-ratio))
    if np.any(family == LOGARITHMIC.code):
        slope = np.where(family == LOGARITHMIC.code, 1.0 / (1.0 + ratio), slope)
    return slope / curvature


def saturation(
    spend: np.ndarray, curvature: np.ndarray, family: np.ndarray, reference_spend: float
) -> np.ndarray:
    """g(x), normalised to 1 at the reference spend so A is comparable across shapes."""
    return raw_curve(spend, curvature, family) / raw_curve(reference_spend, curvature, family)


def saturation_slope(
    spend: np.ndarray, curvature: np.ndarray, family: np.ndarray, reference_spend: float
) -> np.ndarray:
    """dg/dx: the marginal return of one more unit of budget, per unit of A."""
    return _raw_slope(spend, curvature, family) / raw_curve(reference_spend, curvature, family)
