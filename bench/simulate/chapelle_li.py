"""The classic batched Thompson-sampling check from Chapelle & Li (2011), in plain numpy.

10 Bernoulli arms (one at 0.5, nine at 0.4), 10,000 pulls decided in batches of 100. Beta(1, 1)
priors; the posterior is updated only between batches, and within a batch every pull draws its
own posterior sample. The issue quotes about 147 +- 20. Measured here: 169.6 (std 57 over 1,500
seeds, standard error 1.5); MABWiser 2.7.4's ThompsonSampling driven by the same protocol gave
167.2 (std 41 over 100 seeds), so the two implementations agree and sit above 147. It checks
that our notion of Thompson sampling (and of batched feedback, which is what a timestep is)
matches the literature before any budget is involved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ARM_RATES = np.array([0.5] + [0.4] * 9)
PULLS = 10_000
BATCH_SIZE = 100


def thompson_regret(
    seed: int,
    arm_rates: np.ndarray = ARM_RATES,
    pulls: int = PULLS,
    batch_size: int = BATCH_SIZE,
) -> float:
    """Expected (pseudo-)regret of batched Beta-Bernoulli Thompson sampling for one seed."""
    rng = np.random.default_rng(seed)
    n_arms = len(arm_rates)
    successes = np.zeros(n_arms)
    failures = np.zeros(n_arms)
    gaps = arm_rates.max() - arm_rates
    regret = 0.0
    for _ in range(pulls // batch_size):
        samples = rng.beta(1.0 + successes, 1.0 + failures, size=(batch_size, n_arms))
        pulls_per_arm = np.bincount(np.argmax(samples, axis=1), minlength=n_arms)
        rewards = rng.binomial(pulls_per_arm, arm_rates)
        successes += rewards
        failures += pulls_per_arm - rewards
        regret += float(pulls_per_arm @ gaps)
    return regret


@dataclass
class ChapelleLiResult:
    """Regret over seeds, as the bench prints it."""

    mean: float
    std: float
    seeds: int

    def to_dict(self) -> dict:
        """JSON-safe dict."""
        return {"mean": self.mean, "std": self.std, "seeds": self.seeds}


def chapelle_li_check(seeds: int = 30, first_seed: int = 0) -> ChapelleLiResult:
    """Mean and standard deviation of the regret over `seeds` independent runs."""
    regrets = np.array([thompson_regret(seed) for seed in range(first_seed, first_seed + seeds)])
    return ChapelleLiResult(float(regrets.mean()), float(regrets.std(ddof=1)), seeds)
