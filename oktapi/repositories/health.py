"""The health probe's one document: writing it proves the store accepts writes."""

from datetime import datetime

from pymongo.database import Database

COLLECTION = "health"
PROBE_ID = "probe"


class HealthRepository:
    def __init__(self, db: Database) -> None:
        self._health = db[COLLECTION]

    def touch(self, at: datetime) -> None:
        """Upsert the probe document: a write as small as a write gets."""
        self._health.update_one({"_id": PROBE_ID}, {"$set": {"at": at}}, upsert=True)
