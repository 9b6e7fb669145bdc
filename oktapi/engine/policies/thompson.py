"""Thompson Sampling with a conjugate Gamma-Poisson posterior on outcome per unit of spend."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from oktapi.engine.policies.base import (
    CampaignTotals,
    Param,
    StepPolicy,
    explain,
    gamma_interval,
)

if TYPE_CHECKING:
    from oktapi.engine.state import State


class Thompson(StepPolicy):
    """Draw one rate per campaign from its posterior; winner = highest draw, loser = lowest.

    Model: events in a timestep ~ Poisson(rate * spend), rate ~ Gamma(a0, b0), so the
    posterior is Gamma(a0 + events, b0 + spend). Events are conversions; for the revenue
    objective they are revenue counted in units of the average revenue per conversion
    (compound Poisson with that jump size), so the posterior is on revenue per unit of spend.
    a0 = ``prior_strength`` pseudo-events; b0 = a0 / prior mean, the prior mean being
    ``prior_mean`` or, when null, the pooled rate of all campaigns (empirical Bayes).
    """

    name: ClassVar[str] = "thompson"
    param_specs: ClassVar[dict[str, Param]] = {
        "prior_strength": Param(
            1.0, 0.0, None, low_inclusive=False, help="prior weight, in pseudo-conversions"
        ),
        "prior_mean": Param(
            None,
            0.0,
            None,
            low_inclusive=False,
            allow_none=True,
            help="prior outcome per unit of spend; null = pooled rate of all campaigns",
        ),
    }

    def posterior(self, state: State, totals: CampaignTotals) -> tuple[np.ndarray, np.ndarray]:
        """Shape and rate of each campaign's Gamma posterior on events per unit of spend."""
        unit = totals.outcome_unit
        prior_shape = self.params["prior_strength"]
        prior_mean = self.params["prior_mean"]
        prior_mean = totals.pooled_rate if prior_mean is None else prior_mean
        if prior_mean > 0.0:
            prior_rate = prior_shape * unit / prior_mean
        else:  # no outcome yet: one pseudo-event per even split's timestep spend
            prior_rate = prior_shape * max(state.planned_even_share, 1e-12)
        return prior_shape + totals.outcome / unit, prior_rate + totals.spend

    def scores(self, state: State, totals: CampaignTotals, rng: np.random.Generator) -> np.ndarray:
        """One posterior draw of outcome per unit of spend for every campaign."""
        shape, rate = self.posterior(state, totals)
        with np.errstate(over="ignore"):  # a vanishing spend may overflow to inf: still valid
            return rng.standard_gamma(shape) / rate * totals.outcome_unit

    def explanations(
        self, state: State, budgets: np.ndarray, totals: CampaignTotals
    ) -> list[dict] | None:
        """Posterior mean and 90% credible interval of the outcome at the given budgets."""
        shape, rate = self.posterior(state, totals)
        unit = totals.outcome_unit
        low, high = gamma_interval(shape, rate)
        known = np.ones(len(budgets), dtype=bool)
        return explain(budgets, shape / rate * unit, low * unit, high * unit, known)
