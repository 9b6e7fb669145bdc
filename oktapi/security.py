"""Password hashing (pwdlib, argon2) and access tokens (PyJWT, HS256)."""

import secrets
import string
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from pwdlib import PasswordHash

ALGORITHM = "HS256"
MIN_PASSWORD_LENGTH = 10

_hasher = PasswordHash.recommended()
# Verified against when the user does not exist, so login time does not reveal who exists.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """Constant-shape check: an unknown user costs one argon2 verification like a wrong password."""
    if password_hash is None:
        _hasher.verify(password, _DUMMY_HASH)
        return False
    try:
        return _hasher.verify(password, password_hash)
    except Exception:  # a corrupt stored hash must not become a 500
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
