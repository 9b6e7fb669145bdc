"""A new plan learns from the days before it: its campaigns' history and earlier plans' results.

The days are summed into blocks of the plan's timestep length, ending the day before its start,
and become the plan's history rows at timesteps -B .. -1: the policy then reads them exactly as
it reads the plan's own rows (the same discounting of old rows by age in timesteps, the same
change-point detection, the same folding of rows beyond its window). A block where a campaign
has figures for some of its days only is scaled up to the whole block (the campaign's rate per
day), or left empty when it has fewer than half of them: a partial block would look like a
lower spend.

Late conversions: each block keeps when its figures were reported (``observed_at``, in the
plan's timesteps), so once the plan knows how figures mature the young blocks count as the share
of their final conversions they show. What it knows comes from restatements: the history's own
(a day sent again with more conversions, ``revisions``) are learnt here, before the first
allocation, and the plan's restatements later add to them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from oktapi.engine.policies import get_policy
from oktapi.engine.state import HISTORY_COLUMNS, State

# How far back a new plan looks, in its own timesteps: eight half-lives of the default policy,
# beyond which a row weighs under 0.4% of a fresh one.
PRIOR_TIMESTEPS = 112
# ... and at most about three years of days (the longest history an upload takes).
MAX_PRIOR_DAYS = 1098
# A campaign's block counts when it has figures for at least this share of the block's days.
MIN_BLOCK_COVERAGE = 0.5


@dataclass(frozen=True)
class DayRevision:
    """A day's figures replaced by a later report: how much its conversions grew, and when."""

    campaign: int  # position in the plan's campaigns
    age_before: int  # days after the day's end when the replaced figures were reported
    age_after: int
    before: tuple[float, float]  # (conversions, revenue)
    after: tuple[float, float]


@dataclass(frozen=True)
class PriorDays:
    """Daily figures of the plan's campaigns before its start; the last row is the day before.

    Arrays are (days, n_campaigns). ``recorded`` says which cells have figures at all (a cell
    without is no evidence, not a day of zero spend); ``reported_after`` is how many whole days
    after the day's end its figures were last reported (0: the next day).
    """

    spend: np.ndarray
    conversions: np.ndarray
    revenue: np.ndarray
    recorded: np.ndarray
    reported_after: np.ndarray
    revisions: list[DayRevision] = field(default_factory=list)

    @classmethod
    def empty(cls, days: int, n_campaigns: int) -> PriorDays:
        zeros = np.zeros((days, n_campaigns))
        return cls(
            zeros,
            zeros.copy(),
            zeros.copy(),
            np.zeros((days, n_campaigns), dtype=bool),
            np.zeros((days, n_campaigns), dtype=np.int64),
        )


def prior_days_wanted(timestep_days: int) -> int:
    """How many days before its start a plan of ``timestep_days``-day timesteps learns from."""
    return min(PRIOR_TIMESTEPS * timestep_days, MAX_PRIOR_DAYS)


def prior_rows(prior: PriorDays, timestep_days: int) -> np.ndarray:
    """The days as history rows (HISTORY_COLUMNS, B, n).

    Block -1 is the ``timestep_days`` days before the start, block -B the oldest with figures.
    A block's spend is also what it was "allocated" (the buyer's budgets are not known: what
    was spent is what was given, so no block looks like a campaign that could not spend).
    """
    days, n = prior.spend.shape
    length = int(timestep_days)
    blocks = math.ceil(days / length) if days else 0
    pad = blocks * length - days

    def blocked(values: np.ndarray) -> np.ndarray:
        padded = np.concatenate((np.zeros((pad, n)), values), axis=0)
        return padded.reshape(blocks, length, n)

    recorded = blocked(prior.recorded.astype(np.float64))
    covered = recorded.sum(axis=1)  # (B, n)
    counts = covered >= MIN_BLOCK_COVERAGE * length
    scale = np.where(counts, length / np.maximum(covered, 1.0), 0.0)
    sums = [
        blocked(np.where(prior.recorded, values, 0.0)).sum(axis=1) * scale
        for values in (prior.spend, prior.conversions, prior.revenue)
    ]
    # A block is as young as its least mature day: days after the block's end at the report.
    reported = blocked(prior.reported_after.astype(np.float64))
    days_to_block_end = (length - 1 - np.arange(length))[None, :, None]
    after_block = np.where(recorded > 0, reported - days_to_block_end, np.inf).min(axis=1)
    age_days = np.where(np.isfinite(after_block), np.maximum(after_block, 0.0), 0.0)
    timestep = (np.arange(blocks) - blocks)[:, None]  # -B .. -1
    observed_at = np.broadcast_to(timestep + np.floor(age_days / length), sums[0].shape)
    columns = {
        "allocated": sums[0],
        "spend": sums[0],
        "conversions": sums[1],
        "revenue": sums[2],
        "observed_at": observed_at,
        # a campaign's block without enough days is no evidence, as a campaign that was off
        "participated": counts.astype(np.float64),
    }
    rows = np.stack([columns[name] for name in HISTORY_COLUMNS])
    funded = (sums[0] > 0).any(axis=1) | (sums[1] > 0).any(axis=1)
    first = int(np.argmax(funded)) if funded.any() else blocks
    return rows[:, first:]


def warm_start(state: State, prior: PriorDays, timestep_days: int) -> int:
    """Give a fresh plan the days before its start as history; the number of rows it got.

    Only before the first allocation. Restatements of the history's days teach the plan how
    its campaigns' figures mature (in its timesteps), as its own restatements would.
    """
    if state.timestep != 0 or state.kept != 0 or state.allocation is not None:
        raise ValueError("a plan learns from its prior days only before its first allocation")
    if prior.spend.shape[1] != state.n_campaigns:
        raise ValueError("prior days must have one column per campaign")
    rows = prior_rows(prior, timestep_days)
    if rows.shape[1] == 0:
        return 0
    state.load_prior(rows)
    for revision in prior.revisions:
        state.maturity.learn(
            np.array([revision.campaign]),
            np.array([revision.age_before // timestep_days]),
            np.array([revision.age_after // timestep_days]),
            (np.array([revision.before[0]]), np.array([revision.before[1]])),
            (np.array([revision.after[0]]), np.array([revision.after[1]])),
        )
    get_policy(state.policy)(state.policy_params, state.step).fold(state)
    return rows.shape[1]
