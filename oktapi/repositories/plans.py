"""Every query on plans and their timestep records; reads are scoped to the caller's clients.

Exactly-once is the database's job here, not Python's:
- a timestep's close record lives in ``plan_timesteps`` under ``_id = "<plan_id>:<timestep>"``
  (and a unique index on (plan_id, timestep)), so only one insert per timestep can ever succeed;
- the plan document carries ``version`` (= the next timestep to report) and moves forward only
  by a conditional update on ``{"_id": id, "version": k}``, so only one writer advances it;
- parts of the open timestep are added only while ``version`` is still that timestep;
- ``restatements`` counts the plan's applied restatements and moves only by a conditional
  update on its current value, so each restatement is counted (and its spend added) once.

A plan and a timestep record are checked after they are stored, against the deletions that
race with them: their client (see repositories/clients.py) and, for a new plan, its campaigns
(see repositories/campaigns.py). A write that lost is taken back and answered 404/409/422.
"""

from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from oktapi.errors import Conflict, Invalid, NotFound
from oktapi.repositories.base import scoped
from oktapi.repositories.campaigns import CampaignRepository
from oktapi.repositories.clients import ClientRepository
from oktapi.repositories.idempotency import COLLECTION as IDEMPOTENCY_KEYS
from oktapi.repositories.results import ResultRepository
from oktapi.scope import Page, Principal

PLANS = "plans"
PLAN_TIMESTEPS = "plan_timesteps"

# The engine state is the bulk of a plan document; lists and summaries never need it.
WITHOUT_STATE = {"state": 0}


def _count(value: int) -> Any:
    """A counter field's query value: documents written before the counter existed have none."""
    return value if value else {"$in": [0, None]}


