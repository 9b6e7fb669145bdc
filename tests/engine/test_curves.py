"""The curve families are named types, and a grid evaluates each shape as its family says."""

from __future__ import annotations

import numpy as np
import pytest

from oktapi.engine.curves import (
    EXPONENTIAL,
    LOGARITHMIC,
    Exponential,
    Hill,
    family_of,
    raw_curve,
    shape_grid,
)


def test_every_grid_code_names_a_family_and_the_grid_holds_exponentials_and_hill_curves():
    _, families, prior = shape_grid(10.0, 4)
    names = {family_of(code).lookup_name for code in families}
    assert names == {"exponential", "hill"}
    assert isinstance(family_of(families[0]), Exponential)
    assert {family_of(code) for code in families if code > 0} == {Hill(2.0), Hill(3.0)}
    assert prior.sum() == pytest.approx(1.0)
    assert family_of(LOGARITHMIC.code) is LOGARITHMIC
    with pytest.raises(ValueError, match="no curve family"):
        family_of(-2.0)


def test_a_grid_block_and_one_shape_per_campaign_give_the_same_curve():
    """The grid is evaluated family by family; drawn shapes (one per campaign) element-wise."""
    curvature = np.array([5.0, 5.0, 8.0, 3.0])
    family = np.array([EXPONENTIAL.code, 2.0, 1.5, LOGARITHMIC.code])
    spend = np.array([[0.0, 2.0, 7.0, 20.0]]).T  # (4 spends, 1) against the 4 shapes
    by_block = raw_curve(np.broadcast_to(spend, (4, 4)), curvature, family)
    by_element = np.stack([raw_curve(x[None], curvature, family[None]) for x in spend])[:, 0]
    assert by_block == pytest.approx(by_element)
    ratio = 7.0 / curvature
    assert by_block[2] == pytest.approx(
        [
            1 - np.exp(-ratio[0]),
            ratio[1] ** 2 / (1 + ratio[1] ** 2),
            ratio[2] ** 1.5 / (1 + ratio[2] ** 1.5),
            np.log1p(ratio[3]),
        ]
    )
