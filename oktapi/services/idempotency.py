"""Plan creation under an ``Idempotency-Key``: a retried request answers the plan the first made.

The key is claimed with a unique index (one claim per user and key) before the plan is made;
the claim carries the plan's id. A request that finds the key claimed by the same body answers
that plan — waiting a moment if the first request is still creating it — and a different body
under the same key is a 409. A refused creation gives its key back; a claim whose creation died
is taken over after STALE_CLAIM_SECONDS. Keys are forgotten after the retention period.
"""

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pymongo.database import Database

from oktapi.errors import Conflict, NotFound
from oktapi.models.plans import PlanCreate
from oktapi.repositories.base import utc_now
from oktapi.repositories.idempotency import IdempotencyRepository
from oktapi.scope import Principal
from oktapi.services import plans

IN_FLIGHT_WAIT_SECONDS = 10.0
STALE_CLAIM_SECONDS = 300
MAX_POLL_SECONDS = 0.2


@dataclass(frozen=True)
class CreatedPlan:
    plan: dict[str, Any]
    replayed: bool  # answered from an earlier request with the same key


def create_plan_once(
    *,
    db: Database,
    principal: Principal,
    client_id: str,
    body: PlanCreate,
    idempotency_key: str | None,
) -> CreatedPlan:
    """Create the plan, or answer the one an earlier request with this key created."""
    if idempotency_key is None:
        return CreatedPlan(_create(db, principal, client_id, body), replayed=False)
    keys = IdempotencyRepository(db)
    fingerprint = _fingerprint(client_id, body)
    deadline = time.monotonic() + IN_FLIGHT_WAIT_SECONDS
    pause = 0.01
    while True:
        claim = keys.claim(
            user_id=principal.user_id,
            key=idempotency_key,
            client_id=client_id,
            fingerprint=fingerprint,
        )
        if claim is not None:
            return CreatedPlan(_create_claimed(db, principal, body, claim, keys), replayed=False)
        existing = keys.get(principal.user_id, idempotency_key)
        if existing is not None:
            _check_same_request(existing, client_id, fingerprint)
            plan = _existing_plan(db, principal, existing["plan_id"])
            if plan is not None:
                return CreatedPlan(plan, replayed=True)
            stale_before = utc_now() - timedelta(seconds=STALE_CLAIM_SECONDS)
            if existing["created_at"] < stale_before:
                taken = keys.take_over(existing, stale_before)
                if taken is not None:
                    return CreatedPlan(
                        _create_claimed(db, principal, body, taken, keys), replayed=False
                    )
                continue
        if time.monotonic() > deadline:
            raise Conflict(
                "a request with this Idempotency-Key is still creating its plan; retry shortly"
            )
        time.sleep(pause)
        pause = min(pause * 2, MAX_POLL_SECONDS)


def _create(
    db: Database, principal: Principal, client_id: str, body: PlanCreate, plan_id: str | None = None
) -> dict[str, Any]:
    return plans.create_plan(
        db=db, principal=principal, client_id=client_id, body=body, plan_id=plan_id
    )


def _create_claimed(
    db: Database,
    principal: Principal,
    body: PlanCreate,
    claim: dict[str, Any],
    keys: IdempotencyRepository,
) -> dict[str, Any]:
    try:
        return _create(db, principal, claim["client_id"], body, plan_id=claim["plan_id"])
    except BaseException:
        keys.release(claim)  # nothing was made: a corrected retry may use the key
        raise


def _fingerprint(client_id: str, body: PlanCreate) -> str:
    """The request as parsed (field order and spelled-out defaults do not matter)."""
    canonical = json.dumps(
        {"client_id": client_id, "body": body.model_dump(mode="json")},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_same_request(claim: dict[str, Any], client_id: str, fingerprint: str) -> None:
    if claim["client_id"] != client_id:
        raise Conflict(
            "this Idempotency-Key was already used to create a plan for another client; "
            "use a new key for a new plan"
        )
    if claim["fingerprint"] != fingerprint:
        raise Conflict(
            "this Idempotency-Key was already used with a different request body; send the same "
            "body to retry that creation, or use a new key for a new plan"
        )


def _existing_plan(db: Database, principal: Principal, plan_id: str) -> dict[str, Any] | None:
    try:
        return plans.get_plan(db=db, principal=principal, plan_id=plan_id)
    except NotFound:
        return None
