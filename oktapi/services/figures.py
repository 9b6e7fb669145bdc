"""Figures as reported and restated: comparing them, storing first reports, applying restatements.

A restatement is written in this order, each step conditional so that any step can be redone:
1. the ``plan_restatements`` record ``<plan_id>:r<seq>`` (the commit point: one insert wins);
2. each changed figure set, moved from its revision to the next;
3. the closed timestep's ``revision`` (restatements of it that changed something) and, in the
   same conditional write, its close record's copy of the latest figures (``latest``: what a
   history page reads, so a page costs its 50 close records and not 500 figure sets);
4. the audit entry (event id = the record id);
5. the plan's ``restatements`` counter, from ``seq`` to ``seq + 1``, adding the spend delta.
A crash anywhere after 1 leaves a record the plan has not counted: the next read finds it
(``ResultRepository.get_restatement(plan, plan.restatements)``) and redoes 2-5. A record without
changes (figures only confirmed, see ``restatements``) moves their ``observed_at`` and is counted,
with no revision and no audit entry.
"""

import math
from typing import Any

import numpy as np
from pymongo.database import Database

from oktapi.engine import Restatement
from oktapi.models.plans import CampaignResult
from oktapi.repositories.audit import AuditRepository
from oktapi.repositories.plans import PlanRepository
from oktapi.repositories.results import ResultRepository, figure_set_id, timestep_key
from oktapi.scope import Principal

RESULT_FIELDS = ("spend", "conversions", "revenue", "clicks", "impressions")
# What the engine learns from; clicks and impressions are kept for people, not the model.
LEARNED_FIELDS = ("spend", "conversions", "revenue")


def result_document(entry: CampaignResult) -> dict[str, Any]:
    """One campaign's figures as stored: floats for money and conversions (never rounded)."""
    return {
        "campaign_id": entry.campaign_id,
        "spend": float(entry.spend),
        "conversions": float(entry.conversions),
        "revenue": float(entry.revenue),
        "clicks": entry.clicks,
        "impressions": entry.impressions,
    }


def _same(before: Any, after: Any) -> bool:
    if before is None or after is None:
        return before is None and after is None
    return math.isclose(before, after, rel_tol=1e-9, abs_tol=1e-9)


def results_difference(stored: list[dict[str, Any]], posted: list[dict[str, Any]]) -> str | None:
    """The first number that differs between two lists of figures (same campaigns), or None."""
    recorded = {row["campaign_id"]: row for row in stored}
    for new in posted:
        old = recorded.get(new["campaign_id"])
        if old is None:
            return f"campaign {new['campaign_id']!r}: not recorded"
        for field in RESULT_FIELDS:
            before, after = old.get(field), new.get(field)
            if not _same(before, after):
                return f"campaign {old['campaign_id']!r}: {field} {before} recorded, {after} posted"
    return None


def restated_figures(current: dict[str, Any], new: dict[str, Any]) -> dict[str, Any] | None:
    """The figures after a restatement, or None if it changes nothing.

    Spend, conversions and revenue are replaced; clicks and impressions only when given.
    """
    after = {field: current.get(field) for field in RESULT_FIELDS}
    for field in RESULT_FIELDS:
        if field in LEARNED_FIELDS or new.get(field) is not None:
            after[field] = new.get(field)
    if all(_same(current.get(field), after[field]) for field in RESULT_FIELDS):
        return None
    return after


def restatement_changes(
    figures: dict[str, dict[str, Any]],
    entries: list[dict[str, Any]],
    timestep: int,
    version: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], float]:
    """(changes, confirmed, spend delta) of restating ``entries`` over the current ``figures``.

    ``confirmed`` are the campaigns named with the figures already recorded at an earlier plan
    version than ``version``: no revision, but the engine learns from them too (a figure that
    stopped growing tells how mature it was). Confirmed again at the same version they are left
    out (a retry tells nothing).
    """
    changes, confirmed = [], []
    spend_delta = 0.0
    for entry in entries:
        current = figures[entry["campaign_id"]]
        before = {field: current.get(field) for field in RESULT_FIELDS}
        after = restated_figures(current, entry)
        item = {
            "campaign_id": entry["campaign_id"],
            "before": before,
            "after": after or before,
            "previous_observed_at": int(current.get("observed_at", timestep)),
            "revision": int(current.get("revision", 0)) + (after is not None),
        }
        if after is None:
            if item["previous_observed_at"] < version:
                confirmed.append(item)
        else:
            changes.append(item)
            spend_delta += after["spend"] - before["spend"]
    return changes, confirmed, spend_delta


