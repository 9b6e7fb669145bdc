"""Login flood: what 60 concurrent password guesses cost a real server, and whether /health stays fast.

Starts the service as `make run` does (scripts/service_process.py) on a temporary data
directory, logs in once so everything is loaded, then fires ATTEMPTS wrong-password logins at
once, each for a new username (so the per-username limit never applies), spread over ADDRESSES
loopback source addresses (127.0.0.2, 127.0.0.3, ...; one address is what one attacker's
machine looks like, many is a botnet). Meanwhile a second client asks GET /health every 50 ms.

Prints the server's idle resident memory, its peak during the flood (Linux: VmHWM after
resetting it through /proc/PID/clear_refs), the answers the flood got, and /health's latency.

    .venv/bin/python scripts/login_flood.py [--attempts 60] [--addresses 1] [--rounds 1]
"""

import argparse
import json
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.service_process import ServiceProcess

HEALTH_EVERY_SECONDS = 0.05
REQUEST_TIMEOUT_SECONDS = 120.0


def memory_kib(pid: int, field: str) -> int:
    """One `VmRSS`/`VmHWM` line of /proc/PID/status, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


def reset_peak(pid: int) -> None:
    """Make VmHWM start again from the current resident size (Linux 4.0+)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def flood(base_url: str, attempts: int, addresses: int, round_index: int) -> Counter:
    """`attempts` logins released together; returns how many got each status (or error)."""
    start = threading.Barrier(attempts)
    statuses: Counter = Counter()
    lock = threading.Lock()

    def attempt(index: int) -> None:
        source = f"127.0.0.{2 + index % addresses}"
        transport = httpx.HTTPTransport(local_address=source)
        with httpx.Client(
            base_url=base_url, transport=transport, timeout=REQUEST_TIMEOUT_SECONDS
        ) as http:
            start.wait()
            try:
                answer = http.post(
                    "/auth/token",
                    data={
                        "username": f"ghost-{round_index}-{index}",
                        "password": secrets.token_urlsafe(12),
                    },
                )
                outcome = str(answer.status_code)
            except httpx.HTTPError as error:
                outcome = type(error).__name__
        with lock:
            statuses[outcome] += 1

    threads = [threading.Thread(target=attempt, args=(index,)) for index in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def watch_health(base_url: str, stop: threading.Event, latencies: list[float]) -> None:
    with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_SECONDS) as http:
        while not stop.is_set():
            started = time.perf_counter()
            answer = http.get("/health")
            latencies.append(time.perf_counter() - started)
            if answer.status_code != 200:
                latencies.append(float("inf"))
            stop.wait(HEALTH_EVERY_SECONDS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=60)
    parser.add_argument("--addresses", type=int, default=1, help="loopback source addresses")
    parser.add_argument("--rounds", type=int, default=1, help="floods one after another")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    arguments = parser.parse_args()
    if not 1 <= arguments.addresses <= 250:
        parser.error("--addresses must be between 1 and 250")

    admin_password = secrets.token_urlsafe(18)
    with tempfile.TemporaryDirectory(prefix="oktopus-flood-") as scratch:
        service = ServiceProcess(
            Path(scratch) / "data",
            admin_password=admin_password,
            secret_key=secrets.token_urlsafe(48),
        )
        service.initialize()
        with service:
            service.start()
            warm = httpx.post(
                f"{service.base_url}/auth/token",
                data={"username": "admin", "password": admin_password},
                timeout=REQUEST_TIMEOUT_SECONDS,
            )
            assert warm.status_code == 200, warm.text
            time.sleep(1.0)
            idle_kib = memory_kib(service.pid, "VmRSS")
            reset_peak(service.pid)

            stop = threading.Event()
            latencies: list[float] = []
            watcher = threading.Thread(
                target=watch_health, args=(service.base_url, stop, latencies)
            )
            watcher.start()
            started = time.perf_counter()
            statuses: Counter = Counter()
            for round_index in range(arguments.rounds):
                statuses += flood(
                    service.base_url, arguments.attempts, arguments.addresses, round_index
                )
            flood_seconds = time.perf_counter() - started
            stop.set()
            watcher.join()
            peak_kib = memory_kib(service.pid, "VmHWM")

    failed_health = sum(1 for latency in latencies if latency == float("inf"))
    timed = sorted(latency for latency in latencies if latency != float("inf"))
    figures = {
        "attempts": arguments.attempts * arguments.rounds,
        "addresses": arguments.addresses,
        "answers": dict(sorted(statuses.items())),
        "flood_seconds": round(flood_seconds, 2),
        "idle_rss_mib": round(idle_kib / 1024, 1),
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "peak_delta_mib": round((peak_kib - idle_kib) / 1024, 1),
        "health_checks": len(timed),
        "health_not_200": failed_health,
        "health_p50_ms": round(statistics.median(timed) * 1000, 1) if timed else None,
        "health_max_ms": round(timed[-1] * 1000, 1) if timed else None,
    }
    if arguments.json:
        print(json.dumps(figures))
    else:
        for name, value in figures.items():
            print(f"{name:>16}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
