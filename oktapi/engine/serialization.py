"""A ``State`` as a plain JSON/BSON dict and back, its random generator included.

``State.to_dict`` and ``State.from_dict`` are the entry points; this module holds their work:
the document's fields, the random generator's codec and the deep copy of the folded sums.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from oktapi.engine.campaign import DEFAULT_DECIMALS, Campaign
from oktapi.engine.history import HISTORY_COLUMNS
from oktapi.engine.maturity import Maturity

if TYPE_CHECKING:
    from oktapi.engine.state import State

STATE_FORMAT_VERSION = 1


def state_to_dict(state: State, *, history: bool = True) -> dict:
    """Plain JSON/BSON-safe dict: str, float, int < 2**63, bool, None, list, dict only.

    History is one list of rows (lists of floats) per HISTORY_COLUMNS column, not a dict per
    cell: the kept rows, timesteps ``history_start`` .. ``timestep`` - 1. ``history=False``
    leaves it out (``{}``), for a caller that stores the columns its own way.
    """
    return {
        "version": STATE_FORMAT_VERSION,
        "campaigns": [c.to_dict() for c in state.campaigns],
        "total_budget": state.total_budget,
        "timesteps": state.timesteps,
        "objective": state.objective,
        "policy": state.policy,
        "policy_params": dict(state.policy_params),
        "step": state.step,
        "seed": state.seed,
        "timestep": state.timestep,
        "budget_spent": state.budget_spent,
        "history_start": state.history_start,
        "history": state.history_rows() if history else {},
        "folded": plain(state.folded),
        "maturity": state.maturity.to_dict(),
        "allocation": None if state.allocation is None else state.allocation.tolist(),
        "explanations": (
            None if state.explanations is None else [dict(e) for e in state.explanations]
        ),
        "allocation_note": state.allocation_note,
        "allocation_participating": (
            None
            if state.allocation_participating is None
            else state.allocation_participating.tolist()
        ),
        "paused": state.paused.tolist(),
        "removed": state.removed.tolist(),
        "locked": [None if math.isnan(value) else value for value in state.locked.tolist()],
        "planned_budget": state.planned_budget,
        "planned_campaigns": state.planned_campaigns,
        "decimals": state.decimals,
        "rng": rng_to_dict(state.rng),
    }


def state_arguments(data: dict) -> dict[str, Any]:
    """The ``State`` constructor's arguments from a ``state_to_dict`` document.

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
    return {
        "campaigns": campaigns,
        "total_budget": float(data["total_budget"]),
        "timesteps": int(data["timesteps"]),
        "objective": data["objective"],
        "policy": data["policy"],
        # Validated when the plan was created; the policy checks them again when built.
        "policy_params": dict(data["policy_params"]),
        "step": float(data["step"]),
        "seed": int(data["seed"]),
        "rng": rng_from_dict(data["rng"]),
        "timestep": timestep,
        "budget_spent": float(data["budget_spent"]),
        "history": np.array(columns),
        "history_start": history_start,
        "allocation": None if allocation is None else np.asarray(allocation, dtype=np.float64),
        "explanations": (
            None if data.get("explanations") is None else [dict(e) for e in data["explanations"]]
        ),
        "allocation_note": data.get("allocation_note"),
        "folded": plain(data.get("folded") or {}),
        "maturity": Maturity.from_dict(data.get("maturity"), len(campaigns)),
        "paused": data.get("paused"),
        "removed": data.get("removed"),
        "locked": None
        if data.get("locked") is None
        else np.array(
            [math.nan if value is None else value for value in data["locked"]],
            dtype=np.float64,
        ),
        "allocation_participating": data.get("allocation_participating"),
        "planned_budget": data.get("planned_budget"),
        "planned_campaigns": data.get("planned_campaigns"),
        "decimals": int(data.get("decimals", DEFAULT_DECIMALS)),
    }


def rng_to_dict(rng: np.random.Generator) -> dict:
    """Bit generator state with every int as a string (PCG64 state is 128-bit)."""
    state = rng.bit_generator.state
    return {
        "bit_generator": state["bit_generator"],
        "state": {key: str(value) for key, value in state["state"].items()},
        "has_uint32": int(state["has_uint32"]),
        "uinteger": str(state["uinteger"]),
    }


def rng_from_dict(data: dict) -> np.random.Generator:
    """Inverse of rng_to_dict."""
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


def plain(value: Any) -> Any:
    """A deep copy of nested dicts/lists of plain values (numpy arrays become lists)."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        if all(type(item) is float for item in value):
            return list(value)  # the folded sums: a row of floats copies in one step
        return [plain(item) for item in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value