def parts_unchanged(parts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A query condition: each of these stored parts of the open timestep still as given (not
    posted again with other figures since it was read)."""
    return {
        f"parts.{campaign_id}.{key}": value
        for campaign_id, part in parts.items()
        for key, value in part.items()
    }


def timestep_record_id(plan_id: str, timestep: int) -> str:
    return f"{plan_id}:{timestep}"


class TimestepAlreadyRecorded(Exception):
    """Another request recorded this timestep first."""


class PlanRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._plans = db[PLANS]
        self._timesteps = db[PLAN_TIMESTEPS]

    # --- plans ---------------------------------------------------------------------------------

    def insert(self, plan: dict[str, Any]) -> None:
        """Store a new plan, unless its client or one of its campaigns is being deleted."""
        self._plans.insert_one(plan)
        missing, deleting = CampaignRepository(self._db).unavailable_for_plan(
            plan["client_id"], plan["campaign_ids"]
        )
        client_live = ClientRepository(self._db).is_live(plan["client_id"])
        if client_live and not missing and not deleting:
            return
        self._plans.delete_one({"_id": plan["_id"]})
        if not client_live:
            raise NotFound("Client")
        if missing:
            raise Invalid(
                f"these campaign ids are not campaigns of this client: {', '.join(missing)}",
                loc=("body", "campaign_ids"),
            )
        raise Conflict(
            f"campaign(s) {', '.join(deleting)} are being deleted; leave them out of the plan, "
            "or retry if the deletion fails"
        )

    def get(
        self, principal: Principal, plan_id: str, *, with_state: bool = True
    ) -> dict[str, Any] | None:
        """The plan if it exists and the caller may see its client, else None."""
        query = scoped(principal, {"_id": plan_id})
        if with_state:
            return self._plans.find_one(query)
        return self._plans.find_one(query, WITHOUT_STATE)

    def get_unscoped(self, plan_id: str, *, with_state: bool = True) -> dict[str, Any] | None:
        """For internal re-reads after the caller's access was already checked."""
        if with_state:
            return self._plans.find_one({"_id": plan_id})
        return self._plans.find_one({"_id": plan_id}, WITHOUT_STATE)

    def list_for_client(self, principal: Principal, client_id: str, page: Page) -> list[dict]:
        return list(
            self._plans.find(
                scoped(principal, {"client_id": client_id}),
                WITHOUT_STATE,
                sort=[("created_at", ASCENDING), ("_id", ASCENDING)],
                skip=page.offset,
                limit=page.limit,
            )
        )

    def over_campaigns(
        self, principal: Principal, client_id: str, campaign_ids: list[str]
    ) -> list[dict[str, Any]]:
        """The client's plans over any of these campaigns, oldest first (what a new one learns
        from): only the fields that place their timesteps in days, and its restatements' count."""
        fields = ("campaign_ids", "start", "timestep_days", "created_at", "version", "restatements")
        return list(
            self._plans.find(
                scoped(principal, {"client_id": client_id, "campaign_ids": {"$in": campaign_ids}}),
                dict.fromkeys(fields, True),
                sort=[("created_at", ASCENDING), ("_id", ASCENDING)],
            )
        )

    def advance(
        self,
        plan_id: str,
        expected_version: int,
        expected_changes: int,
        changes: dict[str, Any],
        spend: float,
        parts: dict[str, dict[str, Any]],
    ) -> bool:
        """Move the plan from ``expected_version`` to the next; False if someone else already did,
        if a plan change (``changes`` counter) overtook the close (services/plan_changes.py), or
        if one of the ``parts`` the close was computed from was posted again since.

        The timestep's spend is added (not set), so a restatement counted meanwhile keeps its own.
        """
        query = {
            "_id": plan_id,
            "version": expected_version,
            "changes": _count(expected_changes),
            **parts_unchanged(parts),
        }
        result = self._plans.update_one(
            query, {"$set": {**changes, "parts": {}}, "$inc": {"budget_spent": spend}}
        )
        return result.matched_count == 1

    def add_part(
        self, plan_id: str, version: int, changes: int, figures: dict[str, dict[str, Any]]
    ) -> dict[str, Any] | None:
        """Add (or replace) campaigns' figures of the open timestep ``version``; the parts after.

        None when the timestep is no longer open (another request closed it meanwhile), the
        plan changed since it was read (its open allocation may be another one), or a report
        import is being applied (its batch closes the timestep with the parts it read: a part
        written now would be answered "waiting" and then lost; see csv_apply.py).
        """
        return self._plans.find_one_and_update(
            {
                "_id": plan_id,
                "version": version,
                "changes": _count(changes),
                "pending_import": None,
            },
            {"$set": {f"parts.{campaign_id}": doc for campaign_id, doc in figures.items()}},
            projection={"parts": 1, "version": 1},
            return_document=ReturnDocument.AFTER,
        )

    def apply_change(
        self,
        plan_id: str,
        version: int,
        changes: int,
        fields: dict[str, Any],
        *,
        no_parts: bool,
        settles: tuple[str, str] | None = None,
    ) -> bool:
        """A plan change, from the plan as read (``version``, ``changes``) to ``changes + 1``.

        With ``no_parts`` it only applies while no result of the open timestep has arrived (the
        change recomputed that timestep's allocation). With ``settles`` (campaign id, token) it
        also takes off that campaign's bound mark, only while the mark is still that one (see
        ``mark_bounds_pending``). False if the plan moved meanwhile.
        """
        query: dict[str, Any] = {
            "_id": plan_id,
            "version": version,
            "changes": _count(changes),
            "pending_import": None,  # not while a report import is applied (csv_apply.py)
        }
        if no_parts:
            query["parts"] = {"$in": [{}, None]}
        update: dict[str, Any] = {"$set": {**fields, "changes": changes + 1}}
        if settles is not None:
            campaign_id, token = settles
            query[f"bounds_pending.{campaign_id}.token"] = token
            update["$unset"] = {f"bounds_pending.{campaign_id}": ""}
        result = self._plans.update_one(query, update)
        return result.matched_count == 1

    def mark_bounds_pending(
        self, plan_ids: list[str], campaign_id: str, mark: dict[str, Any]
    ) -> None:
        """Mark plans whose engine must take a campaign's new bounds (``mark``: a ``token``
        and who edited). Durable: every read finishes a mark (services/timesteps.catch_up), so
        a plan never answers under a bound its campaign no longer has."""
        if plan_ids:
            self._plans.update_many(
                {"_id": {"$in": plan_ids}}, {"$set": {f"bounds_pending.{campaign_id}": mark}}
            )

    def clear_bounds_pending(self, plan_id: str, campaign_id: str, token: str) -> bool:
        """Take off a bound mark that needed no change, unless a newer edit marked it again."""
        result = self._plans.update_one(
            {"_id": plan_id, f"bounds_pending.{campaign_id}.token": token},
            {"$unset": {f"bounds_pending.{campaign_id}": ""}},
        )
        return result.matched_count == 1

    def set_fields(self, plan_id: str, fields: dict[str, Any]) -> bool:
        """Fields the timestep loop never writes (a plan's name, its campaigns' names)."""
        return self._plans.update_one({"_id": plan_id}, {"$set": fields}).matched_count == 1

    def rename_campaign(self, campaign_id: str, name: str) -> None:
        """The name the plans' next allocations show for a renamed campaign."""
        self._plans.update_many(
            {"campaign_ids": campaign_id}, {"$set": {f"campaign_names.{campaign_id}": name}}
        )

    def active_with_campaign(self, campaign_id: str) -> list[dict[str, Any]]:
        """The active plans a campaign is in (internal: the caller may edit the campaign)."""
        return list(
            self._plans.find(
                {"campaign_ids": campaign_id, "status": "active"}, WITHOUT_STATE, sort=[("_id", 1)]
            )
        )

    def delete(self, principal: Principal, plan_id: str) -> dict[str, Any] | None:
        """Delete the plan and its records (the audit trail stays); the plan, or None.

        The plan goes first: a close or restatement recorded meanwhile checks for it after it is
        stored and takes itself back (``insert_timestep``, ``ResultRepository``).
        """
        plan = self._plans.find_one_and_delete(scoped(principal, {"_id": plan_id}), WITHOUT_STATE)
        if plan is None:
            return None
        self._timesteps.delete_many({"plan_id": plan_id})
        ResultRepository(self._db).delete_for_plans([plan_id])
        self._db[IDEMPOTENCY_KEYS].delete_many({"plan_id": plan_id})
        self._db["plan_imports"].delete_many({"plan_id": plan_id})
        return plan

    def count_restatement(self, plan_id: str, seq: int, spend_delta: float, at: Any) -> bool:
        """Count restatement ``seq`` once: its spend delta joins budget_spent."""
        counted: Any = seq if seq else {"$in": [0, None]}
        result = self._plans.update_one(
            {"_id": plan_id, "restatements": counted},
            {
                "$set": {"restatements": seq + 1, "updated_at": at},
                "$inc": {"budget_spent": spend_delta},
            },
        )
        return result.matched_count == 1

    # --- timestep records --------------------------------------------------------------------

    def insert_timestep(self, record: dict[str, Any]) -> None:
        """Record a timestep's results; raises TimestepAlreadyRecorded if it was recorded before."""
        record = {**record, "_id": timestep_record_id(record["plan_id"], record["timestep"])}
        try:
            self._timesteps.insert_one(record)
        except DuplicateKeyError:
            raise TimestepAlreadyRecorded from None
        client_live = ClientRepository(self._db).is_live(record["client_id"])
        if not client_live or not self._plans.find_one(
            {"_id": record["plan_id"]}, projection={"_id": True}
        ):
            self._timesteps.delete_one({"_id": record["_id"]})  # the client or plan went meanwhile
            raise NotFound("Plan")

    def void_timestep(self, record: dict[str, Any], *, plan_gone: bool = False) -> None:
        """Take back a close record a plan change overtook (nobody was answered from it): the
        record and the first reports it stored, so the timestep closes again from the changed
        plan. With ``plan_gone`` (deleted meanwhile) its first reports go even if the deletion's
        sweep took the record first."""
        found = self._timesteps.find_one_and_delete(
            {
                "_id": record["_id"],
                "changes_applied": _count(record.get("changes_applied", 0)),
                "reported_at": record["reported_at"],
            }
        )
        if found is not None or plan_gone:
            ResultRepository(self._db).delete_first_reports(
                record["plan_id"],
                record["timestep"],
                [row["campaign_id"] for row in record["results"]],
            )

    def get_timestep(self, plan_id: str, timestep: int) -> dict[str, Any] | None:
        return self._timesteps.find_one({"_id": timestep_record_id(plan_id, timestep)})

    def pending_timesteps(self, plans: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Records a plan document has not caught up with yet (after a crash between two writes)."""
        wanted = [timestep_record_id(plan["_id"], plan["version"]) for plan in plans]
        if not wanted:
            return {}
        records = list(self._timesteps.find({"_id": {"$in": wanted}}))
        return {record["plan_id"]: record for record in records}

    def get_timesteps(self, plan_id: str, timesteps: list[int]) -> dict[int, dict[str, Any]]:
        """The close records of the given timesteps, by id: a page reads its page, whatever the
        plan's length (a query on plan_id makes the embedded store consider all its records)."""
        if not timesteps:
            return {}
        ids = [timestep_record_id(plan_id, timestep) for timestep in timesteps]
        wanted: Any = ids[0] if len(ids) == 1 else {"$in": ids}
        return {record["timestep"]: record for record in self._timesteps.find({"_id": wanted})}

    def set_timestep_revision(
        self,
        plan_id: str,
        timestep: int,
        revision: int,
        restated_at: Any,
        latest: dict[str, dict[str, Any]],
    ) -> bool:
        """Move a closed timestep to ``revision`` once (from ``revision - 1``), with the latest
        figures of the campaigns that restatement changed (what a history page shows)."""
        previous: Any = revision - 1 if revision > 1 else {"$in": [0, None]}
        changes = {f"latest.{campaign_id}": figures for campaign_id, figures in latest.items()}
        result = self._timesteps.update_one(
            {"_id": timestep_record_id(plan_id, timestep), "revision": previous},
            {"$set": {"revision": revision, "restated_at": restated_at, **changes}},
        )
        return result.matched_count == 1
