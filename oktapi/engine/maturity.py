"""How much of a timestep's final conversions (and revenue) is visible at each age.

Ad platforms credit conversions to the day of the click and keep reporting them for days, so a
figure reported at age a (= the plan's version when it was reported - its timestep) is a share
F(a) of the final one. The plan learns F from its restatements: a restatement replaces the
figures seen at age a1 by those seen at age a2 > a1, which is evidence on F(a1) / F(a2).

Chain ladder with shrinkage. Each restatement is spread over the one-age links a -> a + 1 it
spans (the cumulative figure interpolated linearly between the two ages it was seen at), and each
link keeps two sums per campaign: what was visible before and after it. The development ratio of
a link, f(a) = F(a) / F(a + 1), is the ratio of those sums, shrunk with LINK_PSEUDO_COUNT
conversions of evidence from the campaign to its platform's ratio, from the platform to the
plan's pooled ratio (to 1 for a platform that never restated anything: its figures have not
grown), and from the pooled one to 1 (no lag). Ratios are clipped to 1, so F is
monotone and at most 1, and F(a) = prod_{j >= a} f(j) is 1 beyond the oldest age ever restated
(no link there has evidence). Revenue has its own links (its maturity may differ); it is counted
in conversions of the plan's average value so that the same pseudo-count applies.

The statistics have a fixed size (4 x campaigns x MATURITY_HORIZON), whatever the plan's length:
ages beyond the horizon are treated as final.
"""

from __future__ import annotations

import numpy as np

# Ages at and beyond this count as final (the longest conversion windows are 30 days).
MATURITY_HORIZON = 32
# Conversions of evidence a campaign's (platform's) link ratio needs to weigh as much as its
# platform's (the pooled) one. Binomial thinning: the ratio's standard error is about
# sqrt(f (1 - f) / n) for n conversions, 0.15 for n = 10 and f = 0.7.
LINK_PSEUDO_COUNT = 10.0
# Which statistics: (conversions before, conversions after, revenue before, revenue after).
_CONVERSIONS_BEFORE, _CONVERSIONS_AFTER, _REVENUE_BEFORE, _REVENUE_AFTER = range(4)


