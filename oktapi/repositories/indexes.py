"""Indexes created idempotently at start-up; uniqueness rules are enforced by the database.

Expiring collections get a TTL index on MongoDB (``expire_after``); mongomock and litemongo
would scan every document on every read to honour one, so there the same field gets a plain
index and services/retention.py sweeps instead.
"""

import logging

from pymongo import ASCENDING
from pymongo.database import Database
from pymongo.errors import OperationFailure

logger = logging.getLogger(__name__)

# The audit listing sorts newest first on (at, _id), after an equality filter on one field at
# most, within a window of days (repositories/audit.py): each shape has its index.
_NEWEST = [("at", ASCENDING), ("_id", ASCENDING)]
AUDIT_FILTERS = ("client_id", "plan_id", "user_id", "action")

INDEXES: dict[str, list[tuple[list[tuple[str, int]], dict]]] = {
    "users": [([("username", ASCENDING)], {"unique": True})],
    "clients": [([("name", ASCENDING)], {})],
    "campaigns": [
        ([("client_id", ASCENDING), ("name", ASCENDING)], {"unique": True}),
        # a platform's campaign id names one campaign per client: ``external_key`` is
        # "<client_id>/<external_id>", absent without one (sparse; a partial index would do on
        # MongoDB, but mongomock refuses to rebuild one over campaigns that lack the field)
        ([("external_key", ASCENDING)], {"unique": True, "sparse": True}),
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
    # The results store: ids are unique by construction ("<plan>:<t>:<campaign>", "<plan>:r<seq>"),
    # so no compound unique index (the embedded store checks those by scanning the plan's
    # records); a history page reads its figure sets by timestep key, deleting a client sweeps;
    # a campaign's days (history, and what a new plan learns from) are read by campaign and date.
    "plan_results": [
        ([("timestep_key", ASCENDING)], {}),
        ([("client_id", ASCENDING)], {}),
        ([("campaign_id", ASCENDING), ("date", ASCENDING)], {}),
    ],
    "plan_restatements": [([("client_id", ASCENDING)], {})],
    # a batch import's staging: discarded by import id, swept per plan, deleted with its client
    "plan_imports": [
        ([("import_id", ASCENDING)], {}),
        ([("plan_id", ASCENDING)], {}),
        ([("client_id", ASCENDING)], {}),
    ],
    "audit": [
        (_NEWEST, {}),
        ([("day", ASCENDING)], {}),
        *(([(field, ASCENDING), *_NEWEST], {}) for field in AUDIT_FILTERS),
    ],
    # every login counts recent failures per (username, address) and per address
    "login_failures": [
        ([("key", ASCENDING), ("at", ASCENDING)], {}),
        ([("address", ASCENDING), ("at", ASCENDING)], {}),
    ],
    # one claim per user and Idempotency-Key decides which creation makes the plan
    "idempotency_keys": [
        ([("user_id", ASCENDING), ("key", ASCENDING)], {"unique": True}),
        ([("client_id", ASCENDING)], {}),
    ],
}

# The field each expiring collection is dated by (its TTL index on MongoDB).
EXPIRY_FIELDS = {"audit": "at", "login_failures": "at", "idempotency_keys": "created_at"}

# Indexes earlier versions created that a newer one replaces.
SUPERSEDED = {"audit": ["client_id_1_at_1"]}


def ensure_indexes(db: Database, *, expire_after: dict[str, int] | None = None) -> None:
    """Create every index; with ``expire_after`` (seconds per collection), TTL indexes too."""
    for collection, specs in INDEXES.items():
        for keys, options in specs:
            db[collection].create_index(keys, **options)
    for collection, field in EXPIRY_FIELDS.items():
        options = {}
        if expire_after is not None:
            options["expireAfterSeconds"] = expire_after[collection]
        _create_or_replace(db, collection, [(field, ASCENDING)], options)
    for collection, names in SUPERSEDED.items():
        existing = db[collection].index_information()
        for name in names:
            if name in existing:
                db[collection].drop_index(name)


def _create_or_replace(db: Database, collection: str, keys: list, options: dict) -> None:
    """Create an index; one with the same keys but other options (a changed TTL) is replaced."""
    try:
        db[collection].create_index(keys, **options)
    except OperationFailure as error:
        if error.code not in (85, 86):  # IndexOptionsConflict, IndexKeySpecsConflict
            raise
        name = "_".join(f"{field}_{direction}" for field, direction in keys)
        logger.info("replacing index %s.%s with options %s", collection, name, options)
        db[collection].drop_index(name)
        db[collection].create_index(keys, **options)
