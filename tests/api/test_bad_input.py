"""Garbage sent to every write route gets a 4xx and writes nothing; never a 500.

Each route has a body that would succeed; every payload below breaks exactly one thing in it
(a wrong type, a negative, huge or non-finite number written as a raw JSON token, an over-long
or 1 MB string, a missing or an extra field), or is not a JSON object at all. The valid body is
sent last, to show the route was not refusing everything.
"""

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from oktapi.settings import Settings
from tests.conftest import api_create_campaign, api_create_client, bearer, insert_user, snapshot

JSON = {"content-type": "application/json"}
ONE_MEGABYTE = 1_000_001
RAW_TOKENS = ("NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1" + "0" * 400)
# Fields a caller must never be able to slip into a write.
SMUGGLED = {
    "_id": "0" * 32,
    "id": "0" * 32,
    "role": "admin",
    "client_ids": ["0" * 32],
    "client_id": "0" * 32,
    "password_hash": "$argon2id$forged",
    "token_version": 99,
    "created_by": "someone",
    "created_at": "2020-01-01T00:00:00Z",
    "status": "finished",
    "disabled": False,
}

WRONG_TYPES: dict[str, list[Any]] = {
    "text": [123, 1.5, True, [], {}, ["x"]],
    "number": ["100", "abc", True, [], {}, [1]],
    "int": ["3", 1.5, True, [], {}],
    "bool": ["true", "yes", 1, 0, [], {}],
    "ids": ["abc", 123, {}, [1], [None], [["x"]]],
    "results": ["x", 1, {}, [1], [None]],
}
BAD_VALUES: dict[str, list[Any]] = {
    "name": ["", "   ", "x" * 201, "bad\u0000name", "line\nbreak"],
    "platform": ["", "x" * 101, "tab\there"],
    "username": ["", "has space", "x" * 101, "quote'"],
    "password": ["", "short", "123456789", "x" * 257],
    "currency": ["", "US", "USDX", "U$D", "12E"],
    "role": ["root", "Admin", ""],
    "money": [-1, -0.01, 1e13, 10**30],
    "positive": [0, -5, 1e13],
    "timesteps": [0, -1, 10**6],
    "timestep": [-1, 10**6],
    "ids": [["x" * 65], ["0" * 32] * 2000],
    "results": [[]],
}


@dataclass
class Spec:
    """One field of a body: its type family, its value checks, whether it may be left out."""

    kind: str
    checks: str | None = None
    required: bool = False
    nullable: bool = False


@dataclass
class WriteRoute:
    method: str
    path: str
    valid: dict[str, Any]
    fields: dict[str, Spec]
    extra: list[Any] = field(default_factory=list)
    setup: Callable[[TestClient, "World"], None] | None = None


def _payloads(route: WriteRoute) -> Iterator[tuple[str, bytes]]:
    """(label, raw body) pairs, each broken in exactly one way."""
    yield "invalid json", b'{"name": '
    yield "not json", b"name=x"
    yield "empty body", b""
    yield "trailing garbage", json.dumps(route.valid).encode() + b"}"
    for not_object in ([], [route.valid], "text", 1, None):
        yield f"top-level {not_object!r}", json.dumps(not_object).encode()
    for name, spec in route.fields.items():
        for value in WRONG_TYPES[spec.kind]:
            yield f"{name}={value!r}", _with(route.valid, name, value)
        for value in BAD_VALUES.get(spec.checks or "", []):
            yield f"{name}={str(value)[:20]!r}", _with(route.valid, name, value)
        if spec.kind in ("number", "int"):
            for token in RAW_TOKENS:
                raw = json.dumps({**route.valid, name: "@@TOKEN@@"}).replace('"@@TOKEN@@"', token)
                yield f"{name}={token[:10]}", raw.encode()
        if spec.kind == "text":
            yield f"{name}=1MB", _with(route.valid, name, "x" * ONE_MEGABYTE)
            yield f"{name}=900KB", _with(route.valid, name, "x" * 900_000)
        if not spec.nullable:
            yield f"{name}=null", _with(route.valid, name, None)
        if spec.required:
            yield (
                f"without {name}",
                json.dumps(
                    {key: value for key, value in route.valid.items() if key != name}
                ).encode(),
            )
    for name, value in SMUGGLED.items():
        if name not in route.fields:
            yield f"extra {name}", _with(route.valid, name, value)
    for index, body in enumerate(route.extra):
        yield f"extra case {index}", json.dumps(body).encode()


def _with(body: dict[str, Any], name: str, value: Any) -> bytes:
    return json.dumps({**body, name: value}).encode()


