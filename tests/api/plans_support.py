"""Helpers the plan tests share: clients and campaigns stored directly, plans made over the API."""

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient


def insert_client(db, name: str = "Acme") -> str:
    """A client document as the foundation stores it."""
    client_id = uuid.uuid4().hex
    now = datetime.now(UTC)
    db["clients"].insert_one(
        {
            "_id": client_id,
            "name": name,
            "currency": "EUR",
            "created_at": now,
            "updated_at": now,
            "created_by": "tests",
        }
    )
    return client_id


def insert_campaign(
    db,
    client_id: str,
    name: str,
    *,
    min_budget: float = 0.0,
    max_budget: float | None = None,
) -> str:
    campaign_id = uuid.uuid4().hex
    now = datetime.now(UTC)
    db["campaigns"].insert_one(
        {
            "_id": campaign_id,
            "client_id": client_id,
            "name": name,
            "platform": "google",
            "min_budget": float(min_budget),
            "max_budget": max_budget,
            "created_at": now,
            "updated_at": now,
        }
    )
    return campaign_id


def client_with_campaigns(db, count: int = 3, **bounds: Any) -> tuple[str, list[str]]:
    client_id = insert_client(db)
    return client_id, [
        insert_campaign(db, client_id, f"Campaign {i}", **bounds) for i in range(count)
    ]


def create_plan(
    client: TestClient,
    headers: dict[str, str],
    client_id: str,
    campaign_ids: list[str],
    **fields: Any,
) -> dict[str, Any]:
    body = {"campaign_ids": campaign_ids, "total_budget": 3000.0, "timesteps": 3, **fields}
    response = client.post(f"/clients/{client_id}/plans", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def results_for(
    allocation: dict[str, Any], *, spend_share: float = 1.0, conversions: int = 5
) -> dict:
    """A plausible report for an allocation: each campaign spends its share and converts."""
    return {
        "timestep": allocation["timestep"],
        "results": [
            {
                "campaign_id": item["campaign_id"],
                "spend": round(item["budget"] * spend_share, 2),
                "conversions": conversions,
                "revenue": 10.0 * conversions,
            }
            for item in allocation["allocations"]
        ],
    }