class Maturity:
    """Link sums per campaign and the share of the final figures visible at each age."""

    def __init__(self, n_campaigns: int, links: np.ndarray | None = None, seen: int = 0) -> None:
        self.links = (
            np.zeros((4, n_campaigns, MATURITY_HORIZON))
            if links is None
            else np.asarray(links, dtype=np.float64).reshape(4, n_campaigns, MATURITY_HORIZON)
        )
        self.seen = int(seen)  # restated figure sets learnt from (0: the plan behaves as if F = 1)

    @property
    def learnt(self) -> bool:
        """Whether any restatement changed what the plan knows about maturity."""
        return self.seen > 0

    def learn(
        self,
        indices: np.ndarray,
        age_before: np.ndarray,
        age_after: np.ndarray,
        before: tuple[np.ndarray, np.ndarray],
        after: tuple[np.ndarray, np.ndarray],
    ) -> None:
        """Add restatements: (conversions, revenue) seen at age_before, then at age_after."""
        first = np.asarray(age_before, dtype=np.int64)
        span = np.asarray(age_after, dtype=np.int64) - first
        useful = (span > 0) & (first < MATURITY_HORIZON)
        if not useful.any():
            return
        first, span, campaigns = first[useful], span[useful], np.asarray(indices)[useful]
        ages = np.arange(MATURITY_HORIZON)[None, :]
        # Cumulative figure at each age of the span, linear between the two seen ages.
        share = np.clip((ages - first[:, None]) / span[:, None], 0.0, 1.0)
        next_share = np.clip((ages + 1 - first[:, None]) / span[:, None], 0.0, 1.0)
        in_span = (ages >= first[:, None]) & (ages < (first + span)[:, None])
        for offset, (old, new) in enumerate(((before[0], after[0]), (before[1], after[1]))):
            low = np.asarray(old, dtype=np.float64)[useful][:, None]
            growth = np.asarray(new, dtype=np.float64)[useful][:, None] - low
            # indices are unique (Restatement.checked), so a fancy-indexed += adds each once.
            self.links[2 * offset, campaigns] += np.where(in_span, low + growth * share, 0.0)
            self.links[2 * offset + 1, campaigns] += np.where(
                in_span, low + growth * next_share, 0.0
            )
        self.seen += int(useful.sum())

    def link_ratios(self, platforms: list[str | None]) -> tuple[np.ndarray, np.ndarray]:
        """Development ratio f(a) = F(a) / F(a + 1) per campaign, for conversions and revenue."""
        ratios = []
        conversions_total = self.links[_CONVERSIONS_AFTER].sum()
        revenue_total = self.links[_REVENUE_AFTER].sum()
        value = revenue_total / conversions_total if conversions_total > 0 else 1.0
        value = value if value > 0 else 1.0
        groups = _platform_groups(platforms)
        for before_index, after_index, unit in (
            (_CONVERSIONS_BEFORE, _CONVERSIONS_AFTER, 1.0),
            (_REVENUE_BEFORE, _REVENUE_AFTER, value),
        ):
            before = self.links[before_index] / unit  # (n, H)
            after = self.links[after_index] / unit
            pooled = _shrunk(before.sum(axis=0), after.sum(axis=0), np.ones(MATURITY_HORIZON))
            platform = np.broadcast_to(pooled, before.shape).copy()
            for members in groups:
                # A platform that never restated anything is taken as complete, not as lagging
                # like the others: its numbers have shown no sign of growing.
                prior = pooled if after[members].sum() > 0 else np.ones(MATURITY_HORIZON)
                platform[members] = _shrunk(
                    before[members].sum(axis=0), after[members].sum(axis=0), prior
                )
            ratios.append(_shrunk(before, after, platform))
        return ratios[0], ratios[1]

    def shares(
        self, platforms: list[str | None], ages: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """F(age) for conversions and for revenue; ages (..., n) -> two arrays (..., n)."""
        ages = np.clip(np.asarray(ages, dtype=np.int64), 0, MATURITY_HORIZON)
        result = []
        for ratio in self.link_ratios(platforms):
            # F(a) = prod_{j >= a} f(j): a reversed cumulative product, F(horizon) = 1.
            tail = np.cumprod(ratio[:, ::-1], axis=1)[:, ::-1]  # (n, H): F(0..H-1)
            shares = np.concatenate((tail, np.ones((tail.shape[0], 1))), axis=1)
            campaign = np.broadcast_to(np.arange(shares.shape[0]), ages.shape)
            result.append(shares[campaign, ages])
        return result[0], result[1]

    def with_campaign(self) -> Maturity:
        """The same statistics with one more campaign, which has restated nothing yet."""
        links = np.concatenate((self.links, np.zeros((4, 1, MATURITY_HORIZON))), axis=1)
        return Maturity(links.shape[1], links, self.seen)

    def to_dict(self) -> dict:
        """Plain lists for storage."""
        return {"links": self.links.reshape(4, -1).tolist(), "seen": self.seen}

    @classmethod
    def from_dict(cls, data: dict | None, n_campaigns: int) -> Maturity:
        """Inverse of to_dict; None (a state saved before maturity existed) is a fresh one."""
        if data is None:
            return cls(n_campaigns)
        return cls(n_campaigns, np.asarray(data["links"], dtype=np.float64), data["seen"])


def _shrunk(before: np.ndarray, after: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """(before + m * prior) / (after + m), at most 1: a link ratio borrowing m of the prior's."""
    return np.minimum((before + LINK_PSEUDO_COUNT * prior) / (after + LINK_PSEUDO_COUNT), 1.0)


def _platform_groups(platforms: list[str | None]) -> list[np.ndarray]:
    """Campaign positions per named platform (campaigns without one borrow from the pool)."""
    groups: dict[str, list[int]] = {}
    for position, platform in enumerate(platforms):
        if platform:
            groups.setdefault(platform, []).append(position)
    return [np.array(members) for members in groups.values()]
