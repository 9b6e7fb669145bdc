"""Latency of the loop a daily script runs: post a timestep's results, receive the next allocation.

A 10-campaign plan on the embedded store (a fresh temporary data directory) is driven to
timestep 30, then N more round trips are timed; p50/p95/max are printed. Loopback only, bounded.

    .venv/bin/python scripts/latency.py                   # in-process (FastAPI TestClient)
    .venv/bin/python scripts/latency.py --server uvicorn  # real HTTP to a uvicorn subprocess
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CAMPAIGNS = 10
WARM_UP_TIMESTEPS = 30
ADMIN_PASSWORD = "latency-check-password-0123"
SECRET = "latency-script-secret-key-that-is-long-enough-0123456789"


def _report(allocation: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """What the platforms delivered: most of the budget spent, Poisson conversions."""
    return {
        "timestep": allocation["timestep"],
        "results": [
            {
                "campaign_id": item["campaign_id"],
                "spend": round(item["budget"] * rng.uniform(0.85, 1.0), 2),
                "conversions": int(rng.poisson(item["budget"] / 40.0)),
                "revenue": round(float(rng.gamma(4.0, 10.0)), 2),
                "clicks": int(rng.integers(100, 1000)),
            }
            for item in allocation["allocations"]
        ],
    }


def _environment(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKTOPUS_")}
    env.update(
        OKTOPUS_DATA_DIR=str(data_dir),
        OKTOPUS_SECRET_KEY=SECRET,
        OKTOPUS_ADMIN_USERNAME="admin",
        OKTOPUS_ADMIN_PASSWORD=ADMIN_PASSWORD,
        OKTOPUS_LOG_LEVEL="WARNING",
    )
    return env


def run(client: Any, posts: int, policy: str | None, seed: int) -> dict[str, Any]:
    """Set up a client, 10 campaigns and a plan over the API, then time the loop."""
    token = client.post(
        "/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    client_id = client.post("/clients", json={"name": "Latency"}, headers=headers).json()["id"]
    campaign_ids = [
        client.post(
            f"/clients/{client_id}/campaigns", json={"name": f"Campaign {i}"}, headers=headers
        ).json()["id"]
        for i in range(CAMPAIGNS)
    ]
    timesteps = WARM_UP_TIMESTEPS + posts
    body: dict[str, Any] = {
        "campaign_ids": campaign_ids,
        "total_budget": 1000.0 * timesteps,
        "timesteps": timesteps,
        "seed": seed,
    }
    if policy:
        body["policy"] = policy
    response = client.post(f"/clients/{client_id}/plans", json=body, headers=headers)
    response.raise_for_status()
    plan = response.json()
    rng = np.random.default_rng(seed)
    allocation = plan["allocation"]
    url = f"/plans/{plan['id']}/results"
    for _ in range(WARM_UP_TIMESTEPS):
        allocation = client.post(url, json=_report(allocation, rng), headers=headers).json()
    durations = []
    for _ in range(posts - 1):  # the last timestep answers the finished plan, not an allocation
        report = _report(allocation, rng)
        started = time.perf_counter()
        response = client.post(url, json=report, headers=headers)
        durations.append(time.perf_counter() - started)
        response.raise_for_status()
        allocation = response.json()
        assert allocation["timestep"] == report["timestep"] + 1, allocation
    return {"policy": plan["policy"], "durations_ms": np.array(durations) * 1000.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=201, help="timed round trips + 1 (>= 2)")
    parser.add_argument("--server", choices=["testclient", "uvicorn"], default="testclient")
    parser.add_argument("--policy", default=None, help="default: the project's default policy")
    parser.add_argument("--seed", type=int, default=7)
    arguments = parser.parse_args()
    posts = max(2, min(arguments.posts, 5000))

    with tempfile.TemporaryDirectory(prefix="oktopus-latency-") as tmp:
        data_dir = Path(tmp) / "data"
        env = _environment(data_dir)
        init = subprocess.run(
            [sys.executable, "initialize.py"], cwd=ROOT, env=env, capture_output=True, text=True
        )
        if init.returncode != 0:
            print(init.stdout, init.stderr, file=sys.stderr)
            return 1
        if arguments.server == "uvicorn":
            from scripts.service_process import free_port

            port = free_port()
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "fast:app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--log-level",
                    "warning",
                ],
                cwd=ROOT,
                env=env,
            )
            try:
                with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                    for _ in range(200):
                        try:
                            client.get("/health")
                            break
                        except httpx.TransportError:
                            time.sleep(0.05)
                    outcome = run(client, posts, arguments.policy, arguments.seed)
            finally:
                server.terminate()
                server.wait(timeout=10)
        else:
            os.environ.update(env)
            from fastapi.testclient import TestClient

            from oktapi.app import create_app
            from oktapi.settings import Settings

            with TestClient(create_app(Settings(_env_file=None))) as client:
                outcome = run(client, posts, arguments.policy, arguments.seed)

    durations = outcome["durations_ms"]
    p50, p95 = np.percentile(durations, [50, 95])
    print(
        f"POST /plans/{{id}}/results -> next allocation, {CAMPAIGNS} campaigns, embedded store, "
        f"{arguments.server}, policy {outcome['policy']}: {len(durations)} round trips from "
        f"timestep {WARM_UP_TIMESTEPS} to {WARM_UP_TIMESTEPS + len(durations)}"
    )
    print(
        f"p50 {p50:.1f} ms  p95 {p95:.1f} ms  max {durations.max():.1f} ms  "
        f"mean {statistics.fmean(durations):.1f} ms  "
        f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
