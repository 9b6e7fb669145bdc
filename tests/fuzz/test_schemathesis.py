"""Schema fuzzing: every operation of /openapi.json, as an admin and as a manager, never a 500.

Bounded and reproducible: a fixed seed, deterministic generation, a few dozen examples per
operation, on the in-memory and the embedded store. Path ids are sometimes swapped for ids that
exist (the manager's own client, campaign and plan, another tenant's, a spare user), so bodies
reach the services instead of stopping at a 404. Run with `make fuzz` (marker `fuzz`).
"""

import atexit
import copy
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import response_schema_conformance

from oktapi.app import create_app
from oktapi.engine.policies import POLICIES
from tests.conftest import bearer, insert_user, make_settings

pytestmark = pytest.mark.fuzz

SEED = 20270101
EXAMPLES_PER_OPERATION = 40
CHECKS = [not_a_server_error, response_schema_conformance]
CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": SEED,
        "generation": {
            "mode": "all",
            "max-examples": EXAMPLES_PER_OPERATION,
            "deterministic": True,
            "database": "none",
            "with-security-parameters": False,
        },
        "phases": {"stateful": {"enabled": False}},
    }
)


@dataclass
class FuzzTarget:
    """A running app with an admin, a manager and some real resources for paths to point at."""

    app: FastAPI
    schema: Any
    headers_by_role: dict[str, dict[str, str]]
    known_ids: dict[str, list[str]] = field(default_factory=dict)
    # The manager's own client, its campaigns and a long plan: coherent variants aim here.
    own: dict[str, Any] = field(default_factory=dict)


def _seed_resources(
    app: FastAPI, admin: dict[str, str], manager: dict[str, str]
) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """The manager's client with campaigns and a plan, another tenant's client, a spare user."""
    known: dict[str, list[str]] = {"client_id": [], "campaign_id": [], "plan_id": [], "user_id": []}
    own: dict[str, Any] = {}
    with asgi.get_client(app) as http:

        def create(path: str, body: dict, headers: dict[str, str]) -> dict | None:
            response = http.post(path, json=body, headers=headers)
            return response.json() if response.status_code == 201 else None

        spare = create(
            "/users",
            {"username": "fuzz-spare", "password": "spare-password-123", "role": "manager"},
            admin,
        )
        if spare:
            known["user_id"].append(spare["id"])
        for name, headers in (("fuzz-own", manager), ("fuzz-other", admin)):
            client = create("/clients", {"name": name}, headers)
            if client is None:
                continue
            known["client_id"].append(client["id"])
            campaign_ids = []
            for index in range(3):
                campaign = create(
                    f"/clients/{client['id']}/campaigns",
                    {"name": f"campaign-{index}", "min_budget": 0, "max_budget": 500},
                    headers,
                )
                if campaign:
                    campaign_ids.append(campaign["id"])
            known["campaign_id"] += campaign_ids
            plan = create(
                f"/clients/{client['id']}/plans",
                {"campaign_ids": campaign_ids, "total_budget": 1e6, "timesteps": 2000, "seed": 7},
                headers,
            )
            if plan:
                known["plan_id"].append(plan["id"])
            if name == "fuzz-own" and plan:
                own = {
                    "client_id": client["id"],
                    "campaign_ids": campaign_ids,
                    "plan_id": plan["id"],
                }
    return known, own


def _build_target(backend: str) -> FuzzTarget:
    """Start the app (schemathesis runs its lifespan), add users and resources, hook the ids."""
    temporary = tempfile.mkdtemp(prefix=f"oktopus-fuzz-{backend}-")
    # Built at import, so no fixture can clean up: remove the store when pytest exits.
    atexit.register(shutil.rmtree, temporary, ignore_errors=True)
    data_dir = Path(temporary) / "data"
    app_settings = make_settings(backend, data_dir)
    app = create_app(app_settings)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG)
    db = app.state.storage.db  # opened by the lifespan schemathesis started for this app
    admin = bearer(app_settings, insert_user(db, username="fuzz-admin", role="admin"))
    manager = bearer(app_settings, insert_user(db, username="fuzz-manager"))
    known_ids, own = _seed_resources(app, admin, manager)
    target = FuzzTarget(
        app=app,
        schema=schema,
        headers_by_role={"admin": admin, "manager": manager},
        known_ids=known_ids,
        own=own,
    )

    @schema.hook
    def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> Any:
        """Often point at something that exists; never delete the seeded resources."""
        deleting = context.operation is not None and context.operation.method.upper() == "DELETE"
        if not path_parameters or deleting:
            return st.just(path_parameters)
        choices = {
            name: st.sampled_from([value, *target.known_ids.get(name, [])])
            for name, value in path_parameters.items()
        }
        return st.fixed_dictionaries(choices)

    return target


# Built at import: tests/fuzz/conftest.py only collects this module when fuzzing was asked for.
TARGETS = {backend: _build_target(backend) for backend in ("memory", "embedded")}
TARGET_BY_APP = {id(target.app): target for target in TARGETS.values()}


def _coherent_variants(case: Any, target: FuzzTarget) -> list[Any]:
    """Copies of a plan or results post aimed at the manager's real plan, so fuzzed numbers
    reach the engine instead of stopping at "unknown campaign" or "wrong timestep"."""
    body = case.body
    own = target.own
    if not own or case.method.upper() != "POST" or not isinstance(body, dict):
        return []
    if case.operation.path == "/clients/{client_id}/plans":
        variant = case.derive()
        variant.path_parameters = {"client_id": own["client_id"]}
        variant.body = {**copy.deepcopy(body), "campaign_ids": own["campaign_ids"]}
        policy = variant.body.get("policy")
        if not (isinstance(policy, str) and policy in POLICIES):
            variant.body.pop("policy", None)
            variant.body.pop("policy_params", None)
        return [variant]
    if case.operation.path == "/plans/{plan_id}/results" and isinstance(body.get("results"), list):
        plan = target.app.state.storage.db["plans"].find_one({"_id": own["plan_id"]})
        if not plan or not plan.get("allocation"):
            return []
        budgets = {
            item["campaign_id"]: item["budget"] for item in plan["allocation"]["allocations"]
        }
        rows = [row for row in body["results"] if isinstance(row, dict)] or [{}]
        variants = []
        for within_budget in (False, True):
            results = []
            for index, campaign_id in enumerate(own["campaign_ids"]):
                row = {**copy.deepcopy(rows[index % len(rows)]), "campaign_id": campaign_id}
                spend = row.get("spend")
                if within_budget and isinstance(spend, int | float) and not isinstance(spend, bool):
                    row["spend"] = min(abs(spend), budgets[campaign_id])
                results.append(row)
            variant = case.derive()
            variant.path_parameters = {"plan_id": own["plan_id"]}
            variant.body = {**copy.deepcopy(body), "timestep": plan["version"], "results": results}
            variants.append(variant)
        return variants
    return []


@schemathesis.pytest.parametrize(**{name: target.schema for name, target in TARGETS.items()})
@settings(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_responses_match_the_schema(case: Any) -> None:
    target = TARGET_BY_APP[id(case.operation.app)]
    for variant in [case, *_coherent_variants(case, target)]:
        for role, headers in target.headers_by_role.items():
            response = variant.call(headers=headers)
            variant.validate_response(response, checks=CHECKS)
            assert response.status_code < 500, role