@dataclass
class World:
    admin: dict[str, str]
    manager_id: str
    client_id: str
    campaign_ids: list[str]
    plan_id: str | None


@pytest.fixture
def world(client: TestClient, db, settings: Settings, admin_headers) -> World:
    client_id = api_create_client(client, admin_headers)
    campaign_ids = [
        api_create_campaign(client, admin_headers, client_id, name, min_budget=1, max_budget=500)
        for name in ("search", "social")
    ]
    plan = client.post(
        f"/clients/{client_id}/plans",
        json={"campaign_ids": campaign_ids, "total_budget": 1000, "timesteps": 4, "seed": 3},
        headers=admin_headers,
    )
    return World(
        admin=admin_headers,
        manager_id=insert_user(db, username="carol", client_ids=[client_id]),
        client_id=client_id,
        campaign_ids=campaign_ids,
        plan_id=plan.json()["id"] if plan.status_code == 201 else None,
    )


def _close_timestep_zero(client: TestClient, w: World) -> None:
    """Restatements need a closed timestep: report timestep 0 first."""
    results = [{"campaign_id": cid, "spend": 10.0, "conversions": 1} for cid in w.campaign_ids]
    response = client.post(
        f"/plans/{w.plan_id}/results", json={"timestep": 0, "results": results}, headers=w.admin
    )
    assert response.status_code == 200, response.text


def _route(name: str, w: World) -> WriteRoute:
    result = {"campaign_id": w.campaign_ids[0], "spend": 10.0, "conversions": 1}
    routes = {
        "create user": WriteRoute(
            "POST",
            "/users",
            {
                "username": "dave",
                "password": "a-long-password",
                "role": "manager",
                "client_ids": [w.client_id],
            },
            {
                "username": Spec("text", "username", required=True),
                "password": Spec("text", "password", required=True),
                "role": Spec("text", "role"),
                "client_ids": Spec("ids", "ids"),
            },
            extra=[{"username": "eve", "password": "a-long-password", "client_ids": ["0" * 32]}],
        ),
        "update user": WriteRoute(
            "PATCH",
            f"/users/{w.manager_id}",
            {"role": "manager", "disabled": False, "password": "another-long-one"},
            {
                "role": Spec("text", "role"),
                "client_ids": Spec("ids", "ids"),
                "disabled": Spec("bool"),
                "password": Spec("text", "password"),
            },
            extra=[{"client_ids": ["0" * 32]}, {"username": "renamed"}],
        ),
        "create client": WriteRoute(
            "POST",
            "/clients",
            {"name": "Globex", "currency": "EUR"},
            {"name": Spec("text", "name", required=True), "currency": Spec("text", "currency")},
        ),
        "update client": WriteRoute(
            "PATCH",
            f"/clients/{w.client_id}",
            {"name": "Initech", "currency": "GBP"},
            {"name": Spec("text", "name"), "currency": Spec("text", "currency")},
        ),
        "create campaign": WriteRoute(
            "POST",
            f"/clients/{w.client_id}/campaigns",
            {"name": "video", "platform": "youtube", "min_budget": 1, "max_budget": 100},
            {
                "name": Spec("text", "name", required=True),
                "platform": Spec("text", "platform", nullable=True),
                "min_budget": Spec("number", "money"),
                "max_budget": Spec("number", "money", nullable=True),
            },
            extra=[
                {"name": "inverted", "min_budget": 100, "max_budget": 1},
                {"name": "search"},  # duplicate name: 409
            ],
        ),
        "update campaign": WriteRoute(
            "PATCH",
            f"/campaigns/{w.campaign_ids[0]}",
            {"name": "search-2", "platform": "google", "min_budget": 2, "max_budget": 400},
            {
                "name": Spec("text", "name"),
                "platform": Spec("text", "platform", nullable=True),
                "min_budget": Spec("number", "money"),
                "max_budget": Spec("number", "money", nullable=True),
            },
            extra=[{"min_budget": 600}, {"max_budget": 0.5}, {"name": "social"}],
        ),
        "create plan": WriteRoute(
            "POST",
            f"/clients/{w.client_id}/plans",
            {"campaign_ids": w.campaign_ids, "total_budget": 1000, "timesteps": 4},
            {
                "campaign_ids": Spec("ids", "ids", required=True),
                "total_budget": Spec("number", "positive", required=True),
                "timesteps": Spec("int", "timesteps", required=True),
            },
            extra=[
                {"campaign_ids": ["0" * 32], "total_budget": 1000, "timesteps": 4},
                {"campaign_ids": w.campaign_ids * 2, "total_budget": 1000, "timesteps": 4},
            ],
        ),
        "post results": WriteRoute(
            "POST",
            f"/plans/{w.plan_id}/results",
            {"timestep": 0, "results": [result, {**result, "campaign_id": w.campaign_ids[1]}]},
            {
                "timestep": Spec("int", "timestep", required=True),
                "results": Spec("results", "results", required=True),
            },
            extra=[
                {"timestep": 0, "results": [{**result, "spend": -1}]},
                {"timestep": 0, "results": [{**result, "conversions": 1e16}]},
                {"timestep": 0, "results": [{**result, "role": "admin"}]},
                {"timestep": 0, "results": [{**result, "campaign_id": "0" * 32}]},
                {"timestep": 0, "results": [result, result]},
                {"timestep": 0, "results": [{**result, "spend": 5000}]},
                {"timestep": 3, "results": [result]},
            ],
        ),
        "restate results": WriteRoute(
            "PUT",
            f"/plans/{w.plan_id}/results/0",
            {"results": [{**result, "conversions": 2.5}]},
            {"results": Spec("results", "results", required=True)},
            extra=[
                {"results": [{**result, "spend": -1}]},
                {"results": [{**result, "conversions": 1e16}]},
                {"results": [{**result, "campaign_id": "0" * 32}]},
                {"results": [result, result]},
                {"results": [{**result, "spend": 5000}]},
                {"timestep": 0, "results": [result]},
            ],
            setup=_close_timestep_zero,
        ),
    }
    return routes[name]


