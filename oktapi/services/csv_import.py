"""CSV import of platform reports (Google Ads, Meta Ads Manager exports): all rows or none.

The file is parsed and checked in full, then replayed on a copy of the engine state (so the
overspend check of a later timestep uses the allocation that timestep will really get), and only
then applied: rows of closed timesteps through the same restatement path as ``PUT
.../results/{timestep}``, rows of the open timestep (and the ones after it) through the same
exactly-once path as ``POST .../results``, in part if the file names only some campaigns.
"""

from datetime import date

from pymongo.database import Database

from oktapi.engine import AI
from oktapi.errors import Conflict, Invalid, must_exist
from oktapi.models.plans import CsvImportPublic, ResultsWaiting
from oktapi.reports import DateOrder
from oktapi.repositories.campaigns import CampaignRepository
from oktapi.repositories.clients import ClientRepository
from oktapi.repositories.plans import PlanRepository
from oktapi.repositories.results import ResultRepository
from oktapi.scope import Principal
from oktapi.services.csv_report import CsvRejected, ParsedReport, parse_report, ranges
from oktapi.services.figures import (
    current_figures,
    engine_restatement,
    restatement_changes,
)
from oktapi.services.plan_answers import current_campaign_ids, expected_campaigns
from oktapi.services.restatements import restate_timestep
from oktapi.services.timesteps import (
    budgets_of,
    engine_results,
    learned_state,
    load_plan,
    missing_campaigns,
    overspend_problems,
    report_timestep,
)


def _result_entries(report: ParsedReport, timestep: int, campaign_ids: list[str]) -> list[dict]:
    """The file's figures of one timestep, in the plan's campaign order (campaigns it names)."""
    by_campaign = report.totals[timestep]
    return [
        {
            "campaign_id": cid,
            "spend": float(by_campaign[cid]["spend"]),
            "conversions": float(by_campaign[cid]["conversions"]),
            "revenue": float(by_campaign[cid]["revenue"]),
            "clicks": None,
            "impressions": None,
        }
        for cid in campaign_ids
        if cid in by_campaign
    ]


def _without_budget(
    report: ParsedReport, timestep: int, campaign_ids: list[str]
) -> list[tuple[str, tuple[str | int, ...]]]:
    """Rows of campaigns that had no budget in ``timestep`` (not yet added, or removed)."""
    problems: list[tuple[str, tuple[str | int, ...]]] = []
    for campaign_id in sorted(set(report.totals[timestep]) - set(campaign_ids)):
        rows = _rows_of(report, timestep, campaign_id)
        problems.append(
            (
                f"row(s) {ranges(rows)}: campaign {campaign_id!r} had no budget in timestep "
                f"{timestep} (added to the plan later, or removed from it)",
                ("body", "rows", rows[0], "campaign"),
            )
        )
    return problems


def _rows_of(report: ParsedReport, timestep: int, campaign_id: str) -> list[int]:
    return report.source_rows[(timestep, campaign_id)]


def import_results(
    *,
    db: Database,
    principal: Principal,
    plan_id: str,
    content: bytes,
    ignore_unknown: bool = False,
    date_order: DateOrder | None = None,
) -> CsvImportPublic:
    """Check the whole file against the plan, then restate its closed timesteps and report the rest.

    Nothing is written until every row has passed: the closed timesteps' spend against the
    budgets they were given, the open ones' against the budgets they will get (replayed on a
    copy of the engine state, restatements included, exactly as the service will apply them).
    """
    plan = load_plan(db, principal, plan_id)
    campaigns = CampaignRepository(db).list_by_ids(
        principal, plan["client_id"], plan["campaign_ids"]
    )
    client = must_exist(ClientRepository(db).get(principal, plan["client_id"]), "Client")
    version = plan["version"]
    report = parse_report(
        content,
        campaigns=campaigns,
        currency=client.get("currency") or "USD",
        ignore_unknown=ignore_unknown,
        date_order=date_order,
        timesteps=plan["timesteps"],
        start=date.fromisoformat(plan["start"]) if plan.get("start") else None,
        timestep_days=plan["timestep_days"],
        open_timestep=version,
    )
    reported = sorted(report.totals)
    closed = [t for t in reported if t < version]
    to_report = [t for t in reported if t >= version]
    if to_report and to_report != list(range(version, version + len(to_report))):
        gaps = sorted(set(range(version, to_report[-1] + 1)) - set(to_report))
        raise Invalid(
            f"the file skips timestep(s) {ranges(gaps)}: timesteps must follow on from the "
            f"open timestep {version} without gaps",
            ("body", "timestep"),
        )
    if to_report and plan["status"] == "stopped":
        raise Conflict(
            f"the plan was stopped at timestep {version}: the file reports timestep(s) "
            f"{ranges(to_report)}, which it no longer takes; leave those rows out to restate "
            "the closed ones"
        )
    restatements = _planned_restatements(db, plan, report, closed)
    _check_reported_spend(db, plan, report, to_report, restatements)

    for timestep, entries, _ in restatements:
        current = load_plan(db, principal, plan_id, with_state=False)
        restate_timestep(
            db=db,
            principal=principal,
            plan=current,
            timestep=timestep,
            entries=entries,
            source="csv",
        )
    closed_now: list[int] = []
    waiting: list[int] = []
    for timestep in to_report:
        current = load_plan(db, principal, plan_id)
        answer = report_timestep(
            db=db,
            principal=principal,
            plan=current,
            timestep=timestep,
            part=_result_entries(report, timestep, plan["campaign_ids"]),
            source="csv",
        )
        (waiting if isinstance(answer, ResultsWaiting) else closed_now).append(timestep)
    final = load_plan(db, principal, plan_id, with_state=False)
    restated = [timestep for timestep, _, changed in restatements if changed]
    return CsvImportPublic(
        rows=report.rows,
        closed=closed_now,
        restated=restated,
        waiting=waiting,
        unchanged=[t for t in closed if t not in restated],
        status=final["status"],
        timestep=final["version"],
        allocation=final["allocation"],
        missing=missing_campaigns(final),
        platform=report.platform,
        ignored_campaigns=report.unknown_campaigns,
    )


