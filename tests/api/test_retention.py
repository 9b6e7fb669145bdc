"""Retention: old audit entries, failed logins and idempotency keys go; the audit listing still
finds everything that is kept, newest first, across days and pages."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from oktapi.app import create_app
from oktapi.repositories.audit import day_of
from oktapi.services.retention import sweep_expired
from oktapi.settings import Settings
from tests.conftest import bearer, insert_user

AUDIT_DAYS = 30


@pytest.fixture
def kept_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"audit_retention_days": AUDIT_DAYS, "login_failure_retention_days": 1}
    )


@pytest.fixture
def app(kept_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(kept_settings)) as test_client:
        yield test_client


def _audit(db: Any, at: datetime, name: str, *, with_day: bool = True, **fields: Any) -> None:
    entry = {
        "_id": name,
        "at": at,
        "user_id": "u1",
        "username": "someone",
        "action": "client.updated",
        "client_id": "c1",
        "plan_id": None,
        "target_id": "c1",
        "changes": {},
        **fields,
    }
    if with_day:
        entry["day"] = day_of(at)
    db["audit"].insert_one(entry)


def _seed(db: Any, now: datetime) -> None:
    """One document just past its retention and one just inside it, per collection."""
    _audit(db, now - timedelta(days=AUDIT_DAYS, hours=1), "audit-expired")
    _audit(db, now - timedelta(days=AUDIT_DAYS - 1), "audit-kept")
    db["login_failures"].insert_many(
        [
            {"_id": "failure-expired", "key": "alice\n10.0.0.1", "at": now - timedelta(days=2)},
            {"_id": "failure-kept", "key": "alice\n10.0.0.1", "at": now - timedelta(hours=1)},
        ]
    )
    db["idempotency_keys"].insert_many(
        [
            {
                "_id": f"key-{name}",
                "user_id": "u1",
                "key": name,
                "client_id": "c1",
                "fingerprint": "f",
                "plan_id": "p",
                "created_at": now - age,
            }
            for name, age in (("expired", timedelta(hours=25)), ("kept", timedelta(hours=1)))
        ]
    )


def _ids(db: Any, collection: str) -> set[str]:
    return {document["_id"] for document in db[collection].find({}, projection={"_id": True})}


def test_what_is_past_retention_is_deleted_when_the_server_starts(
    backend: str, kept_settings: Settings
) -> None:
    with TestClient(create_app(kept_settings)) as first:
        db = first.app.state.storage.db
        _seed(db, datetime.now(UTC))
    with TestClient(create_app(kept_settings)) as restarted:
        db = restarted.app.state.storage.db
        if backend == "mongodb":  # the server's TTL monitor deletes them, within a minute
            info = {
                collection: {
                    index["key"][0][0]: index.get("expireAfterSeconds")
                    for index in db[collection].index_information().values()
                    if len(index["key"]) == 1
                }
                for collection in ("audit", "login_failures", "idempotency_keys")
            }
            assert info["audit"]["at"] == AUDIT_DAYS * 86400
            assert info["login_failures"]["at"] == 86400
            assert info["idempotency_keys"]["created_at"] == 86400
            return
        assert _ids(db, "audit") == {"audit-kept"}
        assert _ids(db, "login_failures") == {"failure-kept"}
        assert _ids(db, "idempotency_keys") == {"key-kept"}


def test_the_periodic_sweep_deletes_entries_as_they_pass_retention(
    app: TestClient, kept_settings: Settings
) -> None:
    db = app.app.state.storage.db
    now = datetime.now(UTC)
    _seed(db, now)
    a_day_later = now + timedelta(days=1, hours=1)
    deleted = sweep_expired(db, kept_settings, now=a_day_later)
    assert deleted == {"audit": 2, "login_failures": 2, "idempotency_keys": 2}
    assert _ids(db, "audit") == _ids(db, "login_failures") == _ids(db, "idempotency_keys") == set()


def test_retention_is_configured_in_whole_days() -> None:
    for field in ("audit_retention_days", "login_failure_retention_days"):
        with pytest.raises(ValidationError, match=field):
            Settings(_env_file=None, **{field: 0})
    assert Settings(_env_file=None).audit_retention_days >= 365


def test_the_audit_listing_pages_newest_first_across_days(kept_settings: Settings) -> None:
    """Entries over three weeks, a fifth stored before entries had a day: all listed in order."""
    now = datetime.now(UTC)
    with TestClient(create_app(kept_settings)) as first:
        db = first.app.state.storage.db
        for index in range(70):  # one every 7 hours, newest first, about 20 days
            _audit(db, now - timedelta(hours=7 * index), f"e{index:03d}", with_day=index % 5 != 0)
        headers = bearer(kept_settings, insert_user(db, username="auditor", role="admin"))
    with TestClient(create_app(kept_settings)) as restarted:  # dates the older entries
        listed: list[str] = []
        for offset in range(0, 90, 30):
            page = restarted.get("/audit", params={"offset": offset, "limit": 30}, headers=headers)
            assert page.status_code == 200, page.text
            listed += [entry["id"] for entry in page.json()]
        filtered = restarted.get("/audit", params={"action": "client.updated"}, headers=headers)
    assert listed == [f"e{index:03d}" for index in range(70)]
    assert len(filtered.json()) == 50
