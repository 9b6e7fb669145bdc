"""What a new plan learns from before its start: its campaigns' history and earlier plans' results.

Both come from the one results store (``repositories/results.py``): history days as they were
sent, and the figure sets of earlier plans over the same campaigns, each spread evenly over the
days of its timestep. A day of a campaign counts once: an earlier plan's figures for it replace
the history's (the later plan's, if two covered it), so a day sent as history and reported to a
plan is not learnt twice. The engine turns the days into the plan's timesteps
(``engine/warm_start.py``).
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any

import numpy as np
from pymongo.database import Database

from oktapi.engine.warm_start import DayRevision, PriorDays, prior_days_wanted
from oktapi.repositories.plans import PlanRepository
from oktapi.repositories.results import ResultRepository
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

    def put(
        day: date, column: int, figures: tuple[float, float, float], after: int, kind: int
    ) -> None:
        row = (day - first).days
        if 0 <= row < length:
            prior.spend[row, column], prior.conversions[row, column] = figures[0], figures[1]
            prior.revenue[row, column] = figures[2]
            prior.recorded[row, column] = True
            prior.reported_after[row, column] = max(after, 0)
            source[row, column] = kind

    store = ResultRepository(db)
    for doc in store.history_before(campaign_ids, first.isoformat(), start.isoformat()):
        day, column = date.fromisoformat(doc["date"]), position[doc["campaign_id"]]
        figures = (float(doc["spend"]), float(doc["conversions"]), float(doc["revenue"] or 0.0))
        put(day, column, figures, (_reported_on(doc) - day).days - 1, 1)
        prior.revisions.extend(_revisions(doc, day, column))

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
                    put(day, column, figures, late + days - 1 - offset, 2)
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
