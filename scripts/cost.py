"""What a post costs early and late in a long plan, and what a history page costs there.

Two 2,500-timestep x 10-campaign plans on the embedded store (a fresh temporary data
directory) driven through the in-process API (FastAPI TestClient): one to timestep 2,400, one to
20; then their posts are timed in turn (timesteps 20..39 and 2,400..2,419, p50 of each), so a
burst of load on the machine hits both alike; then 50-entry history pages near the end of the
long plan and a few plan reads. With ``--restate N`` every morning also restates the last N closed timesteps (PUT)
before posting the open one, as a client whose platforms report late would.

    .venv/bin/python scripts/cost.py               # or: make bench-cost
    .venv/bin/python scripts/cost.py --restate 7   # the morning routine with restatements

Bars (issue 12): a late post at most 1.5x an early one; a history page under 50 ms.
"""

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CAMPAIGNS = 10
TIMESTEPS = 2_500
EARLY, LATE, WINDOW = 20, 2_400, 20
PAGE = 50
SECRET = "cost-script-secret-key-that-is-long-enough-0123456789"


def _report(allocation: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    return {
        "timestep": allocation["timestep"],
        "results": [
            {
                "campaign_id": item["campaign_id"],
                "spend": round(item["budget"] * rng.uniform(0.85, 1.0), 2),
                "conversions": float(rng.poisson(item["budget"] / 40.0)),
                "revenue": round(float(rng.gamma(4.0, 10.0)), 2),
            }
            for item in allocation["allocations"]
        ],
    }


def _p50(durations: list[float]) -> float:
    return statistics.median(durations) * 1000.0


class Driver:
    """One plan and the figures sent for it (the morning routine restates the recent ones)."""

    def __init__(
        self, client: Any, headers: dict[str, str], client_id: str, ids: list[str], seed: int
    ):
        response = client.post(
            f"/clients/{client_id}/plans",
            json={
                "campaign_ids": ids,
                "total_budget": 1000.0 * TIMESTEPS,
                "timesteps": TIMESTEPS,
                "seed": seed,
            },
            headers=headers,
        )
        response.raise_for_status()
        plan = response.json()
        self.client, self.headers = client, headers
        self.plan_id = plan["id"]
        self.url = f"/plans/{plan['id']}/results"
        self.allocation = plan["allocation"]
        self.rng = np.random.default_rng(seed)
        self.sent: dict[int, dict[str, Any]] = {}

    def day(self, restate: int, restatements: list[float]) -> float:
        """Restate the last ``restate`` closed timesteps, then post the open one; the post's time."""
        timestep = self.allocation["timestep"]
        for back in range(max(0, timestep - restate), timestep):
            grown = [
                {**row, "conversions": row["conversions"] * 1.02 + 0.25}
                for row in self.sent[back]["results"]
            ]
            self.sent[back] = {**self.sent[back], "results": grown}
            started = time.perf_counter()
            answer = self.client.put(
                f"{self.url}/{back}", json={"results": grown}, headers=self.headers
            )
            restatements.append(time.perf_counter() - started)
            answer.raise_for_status()
        report = _report(self.allocation, self.rng)
        self.sent[timestep] = report
        self.sent.pop(timestep - restate - 1, None)
        started = time.perf_counter()
        answer = self.client.post(self.url, json=report, headers=self.headers)
        elapsed = time.perf_counter() - started
        answer.raise_for_status()
        self.allocation = answer.json()
        return elapsed


def run(client: Any, headers: dict[str, str], restate: int, seed: int) -> dict[str, float]:
    """Two plans over the same campaigns: one driven to timestep 2,400, one to 20; then their
    posts are timed in turn, so both windows see the same machine load."""
    client_id = client.post("/clients", json={"name": "Cost"}, headers=headers).json()["id"]
    campaign_ids = [
        client.post(
            f"/clients/{client_id}/campaigns", json={"name": f"Campaign {i}"}, headers=headers
        ).json()["id"]
        for i in range(CAMPAIGNS)
    ]
    late = Driver(client, headers, client_id, campaign_ids, seed)
    early = Driver(client, headers, client_id, campaign_ids, seed + 1)
    untimed: list[float] = []
    started_all = time.perf_counter()
    for timestep in range(LATE):
        late.day(restate, untimed)
        if timestep % 500 == 0:
            print(f"  timestep {timestep} ({time.perf_counter() - started_all:.0f} s)", flush=True)
    for _ in range(EARLY):
        early.day(restate, untimed)
    posts: dict[str, list[float]] = {"early": [], "late": []}
    restatements: list[float] = []
    for _ in range(WINDOW):
        posts["early"].append(early.day(restate, []))
        posts["late"].append(late.day(restate, restatements))
    pages, reads = [], []
    for index in range(WINDOW):
        started = time.perf_counter()
        page = client.get(
            f"/plans/{late.plan_id}/history",
            params={"offset": LATE - PAGE - index, "limit": PAGE},
            headers=headers,
        )
        pages.append(time.perf_counter() - started)
        page.raise_for_status()
        assert len(page.json()["entries"]) == PAGE
        started = time.perf_counter()
        client.get(f"/plans/{late.plan_id}", headers=headers).raise_for_status()
        reads.append(time.perf_counter() - started)
    figures = {
        "post_early_p50_ms": _p50(posts["early"]),
        "post_late_p50_ms": _p50(posts["late"]),
        "history_page_p50_ms": _p50(pages),
        "plan_read_p50_ms": _p50(reads),
    }
    if restatements:
        figures["restatement_p50_ms"] = _p50(restatements)
    return figures


@contextlib.contextmanager
def admin_client() -> Iterator[tuple[Any, dict[str, str]]]:
    """The in-process API on a fresh embedded store, and an admin's headers."""
    with tempfile.TemporaryDirectory(prefix="oktopus-cost-") as tmp:
        os.environ.update(
            OKTOPUS_DATA_DIR=str(Path(tmp) / "data"),
            OKTOPUS_SECRET_KEY=SECRET,
            OKTOPUS_LOG_LEVEL="WARNING",
        )
        from fastapi.testclient import TestClient

        from oktapi.app import create_app
        from oktapi.security import create_access_token
        from oktapi.settings import Settings

        settings = Settings(_env_file=None)
        with TestClient(create_app(settings)) as client:
            db = client.app.state.storage.db
            db["users"].insert_one(
                {
                    "_id": "cost-admin",
                    "username": "cost-admin",
                    "password_hash": "!",
                    "role": "admin",
                    "client_ids": [],
                    "disabled": False,
                    "token_version": 0,
                }
            )
            token = create_access_token(
                subject="cost-admin", token_version=0, secret=settings.signing_key, minutes=600
            )
            yield client, {"Authorization": f"Bearer {token}"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--restate", type=int, default=0, help="closed timesteps restated daily")
    parser.add_argument("--seed", type=int, default=7)
    arguments = parser.parse_args()
    with admin_client() as (client, headers):
        figures = run(client, headers, arguments.restate, arguments.seed)
    ratio = figures["post_late_p50_ms"] / figures["post_early_p50_ms"]
    print(
        f"{TIMESTEPS} x {CAMPAIGNS} plan, embedded store, in-process API, restating the last "
        f"{arguments.restate} timesteps daily (load average {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} CPUs)"
    )
    print(
        f"post p50 at timestep {EARLY}: {figures['post_early_p50_ms']:.1f} ms; at {LATE}: "
        f"{figures['post_late_p50_ms']:.1f} ms (x{ratio:.2f}; bar x1.5)"
    )
    print(f"history page of {PAGE} p50: {figures['history_page_p50_ms']:.1f} ms (bar 50 ms)")
    print(f"GET /plans/{{id}} p50: {figures['plan_read_p50_ms']:.1f} ms")
    if "restatement_p50_ms" in figures:
        print(f"PUT restatement p50: {figures['restatement_p50_ms']:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
