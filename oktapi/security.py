"""Password hashing (pwdlib, argon2id) bounded in concurrency, and access tokens (PyJWT, HS256)."""

import secrets
import string
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, TypeVar

import jwt
from argon2 import extract_parameters
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from oktapi.errors import ServiceBusy

ALGORITHM = "HS256"
T = TypeVar("T")

# OWASP's Password Storage Cheat Sheet lists argon2id at m=19 MiB, t=2, p=1 and at m=46 MiB,
# t=1, p=1 as equally strong. The first needs 2.4 times less memory and, measured here, half the
# time (31 ms against 70 ms), so the same memory buys more logins.
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_TIME_COST = 2
ARGON2_PARALLELISM = 1
# Hashes from before (argon2-cffi's default, 64 MiB) still verify and are upgraded at the next
# login; a stored hash asking for more is refused rather than allowed to take the memory.
MAX_VERIFY_MEMORY_KIB = 64 * 1024
# Per process: at most this many argon2 computations at once (so at most 2 x 64 MiB), this many
# more waiting for a turn, each at most this long; anything beyond is a 503 with Retry-After.
HASHING_CONCURRENCY = 2
HASHING_QUEUE = 20
HASHING_WAIT_SECONDS = 5.0
HASHING_RETRY_AFTER_SECONDS = 1

_hasher = PasswordHash(
    (
        Argon2Hasher(
            time_cost=ARGON2_TIME_COST,
            memory_cost=ARGON2_MEMORY_KIB,
            parallelism=ARGON2_PARALLELISM,
        ),
    )
)
# Verified against when the user does not exist, so login time does not reveal who exists.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class HashingSlots:
    """A bounded number of concurrent argon2 computations with a short, bounded queue.

    Each computation holds tens of MiB for tens of milliseconds; without a bound, a flood of
    logins (valid or not) holds all of them at once. The computations run on `concurrency`
    threads of their own: malloc keeps a freed 19 MiB block in the arena of the thread that
    used it, so hashing on every request thread in turn would still grow the process by
    19 MiB per thread. Callers wait here (login runs in the thread pool), so the queue is kept
    well under the pool's size.
    """

    def __init__(self, *, concurrency: int, queue: int, wait_seconds: float) -> None:
        self._workers = ThreadPoolExecutor(concurrency, thread_name_prefix="oktopus-argon2")
        self._admitted = threading.BoundedSemaphore(concurrency + queue)
        self._wait_seconds = wait_seconds

    def run(self, computation: Callable[[], T]) -> T:
        """`computation()` on a hashing thread; ServiceBusy if the queue is full or the wait long."""
        if not self._admitted.acquire(blocking=False):
            raise _busy()
        try:
            pending = self._workers.submit(computation)
            try:
                return pending.result(timeout=self._wait_seconds)
            except FutureTimeout:
                if pending.cancel():  # still queued: give up on it
                    raise _busy() from None
                return pending.result()  # already computing: it ends within milliseconds
        finally:
            self._admitted.release()


def _busy() -> ServiceBusy:
    return ServiceBusy(
        "Too many password checks at once; try again shortly",
        retry_after=HASHING_RETRY_AFTER_SECONDS,
    )


hashing_slots = HashingSlots(
    concurrency=HASHING_CONCURRENCY, queue=HASHING_QUEUE, wait_seconds=HASHING_WAIT_SECONDS
)


class PasswordCheck(NamedTuple):
    """Whether the password matched, and the hash to store instead when its parameters are old."""

    ok: bool
    upgraded_hash: str | None = None


def hash_password(password: str) -> str:
    return hashing_slots.run(lambda: _hasher.hash(password))


def verify_password(password: str, password_hash: str | None) -> PasswordCheck:
    """Constant-shape check: an unknown user costs one argon2 verification like a wrong password.

    Every path takes a hashing turn, so unknown users wait in the same queue.
    """
    return hashing_slots.run(lambda: _check(password, password_hash))


def _check(password: str, password_hash: str | None) -> PasswordCheck:
    if password_hash is None or not _affordable(password_hash):
        _hasher.verify(password, _DUMMY_HASH)
        return PasswordCheck(ok=False)
    try:
        if not _hasher.verify(password, password_hash):
            return PasswordCheck(ok=False)
    except Exception:  # a corrupt stored hash must not become a 500
        return PasswordCheck(ok=False)
    if _hasher.current_hasher.check_needs_rehash(password_hash):
        return PasswordCheck(ok=True, upgraded_hash=_hasher.hash(password))
    return PasswordCheck(ok=True)


def _affordable(password_hash: str) -> bool:
    """An argon2 hash whose verification stays within MAX_VERIFY_MEMORY_KIB."""
    try:
        return extract_parameters(password_hash).memory_cost <= MAX_VERIFY_MEMORY_KIB
    except ValueError:  # not an argon2 hash at all
        return False


def generate_password(length: int = 20) -> str:
    """A strong random password for the first admin when none is configured."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def create_access_token(
    *, subject: str, token_version: int, secret: str, minutes: int, now: datetime | None = None
) -> str:
    issued = now or datetime.now(UTC)
    claims = {
        "sub": subject,
        "ver": token_version,
        "iat": issued,
        "exp": issued + timedelta(minutes=minutes),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_access_token(token: str, *, secret: str) -> dict[str, Any] | None:
    """The token's claims, or None if it is malformed, forged or expired."""
    try:
        return jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}
        )
    except jwt.PyJWTError:
        return None
