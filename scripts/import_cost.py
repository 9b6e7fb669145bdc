"""What a long platform report costs to import: a Google Ads download of 1,000 days x 20 campaigns.

One plan on the embedded store, driven through the in-process API (as scripts/cost.py). The file
closes every timestep of the plan: the import checks it in full while replaying the engine once
per timestep it closes (one ``AI.allocate``), then applies it as one batch (services/csv_apply.py).
Prints the wall time, the engine's share of it and the engine steps per closed timestep.

    .venv/bin/python scripts/import_cost.py [--days 1000] [--campaigns 20]
"""

import argparse
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cost import admin_client

from oktapi.engine import AI

START = date(2027, 1, 1)


def google_ads_report(days: int, campaigns: int, rng: np.random.Generator) -> bytes:
    """A campaign report as Google Ads writes it: title, date range, header, rows, totals."""
    last = START + timedelta(days=days - 1)
    lines = [
        "Campaign report\n",
        f'"{START:%B} {START.day}, {START.year} - {last:%B} {last.day}, {last.year}"\n',
        "Day,Campaign,Currency code,Cost,Conversions,Conv. value\n",
    ]
    for day in range(days):
        when = (START + timedelta(days=day)).isoformat()
        for index in range(campaigns):
            spend = rng.uniform(5.0, 20.0)
            conversions = rng.poisson(spend / 10.0) + 0.5 * rng.integers(0, 2)
            lines.append(
                f"{when},Campaign {index},EUR,{spend:.2f},{conversions:.2f},{40 * conversions:.2f}\n"
            )
    return "".join(lines).encode()


class EngineMeter:
    """Counts and times ``AI.allocate`` and ``AI.update`` wherever the service calls them."""

    def __init__(self) -> None:
        self.calls = {"allocate": 0, "update": 0}
        self.seconds = 0.0

    def install(self) -> None:
        for name in self.calls:
            setattr(AI, name, self._metered(name, getattr(AI, name)))

    def _metered(self, name: str, method: Any) -> Any:
        def metered(ai: AI, *args: Any) -> Any:
            began = time.perf_counter()
            try:
                return method(ai, *args)
            finally:
                self.seconds += time.perf_counter() - began
                self.calls[name] += 1

        return metered


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=1_000)
    parser.add_argument("--campaigns", type=int, default=20)
    arguments = parser.parse_args()
    content = google_ads_report(arguments.days, arguments.campaigns, np.random.default_rng(3))
    with admin_client() as (client, headers):
        client_id = client.post(
            "/clients", json={"name": "Import", "currency": "EUR"}, headers=headers
        ).json()["id"]
        ids = [
            client.post(
                f"/clients/{client_id}/campaigns",
                json={"name": f"Campaign {index}", "min_budget": 10},
                headers=headers,
            ).json()["id"]
            for index in range(arguments.campaigns)
        ]
        plan = client.post(
            f"/clients/{client_id}/plans",
            json={
                "campaign_ids": ids,
                "total_budget": 25.0 * arguments.campaigns * arguments.days,
                "timesteps": arguments.days,
                "start": START.isoformat(),
                "seed": 1,
            },
            headers=headers,
        ).json()
        meter = EngineMeter()
        meter.install()
        began = time.perf_counter()
        answer = client.post(
            f"/plans/{plan['id']}/results/csv",
            content=content,
            headers={**headers, "content-type": "text/csv"},
        )
        seconds = time.perf_counter() - began
    if answer.status_code != 200:
        print(answer.status_code, answer.text[:500])
        return 1
    body = answer.json()
    closed = len(body["closed"])
    print(
        f"{arguments.days} days x {arguments.campaigns} campaigns ({len(content) / 1e6:.1f} MB, "
        f"Google Ads format): {closed} timesteps closed in {seconds:.1f} s "
        f"({1000 * seconds / arguments.days:.1f} ms per timestep; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs); engine {meter.seconds:.1f} s of it, "
        f"{meter.calls['allocate'] / closed:.2f} allocate and {meter.calls['update'] / closed:.2f} "
        "update per timestep closed"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