def _planned_restatements(
    db: Database, plan: dict, report: ParsedReport, closed: list[int]
) -> list[tuple[int, list[dict], bool]]:
    """(timestep, entries, whether it changes figures) for the closed timesteps the file restates
    or confirms at a later age; 422 on restated overspend."""
    if not closed:
        return []
    records = PlanRepository(db).get_timesteps(plan["_id"], closed)
    planned = []
    problems: list[tuple[str, tuple[str | int, ...]]] = []
    for timestep in closed:
        record = records[timestep]
        reported = [row["campaign_id"] for row in record["results"]]
        problems += _without_budget(report, timestep, reported)
        entries = _result_entries(report, timestep, reported)
        for index, message in overspend_problems(
            budgets_of(record["allocation"]), entries, timestep
        ):
            rows = _rows_of(report, timestep, entries[index]["campaign_id"])
            problems.append(
                (f"row(s) {ranges(rows)}: {message}", ("body", "rows", rows[0], "spend"))
            )
        figures = current_figures(db, plan, record)
        changes, confirmed, _ = restatement_changes(figures, entries, timestep, plan["version"])
        if changes or confirmed:
            planned.append((timestep, entries, bool(changes)))
    if problems:
        raise CsvRejected(problems)
    return planned


def _check_reported_spend(
    db: Database,
    plan: dict,
    report: ParsedReport,
    to_report: list[int],
    restatements: list[tuple[int, list[dict], bool]],
) -> None:
    """Replay the file on a copy of the state so each timestep is checked against its budgets."""
    if not to_report:
        return
    ai = AI(learned_state(plan, ResultRepository(db)))
    if restatements:
        records = PlanRepository(db).get_timesteps(plan["_id"], [t for t, _, _ in restatements])
        for timestep, entries, _ in restatements:
            figures = current_figures(db, plan, records[timestep])
            changes, confirmed, _ = restatement_changes(figures, entries, timestep, plan["version"])
            ai.restate(
                engine_restatement(
                    plan["campaign_ids"],
                    {"timestep": timestep, "changes": changes, "confirmed": confirmed},
                )
            )
    problems: list[tuple[str, tuple[str | int, ...]]] = []
    for timestep in to_report:
        given = budgets_of(plan["allocation"]) if timestep == plan["version"] else None
        problems += _without_budget(report, timestep, list(given or current_campaign_ids(plan)))
        entries = _result_entries(report, timestep, plan["campaign_ids"])
        allocation = ai.allocate()
        budgets = dict(zip(plan["campaign_ids"], allocation.budgets.tolist(), strict=True))
        for index, message in overspend_problems(budgets, entries, timestep):
            rows = _rows_of(report, timestep, entries[index]["campaign_id"])
            problems.append(
                (f"row(s) {ranges(rows)}: {message}", ("body", "rows", rows[0], "spend"))
            )
        expected = expected_campaigns(plan["allocation"]) if given else current_campaign_ids(plan)
        if problems or not set(expected) <= {e["campaign_id"] for e in entries}:
            break  # later budgets depend on these numbers; fix these first (or the file ends)
        ai.update(engine_results(plan["campaign_ids"], entries))
    if problems:
        raise CsvRejected(problems)
