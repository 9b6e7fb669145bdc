"""The bench's simulated markets driven through the REST API, as a dashboard would drive them.

For each scenario and seed: create a client, its campaigns (with the scenario's bounds) and a
plan (policy, params and seed given), then for each timestep take the allocation the API
answered, let the simulated market respond (the same market generator as the engine's bench,
`bench.simulate.run.environment_rng`) and post the results. The budgets the API handed
out are scored against the clairvoyant oracle, next to what the engine's own simulation scores
with the same seed. The two must agree exactly: then `make bench` measures what API users get,
and a scenario held out of tuning can be checked through the service itself.

    make bench-api                                  # in-process app, throwaway in-memory store
    .venv/bin/python scripts/api_bench.py --holdout --seeds 3
    .venv/bin/python scripts/api_bench.py --fresh 777      # markets nobody tuned on
    .venv/bin/python scripts/api_bench.py --url http://127.0.0.1:8000 --username admin \\
        --password '...'                            # a running server (e.g. `make run`)
    .venv/bin/python scripts/api_bench.py --lag --seeds 3  # reporting lag: parts of the truth
                                                    # each morning, restated with PUT

With ``--lag`` the bench's lag markets are played the three ways of the engine's lag bench
(final numbers at once, the morning's never restated, the morning's restated daily over the last
7 timesteps) through POST and PUT, and compared with `run_lagged` on the same seed.

Exits non-zero when an API answer is an error or the two paths disagree.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import uuid
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.simulate import (
    HOLDOUT_SCENARIOS,
    SCENARIOS,
    fresh_scenarios,
    get_scenario,
    oracle,
    score,
)
from bench.simulate.lag import (
    LAG_SCENARIOS,
    LAG_STREAM,
    MODES,
    RESTATE_DAYS,
    LagScenario,
    run_lagged,
)
from bench.simulate.run import environment_rng, run
from bench.simulate.scenarios import Scenario
from oktapi.engine.policies import DEFAULT_POLICY

# Budgets equal to this relative tolerance count as "the same allocation" (JSON round-trips
# floats exactly, so in practice the two paths agree to the last bit).
AGREEMENT_TOLERANCE = 1e-9


class ApiBenchError(RuntimeError):
    """An answer a dashboard would notice: an error status or a malformed allocation."""


def _check(response: httpx.Response, expected: int) -> Any:
    """The JSON body, or ApiBenchError naming the request and the answer."""
    if response.status_code != expected:
        request = response.request
        raise ApiBenchError(
            f"{request.method} {request.url.path} -> {response.status_code}: {response.text[:300]}"
        )
    return response.json()


def login(http: httpx.Client, username: str, password: str) -> dict[str, str]:
    """Bearer headers from POST /auth/token."""
    token = _check(http.post("/auth/token", data={"username": username, "password": password}), 200)
    return {"Authorization": f"Bearer {token['access_token']}"}


def drive_scenario(
    http: httpx.Client,
    headers: dict[str, str],
    scenario: Scenario,
    *,
    policy: str | None = None,
    params: dict | None = None,
    step: float = 0.05,
    seed: int = 0,
) -> np.ndarray:
    """Run one plan over the scenario through the API; the budgets it handed out, (T, n)."""
    client = _check(
        http.post("/clients", json={"name": f"bench {scenario.name} #{seed}"}, headers=headers),
        201,
    )
    campaign_ids = []
    for index, (low, high) in enumerate(zip(scenario.min_budget, scenario.max_budget, strict=True)):
        body = {"name": f"{scenario.name} campaign {index}", "min_budget": float(low)}
        if np.isfinite(high):
            body["max_budget"] = float(high)
        campaign = _check(
            http.post(f"/clients/{client['id']}/campaigns", json=body, headers=headers), 201
        )
        campaign_ids.append(campaign["id"])
    plan_body: dict[str, Any] = {
        "name": f"bench {scenario.name}",
        "campaign_ids": campaign_ids,
        "total_budget": scenario.total_budget,
        "timesteps": scenario.timesteps,
        "objective": scenario.objective,
        "policy_params": params or {},
        "step": step,
        "seed": seed,
    }
    if policy is not None:
        plan_body["policy"] = policy
    plan = _check(http.post(f"/clients/{client['id']}/plans", json=plan_body, headers=headers), 201)
    market = environment_rng(scenario, seed)
    budgets = np.zeros((scenario.timesteps, scenario.n_campaigns))
    allocation = plan["allocation"]
    for timestep in range(scenario.timesteps):
        if allocation is None or allocation.get("timestep") != timestep:
            raise ApiBenchError(f"expected the allocation for timestep {timestep}: {allocation}")
        by_id = {item["campaign_id"]: item["budget"] for item in allocation["allocations"]}
        budgets[timestep] = [by_id[campaign_id] for campaign_id in campaign_ids]
        spend, conversions, revenue = scenario.draw(budgets[timestep], timestep, market)
        report = {
            "timestep": timestep,
            "results": [
                {
                    "campaign_id": campaign_id,
                    "spend": float(s),
                    "conversions": int(c),
                    "revenue": float(r),
                }
                for campaign_id, s, c, r in zip(
                    campaign_ids, spend, conversions, revenue, strict=True
                )
            ],
        }
        answer = _check(
            http.post(f"/plans/{plan['id']}/results", json=report, headers=headers), 200
        )
        allocation = answer if "allocations" in answer else answer.get("allocation")
    if allocation is not None:
        raise ApiBenchError(f"the plan should be finished after its last timestep: {allocation}")
    return budgets


def drive_lagged(
    http: httpx.Client, headers: dict[str, str], lag: LagScenario, mode: str, *, seed: int = 0
) -> np.ndarray:
    """One plan over a lag market through the API, as `run_lagged` plays it; its budgets."""
    scenario = lag.market
    client = _check(
        http.post(
            "/clients", json={"name": f"lag {scenario.name} {mode} #{seed}"}, headers=headers
        ),
        201,
    )
    campaign_ids = []
    for index, campaign in enumerate(lag.campaigns()):
        body: dict[str, Any] = {"name": f"{scenario.name} campaign {index}"}
        body["min_budget"] = float(campaign.min_budget)
        if campaign.max_budget is not None:
            body["max_budget"] = float(campaign.max_budget)
        if campaign.platform is not None:
            body["platform"] = campaign.platform
        made = _check(
            http.post(f"/clients/{client['id']}/campaigns", json=body, headers=headers), 201
        )
        campaign_ids.append(made["id"])
    plan = _check(
        http.post(
            f"/clients/{client['id']}/plans",
            json={
                "campaign_ids": campaign_ids,
                "total_budget": scenario.total_budget,
                "timesteps": scenario.timesteps,
                "objective": scenario.objective,
                "seed": seed,
            },
            headers=headers,
        ),
        201,
    )
    url = f"/plans/{plan['id']}/results"
    market = environment_rng(scenario, seed)
    lag_rng = np.random.default_rng(
        np.random.SeedSequence([seed, LAG_STREAM, zlib.crc32(scenario.name.encode())])
    )
    timesteps, n = scenario.timesteps, scenario.n_campaigns
    budgets = np.zeros((timesteps, n))
    spent = np.zeros((timesteps, n))
    visible = np.zeros((timesteps, 2, lag.ages, n))

    def entries(spend: np.ndarray, conversions: np.ndarray, revenue: np.ndarray) -> list[dict]:
        return [
            {"campaign_id": cid, "spend": float(s), "conversions": float(c), "revenue": float(r)}
            for cid, s, c, r in zip(campaign_ids, spend, conversions, revenue, strict=True)
        ]

    allocation = plan["allocation"]
    for version in range(timesteps):
        by_id = {item["campaign_id"]: item["budget"] for item in allocation["allocations"]}
        budgets[version] = [by_id[campaign_id] for campaign_id in campaign_ids]
        spend, conversions, revenue = scenario.draw(budgets[version], version, market)
        spent[version] = spend
        visible[version] = lag.arrivals(conversions, revenue, lag_rng)
        if mode == "restated":
            for timestep in range(max(version - RESTATE_DAYS, 0), version):
                age = min(version - timestep, lag.ages - 1)
                body = {"results": entries(spent[timestep], *visible[timestep, :, age])}
                _check(http.put(f"{url}/{timestep}", json=body, headers=headers), 200)
        age = lag.ages - 1 if mode == "final" else 0
        report = {"timestep": version, "results": entries(spend, *visible[version, :, age])}
        answer = _check(http.post(url, json=report, headers=headers), 200)
        allocation = answer if "allocations" in answer else None
    return budgets


def lag_main(http: httpx.Client, headers: dict[str, str], seeds: int) -> int:
    """The lag table through the API next to the engine's own, and whether the budgets agree."""
    print(f"{'scenario':16s} {'mode':9s} {'API %':>7s} {'engine %':>9s}  largest difference")
    percents: dict[str, list[float]] = {mode: [] for mode in MODES}
    differ = 0
    for name, lag in LAG_SCENARIOS.items():
        reference = oracle(lag.market)
        for mode in MODES:
            for seed in range(seeds):
                api_budgets = drive_lagged(http, headers, lag, mode, seed=seed)
                engine_budgets = run_lagged(lag, mode, seed)
                api = score(lag.market, api_budgets, reference).percent_of_oracle
                engine = score(lag.market, engine_budgets, reference).percent_of_oracle
                scale = max(float(np.max(np.abs(engine_budgets))), 1e-12)
                difference = float(np.max(np.abs(api_budgets - engine_budgets))) / scale
                differ += difference > AGREEMENT_TOLERANCE
                percents[mode].append(api)
                print(
                    f"{name:16s} {mode:9s} {api:7.2f} {engine:9.2f}  {difference:.1e}", flush=True
                )
    print("mean through the API: " + ", ".join(f"{m} {np.mean(percents[m]):.1f}%" for m in MODES))
    if differ:
        print(f"{differ} runs handed out other budgets than the engine's lag run", file=sys.stderr)
    return 0


