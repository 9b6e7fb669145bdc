"""Load check: 20 dashboards drive 20 plans at once through a real server, then every plan is audited.

The service starts exactly as `make run` starts it (initialize.py, then oktapi.serve) on a
temporary data directory and a free loopback port. Each of 20 concurrent clients (asyncio +
httpx) logs in as its own manager, creates a client, 5 campaigns and a 30-timestep plan, then
for each timestep reads the allocation and posts simulated results (every 10th post is sent
twice, as a retrying script would). Bounded: at most MAX_REQUESTS requests and DEADLINE_SECONDS.

Afterwards every plan's history is checked: each timestep stored once with exactly the results
that were acknowledged, budget_spent equal to the reported spend, every allocation within its
timestep budget and campaign bounds, the plan finished. Prints throughput and p50/p95 latency;
exits non-zero on any error.

    make load            # or: .venv/bin/python scripts/load.py [--plans 20 --timesteps 30]
"""

import argparse
import asyncio
import math
import secrets
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.service_process import ServiceProcess

CAMPAIGNS_PER_PLAN = 5
TOTAL_BUDGET = 30_000.0
MIN_BUDGET = 20.0
MAX_BUDGET = 600.0
POLICIES = [None, "thompson", "ucb", "epsilon_greedy", "softmax"]
RETRY_EVERY = 10
DEADLINE_SECONDS = 600.0
REQUEST_TIMEOUT_SECONDS = 60.0
TOLERANCE = 1e-6
LOOP_KINDS = ("get allocation", "post results", "post results (retry)")


class LoadError(RuntimeError):
    """Something a user would notice: an error status, a lost or doubled timestep, money gone."""


@dataclass
class Recorder:
    """Latency per request kind, a hard cap on the number of requests, and every error seen."""

    max_requests: int
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    sent: int = 0

    async def call(
        self,
        http: httpx.AsyncClient,
        kind: str,
        method: str,
        url: str,
        *,
        expect: int = 200,
        **kwargs: Any,
    ) -> Any:
        self.sent += 1
        if self.sent > self.max_requests:
            raise LoadError(f"request budget of {self.max_requests} exceeded")
        started = time.perf_counter()
        response = await http.request(method, url, **kwargs)
        self.latencies[kind].append(time.perf_counter() - started)
        if response.status_code != expect:
            message = f"{method} {url} -> {response.status_code}: {response.text[:300]}"
            self.errors.append(message)
            raise LoadError(message)
        return response.json()


@dataclass
class DrivenPlan:
    """What one dashboard created and what the server acknowledged for it."""

    plan_id: str
    campaigns: dict[str, dict[str, Any]]
    acknowledged: dict[int, list[dict[str, Any]]] = field(default_factory=dict)


def simulated_results(
    allocation: dict[str, Any], conversion_rates: dict[str, float], rng: np.random.Generator
) -> dict[str, Any]:
    """What the ad platforms reported: most of each budget spent, Poisson conversions."""
    results = []
    for item in allocation["allocations"]:
        spend = round(item["budget"] * float(rng.uniform(0.85, 1.0)), 2)
        results.append(
            {
                "campaign_id": item["campaign_id"],
                "spend": spend,
                "conversions": int(rng.poisson(spend * conversion_rates[item["campaign_id"]])),
                "revenue": round(spend * float(rng.uniform(1.0, 3.0)), 2),
                "clicks": int(rng.integers(50, 2000)),
            }
        )
    return {"timestep": allocation["timestep"], "results": results}


