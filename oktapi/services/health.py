"""Readiness: can the service do its job right now (write to its store, sign tokens)?"""

import logging

import pymongo
from pymongo.database import Database

from oktapi.repositories.base import utc_now
from oktapi.repositories.health import HealthRepository
from oktapi.security import create_access_token, decode_access_token
from oktapi.settings import Settings

logger = logging.getLogger("oktapi.health")

STORAGE_NOT_WRITABLE = "storage is not writable"
SIGNING_KEY_UNUSABLE = "signing key is unusable"
# A MongoDB that went away would otherwise hold the check for pymongo's 30 s server selection.
STORE_TIMEOUT_SECONDS = 2.0


def problems(*, db: Database, settings: Settings) -> list[str]:
    """What is broken, in words safe to show anyone; empty when healthy. Each check is cheap."""
    found = []
    try:
        with pymongo.timeout(STORE_TIMEOUT_SECONDS):
            HealthRepository(db).touch(utc_now())
    except Exception:  # a full disk, a read-only file, a lost server: all mean the same here
        logger.warning("health: the store refused a write", exc_info=True)
        found.append(STORAGE_NOT_WRITABLE)
    try:
        secret = settings.signing_key
        token = create_access_token(subject="health", token_version=0, secret=secret, minutes=1)
        if decode_access_token(token, secret=secret) is None:
            raise RuntimeError("a freshly signed token does not verify")
    except Exception:  # an unreadable, short or missing key file: every login would fail
        logger.warning("health: the signing key is unusable", exc_info=True)
        found.append(SIGNING_KEY_UNUSABLE)
    return found
