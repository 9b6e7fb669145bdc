"""The concurrency tests' one way of racing requests: each call in its own thread, released at
the same moment so they meet inside the service."""

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

# A thread that never reaches the start (or never returns) fails the test instead of hanging it.
WAIT_SECONDS = 120


def together(*calls: Callable[[], Any], stagger: float = 0.0) -> list[Any]:
    """Every call's result, in order. With ``stagger``, the first call starts at the release and
    the others ``stagger`` seconds after it (all at once)."""
    start = threading.Barrier(len(calls), timeout=WAIT_SECONDS)

    def run(index: int) -> Any:
        start.wait()
        if index and stagger:
            time.sleep(stagger)
        return calls[index]()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(run, index) for index in range(len(calls))]
        return [future.result(timeout=WAIT_SECONDS) for future in futures]


def send_together(send: Callable[..., Any], url: str, bodies: list[dict], headers: dict) -> list:
    """``send(url, json=body, headers=headers)`` (a client's post or put) for every body at once."""
    return together(*[lambda body=body: send(url, json=body, headers=headers) for body in bodies])
