"""The engine state as stored in a plan document: the one place that packs and unpacks it.

Every reader and writer of ``plan["state"]`` goes through ``stored_state`` / ``load_state``.
Nested lists cost one BSON element per number on every read and write of the plan; packed, each
history column is one string (exact float64, base64) whatever its length.
"""

import base64
from typing import Any

import numpy as np

from oktapi.engine import State
from oktapi.engine.state import HISTORY_COLUMNS

HISTORY_ENCODING = "float64-base64"


def _pack(column: Any) -> str:
    array = np.ascontiguousarray(np.asarray(column, dtype=np.float64))
    return base64.b64encode(array.tobytes()).decode("ascii")


def stored_state(state: State) -> dict[str, Any]:
    """The engine state as stored: every history column packed into one string (from the
    state's arrays; the history is never turned into lists on the way)."""
    document = state.to_dict(history=False)
    packed: dict[str, Any] = {name: _pack(getattr(state, name)) for name in HISTORY_COLUMNS}
    document["history"] = {**packed, "encoding": HISTORY_ENCODING}
    return document


def load_state(document: dict[str, Any]) -> State:
    """Inverse of stored_state (plain nested lists are read as well)."""
    history = document["history"]
    if history.get("encoding") == HISTORY_ENCODING:
        n_campaigns = len(document["campaigns"])
        unpacked = {key: value for key, value in history.items() if key != "encoding"}
        for name in HISTORY_COLUMNS:
            if name in history:
                column = np.frombuffer(base64.b64decode(history[name]), dtype=np.float64)
                unpacked[name] = column.reshape(-1, n_campaigns)
        document = {**document, "history": unpacked}
    return State.from_dict(document)