ROUTE_NAMES = [
    "create user",
    "update user",
    "create client",
    "update client",
    "create campaign",
    "update campaign",
    "create plan",
    "post results",
    "restate results",
]


@pytest.mark.parametrize("route_name", ROUTE_NAMES)
def test_garbage_is_refused_with_4xx_and_writes_nothing(
    client: TestClient, db, world: World, route_name: str
) -> None:
    route = _route(route_name, world)
    if route.path.startswith("/plans/None") or ("plan" in route_name and world.plan_id is None):
        pytest.skip("plans routes not served")
    if route.setup is not None:
        route.setup(client, world)
    before = snapshot(db)
    for label, raw in _payloads(route):
        response = client.request(
            route.method, route.path, content=raw, headers={**world.admin, **JSON}
        )
        assert 400 <= response.status_code < 500, (label, response.status_code, response.text[:300])
        assert "detail" in response.json(), label
        assert snapshot(db) == before, f"{label} wrote something"

    valid = client.request(route.method, route.path, json=route.valid, headers=world.admin)
    assert valid.status_code in (200, 201), valid.text


def test_malformed_json_is_400_and_invalid_values_422(client: TestClient, world: World) -> None:
    path = f"/clients/{world.client_id}/campaigns"
    headers = {**world.admin, **JSON}
    assert client.post(path, content=b"{oops", headers=headers).status_code == 400
    nan = client.post(path, content=b'{"name": "n", "min_budget": NaN}', headers=headers)
    assert nan.status_code == 422
    assert nan.json()["detail"][0]["loc"] == ["body", "min_budget"]


def test_garbage_logins_are_4xx_and_create_no_user(client: TestClient, db) -> None:
    insert_user(db, username="alice")
    before = snapshot(db, skip=("login_failures",))
    forms: list[dict[str, Any]] = [
        {"data": {}},
        {"data": {"username": "alice"}},
        {"data": {"password": "whatever-password"}},
        {"json": {"username": "alice", "password": "whatever-password"}},
        {
            "content": b"\xff\xfe\x00garbage",
            "headers": {"content-type": "application/x-www-form-urlencoded"},
        },
        {"data": {"username": "x" * 100_000, "password": "y"}},
        {"data": {"username": "alice", "password": "p" * 900_000}},
        {"data": {"username": "alice", "password": "x", "grant_type": "client_credentials"}},
        {
            "content": b"x" * ONE_MEGABYTE,
            "headers": {"content-type": "application/x-www-form-urlencoded"},
        },
    ]
    for index, request in enumerate(forms):
        response = client.post("/auth/token", **request)
        assert 400 <= response.status_code < 500, (index, response.text[:200])
    assert snapshot(db, skip=("login_failures",)) == before


def test_wrong_user_token_types_cannot_write(client: TestClient, db, settings: Settings) -> None:
    """A disabled manager's token writes nothing, even with a valid body."""
    user_id = insert_user(db, username="dormant", disabled=True)
    before = snapshot(db)
    response = client.post("/clients", json={"name": "x"}, headers=bearer(settings, user_id))
    assert response.status_code == 401
    assert snapshot(db) == before
