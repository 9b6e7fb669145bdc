"""The default policy's allocation quality, guarded against regressions on fixed seeds.

Not a benchmark (that is `make bench`): a few short scenarios, three fixed seeds, margins far
wider than the seeds' spread. Fixed seeds make each run deterministic, so a failure here means
a change made the default allocate worse, not bad luck.
"""

import numpy as np
import pytest

from bench.simulate import evaluate
from oktapi.engine.policies import DEFAULT_POLICY

SEEDS = [0, 1, 2]


def mean_percent(scenario: str, policy: str, step: float = 0.05) -> float:
    """Mean % of the oracle over the fixed seeds."""
    return float(
        np.mean([m.percent_of_oracle for m in evaluate(scenario, policy, None, step, SEEDS)])
    )


@pytest.mark.parametrize(
    ("scenario", "margin"),
    [
        ("linear_cpa", 10.0),  # bench, 10 seeds: 91.1 against 73.8
        ("saturating", 7.0),  # 97.9 against 86.9
        ("capped_delivery", 4.0),  # 98.7 against 91.9
        ("holdout_3", 12.0),  # 89.6 against 69.6, a scenario held out of tuning
    ],
)
def test_the_default_clearly_beats_an_even_split(scenario: str, margin: float) -> None:
    assert mean_percent(scenario, DEFAULT_POLICY) > mean_percent(scenario, "even") + margin


@pytest.mark.parametrize("scenario", ["linear_cpa", "saturating", "capped_delivery"])
def test_the_default_beats_the_seed_thompson_policy(scenario: str) -> None:
    """Thompson at s = 5%, the seed's own best-known setting, moving budget one step at a time."""
    assert mean_percent(scenario, DEFAULT_POLICY) > mean_percent(scenario, "thompson", 0.05)