@dataclass
class Comparison:
    """One scenario and seed: % of the oracle through the API and in the engine's simulation."""

    scenario: str
    seed: int
    api_percent: float
    engine_percent: float
    largest_difference: float  # largest |budget difference| relative to the timestep budget

    @property
    def agrees(self) -> bool:
        """Whether the API handed out the engine's budgets."""
        return self.largest_difference <= AGREEMENT_TOLERANCE


def compare(
    http: httpx.Client,
    headers: dict[str, str],
    scenario: Scenario,
    *,
    policy: str | None = None,
    params: dict | None = None,
    step: float = 0.05,
    seed: int = 0,
) -> Comparison:
    """Drive the scenario through the API and through the engine with one seed; score both."""
    api_budgets = drive_scenario(
        http, headers, scenario, policy=policy, params=params, step=step, seed=seed
    )
    engine = run(scenario, policy or DEFAULT_POLICY, params, step=step, seed=seed)
    reference = oracle(scenario)
    scale = np.maximum(engine.timestep_budgets, 1e-12)[:, None]
    return Comparison(
        scenario=scenario.name,
        seed=seed,
        api_percent=score(scenario, api_budgets, reference).percent_of_oracle,
        engine_percent=score(scenario, engine.budgets, reference).percent_of_oracle,
        largest_difference=float(np.max(np.abs(api_budgets - engine.budgets) / scale)),
    )


