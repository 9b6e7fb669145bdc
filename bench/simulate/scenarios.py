"""Simulated markets: campaigns whose TRUE expected response to budget is known.

A scenario is the ground truth the bench scores policies against. Everything is an array
over campaigns so one call evaluates every campaign (and every grid point of the oracle).

Expected conversions of campaign i at timestep t when given budget b:
    spend          = min(b, max_budget_i, spend_cap_i * U),  U ~ Uniform(0.9, 1)
    conversions    = efficiency[t, i] * curve_i(spend)
    curve_i        = rate*x (linear) | A*(1-exp(-x/k)) (exponential) | A*x^h/(x^h+k^h) (Hill)
                     | A*log(1+x/k) (logarithmic, holdout family only)
    objective      = conversions, or conversions * value_per_conversion (revenue)
"Expected" averages over U too (8-point quadrature), so money a capped campaign leaves unspent
is neither credited as conversions nor lost: the plan's pacing carries it forward.

Draws (see `Scenario.draw`): a capped campaign delivers min(b, cap*U) with U ~ Uniform(0.9, 1),
conversions are Poisson or gamma-Poisson (over-dispersed) around the expectation, and revenue is
a sum of gamma-distributed order values.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from oktapi.engine import curves

LINEAR, EXPONENTIAL, HILL, LOGARITHMIC = 0, 1, 2, 3
CURVE_NAMES = {LINEAR: "linear", EXPONENTIAL: "exponential", HILL: "hill", LOGARITHMIC: "log"}
DELIVERY_NOISE_LOW = 0.9  # a capped campaign delivers between 90% and 100% of its cap
# Midpoints of Uniform(0.9, 1): expectations over the delivery noise, so the metric and the
# oracle's pacing charge exactly what a capped campaign delivers on average.
DELIVERY_QUADRATURE = DELIVERY_NOISE_LOW + (1 - DELIVERY_NOISE_LOW) * (np.arange(8) + 0.5) / 8
ORDER_VALUE_SHAPE = 4.0  # gamma shape of one conversion's revenue (coefficient of variation 0.5)


@dataclass(eq=False, init=False)
class Scenario:
    """Ground truth of one simulated plan: the curves, noise, caps and bounds of its campaigns."""

    name: str
    description: str
    objective: str  # "conversions" | "revenue"
    total_budget: float
    timesteps: int
    curve_kind: np.ndarray  # (n,) int codes LINEAR/EXPONENTIAL/HILL/LOGARITHMIC
    scale: np.ndarray  # (n,) conversions per unit (linear) or saturation level A
    half_budget: np.ndarray  # (n,) k: budget scale of the curve (unused for linear)
    hill_shape: np.ndarray  # (n,) h of Hill curves (unused otherwise)
    value_per_conversion: np.ndarray  # (n,) revenue of one conversion
    spend_cap: np.ndarray  # (n,) most a campaign can spend in a timestep; inf = uncapped
    min_budget: np.ndarray  # (n,) per-timestep bounds given to the plan
    max_budget: np.ndarray  # (n,) inf = unbounded
    efficiency: np.ndarray  # (timesteps, n) multiplier: seasonality, drift, drops
    dispersion: float = 0.0  # 0 = Poisson; else gamma-Poisson with variance mu + dispersion*mu^2
    holdout: bool = False
    campaign_ids: list[str] = field(default_factory=list)

    def __init__(
        self,
        name: str,
        description: str,
        objective: str,
        total_budget: float,
        timesteps: int,
        curve_kind: ArrayLike,
        scale: ArrayLike,
        half_budget: ArrayLike,
        hill_shape: ArrayLike = 1.0,
        value_per_conversion: ArrayLike = 1.0,
        spend_cap: ArrayLike = np.inf,
        min_budget: ArrayLike = 0.0,
        max_budget: ArrayLike = np.inf,
        efficiency: ArrayLike = 1.0,
        dispersion: float = 0.0,
        holdout: bool = False,
        campaign_ids: list[str] | None = None,
    ) -> None:
        """Scalars and lists are broadcast to one float64 value per campaign (efficiency: per
        timestep and campaign) once, so every evaluation is vectorised and cheap. Left out, a
        campaign is uncapped and unbounded, one conversion is worth 1, Hill's h is 1 and the
        efficiency is flat."""
        self.name, self.description, self.objective = name, description, objective
        self.total_budget, self.timesteps = total_budget, timesteps
        self.dispersion, self.holdout = dispersion, holdout
        self.campaign_ids = list(campaign_ids) if campaign_ids else []
        n = len(np.asarray(scale))

        def per_campaign(value: ArrayLike) -> np.ndarray:
            return np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)).copy()

        self.scale = per_campaign(scale)
        self.half_budget = per_campaign(half_budget)
        self.hill_shape = per_campaign(hill_shape)
        self.value_per_conversion = per_campaign(value_per_conversion)
        self.spend_cap = per_campaign(spend_cap)
        self.min_budget = per_campaign(min_budget)
        self.max_budget = per_campaign(max_budget)
        self.curve_kind = np.broadcast_to(np.asarray(curve_kind, dtype=np.int64), (n,)).copy()
        self.efficiency = np.broadcast_to(
            np.asarray(efficiency, dtype=np.float64), (self.timesteps, n)
        ).copy()
        self._kind_columns = [
            (int(kind), np.flatnonzero(self.curve_kind == kind))
            for kind in np.unique(self.curve_kind)
        ]
        if not self.campaign_ids:
            self.campaign_ids = [f"{self.name}-{i:02d}" for i in range(n)]
        if self.objective not in ("conversions", "revenue"):
            raise ValueError(
                f"objective must be 'conversions' or 'revenue', not {self.objective!r}"
            )
        if self.min_budget.sum() > self.total_budget / self.timesteps:
            raise ValueError(f"{self.name}: the min budgets exceed the timestep budget")

    @property
    def n_campaigns(self) -> int:
        """Number of campaigns (arms)."""
        return len(self.scale)

    @property
    def fingerprint(self) -> str:
        """Content hash: caches keyed by it can never mix up two scenarios with one name."""
        digest = hashlib.sha1(self.name.encode())
        digest.update(f"{self.objective}|{self.total_budget!r}|{self.timesteps}".encode())
        for array in (
            self.curve_kind,
            self.scale,
            self.half_budget,
            self.hill_shape,
            self.value_per_conversion,
            self.spend_cap,
            self.min_budget,
            self.max_budget,
            self.efficiency,
        ):
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()[:16]

    def curve_shapes(self) -> tuple[np.ndarray, np.ndarray]:
        """Each campaign's true curve shape as (curvature k, family) in the default policy's terms.

        Family codes as `oktapi.engine.curves.family_of` reads them: the exponential
        1 - e^(-x/k), the Hill curve of power h, and `curves.LOGARITHMIC` log(1 + x/k); a linear campaign is an exponential with k far beyond
        any budget. What the bench tells the "told the shapes" ceiling (only the scales are then
        left to learn).
        """
        curvature = np.where(self.curve_kind == LINEAR, 1e6 * self.total_budget, self.half_budget)
        family = np.select(
            [self.curve_kind == HILL, self.curve_kind == LOGARITHMIC],
            [self.hill_shape, curves.LOGARITHMIC.code],
            0.0,
        )
        return curvature, family

    def _delivered(self, budgets: np.ndarray) -> np.ndarray:
        """Spend for each delivery-noise quadrature point: (points, ..., n)."""
        wanted = np.minimum(np.asarray(budgets, dtype=np.float64), self.max_budget)
        caps = self.spend_cap * DELIVERY_QUADRATURE.reshape((-1,) + (1,) * wanted.ndim)
        return np.minimum(wanted[None], caps)

    def expected_spend(self, budgets: np.ndarray) -> np.ndarray:
        """Expected spend of budgets (..., n): bounded by max_budget, capped by noisy delivery."""
        return self._delivered(budgets).mean(axis=0)

    def _expected_curve(self, budgets: np.ndarray) -> np.ndarray:
        """Expected conversions before efficiency, averaged over the delivery noise."""
        return self.curve(self._delivered(budgets)).mean(axis=0)

    def curve(self, spend: np.ndarray) -> np.ndarray:
        """Expected conversions at `spend` (..., n) before the timestep's efficiency multiplier."""
        spend = np.maximum(np.asarray(spend, dtype=np.float64), 0.0)
        conversions = np.empty_like(spend)
        # Each family only on its own campaigns' columns: a loop over at most 4 kinds.
        for kind, columns in self._kind_columns:
            x, scale = spend[..., columns], self.scale[columns]
            ratio = x / self.half_budget[columns]
            if kind == LINEAR:
                conversions[..., columns] = scale * x
            elif kind == EXPONENTIAL:
                conversions[..., columns] = scale * -np.expm1(-ratio)
            elif kind == HILL:
                powered = ratio ** self.hill_shape[columns]
                conversions[..., columns] = scale * powered / (1.0 + powered)
            else:
                conversions[..., columns] = scale * np.log1p(ratio)
        return conversions

    def expected_conversions(self, budgets: np.ndarray, timestep: int) -> np.ndarray:
        """Expected conversions per campaign for budgets (..., n) at one timestep."""
        return self.efficiency[timestep] * self._expected_curve(budgets)

    def expected_objective(self, budgets: np.ndarray, timestep: int) -> np.ndarray:
        """Expected objective per campaign (conversions or revenue) for budgets (..., n)."""
        conversions = self.expected_conversions(budgets, timestep)
        if self.objective == "revenue":
            return conversions * self.value_per_conversion
        return conversions

    def expected_history(self, budgets: np.ndarray) -> np.ndarray:
        """Expected objective per timestep and campaign for a budget history (t, n), t <= horizon."""
        budgets = np.asarray(budgets, dtype=np.float64)
        conversions = self.efficiency[: len(budgets)] * self._expected_curve(budgets)
        if self.objective == "revenue":
            return conversions * self.value_per_conversion
        return conversions

    def draw(
        self, budgets: np.ndarray, timestep: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One noisy timestep outcome (spend, conversions, revenue) from the environment's rng."""
        budgets = np.maximum(np.asarray(budgets, dtype=np.float64), 0.0)
        n = self.n_campaigns
        delivery = self.spend_cap * rng.uniform(DELIVERY_NOISE_LOW, 1.0, size=n)
        spend = np.minimum(np.minimum(budgets, self.max_budget), delivery)
        mean = self.efficiency[timestep] * self.curve(spend)
        if self.dispersion > 0:
            shape = 1.0 / self.dispersion
            mean = rng.gamma(shape, np.maximum(mean, 1e-300) / shape)
        conversions = rng.poisson(mean).astype(np.float64)
        order_scale = self.value_per_conversion / ORDER_VALUE_SHAPE
        revenue = np.where(
            conversions > 0,
            rng.gamma(np.maximum(conversions, 1.0) * ORDER_VALUE_SHAPE, order_scale),
            0.0,
        )
        return spend, conversions, revenue


def _weekly(timesteps: int, amplitude: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """Weekly seasonality (timesteps, n): 1 + amplitude*sin, a different phase per campaign."""
    days = np.arange(timesteps)[:, None]
    return 1.0 + amplitude * np.sin(2.0 * np.pi * (days + phase) / 7.0)


def _drift(timesteps: int, end_multiplier: np.ndarray) -> np.ndarray:
    """Linear drift of efficiency from 1 at the start to end_multiplier at the horizon."""
    progress = np.linspace(0.0, 1.0, timesteps)[:, None]
    return 1.0 + (np.asarray(end_multiplier) - 1.0) * progress


def _drop(timesteps: int, n: int, campaigns: list[int], at: int, factor: float) -> np.ndarray:
    """Step change: the given campaigns' efficiency is multiplied by factor from timestep `at`."""
    multiplier = np.ones((timesteps, n))
    multiplier[at:, campaigns] = factor
    return multiplier


def _shipped() -> list[Scenario]:
    """The nine shipped scenarios: hand-written, varied in size, scale, shape and difficulty."""
    inf = np.inf
    scenarios: list[Scenario] = []

    # 1. The seed's own world: constant CPA, all budget belongs on the cheapest campaign.
    scenarios.append(
        Scenario(
            name="linear_cpa",
            description="3 linear campaigns (CPA 10/14/20), Poisson, small budget",
            objective="conversions",
            total_budget=2_800.0,
            timesteps=14,
            curve_kind=LINEAR,
            scale=[1 / 10, 1 / 14, 1 / 20],
            half_budget=1.0,
        )
    )

    # 2. Diminishing returns: the best split is interior, not all-in.
    scenarios.append(
        Scenario(
            name="saturating",
            description="5 saturating-exponential campaigns, Poisson",
            objective="conversions",
            total_budget=45_000.0,
            timesteps=30,
            curve_kind=EXPONENTIAL,
            scale=[120.0, 40.0, 30.0, 90.0, 15.0],
            half_budget=[400.0, 300.0, 250.0, 1_500.0, 200.0],
        )
    )

    # 3. S-curves: an under-funded campaign earns almost nothing; greedy learners get stuck.
    scenarios.append(
        Scenario(
            name="hill_scurves",
            description="8 Hill S-curves (h 1.5-3), over-dispersed, large budget",
            objective="conversions",
            total_budget=420_000.0,
            timesteps=42,
            curve_kind=HILL,
            scale=[900.0, 700.0, 1_200.0, 500.0, 800.0, 400.0, 1_000.0, 600.0],
            half_budget=[1_500.0, 1_000.0, 3_500.0, 800.0, 2_000.0, 600.0, 5_000.0, 1_200.0],
            hill_shape=[2.0, 1.5, 3.0, 2.5, 1.8, 2.2, 2.8, 1.6],
            dispersion=0.05,
        )
    )

    # 4. Under-delivery: the cheapest campaigns cannot spend what they are given.
    scenarios.append(
        Scenario(
            name="capped_delivery",
            description="6 campaigns, the 3 cheapest capped well below the timestep budget",
            objective="conversions",
            total_budget=84_000.0,
            timesteps=28,
            curve_kind=[LINEAR, LINEAR, EXPONENTIAL, EXPONENTIAL, LINEAR, EXPONENTIAL],
            scale=[1 / 8, 1 / 9, 150.0, 120.0, 1 / 40, 40.0],
            half_budget=[1.0, 1.0, 2_500.0, 1_500.0, 1.0, 900.0],
            spend_cap=[400.0, 600.0, 500.0, inf, inf, inf],
        )
    )

    # 5. Weekly seasonality with campaign-specific phases, revenue objective.
    n = 10
    season_rng = np.random.default_rng(505)
    scenarios.append(
        Scenario(
            name="weekly_revenue",
            description="10 mixed curves, weekly seasonality (own phase each), revenue",
            objective="revenue",
            total_budget=560_000.0,
            timesteps=56,
            curve_kind=[EXPONENTIAL, HILL] * 5,
            scale=season_rng.uniform(40.0, 160.0, n),
            half_budget=season_rng.uniform(600.0, 3_000.0, n),
            hill_shape=season_rng.uniform(1.3, 2.5, n),
            value_per_conversion=season_rng.uniform(20.0, 150.0, n),
            efficiency=_weekly(56, season_rng.uniform(0.1, 0.4, n), season_rng.uniform(0, 7, n)),
            dispersion=0.1,
        )
    )

    # 6. Non-stationary: slow drifts, and the best campaign loses 60% mid-horizon.
    n = 12
    drift_rng = np.random.default_rng(606)
    scale = drift_rng.uniform(20.0, 60.0, n)
    scale[0] = 90.0
    scenarios.append(
        Scenario(
            name="drift_and_drop",
            description="12 exponential campaigns, linear drifts, the best drops 60% at t=30",
            objective="conversions",
            total_budget=180_000.0,
            timesteps=60,
            curve_kind=EXPONENTIAL,
            scale=scale,
            half_budget=drift_rng.uniform(200.0, 900.0, n),
            efficiency=_drift(60, drift_rng.uniform(0.6, 1.5, n)) * _drop(60, n, [0], 30, 0.4),
        )
    )

    # 7. Revenue per conversion differs: cheap conversions are not the valuable ones.
    n = 15
    value_rng = np.random.default_rng(707)
    cpa_scale = value_rng.uniform(0.5, 2.0, n)
    scenarios.append(
        Scenario(
            name="revenue_values",
            description="15 campaigns, value per conversion 5-300 anti-correlated with volume",
            objective="revenue",
            total_budget=135_000.0,
            timesteps=45,
            curve_kind=np.where(
                np.arange(n) % 4 == 0, LINEAR, value_rng.choice([EXPONENTIAL, HILL], n)
            ),
            scale=np.where(np.arange(n) % 4 == 0, 0.05 / cpa_scale, 60.0 / cpa_scale),
            half_budget=value_rng.uniform(150.0, 700.0, n),
            hill_shape=value_rng.uniform(1.2, 2.0, n),
            value_per_conversion=5.0 + 150.0 * cpa_scale**1.5,
            spend_cap=np.where(np.arange(n) % 4 == 0, 600.0, inf),
            dispersion=0.3,
        )
    )

    # 8. Many campaigns, long horizon, per-campaign bounds and seasonality.
    n = 30
    large_rng = np.random.default_rng(808)
    kinds = large_rng.choice([LINEAR, EXPONENTIAL, HILL], n, p=[0.2, 0.5, 0.3])
    half = large_rng.uniform(300.0, 3_000.0, n)
    scenarios.append(
        Scenario(
            name="large_bounded",
            description="30 mixed campaigns, 90 timesteps, min/max budgets, seasonality",
            objective="conversions",
            total_budget=450_000.0,
            timesteps=90,
            curve_kind=kinds,
            scale=np.where(
                kinds == LINEAR, 1 / large_rng.uniform(40, 120, n), large_rng.uniform(10, 60, n)
            ),
            half_budget=half,
            hill_shape=large_rng.uniform(1.3, 2.8, n),
            spend_cap=np.where(large_rng.uniform(size=n) < 0.15, 300.0, inf),
            min_budget=np.where(np.arange(n) < 5, 30.0, 0.0),
            max_budget=np.where(np.arange(n) % 3 == 0, 800.0, inf),
            efficiency=_weekly(90, np.full(n, 0.15), np.zeros(n)),
            dispersion=0.1,
        )
    )

    # 9. Sparse: one or two conversions a day, revenue objective, hundreds of budget in total.
    scenarios.append(
        Scenario(
            name="sparse_counts",
            description="4 campaigns, ~1-3 conversions a day, revenue, total budget 630",
            objective="revenue",
            total_budget=630.0,
            timesteps=21,
            curve_kind=[LINEAR, EXPONENTIAL, LINEAR, EXPONENTIAL],
            scale=[1 / 12, 3.0, 1 / 8, 2.0],
            half_budget=[1.0, 10.0, 1.0, 25.0],
            value_per_conversion=[45.0, 15.0, 20.0, 70.0],
            dispersion=0.2,
        )
    )
    return scenarios


def holdout_scenarios(
    seed: int = 20_111, count: int = 5, prefix: str = "holdout"
) -> list[Scenario]:
    """Randomised scenarios from a different parameter family, kept out of policy tuning.

    The default seed gives the bench's fixed holdout set; another seed gives fresh scenarios of
    the same family (named ``{prefix}_1`` ...), so a change can be checked on markets nobody
    has looked at.
    """
    rng = np.random.default_rng(seed)
    scenarios = []
    for index in range(count):
        n = int(rng.integers(3, 31))
        timesteps = int(rng.integers(14, 91))
        total_budget = float(np.round(10 ** rng.uniform(2.7, 6.0), -1))
        timestep_budget = total_budget / timesteps
        kinds = rng.choice([LINEAR, EXPONENTIAL, HILL, LOGARITHMIC], n, p=[0.15, 0.25, 0.3, 0.3])
        # Curves scaled to the share of budget each campaign would get from an even split.
        half = timestep_budget / n * 10 ** rng.uniform(-0.5, 0.8, n)
        conversions_per_unit = 10 ** rng.uniform(-2.3, -0.3) * 10 ** rng.uniform(-0.3, 0.3, n)
        scale = np.where(kinds == LINEAR, conversions_per_unit, conversions_per_unit * half * 2)
        capped = rng.uniform(size=n) < 0.25
        seasonality = _weekly(timesteps, rng.uniform(0, 0.3) * np.ones(n), rng.uniform(0, 7, n))
        drift = _drift(timesteps, 10 ** rng.uniform(-0.25, 0.2, n))
        drop_at = int(rng.integers(timesteps // 3, 2 * timesteps // 3 + 1))
        drop = _drop(timesteps, n, [int(rng.integers(n))], drop_at, float(rng.uniform(0.3, 0.8)))
        objective = "revenue" if rng.uniform() < 0.5 else "conversions"
        scenarios.append(
            Scenario(
                name=f"{prefix}_{index + 1}",
                description=f"randomised: {n} campaigns, {timesteps} timesteps, {objective}",
                objective=objective,
                total_budget=total_budget,
                timesteps=timesteps,
                curve_kind=kinds,
                scale=scale,
                half_budget=half,
                hill_shape=rng.uniform(1.1, 3.5, n),
                value_per_conversion=10 ** rng.uniform(0.7, 2.0, n),
                spend_cap=np.where(capped, half * rng.uniform(0.3, 1.5, n), np.inf),
                efficiency=seasonality * drift * drop,
                dispersion=float(rng.choice([0.0, 0.05, 0.2, 0.5])),
                holdout=True,
            )
        )
    return scenarios


MAX_FRESH_SCENARIOS = 100


def fresh_scenarios(seed: int, count: int = 10) -> list[Scenario]:
    """New holdout-family markets nobody tuned on, named ``fresh{seed}_1`` ..."""
    if not 1 <= count <= MAX_FRESH_SCENARIOS:
        raise ValueError(
            f"the number of fresh scenarios must be between 1 and {MAX_FRESH_SCENARIOS}"
        )
    return holdout_scenarios(seed, count, f"fresh{seed}")


SCENARIOS: dict[str, Scenario] = {scenario.name: scenario for scenario in _shipped()}
HOLDOUT_SCENARIOS: dict[str, Scenario] = {s.name: s for s in holdout_scenarios()}


def get_scenario(name: str) -> Scenario:
    """Shipped or holdout scenario by name, with the available names in the error."""
    if name in SCENARIOS:
        return SCENARIOS[name]
    if name in HOLDOUT_SCENARIOS:
        return HOLDOUT_SCENARIOS[name]
    available = ", ".join([*SCENARIOS, *HOLDOUT_SCENARIOS])
    raise ValueError(f"unknown scenario {name!r}; available: {available}")
