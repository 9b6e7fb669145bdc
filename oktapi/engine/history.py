"""A plan's kept history: one row per kept timestep and column per campaign, in one buffer.

``State`` inherits these accessors and edits (``HistoryColumns``); what a row holds is
``HISTORY_COLUMNS``.
"""

from __future__ import annotations

import numpy as np

# Every per-timestep array column of the kept history. observed_at is the plan version at which
# the row's figures were reported (its timestep when first reported, later when restated);
# participated is 1 where the campaign took part in that timestep's allocation (in the plan,
# neither paused nor removed) and 0 where it was off: an off cell spent 0 because it was off,
# so the learning gives it no weight (a campaign added later has 0 in every row before it joined).
HISTORY_COLUMNS = ("allocated", "spend", "conversions", "revenue", "observed_at", "participated")
OBSERVED_AT = HISTORY_COLUMNS.index("observed_at")
PARTICIPATED = HISTORY_COLUMNS.index("participated")


def history_buffer(
    history: np.ndarray | None,
    history_start: int,
    timestep: int,
    timesteps: int,
    n_campaigns: int,
) -> np.ndarray:
    """The buffer (HISTORY_COLUMNS, capacity, n_campaigns) holding the kept rows.

    ``history`` (None: rows of a plan whose every figure was reported at its own timestep, by
    every campaign) fills timesteps ``history_start`` .. ``timestep`` - 1; room for more rows
    follows (at least 16, or the plan's length).
    """
    kept = timestep - history_start
    capacity = max(min(timesteps, 16), kept)
    buffer = np.zeros((len(HISTORY_COLUMNS), capacity, n_campaigns))
    if history is not None:
        buffer[:, :kept] = history
    else:
        buffer[OBSERVED_AT, :kept] = np.arange(history_start, timestep)[:, None]
        buffer[PARTICIPATED, :kept] = 1.0
    return buffer


class HistoryColumns:
    """The kept rows (timesteps ``history_start`` .. ``timestep`` - 1) as read-only views.

    The rows live in ``_history``, a buffer that grows by doubling, so appending a row is
    O(n_campaigns).
    """

    _history: np.ndarray
    timestep: int
    history_start: int

    @property
    def kept(self) -> int:
        """Number of history rows kept (timesteps history_start .. timestep - 1)."""
        return self.timestep - self.history_start

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
        return self._column(OBSERVED_AT)

    @property
    def participated(self) -> np.ndarray:
        """1 where the campaign took part in the timestep's allocation, else 0 (kept, n)."""
        return self._column(PARTICIPATED)

    def history_rows(self) -> dict[str, list]:
        """The kept rows as plain lists, one list of rows per HISTORY_COLUMNS column."""
        return {
            name: self._history[index, : self.kept].tolist()
            for index, name in enumerate(HISTORY_COLUMNS)
        }

    def append_history(self, row: np.ndarray, participated: np.ndarray | None = None) -> None:
        """Append one timestep (allocated, spend, conversions, revenue; shape (4, n)).

        Its observed_at is the timestep itself (age 0); ``participated`` (default: every
        campaign) says which campaigns took part in it. Used by AI.update.
        """
        kept = self.kept
        if kept >= self._history.shape[1]:
            grown = np.zeros(
                (len(HISTORY_COLUMNS), max(2 * self._history.shape[1], 1), self._history.shape[2])
            )
            grown[:, :kept] = self._history[:, :kept]
            self._history = grown
        self._history[:4, kept] = row
        self._history[OBSERVED_AT, kept] = float(self.timestep)
        self._history[PARTICIPATED, kept] = 1.0 if participated is None else participated
        self.timestep += 1

    def add_history_column(self) -> None:
        """One more campaign column: its rows say "not in the plan" (participated 0, no
        figures; observed_at the row's own timestep)."""
        n_campaigns = self._history.shape[2]
        grown = np.zeros((len(HISTORY_COLUMNS), self._history.shape[1], n_campaigns + 1))
        grown[:, :, :n_campaigns] = self._history
        grown[OBSERVED_AT, :, n_campaigns] = self.history_start + np.arange(grown.shape[1])
        self._history = grown

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
        self._history = np.zeros((len(HISTORY_COLUMNS), rows.shape[1] + 16, self._history.shape[2]))
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
