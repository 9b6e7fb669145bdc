"""GET /policies: what a plan may name as its policy and what each parameter may be."""

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def backend() -> str:
    """The route reads the engine's registry, never the store: one backend is enough."""
    return "memory"


def test_policies_list_default_first_with_parameter_ranges(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    answer = client.get("/policies", headers=admin_headers)
    assert answer.status_code == 200
    policies = answer.json()
    assert policies[0]["name"] == "response_curve" and policies[0]["default"] is True
    assert [p["name"] for p in policies if p["default"]] == ["response_curve"]
    max_change = policies[0]["params"]["max_change"]
    assert max_change["allow_none"] is True
    assert max_change["range"] == "a number in (0, inf] or null"
    assert "relative change" in max_change["help"]
    cooldown = policies[0]["params"]["cooldown"]
    assert cooldown["integer"] is True and cooldown["default"] == 0
    ucb = next(p for p in policies if p["name"] == "ucb")
    assert ucb["uses_step"] is True and set(ucb["params"]) == {"c"}


def test_policies_need_a_login(client: TestClient) -> None:
    assert client.get("/policies").status_code == 401
