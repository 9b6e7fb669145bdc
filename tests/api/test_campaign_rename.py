"""A renamed campaign shows its new name in every answer about the open timestep, including the
allocation computed before the rename."""

from typing import Any

from fastapi.testclient import TestClient

from tests.api.plans_support import client_with_campaigns, create_plan, results_for

NEW_NAME = "Brand search (renamed)"


def _names(allocation: dict) -> dict[str, str]:
    return {item["campaign_id"]: item["campaign_name"] for item in allocation["allocations"]}


def test_a_campaign_renamed_mid_timestep_shows_its_new_name_in_every_answer(
    client: TestClient, db: Any, admin_headers: dict
) -> None:
    client_id, campaign_ids = client_with_campaigns(db, 3)
    plan = create_plan(client, admin_headers, client_id, campaign_ids, timesteps=3)
    renamed = campaign_ids[1]
    assert _names(plan["allocation"])[renamed] == "Campaign 1"
    stored_before = db["plans"].find_one({"_id": plan["id"]})["allocation"]
    response = client.patch(f"/campaigns/{renamed}", json={"name": NEW_NAME}, headers=admin_headers)
    assert response.status_code == 200, response.text

    allocation = client.get(f"/plans/{plan['id']}/allocation", headers=admin_headers).json()
    shown = client.get(f"/plans/{plan['id']}", headers=admin_headers).json()
    listed = client.get(f"/clients/{client_id}/plans", headers=admin_headers).json()
    history = client.get(f"/plans/{plan['id']}/history", headers=admin_headers).json()
    open_entry = history["entries"][-1]
    expected = {cid: f"Campaign {i}" for i, cid in enumerate(campaign_ids)} | {renamed: NEW_NAME}
    for answered in (allocation, shown["allocation"], listed[0]["allocation"]):
        assert _names(answered) == expected
    assert _names(open_entry["allocation"]) == expected
    assert open_entry["results"] is None
    names = {c["campaign_id"]: c["campaign_name"] for c in shown["campaigns"]}
    assert names[renamed] == NEW_NAME
    # The budgets are the ones given before the rename (it is only a label).
    assert [i["budget"] for i in allocation["allocations"]] == [
        i["budget"] for i in stored_before["allocations"]
    ]
    closed = client.post(
        f"/plans/{plan['id']}/results", json=results_for(allocation), headers=admin_headers
    )
    assert closed.status_code == 200, closed.text
    assert _names(closed.json()) == expected
