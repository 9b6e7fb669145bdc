"""Indexes created idempotently at start-up; uniqueness rules are enforced by the database."""

from pymongo import ASCENDING
from pymongo.database import Database

INDEXES: dict[str, list[tuple[list[tuple[str, int]], dict]]] = {
    "users": [([("username", ASCENDING)], {"unique": True})],
    "clients": [([("name", ASCENDING)], {})],
    "campaigns": [
        ([("client_id", ASCENDING), ("name", ASCENDING)], {"unique": True}),
        # a platform's campaign id names one campaign per client; campaigns without one are left out
        (
            [("client_id", ASCENDING), ("external_id", ASCENDING)],
            {"unique": True, "partialFilterExpression": {"external_id": {"$type": "string"}}},
        ),
    ],
    "plans": [
        ([("client_id", ASCENDING), ("created_at", ASCENDING)], {}),
        # campaign DELETE asks whether an active plan uses the campaign
        ([("campaign_ids", ASCENDING), ("status", ASCENDING)], {}),
    ],
    "plan_timesteps": [
        ([("plan_id", ASCENDING), ("timestep", ASCENDING)], {"unique": True}),
        # deleting a client sweeps its records
        ([("client_id", ASCENDING)], {}),
    ],
    # one claim per user and Idempotency-Key decides which creation makes the plan
    "idempotency_keys": [
        ([("user_id", ASCENDING), ("key", ASCENDING)], {"unique": True}),
        ([("client_id", ASCENDING)], {}),
    ],
    "audit": [([("at", ASCENDING)], {}), ([("client_id", ASCENDING), ("at", ASCENDING)], {})],
    # every login counts recent failures per (username, address) and drops old ones
    "login_failures": [([("key", ASCENDING), ("at", ASCENDING)], {}), ([("at", ASCENDING)], {})],
}


def ensure_indexes(db: Database) -> None:
    for collection, specs in INDEXES.items():
        for keys, options in specs:
            db[collection].create_index(keys, **options)
