"""One plan's campaigns, budget, history and random generator, serializable to plain JSON/BSON."""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from typing import Any

import numpy as np

from oktapi.engine.maturity import Maturity
from oktapi.engine.policies import DEFAULT_POLICY, get_policy
from oktapi.engine.policies.bounds import TOLERANCE

OBJECTIVES = ("conversions", "revenue")
# Every per-timestep array column of the kept history. observed_at is the plan version at which
# the row's figures were reported (its timestep when first reported, later when restated);
# participated is 1 where the campaign took part in that timestep's allocation (in the plan,
# neither paused nor removed) and 0 where it was off: an off cell spent 0 because it was off,
# so the learning gives it no weight (a campaign added later has 0 in every row before it joined).
HISTORY_COLUMNS = ("allocated", "spend", "conversions", "revenue", "observed_at", "participated")
_OBSERVED_AT = HISTORY_COLUMNS.index("observed_at")
_PARTICIPATED = HISTORY_COLUMNS.index("participated")
STATE_FORMAT_VERSION = 1
MAX_SEED = 2**63 - 1  # BSON int64
# Decimals of the currency's minor unit budgets are rounded to by default (cents).
DEFAULT_DECIMALS = 2
MAX_DECIMALS = 4  # ISO 4217 minor units go from 0 (JPY) to 4 (CLF)


@dataclass
class Campaign:
    """One arm: an ad campaign and the bounds on the budget it may get per timestep."""

    id: str
    min_budget: float = 0.0
    max_budget: float | None = None  # None = unbounded
    platform: str | None = None  # e.g. "google", "meta": maturity is pooled by platform

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ValueError("campaign id must be a non-empty string")
        if self.platform is not None and (not isinstance(self.platform, str) or not self.platform):
            raise ValueError(f"campaign {self.id!r}: platform must be a non-empty string or null")
        self.min_budget = finite_number(self.min_budget, f"campaign {self.id!r}: min_budget")
        if self.min_budget < 0:
            raise ValueError(f"campaign {self.id!r}: min_budget must be >= 0")
        if self.max_budget is not None:
            self.max_budget = finite_number(self.max_budget, f"campaign {self.id!r}: max_budget")
            if self.max_budget < self.min_budget:
                raise ValueError(
                    f"campaign {self.id!r}: max_budget ({self.max_budget:g}) must be >= "
                    f"min_budget ({self.min_budget:g})"
                )

    def to_dict(self) -> dict:
        """Plain dict for storage."""
        return {
            "id": self.id,
            "min_budget": self.min_budget,
            "max_budget": self.max_budget,
            "platform": self.platform,
        }


def min_budget_excess(min_budgets: list[float], total_budget: float, timesteps: int) -> float:
    """How far the campaigns' minimums overshoot a timestep's budget; 0 when they fit."""
    excess = sum(min_budgets) - total_budget / timesteps
    return excess if excess > total_budget / timesteps * TOLERANCE else 0.0


