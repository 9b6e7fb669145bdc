"""Campaign documents; every query carries the caller's client filter.

Deleting a campaign races with creating a plan over it. Each side writes first and checks the
other after, so the database's order decides and at most one wins:
- deletion marks the campaign (``deleting_at``), then looks for an active plan using it, and
  deletes only if there is none (and its mark is still fresh);
- plan creation stores the plan, then checks its campaigns (``unavailable_for_plan``): one
  missing or marked takes the plan back.
If the plan's check came first, the deletion's later search finds the plan; if the deletion's
search came first, the plan's later check finds the mark or the campaign gone. A mark left by
a deletion that died half-way stops blocking plans after DELETION_MARK_SECONDS.

A missing campaign, or one the caller may not see, is None here; the services raise NotFound.
"""

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from oktapi.errors import Conflict
from oktapi.repositories.base import new_id, scoped, utc_now
from oktapi.repositories.clients import ClientRepository
from oktapi.scope import Page, Principal

COLLECTION = "campaigns"
DELETION_MARK_SECONDS = 60


def _duplicate_name(name: str) -> Conflict:
    return Conflict(f"A campaign named {name!r} already exists for this client")


def external_key(client_id: str, external_id: str) -> str:
    """The unique key of a platform's campaign id within its client (see indexes.py)."""
    return f"{client_id}/{external_id}"


def _duplicate_external_id(external_id: str) -> Conflict:
    return Conflict(f"A campaign with external_id {external_id!r} already exists for this client")


class CampaignRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._campaigns = db[COLLECTION]

    def get(self, principal: Principal, campaign_id: str) -> dict[str, Any] | None:
        """The campaign, or None if it is missing or not the caller's."""
        return self._campaigns.find_one(scoped(principal, {"_id": campaign_id}))

    def list_for_client(
        self, principal: Principal, client_id: str, page: Page
    ) -> list[dict[str, Any]]:
        return list(
            self._campaigns.find(
                scoped(principal, {"client_id": client_id}),
                sort=[("name", ASCENDING), ("_id", ASCENDING)],
                skip=page.offset,
                limit=page.limit,
            )
        )

    def list_by_ids(
        self, principal: Principal, client_id: str, ids: Iterable[str]
    ) -> list[dict[str, Any]]:
        """The campaigns of `client_id` among `ids` that the caller may see, in the order of `ids`.

        Unknown, foreign or repeated ids are dropped; callers compare lengths to report them.
        """
        wanted = list(dict.fromkeys(value for value in ids if isinstance(value, str)))
        if not wanted:
            return []
        found = list(
            self._campaigns.find(
                scoped(principal, {"client_id": client_id, "_id": {"$in": wanted}})
            )
        )
        by_id = {campaign["_id"]: campaign for campaign in found}
        return [by_id[campaign_id] for campaign_id in wanted if campaign_id in by_id]

    def all_for_client(self, principal: Principal, client_id: str) -> list[dict[str, Any]]:
        """Every campaign of the client the caller may see (what a report is matched against)."""
        return list(
            self._campaigns.find(
                scoped(principal, {"client_id": client_id}),
                projection={"name": True, "external_id": True, "client_id": True},
            )
        )

    def bounds(self, campaign_id: str) -> dict[str, Any] | None:
        """A campaign's own min/max budget as stored now (internal: a plan follows them)."""
        return self._campaigns.find_one(
            {"_id": campaign_id}, projection={"min_budget": True, "max_budget": True}
        )

    def is_live(self, campaign_id: str) -> bool:
        """Whether the campaign still exists (checked after writing rows that belong to it)."""
        found = self._campaigns.find_one({"_id": campaign_id}, projection={"_id": True})
        return found is not None

    def create(
        self,
        *,
        client_id: str,
        name: str,
        platform: str | None,
        min_budget: float,
        max_budget: float | None,
        external_id: str | None = None,
    ) -> dict[str, Any] | None:
        """Insert a campaign; the caller has already checked that it may see `client_id`.

        None if the client was deleted meanwhile (the campaign is then taken back).
        """
        now = utc_now()
        campaign_id = new_id()
        campaign: dict[str, Any] = {
            "_id": campaign_id,
            "client_id": client_id,
            "name": name,
            "platform": platform,
            "external_id": external_id,
            "min_budget": float(min_budget),
            "max_budget": None if max_budget is None else float(max_budget),
            "created_at": now,
            "updated_at": now,
        }
        if external_id is not None:
            campaign["external_key"] = external_key(client_id, external_id)
        try:
            self._campaigns.insert_one(campaign)
        except DuplicateKeyError:
            raise self._duplicate(client_id, campaign_id, external_id, name) from None
        if not ClientRepository(self._db).is_live(client_id):
            self._campaigns.delete_one({"_id": campaign_id})  # the client went meanwhile
            return None
        return campaign

    def _duplicate(
        self, client_id: str, campaign_id: str, external_id: str | None, name: str
    ) -> Conflict:
        """Which unique rule a write broke: the name, or the platform's campaign id."""
        if external_id is not None and self._campaigns.find_one(
            {"client_id": client_id, "external_id": external_id, "_id": {"$ne": campaign_id}},
            projection={"_id": True},
        ):
            return _duplicate_external_id(external_id)
        return _duplicate_name(name)

    def update(
        self, principal: Principal, campaign_id: str, changes: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The campaign with `changes` applied, or None if it is missing or not the caller's."""
        campaign = self.get(principal, campaign_id)
        if campaign is None or not changes:
            return campaign
        changes = {**changes, "updated_at": utc_now()}
        update: dict[str, Any] = {"$set": changes}
        if "external_id" in changes:
            if changes["external_id"] is None:
                update["$unset"] = {"external_key": ""}
            else:
                changes["external_key"] = external_key(
                    campaign["client_id"], changes["external_id"]
                )
        try:
            result = self._campaigns.update_one(scoped(principal, {"_id": campaign_id}), update)
        except DuplicateKeyError:
            raise self._duplicate(
                campaign["client_id"],
                campaign_id,
                changes.get("external_id"),
                changes.get("name", campaign["name"]),
            ) from None
        if result.matched_count == 0:
            return None  # deleted meanwhile
        return {**campaign, **changes}

    def in_active_plan(self, campaign_id: str) -> bool:
        """An active plan gives it budgets (one it was removed from, or a stopped or finished
        one, does not block its deletion)."""
        query = {
            "campaign_ids": campaign_id,
            "status": "active",
            f"campaign_rules.{campaign_id}.removed": {"$ne": True},
        }
        return self._db["plans"].find_one(query, projection={"_id": True}) is not None

    def delete(self, principal: Principal, campaign_id: str) -> dict[str, Any] | None:
        """Delete the campaign unless an active plan uses it (Conflict); see the module docstring.

        The deleted campaign, or None if it is missing, not the caller's, or another deletion
        finished first.
        """
        mark = utc_now()
        campaign = self._campaigns.find_one_and_update(
            scoped(principal, {"_id": campaign_id}), {"$set": {"deleting_at": mark}}
        )
        if campaign is None:
            return None
        if self.in_active_plan(campaign_id):
            self._campaigns.update_one(
                {"_id": campaign_id, "deleting_at": mark}, {"$unset": {"deleting_at": ""}}
            )
            raise Conflict(
                "The campaign is part of an active plan; finish or delete the plan first"
            )
        fresh = utc_now() - timedelta(seconds=DELETION_MARK_SECONDS)
        result = self._campaigns.delete_one({"_id": campaign_id, "deleting_at": {"$gt": fresh}})
        if result.deleted_count == 0:
            if self._campaigns.find_one({"_id": campaign_id}, projection={"_id": True}):
                raise Conflict("The deletion took too long and was given up; delete it again")
            return None  # another deletion finished first
        return campaign

    def unavailable_for_plan(
        self, client_id: str, campaign_ids: list[str]
    ) -> tuple[list[str], list[str]]:
        """(missing, being deleted) among a new plan's campaigns, checked after it was stored."""
        found = {
            campaign["_id"]: campaign
            for campaign in self._campaigns.find(
                {"client_id": client_id, "_id": {"$in": campaign_ids}},
                projection={"deleting_at": True},
            )
        }
        fresh = utc_now() - timedelta(seconds=DELETION_MARK_SECONDS)
        missing = [cid for cid in campaign_ids if cid not in found]
        deleting = [
            cid
            for cid, campaign in found.items()
            if campaign.get("deleting_at") is not None and campaign["deleting_at"] > fresh
        ]
        return missing, deleting
