"""One way the bench spreads runs over worker processes."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from typing import TypeVar

Task = TypeVar("Task")
Outcome = TypeVar("Outcome")


def fork_map(
    worker: Callable[[Task], Outcome], tasks: Sequence[Task], jobs: int, chunksize: int = 1
) -> list[Outcome]:
    """worker(task) for every task, in task order: in a fork pool when jobs > 1 (the workers
    inherit the caches this process filled, e.g. the oracles), else here, one after another."""
    if jobs > 1:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            return pool.map(worker, tasks, chunksize=chunksize)
    return [worker(task) for task in tasks]
