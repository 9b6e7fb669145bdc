"""Login: constant-cost password checks and a per-(username, address) failure limit."""

import math
from datetime import UTC, datetime, timedelta

from pymongo.database import Database

from oktapi.errors import NotAuthenticated, TooManyRequests
from oktapi.models.auth import Token
from oktapi.repositories.users import LoginFailureRepository, UserRepository
from oktapi.security import create_access_token, verify_password
from oktapi.settings import Settings

MAX_FAILED_LOGINS = 5
FAILURE_WINDOW = timedelta(minutes=5)
MAX_USERNAME_LOOKUP = 200


def utc_now() -> datetime:
    """The limiter's clock; tests move it forward instead of sleeping."""
    return datetime.now(UTC)


def login(*, db: Database, settings: Settings, username: str, password: str, address: str) -> Token:
    """A token for the right password; the same answer and cost for every wrong one.

    Failures are counted per username *and* client address, so guessing from one place is slowed
    down without letting anyone lock the real user out from elsewhere.
    """
    failures = LoginFailureRepository(db)
    key = f"{username[:MAX_USERNAME_LOOKUP]}\n{address}"
    now = utc_now()
    since = now - FAILURE_WINDOW
    retry_after = _retry_after(failures, key, now)
    if retry_after is not None:
        raise _too_many(retry_after)
    # Count this attempt as a failure *before* checking it, so parallel guesses cannot all slip
    # through between the count and the check: the attempt ranked past the limit is refused.
    attempt_id = failures.record(key, now)
    if failures.count_since(key, since) > MAX_FAILED_LOGINS:
        failures.remove(attempt_id)
        raise _too_many(_retry_after(failures, key, now) or 1)

    user = None
    if len(username) <= MAX_USERNAME_LOOKUP:
        user = UserRepository(db).find_by_username(username)
    # Unknown users are checked against a dummy hash: one argon2 verification on every path.
    password_ok = verify_password(password, user["password_hash"] if user else None)
    if user is None or not password_ok or user.get("disabled"):
        failures.forget_before(since)
        raise NotAuthenticated("Incorrect username or password")

    failures.clear(key)
    token = create_access_token(
        subject=user["_id"],
        token_version=user.get("token_version", 0),
        secret=settings.signing_key,
        minutes=settings.access_token_minutes,
    )
    return Token(access_token=token, expires_in=settings.access_token_minutes * 60)


def _retry_after(failures: LoginFailureRepository, key: str, now: datetime) -> int | None:
    """Seconds until the oldest failure that counts leaves the window; None when not limited."""
    recent = [_aware(at) for at in failures.recent(key, now - FAILURE_WINDOW)]
    if len(recent) < MAX_FAILED_LOGINS:
        return None
    oldest_that_counts = recent[-MAX_FAILED_LOGINS]
    return math.ceil((oldest_that_counts + FAILURE_WINDOW - now).total_seconds())


def _too_many(retry_after: int) -> TooManyRequests:
    return TooManyRequests("Too many failed logins; try again later", retry_after=retry_after)


def _aware(moment: datetime) -> datetime:
    """Backends that drop the time zone hand back naive UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