def finite_number(value: Any, what: str) -> float:
    """Value as a float, or ValueError saying it must be a finite number (``what`` names it)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{what} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return number


def _rng_to_dict(rng: np.random.Generator) -> dict:
    """Bit generator state with every int as a string (PCG64 state is 128-bit)."""
    state = rng.bit_generator.state
    return {
        "bit_generator": state["bit_generator"],
        "state": {key: str(value) for key, value in state["state"].items()},
        "has_uint32": int(state["has_uint32"]),
        "uinteger": str(state["uinteger"]),
    }


def _rng_from_dict(data: dict) -> np.random.Generator:
    """Inverse of _rng_to_dict."""
    if data["bit_generator"] != "PCG64":
        raise ValueError(f"unsupported bit generator {data['bit_generator']!r}")
    bit_generator = np.random.PCG64()
    bit_generator.state = {
        "bit_generator": "PCG64",
        "state": {"state": int(data["state"]["state"]), "inc": int(data["state"]["inc"])},
        "has_uint32": int(data["has_uint32"]),
        "uinteger": int(data["uinteger"]),
    }
    return np.random.Generator(bit_generator)


class State:
    """One plan: what to split, how, what happened so far, and the plan's own random generator.

    History arrays have one row per kept timestep (``history_start`` .. ``timestep`` - 1) and one
    column per campaign. They are read-only views of a buffer that grows by doubling, so
    appending a row is O(n_campaigns). ``AI.update`` folds rows older than the policy's window
    into ``folded`` (discounted sufficient statistics, bounded in size), so the kept history and
    the work per timestep stay bounded however long the plan runs. ``maturity`` holds what the
    plan learnt from restatements about figures that are still incomplete.
    """

    def __init__(
        self,
        *,
        campaigns: list[Campaign],
        total_budget: float,
        timesteps: int,
        objective: str,
        policy: str,
        policy_params: dict,
        step: float,
        seed: int,
        rng: np.random.Generator,
        timestep: int = 0,
        budget_spent: float = 0.0,
        history: np.ndarray | None = None,
        history_start: int = 0,
        allocation: np.ndarray | None = None,
        explanations: list[dict] | None = None,
        allocation_note: str | None = None,
        folded: dict | None = None,
        maturity: Maturity | None = None,
        paused: np.ndarray | None = None,
        locked: np.ndarray | None = None,
        removed: np.ndarray | None = None,
        allocation_participating: np.ndarray | None = None,
        planned_budget: float | None = None,
        planned_campaigns: int | None = None,
        decimals: int = DEFAULT_DECIMALS,
    ) -> None:
        self.campaigns = campaigns
        self.total_budget = total_budget
        self.timesteps = timesteps
        self.objective = objective
        self.policy = policy
        self.policy_params = policy_params
        self.step = step
        self.seed = seed
        self.rng = rng
        self.timestep = timestep
        self.budget_spent = budget_spent
        self.history_start = history_start
        n_campaigns = len(campaigns)
        kept = timestep - history_start
        capacity = max(min(timesteps, 16), kept)
        self._history = np.zeros((len(HISTORY_COLUMNS), capacity, n_campaigns))
        if history is not None:
            self._history[:, :kept] = history
        else:
            self._history[_OBSERVED_AT, :kept] = np.arange(history_start, timestep)[:, None]
            self._history[_PARTICIPATED, :kept] = 1.0
        self.allocation = allocation
        self.explanations = explanations
        self.allocation_note = allocation_note
        self.folded = {} if folded is None else folded
        self.maturity = Maturity(n_campaigns) if maturity is None else maturity
        # Per-campaign constraints of the plan (see ``min_budgets``): paused and removed
        # campaigns get 0, a locked one exactly its lock (NaN: not locked).
        self.paused = _flags(paused, n_campaigns)
        self.removed = _flags(removed, n_campaigns)
        self.locked = (
            np.full(n_campaigns, np.nan)
            if locked is None
            else np.array(locked, dtype=np.float64).reshape(n_campaigns)
        )
        # Which campaigns took part in the stored allocation (None: no allocation stored).
        self.allocation_participating = (
            None
            if allocation_participating is None
            else _flags(allocation_participating, n_campaigns)
        )
        # The units the learnt model is expressed in, fixed when the plan is created so that
        # budget, length and campaign edits leave what was learnt unchanged: the timestep
        # budget and the number of campaigns as first planned.
        self.planned_budget = (
            total_budget / max(timesteps, 1) if planned_budget is None else float(planned_budget)
        )
        self.planned_campaigns = n_campaigns if planned_campaigns is None else planned_campaigns
        self.decimals = _check_decimals(decimals)

    @classmethod
    def create(
        cls,
        campaigns: list[Campaign],
        total_budget: float,
        timesteps: int,
        *,
        objective: str = "conversions",
        policy: str = DEFAULT_POLICY,
        policy_params: dict | None = None,
        step: float = 0.05,
        seed: int | None = None,
        decimals: int = DEFAULT_DECIMALS,
    ) -> State:
        """A fresh plan; raises ValueError saying what to fix for any bad input.

        ``decimals`` is the currency's minor unit (2 for EUR/USD, 0 for JPY): every allocation
        is rounded to it (``rounding.round_budgets``).
        """
        campaigns = [c if isinstance(c, Campaign) else Campaign(**c) for c in campaigns]
        if not campaigns:
            raise ValueError("a plan needs at least one campaign")
        ids = [c.id for c in campaigns]
        if len(set(ids)) != len(ids):
            raise ValueError("campaign ids must be unique")
        total_budget = finite_number(total_budget, "total_budget")
        if total_budget < 0:
            raise ValueError("total_budget must be >= 0")
        if isinstance(timesteps, bool) or not isinstance(timesteps, int | np.integer):
            raise ValueError(f"timesteps must be an integer, got {timesteps!r}")
        if timesteps < 1:
            raise ValueError("timesteps must be >= 1")
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}; got {objective!r}")
        step = finite_number(step, "step")
        if not 0.0 < step <= 1.0:
            raise ValueError(
                f"step must be in (0, 1] (a fraction of the timestep budget); got {step!r}"
            )
        params = get_policy(policy).validate_params(policy_params)
        if min_budget_excess([c.min_budget for c in campaigns], total_budget, timesteps) > 0:
            min_total = sum(c.min_budget for c in campaigns)
            even_budget = total_budget / timesteps
            raise ValueError(
                f"the campaigns' min_budget sum to {min_total:g} per timestep, more than the "
                f"timestep budget {even_budget:g}; lower them or raise total_budget"
            )
        if seed is None:
            seed = secrets.randbits(63)
        if (
            isinstance(seed, bool)
            or not isinstance(seed, int | np.integer)
            or not 0 <= seed <= MAX_SEED
        ):
            raise ValueError(f"seed must be an integer in [0, 2**63 - 1]; got {seed!r}")
        seed = int(seed)
        return cls(
            campaigns=campaigns,
            total_budget=total_budget,
            timesteps=int(timesteps),
            objective=objective,
            policy=policy,
            policy_params=params,
            step=step,
            seed=seed,
            rng=np.random.Generator(np.random.PCG64(seed)),
            decimals=_check_decimals(decimals),
        )

    # ----- derived values -------------------------------------------------------------------

    @property
    def n_campaigns(self) -> int:
        """Number of campaigns (columns of the history)."""
        return len(self.campaigns)

    @property
    def campaign_min_budgets(self) -> np.ndarray:
        """Each campaign's own min budget per timestep (its bounds, ignoring pause and lock)."""
        return np.array([c.min_budget for c in self.campaigns], dtype=np.float64)

    @property
    def campaign_max_budgets(self) -> np.ndarray:
        """Each campaign's own max budget per timestep (inf when unbounded)."""
        return np.array(
            [math.inf if c.max_budget is None else c.max_budget for c in self.campaigns],
            dtype=np.float64,
        )

    @property
    def participating(self) -> np.ndarray:
        """Campaigns that take part in allocations from now on: neither paused nor removed."""
        return ~(self.paused | self.removed)

    @property
    def is_locked(self) -> np.ndarray:
        """Campaigns with a locked budget that take part (a paused lock gets 0)."""
        return ~np.isnan(self.locked) & self.participating

    @property
    def min_budgets(self) -> np.ndarray:
        """Effective min budget per timestep: what every policy and check honours.

        A paused or removed campaign's bounds are [0, 0], a locked one's [lock, lock], so the
        policies keep pauses and locks through ``fit_to_bounds`` without special cases.
        """
        low = np.where(self.is_locked, self.locked, self.campaign_min_budgets)
        return np.where(self.participating, low, 0.0)

    @property
    def max_budgets(self) -> np.ndarray:
        """Effective max budget per timestep (inf when unbounded); see ``min_budgets``."""
        high = np.where(self.is_locked, self.locked, self.campaign_max_budgets)
        return np.where(self.participating, high, 0.0)

    @property
    def must_report(self) -> np.ndarray:
        """Campaigns whose results the open timestep needs before it can close.

        Those that took part in its allocation (as stored; as it would be computed now if none
        is stored). The others (paused, removed, added after it was computed) report nothing:
        their results are taken as 0.
        """
        if self.allocation_participating is not None:
            return self.allocation_participating.copy()
        return self.participating

    @property
    def planned_even_share(self) -> float:
        """An even share of the timestep budget as first planned: the unit priors are set in."""
        return self.planned_budget / max(self.planned_campaigns, 1)

    @property
    def finished(self) -> bool:
        """True once every timestep has been reported."""
        return self.timestep >= self.timesteps

    def timestep_budget(self) -> float:
        """Remaining budget over remaining timesteps, so unspent budget flows forward (>= 0)."""
        if self.finished:
            return 0.0
        remaining = self.total_budget - self.budget_spent
        return max(remaining / (self.timesteps - self.timestep), 0.0)

    @property
    def kept(self) -> int:
        """Number of history rows kept (timesteps history_start .. timestep - 1)."""
        return self.timestep - self.history_start

    @property
    def platforms(self) -> list[str | None]:
        """Each campaign's platform (None when not given)."""
        return [c.platform for c in self.campaigns]

    def _column(self, index: int) -> np.ndarray:
        view = self._history[index, : self.kept]
        view.flags.writeable = False
        return view

    def history_column(self, name: str) -> np.ndarray:
        """The kept rows of one HISTORY_COLUMNS column, shape (kept, n_campaigns), read-only."""
        return self._column(HISTORY_COLUMNS.index(name))

    @property
    def allocated(self) -> np.ndarray:
        """Budgets handed out, shape (kept, n_campaigns)."""
        return self._column(0)

    @property
    def spend(self) -> np.ndarray:
        """Reported spend, shape (kept, n_campaigns)."""
        return self._column(1)

    @property
    def conversions(self) -> np.ndarray:
        """Reported conversions, shape (kept, n_campaigns)."""
        return self._column(2)

    @property
    def revenue(self) -> np.ndarray:
        """Reported revenue (zeros if not reported), shape (kept, n_campaigns)."""
        return self._column(3)

    @property
    def observed_at(self) -> np.ndarray:
        """Plan version at which each kept figure was reported, shape (kept, n_campaigns)."""
        return self._column(_OBSERVED_AT)

    @property
    def participated(self) -> np.ndarray:
        """1 where the campaign took part in the timestep's allocation, else 0 (kept, n)."""
        return self._column(_PARTICIPATED)

    def append_history(self, row: np.ndarray, participated: np.ndarray | None = None) -> None:
        """Append one timestep (allocated, spend, conversions, revenue; shape (4, n)).

        Its observed_at is the timestep itself (age 0); ``participated`` (default: every
        campaign) says which campaigns took part in it. Used by AI.update.
        """
        kept = self.kept
        if kept >= self._history.shape[1]:
            grown = np.zeros(
                (len(HISTORY_COLUMNS), max(2 * self._history.shape[1], 1), self.n_campaigns)
            )
            grown[:, :kept] = self._history[:, :kept]
            self._history = grown
        self._history[:4, kept] = row
        self._history[_OBSERVED_AT, kept] = float(self.timestep)
        self._history[_PARTICIPATED, kept] = 1.0 if participated is None else participated
        self.timestep += 1

    def add_column(self, campaign: Campaign) -> int:
        """Append a campaign as a new column (used by ``AI.add_campaign``); its position.

        Its kept rows say "not in the plan" (participated 0, no figures), its constraints are
        none, its maturity statistics empty. Policies extend their folded statistics.
        """
        n_campaigns = self.n_campaigns
        grown = np.zeros((len(HISTORY_COLUMNS), self._history.shape[1], n_campaigns + 1))
        grown[:, :, :n_campaigns] = self._history
        grown[_OBSERVED_AT, :, n_campaigns] = self.history_start + np.arange(grown.shape[1])
        self._history = grown
        self.campaigns = [*self.campaigns, campaign]
        self.paused = np.append(self.paused, False)
        self.removed = np.append(self.removed, False)
        self.locked = np.append(self.locked, np.nan)
        if self.allocation is not None:
            self.allocation = np.append(self.allocation, 0.0)
        if self.allocation_participating is not None:
            self.allocation_participating = np.append(self.allocation_participating, False)
        if self.explanations is not None:
            keys = self.explanations[0].keys() if self.explanations else ()
            self.explanations = [*self.explanations, dict.fromkeys(keys)]
        self.maturity = self.maturity.with_campaign()
        return n_campaigns

    def set_cells(
        self, timestep: int, indices: np.ndarray, rows: np.ndarray, observed_at: int
    ) -> None:
        """Overwrite spend, conversions, revenue (rows: (3, len(indices))) of one kept timestep."""
        position = timestep - self.history_start
        if not 0 <= position < self.kept:
            raise ValueError(f"timestep {timestep} is not in the kept history")
        self._history[1:4, position, indices] = rows
        self._history[4, position, indices] = float(observed_at)

    def load_prior(self, rows: np.ndarray) -> None:
        """Rows (HISTORY_COLUMNS, B, n) from before a fresh plan as timesteps -B .. -1."""
        if self.timestep != 0 or self.kept != 0:
            raise ValueError("prior rows can only be loaded before the plan's first timestep")
        self._history = np.zeros((len(HISTORY_COLUMNS), rows.shape[1] + 16, self.n_campaigns))
        self._history[:, : rows.shape[1]] = rows
        self.history_start = -rows.shape[1]

    def drop_oldest(self, count: int) -> None:
        """Forget the oldest ``count`` kept rows (the caller folded them first)."""
        count = min(count, self.kept)
        if count <= 0:
            return
        kept = self.kept
        self._history[:, : kept - count] = self._history[:, count:kept].copy()
        self.history_start += count

    # ----- serialization --------------------------------------------------------------------

    def to_dict(self, *, history: bool = True) -> dict:
        """Plain JSON/BSON-safe dict: str, float, int < 2**63, bool, None, list, dict only.

        History is one list of rows (lists of floats) per HISTORY_COLUMNS column, not a dict per
        cell: the kept rows, timesteps ``history_start`` .. ``timestep`` - 1. ``history=False``
        leaves it out (``{}``), for a caller that stores the columns its own way.
        """
        return {
            "version": STATE_FORMAT_VERSION,
            "campaigns": [c.to_dict() for c in self.campaigns],
            "total_budget": self.total_budget,
            "timesteps": self.timesteps,
            "objective": self.objective,
            "policy": self.policy,
            "policy_params": dict(self.policy_params),
            "step": self.step,
            "seed": self.seed,
            "timestep": self.timestep,
            "budget_spent": self.budget_spent,
            "history_start": self.history_start,
            "history": {
                name: self._history[index, : self.kept].tolist()
                for index, name in enumerate(HISTORY_COLUMNS)
                if history
            },
            "folded": _plain(self.folded),
            "maturity": self.maturity.to_dict(),
            "allocation": None if self.allocation is None else self.allocation.tolist(),
            "explanations": (
                None if self.explanations is None else [dict(e) for e in self.explanations]
            ),
            "allocation_note": self.allocation_note,
            "allocation_participating": (
                None
                if self.allocation_participating is None
                else self.allocation_participating.tolist()
            ),
            "paused": self.paused.tolist(),
            "removed": self.removed.tolist(),
            "locked": [None if math.isnan(value) else value for value in self.locked.tolist()],
            "planned_budget": self.planned_budget,
            "planned_campaigns": self.planned_campaigns,
            "decimals": self.decimals,
            "rng": _rng_to_dict(self.rng),
        }

    @classmethod
    def from_dict(cls, data: dict) -> State:
        """Exact inverse of to_dict (the random generator continues where it stopped).

        States saved before restatements existed (no observed_at, history_start, folded or
        maturity) load as plans whose every figure was reported at its own timestep; states
        saved before plans could change (no participated, paused, locked, removed, planned_*,
        decimals) as plans whose campaigns all took part, unconstrained, in cents, in the units
        their budget and campaigns give.
        """
        if data.get("version") != STATE_FORMAT_VERSION:
            raise ValueError(f"unsupported state format version {data.get('version')!r}")
        campaigns = [Campaign(**c) for c in data["campaigns"]]
        timestep = int(data["timestep"])
        history_start = int(data.get("history_start", 0))
        shape = (timestep - history_start, len(campaigns))
        columns = []
        for name in HISTORY_COLUMNS:
            if name == "observed_at" and name not in data["history"]:
                column = np.broadcast_to(
                    np.arange(history_start, timestep, dtype=np.float64)[:, None], shape
                )
            elif name == "participated" and name not in data["history"]:
                column = np.ones(shape)
            else:
                column = np.asarray(data["history"][name], dtype=np.float64).reshape(shape)
            columns.append(column)
        allocation = data.get("allocation")
        return cls(
            campaigns=campaigns,
            total_budget=float(data["total_budget"]),
            timesteps=int(data["timesteps"]),
            objective=data["objective"],
            policy=data["policy"],
            # Validated when the plan was created; the policy checks them again when built.
            policy_params=dict(data["policy_params"]),
            step=float(data["step"]),
            seed=int(data["seed"]),
            rng=_rng_from_dict(data["rng"]),
            timestep=timestep,
            budget_spent=float(data["budget_spent"]),
            history=np.array(columns),
            history_start=history_start,
            allocation=None if allocation is None else np.asarray(allocation, dtype=np.float64),
            explanations=(
                None
                if data.get("explanations") is None
                else [dict(e) for e in data["explanations"]]
            ),
            allocation_note=data.get("allocation_note"),
            folded=_plain(data.get("folded") or {}),
            maturity=Maturity.from_dict(data.get("maturity"), len(campaigns)),
            paused=data.get("paused"),
            removed=data.get("removed"),
            locked=None
            if data.get("locked") is None
            else np.array(
                [math.nan if value is None else value for value in data["locked"]],
                dtype=np.float64,
            ),
            allocation_participating=data.get("allocation_participating"),
            planned_budget=data.get("planned_budget"),
            planned_campaigns=data.get("planned_campaigns"),
            decimals=int(data.get("decimals", DEFAULT_DECIMALS)),
        )


def _flags(values: Any, n_campaigns: int) -> np.ndarray:
    """A bool array of one flag per campaign (all False when not given)."""
    if values is None:
        return np.zeros(n_campaigns, dtype=bool)
    return np.array(values, dtype=bool).reshape(n_campaigns)


def _check_decimals(decimals: Any) -> int:
    """The currency's minor unit as an int, or ValueError saying what it must be."""
    if (
        isinstance(decimals, bool)
        or not isinstance(decimals, int | np.integer)
        or not 0 <= decimals <= MAX_DECIMALS
    ):
        raise ValueError(f"decimals must be an integer in [0, {MAX_DECIMALS}]; got {decimals!r}")
    return int(decimals)


def _plain(value: Any) -> Any:
    """A deep copy of nested dicts/lists of plain values (numpy arrays become lists)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        if all(type(item) is float for item in value):
            return list(value)  # the folded sums: a row of floats copies in one step
        return [_plain(item) for item in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value