async def drive_plan(
    index: int, base_url: str, admin_token: str, timesteps: int, recorder: Recorder
) -> DrivenPlan:
    """One dashboard: its own manager, client, campaigns and plan, driven to the end."""
    rng = np.random.default_rng(1000 + index)
    async with httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT_SECONDS) as http:
        admin = {"Authorization": f"Bearer {admin_token}"}
        username, password = f"load-manager-{index:02d}", secrets.token_urlsafe(16)
        await recorder.call(
            http,
            "create user",
            "POST",
            "/users",
            json={"username": username, "password": password},
            headers=admin,
            expect=201,
        )
        token = await recorder.call(
            http, "login", "POST", "/auth/token", data={"username": username, "password": password}
        )
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        client = await recorder.call(
            http,
            "create client",
            "POST",
            "/clients",
            json={"name": f"Load client {index:02d}"},
            headers=headers,
            expect=201,
        )
        campaigns = {}
        for number in range(CAMPAIGNS_PER_PLAN):
            campaign = await recorder.call(
                http,
                "create campaign",
                "POST",
                f"/clients/{client['id']}/campaigns",
                json={
                    "name": f"Campaign {number}",
                    "platform": "google" if number % 2 else "meta",
                    "min_budget": MIN_BUDGET,
                    "max_budget": MAX_BUDGET,
                },
                headers=headers,
                expect=201,
            )
            campaigns[campaign["id"]] = campaign
        body: dict[str, Any] = {
            "name": f"Load plan {index:02d}",
            "campaign_ids": list(campaigns),
            "total_budget": TOTAL_BUDGET,
            "timesteps": timesteps,
            "seed": index,
        }
        if POLICIES[index % len(POLICIES)]:
            body["policy"] = POLICIES[index % len(POLICIES)]
        plan = await recorder.call(
            http,
            "create plan",
            "POST",
            f"/clients/{client['id']}/plans",
            json=body,
            headers=headers,
            expect=201,
        )
        driven = DrivenPlan(plan_id=plan["id"], campaigns=campaigns)
        rates = {campaign_id: float(rng.uniform(0.005, 0.05)) for campaign_id in campaigns}

        for timestep in range(timesteps):
            allocation = await recorder.call(
                http, "get allocation", "GET", f"/plans/{plan['id']}/allocation", headers=headers
            )
            if allocation["timestep"] != timestep:
                raise LoadError(
                    f"plan {plan['id']}: expected timestep {timestep}, got {allocation}"
                )
            results = simulated_results(allocation, rates, rng)
            url = f"/plans/{plan['id']}/results"
            answer = await recorder.call(
                http, "post results", "POST", url, json=results, headers=headers
            )
            driven.acknowledged[timestep] = results["results"]
            if timestep % RETRY_EVERY == RETRY_EVERY - 1:
                again = await recorder.call(
                    http, "post results (retry)", "POST", url, json=results, headers=headers
                )
                if again != answer:
                    raise LoadError(
                        f"plan {plan['id']}: a retry of timestep {timestep} answered differently"
                    )
        return driven


