"""Markets whose conversions arrive late: reporting lag, restatements and fractional counts.

Ad platforms credit a conversion to the day of the click and report it when it happens, days
later (Google Ads counts a 30-day window by default, Meta 7 days after a click or 1 after a
view), so the numbers a client sees the next morning are a share of the day's final ones, and
they keep growing as the platform restates the day.

A `LagScenario` is a shipped-style `Scenario` (the truth: curves, noise, caps) plus, per
campaign, the probability that a conversion is reported at each age (days after its timestep)
and the same for its revenue (revenue may lag its conversions: offline sales, refunds). Each
conversion's arrival age is drawn (a multinomial over the campaign's lag pmf), so the figures
visible at age a are cumulative and consistent. Fractional scenarios credit a conversion 0.5
or 1 (data-driven attribution): every figure is then a multiple of 0.5.

`run_lagged` plays one plan on it in one of three ways, all scored by the final, true outcome
against the clairvoyant oracle of the underlying scenario (the lag changes what the plan sees,
never what its budgets earn):
- ``final``: each timestep's final numbers at once (the reference: no lag at all),
- ``morning``: the numbers visible the next morning (age 0), never corrected,
- ``restated``: the morning's numbers, and every morning the last RESTATE_DAYS closed
  timesteps are restated through `AI.restate` with what is visible now (what a connector that
  re-pulls the recent days does, and the same engine entry point the service uses).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from bench.simulate.run import campaigns_of, environment_rng, plan_state
from bench.simulate.scenarios import (
    EXPONENTIAL,
    HILL,
    LINEAR,
    ORDER_VALUE_SHAPE,
    Scenario,
    _weekly,
)
from oktapi.engine.ai import AI, Restatement, Results
from oktapi.engine.policies import DEFAULT_POLICY
from oktapi.engine.state import Campaign

MODES = ("final", "morning", "restated")
RESTATE_DAYS = 7
LAG_STREAM = 0x1A6  # the arrival draws' own stream: the market's draws do not depend on them


def lag_pmf(window: int, share_at_zero: float, ages: int) -> np.ndarray:
    """P(reported at age a), a = 0..ages-1: share_at_zero at once, the rest decaying
    geometrically so that 95% of it has arrived within the attribution window."""
    pmf = np.zeros(ages)
    pmf[0] = share_at_zero
    if window > 1 and share_at_zero < 1.0:
        tail_ages = np.arange(1, min(window, ages))
        decay = 0.05 ** (1.0 / max(len(tail_ages), 1))
        tail = decay ** (tail_ages - 1.0)
        pmf[tail_ages] = (1.0 - share_at_zero) * tail / tail.sum()
    else:
        pmf[0] = 1.0
    return pmf


@dataclass(eq=False)
class LagScenario:
    """A market (its truth) plus how late each campaign's conversions and revenue are reported."""

    market: Scenario
    conversion_lag: np.ndarray  # (n, ages) pmf of a conversion's reporting age
    revenue_lag: np.ndarray  # (n, ages) pmf of its revenue's reporting age
    platforms: list[str | None]
    half_credits: float = 0.0  # share of conversions credited 0.5 (fractional attribution)
    description: str = ""

    @property
    def name(self) -> str:
        """The market's name."""
        return self.market.name

    @property
    def ages(self) -> int:
        """Ages tracked: figures at the last one are final."""
        return self.conversion_lag.shape[1]

    def campaigns(self) -> list[Campaign]:
        """The plan's view: ids, bounds and platforms."""
        return [
            Campaign(c.id, c.min_budget, c.max_budget, platform=platform)
            for c, platform in zip(campaigns_of(self.market), self.platforms, strict=True)
        ]

    def arrivals(
        self, conversions: np.ndarray, revenue: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Visible conversions and revenue at each age, cumulative: two (ages, n) arrays."""
        counts = conversions.astype(np.int64)
        half = rng.binomial(counts, self.half_credits) if self.half_credits > 0 else 0 * counts
        visible_conversions = np.zeros((self.ages, len(counts)))
        visible_revenue = np.zeros((self.ages, len(counts)))
        for campaign, count in enumerate(counts.tolist()):
            if count == 0:
                continue
            halves = rng.multinomial(int(half[campaign]), self.conversion_lag[campaign])
            fulls = rng.multinomial(count - int(half[campaign]), self.conversion_lag[campaign])
            visible_conversions[:, campaign] = np.cumsum(0.5 * halves + fulls)
            # Revenue: each conversion's value arrives at its own age; values are iid gamma, so
            # the split of the total is Dirichlet(arrivals * shape).
            paid = rng.multinomial(count, self.revenue_lag[campaign])
            weights = np.where(paid > 0, rng.gamma(np.maximum(paid, 1) * ORDER_VALUE_SHAPE), 0.0)
            credit = (0.5 * half[campaign] + count - half[campaign]) / count
            visible_revenue[:, campaign] = (
                revenue[campaign] * credit * np.cumsum(weights) / weights.sum()
            )
        return visible_conversions, visible_revenue


def run_lagged(
    scenario: LagScenario,
    mode: str,
    seed: int,
    policy: str = DEFAULT_POLICY,
    params: dict | None = None,
    *,
    restate_unchanged: bool = True,
) -> np.ndarray:
    """Budgets (timesteps, n) a plan hands out when it sees the market's figures that way.

    restate_unchanged=False restates only the campaigns whose figures changed (as a store that
    drops identical revisions would pass them on).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    market = scenario.market
    state = plan_state(market, seed, scenario.campaigns(), policy=policy, policy_params=params)
    ai = AI(state)
    market_rng = environment_rng(market, seed)
    lag_rng = np.random.default_rng(
        np.random.SeedSequence([seed, LAG_STREAM, zlib.crc32(market.name.encode())])
    )
    timesteps, n = market.timesteps, market.n_campaigns
    budgets = np.zeros((timesteps, n))
    spend_by_timestep = np.zeros((timesteps, n))
    visible = np.zeros((timesteps, 2, scenario.ages, n))  # conversions, revenue by age
    reported = np.zeros((timesteps, 3, n))  # what the plan was last told
    reported_at = np.zeros((timesteps, n), dtype=np.int64)
    everyone = np.arange(n)
    for version in range(timesteps):
        allocation = ai.allocate()
        budgets[version] = allocation.budgets
        spend, conversions, revenue = market.draw(allocation.budgets, version, market_rng)
        spend_by_timestep[version] = spend
        visible[version] = scenario.arrivals(conversions, revenue, lag_rng)
        if mode == "restated":
            for timestep in range(max(version - RESTATE_DAYS, 0), version):
                age = min(version - timestep, scenario.ages - 1)
                new = np.array([spend, *visible[timestep, :, age]])
                new[0] = spend_by_timestep[timestep]
                changed = everyone
                if not restate_unchanged:
                    changed = np.flatnonzero(np.any(new != reported[timestep], axis=0))
                    if not len(changed):
                        continue
                ai.restate(
                    Restatement(
                        timestep=timestep,
                        indices=changed,
                        spend=new[0, changed],
                        conversions=new[1, changed],
                        revenue=new[2, changed],
                        previous_spend=reported[timestep, 0, changed],
                        previous_conversions=reported[timestep, 1, changed],
                        previous_revenue=reported[timestep, 2, changed],
                        previous_observed_at=reported_at[timestep, changed],
                    )
                )
                reported[timestep, :, changed] = new[:, changed].T
                reported_at[timestep, changed] = version
        age = scenario.ages - 1 if mode == "final" else 0
        figures = np.array([spend, *visible[version, :, age]])
        ai.update(Results(spend=figures[0], conversions=figures[1], revenue=figures[2]))
        reported[version], reported_at[version] = figures, version
    return budgets


def _lag_rows(windows: list[int], shares: list[float], ages: int) -> np.ndarray:
    """One pmf per campaign."""
    return np.array([lag_pmf(w, s, ages) for w, s in zip(windows, shares, strict=True)])


def _reported_alike(
    market: Scenario,
    windows: list[int],
    shares: list[float],
    platforms: list[str | None],
    ages: int,
    half_credits: float = 0.0,
) -> LagScenario:
    """A lag market whose revenue is reported with its conversions (the same pmf for both)."""
    return LagScenario(
        market,
        _lag_rows(windows, shares, ages),
        _lag_rows(windows, shares, ages),
        platforms,
        half_credits=half_credits,
        description=market.description,
    )


def lag_scenarios() -> list[LagScenario]:
    """The bench's lag markets: lag differing by campaign, short and long windows, revenue
    lagging conversions, fractional counts. Written for this bench, not tuned on."""
    ages = 31
    scenarios = []

    # 1. The best campaigns report slowest: a 30-day window against 1-day ones.
    market = Scenario(
        name="lag_slow_best",
        description="6 exponential campaigns; the 2 best report over 30 days, the rest in 1",
        objective="conversions",
        total_budget=60_000.0,
        timesteps=40,
        curve_kind=EXPONENTIAL,
        scale=[110.0, 90.0, 60.0, 50.0, 40.0, 35.0],
        half_budget=[600.0, 500.0, 400.0, 350.0, 300.0, 300.0],
        dispersion=0.05,
    )
    windows, shares = [30, 30, 1, 1, 1, 1], [0.35, 0.4, 1.0, 1.0, 1.0, 1.0]
    scenarios.append(
        _reported_alike(
            market, windows, shares, ["google", "google", "meta", "meta", "meta", "meta"], ages
        )
    )

    # 2. Revenue lags conversions (offline sales), two platforms, mixed windows.
    rng = np.random.default_rng(9101)
    n = 8
    market = Scenario(
        name="lag_revenue",
        description="8 mixed campaigns, revenue; revenue lags conversions, 7- and 30-day windows",
        objective="revenue",
        total_budget=160_000.0,
        timesteps=45,
        curve_kind=[EXPONENTIAL, HILL] * 4,
        scale=rng.uniform(40.0, 120.0, n),
        half_budget=rng.uniform(300.0, 900.0, n),
        hill_shape=rng.uniform(1.3, 2.2, n),
        value_per_conversion=rng.uniform(20.0, 120.0, n),
        efficiency=_weekly(45, np.full(n, 0.15), rng.uniform(0, 7, n)),
        dispersion=0.1,
    )
    windows = [30, 7, 30, 7, 30, 7, 30, 7]
    conversion_shares = rng.uniform(0.35, 0.8, n)
    scenarios.append(
        LagScenario(
            market,
            _lag_rows(windows, list(conversion_shares), ages),
            _lag_rows([w + 5 for w in windows], list(0.5 * conversion_shares), ages),
            ["google", "meta"] * 4,
            description=market.description,
        )
    )

    # 3. Fractional conversions (half credits), a 7-day window, the slowest are the cheapest.
    market = Scenario(
        name="lag_fractional",
        description="5 campaigns, conversions in 0.5 credits, 7-day windows, cheapest slowest",
        objective="conversions",
        total_budget=9_000.0,
        timesteps=30,
        curve_kind=[LINEAR, EXPONENTIAL, LINEAR, EXPONENTIAL, EXPONENTIAL],
        scale=[1 / 9, 30.0, 1 / 15, 20.0, 15.0],
        half_budget=[1.0, 120.0, 1.0, 90.0, 80.0],
        dispersion=0.1,
    )
    windows, shares = [7, 7, 2, 2, 1], [0.3, 0.45, 0.8, 0.85, 1.0]
    scenarios.append(_reported_alike(market, windows, shares, [None] * 5, ages, half_credits=0.5))

    # 4. Many campaigns on two platforms: Google's 30-day lag, Meta's 1-day; S-curves.
    rng = np.random.default_rng(9303)
    n = 12
    google = np.arange(n) % 2 == 0
    market = Scenario(
        name="lag_two_platforms",
        description="12 mixed campaigns on 2 platforms: 30-day lag (google) vs 1-day (meta)",
        objective="conversions",
        total_budget=240_000.0,
        timesteps=60,
        curve_kind=rng.choice([EXPONENTIAL, HILL], n),
        scale=np.where(google, 1.3, 1.0) * rng.uniform(30.0, 90.0, n),
        half_budget=rng.uniform(200.0, 900.0, n),
        hill_shape=rng.uniform(1.3, 2.5, n),
        spend_cap=np.where(rng.uniform(size=n) < 0.2, 400.0, np.inf),
        efficiency=_weekly(60, np.full(n, 0.1), rng.uniform(0, 7, n)),
        dispersion=0.1,
    )
    windows = [30 if g else 1 for g in google]
    shares = [float(s) if g else 1.0 for g, s in zip(google, rng.uniform(0.3, 0.6, n), strict=True)]
    scenarios.append(
        _reported_alike(market, windows, shares, ["google" if g else "meta" for g in google], ages)
    )
    return scenarios


LAG_SCENARIOS: dict[str, LagScenario] = {s.name: s for s in lag_scenarios()}
