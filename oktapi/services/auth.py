"""Login: constant-cost password checks, limited per (username, address) and per address."""

import math
from datetime import UTC, datetime, timedelta

from pymongo.database import Database

from oktapi.errors import NotAuthenticated, ServiceBusy, TooManyRequests
from oktapi.models.auth import Token
from oktapi.repositories.base import utc_now  # the limiter's clock; tests move it forward
from oktapi.repositories.users import LoginFailureRepository, UserRepository
from oktapi.security import create_access_token, verify_password
from oktapi.settings import Settings

MAX_FAILED_LOGINS = 5
# Across usernames: one address guessing many accounts (or flooding new names) is stopped too,
# with room for an office behind one NAT address where several people mistype.
MAX_FAILED_LOGINS_PER_ADDRESS = 20
FAILURE_WINDOW = timedelta(minutes=5)
MAX_USERNAME_LOOKUP = 200


def login(*, db: Database, settings: Settings, username: str, password: str, address: str) -> Token:
    """A token for the right password; the same answer and cost for every wrong one.

    Failures are counted per username *and* client address, so guessing from one place is slowed
    down without letting anyone lock the real user out from elsewhere, and per address across
    usernames, so new usernames do not buy new guesses.
    """
    failures = LoginFailureRepository(db)
    key = f"{username[:MAX_USERNAME_LOOKUP]}\n{address}"
    now = utc_now()
    since = now - FAILURE_WINDOW
    retry_after = _retry_after(failures, key, address, now)
    if retry_after is not None:
        raise _too_many(retry_after)
    # Count this attempt as a failure *before* checking it, so parallel guesses cannot all slip
    # through between the count and the check: the attempt ranked past a limit is refused.
    attempt_id = failures.record(key, address, now)
    if (
        failures.count_since(key, since) > MAX_FAILED_LOGINS
        or failures.count_from(address, since) > MAX_FAILED_LOGINS_PER_ADDRESS
    ):
        failures.remove(attempt_id)
        raise _too_many(_retry_after(failures, key, address, now) or 1)

    user = None
    if len(username) <= MAX_USERNAME_LOOKUP:
        user = UserRepository(db).find_by_username(username)
    # Unknown users are checked against a dummy hash: one argon2 verification on every path,
    # each waiting for one of the few hashing turns.
    stored_hash = user["password_hash"] if user else None
    try:
        check = verify_password(password, stored_hash)
    except ServiceBusy:
        failures.remove(attempt_id)  # never checked, so not a failure
        raise
    if user is None or not check.ok or user.get("disabled"):
        failures.forget_before(since)
        raise NotAuthenticated("Incorrect username or password")

    failures.clear(key)
    if check.upgraded_hash is not None:
        UserRepository(db).upgrade_password_hash(
            user["_id"], old=stored_hash or "", new=check.upgraded_hash
        )
    token = create_access_token(
        subject=user["_id"],
        token_version=user.get("token_version", 0),
        secret=settings.signing_key,
        minutes=settings.access_token_minutes,
    )
    return Token(access_token=token, expires_in=settings.access_token_minutes * 60)


def _retry_after(
    failures: LoginFailureRepository, key: str, address: str, now: datetime
) -> int | None:
    """Seconds until the limited attempts may try again; None when neither limit applies."""
    since = now - FAILURE_WINDOW
    waits = [
        _wait(failures.recent(key, since), MAX_FAILED_LOGINS, now),
        _wait(failures.recent_from(address, since), MAX_FAILED_LOGINS_PER_ADDRESS, now),
    ]
    limited = [wait for wait in waits if wait is not None]
    return max(limited) if limited else None


def _wait(recent: list[datetime], limit: int, now: datetime) -> int | None:
    """Seconds until the oldest failure that counts leaves the window; None below the limit."""
    if len(recent) < limit:
        return None
    oldest_that_counts = _aware(recent[-limit])
    return math.ceil((oldest_that_counts + FAILURE_WINDOW - now).total_seconds())


def _too_many(retry_after: int) -> TooManyRequests:
    return TooManyRequests("Too many failed logins; try again later", retry_after=retry_after)


def _aware(moment: datetime) -> datetime:
    """Backends that drop the time zone hand back naive UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
