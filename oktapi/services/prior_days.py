"""What a new plan learns from before its start: its campaigns' history and earlier plans' results.

Both come from the one results store (``repositories/results.py``): history days as they were
sent, and the figure sets of earlier plans over the same campaigns, each spread evenly over the
days of its timestep. A day of a campaign counts once: an earlier plan's figures for it replace
the history's (the later plan's, if two covered it), so a day sent as history and reported to a
plan is not learnt twice. The engine turns the days into the plan's timesteps
(``engine/warm_start.py``).

How figures mature is learnt from the restatements of the figures that count: a history day's
own revisions, and an earlier plan's restatements (and confirmations) of its figure sets, their
ages in that plan's timesteps turned into days.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any

import numpy as np
from pymongo.database import Database

from oktapi.engine.warm_start import DayRevision, PriorDays, prior_days_wanted
from oktapi.repositories.plans import PlanRepository
from oktapi.repositories.results import ResultRepository, figure_set_id
from oktapi.scope import Principal


@dataclass(frozen=True)
class Learned:
    """The days found, and where they came from (for the plan's audit entry)."""

    prior: PriorDays
    history_days: int  # campaign-days from the history
    history_campaign_ids: list[str]  # the campaigns those days are of, in the plan's order
    plan_days: int  # campaign-days from earlier plans
    plan_ids: list[str]


def _reported_on(document: dict[str, Any]) -> date:
    stamp: datetime = document.get("restated_at") or document["reported_at"]
    return stamp.date()


def prior_days(
    *,
    db: Database,
    principal: Principal,
    client_id: str,
    campaign_ids: list[str],
    start: date,
    timestep_days: int,
) -> Learned:
    """The days before ``start`` a plan of ``timestep_days``-day timesteps learns from."""
    length = prior_days_wanted(timestep_days)
    first = start - timedelta(days=length)
    n = len(campaign_ids)
    position = {campaign_id: index for index, campaign_id in enumerate(campaign_ids)}
    prior = PriorDays.empty(length, n)
    source = np.zeros((length, n), dtype=np.int8)  # 0 none, 1 history, 2 a plan
    # Whose figures each day of a campaign holds: a history day's id or a plan's figure set id.
    owner = np.full((length, n), None, dtype=object)
    revisions: dict[str, list[DayRevision]] = {}  # by owner: what taught how figures mature

    def put(
        day: date, column: int, figures: tuple[float, float, float], after: int, key: str
    ) -> None:
        row = (day - first).days
        if 0 <= row < length:
            prior.spend[row, column], prior.conversions[row, column] = figures[0], figures[1]
            prior.revenue[row, column] = figures[2]
            prior.recorded[row, column] = True
            prior.reported_after[row, column] = max(after, 0)
            source[row, column] = 2 if key in plan_sets else 1
            owner[row, column] = key

    store = ResultRepository(db)
    plan_sets: dict[str, dict[str, Any]] = {}  # figure set id -> the set, of the sets learnt
    for doc in store.history_before(campaign_ids, first.isoformat(), start.isoformat()):
        day, column = date.fromisoformat(doc["date"]), position[doc["campaign_id"]]
        figures = (float(doc["spend"]), float(doc["conversions"]), float(doc["revenue"] or 0.0))
        put(day, column, figures, (_reported_on(doc) - day).days - 1, doc["_id"])
        revisions[doc["_id"]] = _revisions(doc, day, column)

    plan_ids = []
    for plan in PlanRepository(db).over_campaigns(principal, client_id, campaign_ids):
        plan_start = date.fromisoformat(plan["start"]) if plan.get("start") else None
        plan_start = plan_start or plan["created_at"].date()
        days = int(plan["timestep_days"])
        lowest = max((first - plan_start).days // days, 0)
        highest = min(int(plan["version"]), -(-(start - plan_start).days // days))
        shared = [cid for cid in plan["campaign_ids"] if cid in position]
        sets = store.figure_sets_of_campaigns(plan["_id"], range(lowest, highest), shared)
        if sets:
            plan_ids.append(plan["_id"])
        plan_sets.update({figure_set["_id"]: figure_set for figure_set in sets})
        for figure_set in sets:
            timestep = int(figure_set["timestep"])
            figures = (
                float(figure_set.get("spend") or 0.0) / days,
                float(figure_set.get("conversions") or 0.0) / days,
                float(figure_set.get("revenue") or 0.0) / days,
            )
            column = position[figure_set["campaign_id"]]
            late = (int(figure_set.get("observed_at", timestep)) - timestep) * days
            for offset in range(days):
                day = plan_start + timedelta(days=timestep * days + offset)
                if day < start:
                    put(day, column, figures, late + days - 1 - offset, figure_set["_id"])
        if any(int(f.get("observed_at", f["timestep"])) > int(f["timestep"]) for f in sets):
            restatements = store.restatements(plan["_id"], 0, int(plan.get("restatements", 0)))
            for key, revision in _plan_revisions(plan, restatements, position, days):
                if key in plan_sets:
                    revisions.setdefault(key, []).append(revision)
    counted = set(owner[owner != None].tolist())  # noqa: E711 (numpy's elementwise test)
    prior.revisions.extend(r for key, found in revisions.items() if key in counted for r in found)
    return Learned(
        prior=prior,
        history_days=int((source == 1).sum()),
        history_campaign_ids=[
            campaign_id
            for campaign_id, counted in zip(campaign_ids, (source == 1).any(axis=0), strict=True)
            if counted
        ],
        plan_days=int((source == 2).sum()),
        plan_ids=plan_ids,
    )


def _plan_revisions(
    plan: dict[str, Any],
    restatements: list[dict[str, Any]],
    position: dict[str, int],
    days: int,
) -> list[tuple[str, DayRevision]]:
    """An earlier plan's restatements of its campaigns' figures (by figure set id), with their
    ages in its timesteps turned into days: how its figures grew, and when."""
    found = []
    for restatement in restatements:
        timestep = int(restatement["timestep"])
        for item in restatement["changes"] + restatement.get("confirmed", []):
            if item["campaign_id"] not in position:
                continue
            before, after = item["before"], item["after"]
            revision = DayRevision(
                campaign=position[item["campaign_id"]],
                age_before=max(int(item["previous_observed_at"]) - timestep, 0) * days,
                age_after=max(int(restatement["observed_at"]) - timestep, 0) * days,
                before=(float(before["conversions"]), float(before.get("revenue") or 0.0)),
                after=(float(after["conversions"]), float(after.get("revenue") or 0.0)),
            )
            found.append((figure_set_id(plan["_id"], timestep, item["campaign_id"]), revision))
    return found


def _revisions(doc: dict[str, Any], day: date, column: int) -> list[DayRevision]:
    """The growth of a history day between its reports: evidence on how figures mature."""
    reports = sorted(doc.get("revisions") or [], key=lambda r: r["revision"])
    seen = [(r["at"].date(), float(r["conversions"]), float(r["revenue"] or 0.0)) for r in reports]
    seen.append((_reported_on(doc), float(doc["conversions"]), float(doc["revenue"] or 0.0)))
    return [
        DayRevision(
            campaign=column,
            age_before=max((earlier[0] - day).days - 1, 0),
            age_after=max((later[0] - day).days - 1, 0),
            before=(earlier[1], earlier[2]),
            after=(later[1], later[2]),
        )
        for earlier, later in pairwise(seen)
    ]