@contextmanager
def in_process_service() -> Iterator[tuple[httpx.Client, dict[str, str]]]:
    """The app on a throwaway in-memory store, with an admin logged in over the API."""
    with warnings.catch_warnings():  # Starlette's notice about its own httpx dependency
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from oktapi.app import create_app
    from oktapi.services.users import ensure_admin
    from oktapi.settings import Settings
    from oktapi.storage import drop_memory_store

    password = secrets.token_urlsafe(18)
    settings = Settings(
        _env_file=None,
        mongo_url=f"memory://api-bench-{uuid.uuid4().hex}",
        secret_key=secrets.token_urlsafe(48),
        admin_username="admin",
        admin_password=None,
        cors_origins="",
        log_level="WARNING",
    )
    try:
        with TestClient(create_app(settings)) as http:
            ensure_admin(db=http.app.state.storage.db, username="admin", password=password)
            yield http, login(http, "admin", password)
    finally:
        drop_memory_store(settings.mongo_url)


def _scenarios(args: argparse.Namespace) -> list[Scenario]:
    """The scenarios asked for; ValueError (with the known names) for an unknown one."""
    if args.fresh is not None:
        return fresh_scenarios(args.fresh, args.fresh_count)
    if args.scenarios:
        return [get_scenario(name.strip()) for name in args.scenarios.split(",") if name.strip()]
    return list((HOLDOUT_SCENARIOS if args.holdout else SCENARIOS).values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--holdout", action="store_true", help="the holdout scenarios")
    parser.add_argument("--scenarios", help="comma-separated scenario names")
    parser.add_argument(
        "--fresh", type=int, metavar="SEED", help="new randomised holdout-family markets"
    )
    parser.add_argument("--fresh-count", type=int, default=5, help="how many (default 5)")
    parser.add_argument("--seeds", type=int, default=2, help="seeds per scenario (default 2)")
    parser.add_argument("--policy", help="policy name (default: the API's default policy)")
    parser.add_argument("--params", help="policy params as JSON")
    parser.add_argument("--step", type=float, default=0.05, help="step s of the seed policies")
    parser.add_argument("--url", help="a running server; default: an in-process app")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", help="the user's password (with --url)")
    parser.add_argument("--lag", action="store_true", help="the reporting-lag markets, 3 ways")
    args = parser.parse_args(argv)
    try:
        scenarios = _scenarios(args)
        params = json.loads(args.params) if args.params else None
    except (ValueError, json.JSONDecodeError) as error:
        parser.error(str(error))
    if args.url and not args.password:
        parser.error("--url needs --password")

    @contextmanager
    def service() -> Iterator[tuple[httpx.Client, dict[str, str]]]:
        if not args.url:
            with in_process_service() as pair:
                yield pair
            return
        with httpx.Client(base_url=args.url, timeout=120.0) as http:
            yield http, login(http, args.username, args.password)

    if args.lag:
        try:
            with service() as (http, headers):
                return lag_main(http, headers, args.seeds)
        except (ApiBenchError, httpx.HTTPError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    rows: list[Comparison] = []
    try:
        with service() as (http, headers):
            for scenario in scenarios:
                for seed in range(args.seeds):
                    row = compare(
                        http,
                        headers,
                        scenario,
                        policy=args.policy,
                        params=params,
                        step=args.step,
                        seed=seed,
                    )
                    rows.append(row)
                    print(
                        f"{row.scenario:16s} seed {row.seed:2d}  API {row.api_percent:6.2f}%  "
                        f"engine {row.engine_percent:6.2f}%  "
                        f"{'same budgets' if row.agrees else 'BUDGETS DIFFER'}"
                        f" (largest difference {row.largest_difference:.1e} of a timestep budget)",
                        flush=True,
                    )
    except (ApiBenchError, httpx.HTTPError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    mean_api = float(np.mean([row.api_percent for row in rows]))
    mean_engine = float(np.mean([row.engine_percent for row in rows]))
    print(
        f"{args.policy or 'default policy'} through the API: {mean_api:.2f}% of the oracle "
        f"(engine: {mean_engine:.2f}%) over {len(rows)} runs"
    )
    disagreements = [row for row in rows if not row.agrees]
    if disagreements:
        print(
            f"{len(disagreements)} runs handed out other budgets than the engine", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