def first_report_documents(plan: dict[str, Any], record: dict[str, Any]) -> list[dict[str, Any]]:
    """The figure sets of a closed timestep as first reported (revision 0, age 0)."""
    documents = []
    for row in record["results"]:
        documents.append(
            {
                "_id": figure_set_id(plan["_id"], record["timestep"], row["campaign_id"]),
                "timestep_key": timestep_key(plan["_id"], record["timestep"]),
                "plan_id": plan["_id"],
                "client_id": plan["client_id"],
                "timestep": record["timestep"],
                "campaign_id": row["campaign_id"],
                **{field: row.get(field) for field in RESULT_FIELDS},
                "observed_at": record["timestep"],
                "revision": 0,
                "reported_at": row.get("reported_at") or record["reported_at"],
                "reported_by": row.get("reported_by") or record["reported_by"],
                "source": row.get("source") or record.get("source", "api"),
            }
        )
    return documents


def store_first_report(db: Database, plan: dict[str, Any], record: dict[str, Any]) -> None:
    ResultRepository(db).insert_figure_sets(first_report_documents(plan, record))


def current_figures(
    db: Database, plan: dict[str, Any], record: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """The latest figures of one closed timestep per campaign (stored first if they were not)."""
    store = ResultRepository(db)
    found = {
        doc["campaign_id"]: doc for doc in store.figure_sets(plan["_id"], [record["timestep"]])
    }
    if len(found) < len(record["results"]):  # closed before the results store existed
        store_first_report(db, plan, record)  # taken back (404) if the plan was deleted meanwhile
        found = {
            doc["campaign_id"]: doc for doc in store.figure_sets(plan["_id"], [record["timestep"]])
        }
    return found


def apply_restatement(db: Database, plan: dict[str, Any], restatement: dict[str, Any]) -> None:
    """Steps 2-5 of the module docstring; safe to run again (each write is conditional)."""
    store = ResultRepository(db)
    timestep = restatement["timestep"]
    for change in restatement["changes"]:
        store.move_figure_set(
            figure_set_id(plan["_id"], timestep, change["campaign_id"]),
            change["revision"] - 1,
            {
                **change["after"],
                "observed_at": restatement["observed_at"],
                "revision": change["revision"],
                "restated_at": restatement["at"],
                "restated_by": restatement["by"],
                "source": restatement["source"],
            },
        )
    by_revision: dict[int, list[str]] = {}
    for item in restatement.get("confirmed", []):
        by_revision.setdefault(item["revision"], []).append(
            figure_set_id(plan["_id"], timestep, item["campaign_id"])
        )
    for revision, document_ids in by_revision.items():  # one write per revision, not per campaign
        store.confirm_figure_sets(document_ids, revision, restatement["observed_at"])
    repo = PlanRepository(db)
    if restatement["changes"]:
        repo.set_timestep_revision(
            plan["_id"],
            timestep,
            restatement["timestep_revision"],
            restatement["at"],
            {
                change["campaign_id"]: {"campaign_id": change["campaign_id"], **change["after"]}
                for change in restatement["changes"]
            },
        )
        _audit_restatement(db, plan, restatement)
    repo.count_restatement(
        plan["_id"], restatement["seq"], restatement["spend_delta"], restatement["at"]
    )


def _audit_restatement(db: Database, plan: dict[str, Any], restatement: dict[str, Any]) -> None:
    timestep = restatement["timestep"]
    actor = Principal(
        user_id=restatement["by"],
        username=restatement.get("by_username") or restatement["by"],
        role="",
        client_ids=frozenset(),
    )
    AuditRepository(db).append(
        actor=actor,
        action="plan.results_restated",
        client_id=plan["client_id"],
        plan_id=plan["_id"],
        changes={
            "timestep": timestep,
            "revision": restatement["timestep_revision"],
            "source": restatement["source"],
            "campaigns": {
                change["campaign_id"]: {"before": change["before"], "after": change["after"]}
                for change in restatement["changes"]
            },
        },
        event_id=f"{plan['_id']}:r{restatement['seq']}:results_restated",
    )


def engine_restatement(campaign_ids: list[str], restatement: dict[str, Any]) -> Restatement:
    """A stored restatement as the engine takes it (the store holds the figures it replaces)."""
    position = {campaign_id: index for index, campaign_id in enumerate(campaign_ids)}
    changes = restatement["changes"] + restatement.get("confirmed", [])

    def column(side: str, field: str) -> np.ndarray:
        return np.array([float(change[side][field] or 0.0) for change in changes])

    return Restatement(
        timestep=int(restatement["timestep"]),
        indices=np.array([position[change["campaign_id"]] for change in changes], dtype=np.int64),
        spend=column("after", "spend"),
        conversions=column("after", "conversions"),
        revenue=column("after", "revenue"),
        previous_spend=column("before", "spend"),
        previous_conversions=column("before", "conversions"),
        previous_revenue=column("before", "revenue"),
        previous_observed_at=np.array(
            [int(change["previous_observed_at"]) for change in changes], dtype=np.int64
        ),
    )