async def verify_plan(
    base_url: str, admin_token: str, driven: DrivenPlan, timesteps: int, recorder: Recorder
) -> None:
    """Each timestep stored once with the acknowledged results; budgets conserved and respected."""
    headers = {"Authorization": f"Bearer {admin_token}"}
    async with httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT_SECONDS) as http:
        plan = await recorder.call(
            http, "verify", "GET", f"/plans/{driven.plan_id}", headers=headers
        )
        history = await recorder.call(
            http, "verify", "GET", f"/plans/{driven.plan_id}/history", headers=headers
        )
    problems = []
    stored = [entry["timestep"] for entry in history["entries"]]
    if stored != list(range(timesteps)):
        problems.append(f"timesteps stored {stored}, expected each of 0..{timesteps - 1} once")
    if plan["status"] != "finished" or plan["timestep"] != timesteps:
        problems.append(f"status {plan['status']} at timestep {plan['timestep']}")
    reported_spend = 0.0
    for entry in history["entries"]:
        timestep = entry["timestep"]
        if entry["results"] is None:
            problems.append(f"timestep {timestep} has no results")
            continue
        sent = {row["campaign_id"]: row for row in driven.acknowledged.get(timestep, [])}
        for row in entry["results"]:
            posted = sent.get(row["campaign_id"])
            if posted is None or any(row[key] != posted[key] for key in ("spend", "conversions")):
                problems.append(f"timestep {timestep}: stored {row} but acknowledged {posted}")
        reported_spend += sum(row["spend"] for row in entry["results"])
        allocation = entry["allocation"]
        given = sum(item["budget"] for item in allocation["allocations"])
        if given > allocation["timestep_budget"] * (1 + TOLERANCE) + TOLERANCE:
            problems.append(
                f"timestep {timestep}: allocated {given} > {allocation['timestep_budget']}"
            )
        for item in allocation["allocations"]:
            campaign = driven.campaigns[item["campaign_id"]]
            if (
                not campaign["min_budget"] - TOLERANCE
                <= item["budget"]
                <= campaign["max_budget"] + TOLERANCE
            ):
                problems.append(f"timestep {timestep}: {item} outside the campaign's bounds")
    if not math.isclose(plan["budget_spent"], reported_spend, rel_tol=1e-9, abs_tol=1e-6):
        problems.append(f"budget_spent {plan['budget_spent']} != reported spend {reported_spend}")
    if not math.isclose(
        plan["budget_spent"] + plan["budget_remaining"], TOTAL_BUDGET, rel_tol=1e-9, abs_tol=1e-6
    ):
        problems.append(
            f"spent {plan['budget_spent']} + remaining {plan['budget_remaining']} != {TOTAL_BUDGET}"
        )
    if problems:
        raise LoadError(f"plan {driven.plan_id}: " + "; ".join(problems))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def print_figures(recorder: Recorder, drive_seconds: float, plans: int, timesteps: int) -> None:
    kinds = [kind for kind in recorder.latencies if kind != "verify"]
    driven = [value for kind in kinds for value in recorder.latencies[kind]]
    loop = [value for kind in kinds if kind in LOOP_KINDS for value in recorder.latencies[kind]]
    print(f"{plans} plans x {timesteps} timesteps, {len(driven)} requests in {drive_seconds:.1f} s")
    print(f"throughput: {len(driven) / drive_seconds:.1f} requests/s")
    print(f"{'request':<22}{'count':>7}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    for kind in [*kinds, "timestep loop", "all"]:
        values = {"all": driven, "timestep loop": loop}.get(kind) or recorder.latencies[kind]
        print(
            f"{kind:<22}{len(values):>7}{statistics.median(values) * 1000:>10.1f}"
            f"{percentile(values, 0.95) * 1000:>10.1f}{max(values) * 1000:>10.1f}"
        )


async def run(plans: int, timesteps: int, base_url: str, admin_password: str) -> int:
    # Per plan: user, login, client, campaigns, plan, the loop with its retries, two reads.
    per_plan = CAMPAIGNS_PER_PLAN + 6 + timesteps * 2 + timesteps // RETRY_EVERY
    max_requests = plans * per_plan + 10
    recorder = Recorder(max_requests=max_requests)
    async with httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT_SECONDS) as http:
        login = await recorder.call(
            http,
            "verify",
            "POST",
            "/auth/token",
            data={"username": "admin", "password": admin_password},
        )
    admin_token = login["access_token"]

    started = time.perf_counter()
    outcomes = await asyncio.wait_for(
        asyncio.gather(
            *(
                drive_plan(index, base_url, admin_token, timesteps, recorder)
                for index in range(plans)
            ),
            return_exceptions=True,
        ),
        timeout=DEADLINE_SECONDS,
    )
    drive_seconds = time.perf_counter() - started
    failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    driven_plans = [outcome for outcome in outcomes if isinstance(outcome, DrivenPlan)]
    for driven in driven_plans:
        try:
            await verify_plan(base_url, admin_token, driven, timesteps, recorder)
        except LoadError as error:
            failures.append(error)

    print_figures(recorder, drive_seconds, plans, timesteps)
    if failures:
        print(f"\nFAILED: {len(failures)} of {plans} plans", file=sys.stderr)
        for failure in failures[:10]:
            print(f"  {type(failure).__name__}: {failure}", file=sys.stderr)
        return 1
    print(
        f"verified: {len(driven_plans)} plans, every timestep stored once, budgets conserved "
        f"and within bounds, {len(recorder.errors)} errors"
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=20, help="concurrent dashboards (default 20)")
    parser.add_argument("--timesteps", type=int, default=30, help="timesteps per plan (default 30)")
    arguments = parser.parse_args()
    admin_password = secrets.token_urlsafe(18)
    with tempfile.TemporaryDirectory(prefix="oktopus-load-") as scratch:
        service = ServiceProcess(
            Path(scratch) / "data",
            admin_password=admin_password,
            secret_key=secrets.token_urlsafe(48),
        )
        print(f"starting Oktopus on {service.base_url} with data in {service.data_dir}")
        service.initialize()
        with service:
            service.start()
            return asyncio.run(
                run(arguments.plans, arguments.timesteps, service.base_url, admin_password)
            )


if __name__ == "__main__":
    sys.exit(main())
