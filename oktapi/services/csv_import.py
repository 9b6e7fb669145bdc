"""CSV import of platform reports (Google Ads, Meta Ads Manager exports): all rows or none.

The file is parsed and checked in full against the plan as read, and the engine replayed once
over the timesteps it closes (so each timestep's spend is checked against the allocation it
really gets); the result is one batch -- closes, restatements of closed timesteps, the part of
the open timestep -- applied whole or not at all by ``csv_apply``, whatever else posts at the
same time. A batch that loses to a concurrent request is rebuilt on the plan as it is then.
"""

from datetime import date

from pymongo.database import Database

from oktapi.errors import Conflict, Invalid, must_exist
from oktapi.models.plans import CsvImportPublic
from oktapi.reports import DateOrder
from oktapi.repositories.base import new_id, utc_now
from oktapi.repositories.campaigns import CampaignRepository
from oktapi.repositories.clients import ClientRepository
from oktapi.repositories.plans import PlanRepository
from oktapi.repositories.results import ResultRepository
from oktapi.scope import Principal
from oktapi.services import csv_apply
from oktapi.services.csv_report import CsvRejected, ParsedReport, parse_report, ranges
from oktapi.services.figures import current_figures, restatement_changes
from oktapi.services.plan_answers import expected_campaigns
from oktapi.services.result_checks import budgets_of, missing_campaigns, overspend_problems
from oktapi.services.timesteps import learned_state, load_plan, report_timestep

# A batch rebuilt this often because other requests kept moving the plan first: 409, retry.
MAX_ATTEMPTS = 5


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
    """Check the whole file against the plan, then apply it as one batch (module docstring)."""
    plan = load_plan(db, principal, plan_id)
    campaigns = CampaignRepository(db).list_by_ids(
        principal, plan["client_id"], plan["campaign_ids"]
    )
    client = must_exist(ClientRepository(db).get(principal, plan["client_id"]), "Client")
    report, parsed_at = None, None
    for _ in range(MAX_ATTEMPTS):
        if report is None or parsed_at != plan["version"]:
            report = parse_report(
                content,
                campaigns=campaigns,
                currency=client.get("currency") or "USD",
                ignore_unknown=ignore_unknown,
                date_order=date_order,
                timesteps=plan["timesteps"],
                start=date.fromisoformat(plan["start"]) if plan.get("start") else None,
                timestep_days=plan["timestep_days"],
                open_timestep=plan["version"],
                check_complete=False,  # each timestep's own campaigns are checked in _batch
            )
            parsed_at = plan["version"]
        batch, planned = _batch(db, principal, plan, report)
        if batch.empty or csv_apply.apply(db, batch):
            break
        plan = load_plan(db, principal, plan_id)
    else:
        raise Conflict(
            "the plan kept changing while the file was applied; nothing was applied: upload it "
            "again"
        )
    version = plan["version"]
    closed = [record["timestep"] for record in batch.records]
    waiting = [version + len(closed)] if batch.part else []
    final = load_plan(db, principal, plan_id, with_state=False)
    if (
        batch.part
        and not batch.closes
        and final["version"] == version
        and not missing_campaigns(final)
    ):
        # The file's part and others' completed the open timestep: close it as a post would.
        report_timestep(
            db=db,
            principal=principal,
            plan=load_plan(db, principal, plan_id),
            timestep=version,
            part=_result_entries(report, version, list(batch.part)),
            source="csv",
        )
        closed, waiting = [version], []
        final = load_plan(db, principal, plan_id, with_state=False)
    restated = [timestep for timestep, changed in planned if changed]
    return CsvImportPublic(
        rows=report.rows,
        closed=closed,
        restated=restated,
        waiting=waiting,
        unchanged=[t for t in sorted(report.totals) if t < version and t not in restated],
        status=final["status"],
        timestep=final["version"],
        allocation=final["allocation"],
        missing=missing_campaigns(final),
        platform=report.platform,
        ignored_campaigns=report.unknown_campaigns,
    )


def _batch(
    db: Database, principal: Principal, plan: dict, report: ParsedReport
) -> tuple[csv_apply.Batch, list[tuple[int, bool]]]:
    """The file as one batch on ``plan`` (read with its state), every row checked; 422 if not.

    Also (timestep, whether it changes figures) for each closed timestep the file restates.
    """
    version = plan["version"]
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
            f"the plan was stopped at timestep {version}: it takes no more results; rows of "
            f"timestep {version} on cannot be applied (closed timesteps can still be restated)"
        )
    restatements = _planned_restatements(db, plan, report, closed)
    stamp = {
        "reported_at": utc_now(),
        "reported_by": principal.user_id,
        "reported_by_username": principal.username,
        "source": "csv",
    }
    batch = csv_apply.Batch(
        plan=plan,
        stamp=stamp,
        restatements=[(t, entries) for t, entries, _ in restatements],
        import_id=new_id(),
    )
    row_stamp = {key: stamp[key] for key in ("reported_at", "reported_by", "source")}
    reporting = set(to_report)
    problems: list[tuple[str, tuple[str | int, ...]]] = []

    def results_for(index: int, allocation: dict) -> list[dict] | None:
        """The figures closing ``version + index``, checked against the budgets it was given
        (later budgets depend on them); None at the file's end or at a part (kept aside)."""
        timestep = version + index
        if timestep not in reporting:
            return None
        campaigns = [item["campaign_id"] for item in allocation["allocations"]]
        problems.extend(_without_budget(report, timestep, campaigns))
        entries = _result_entries(report, timestep, campaigns)
        for position, message in overspend_problems(budgets_of(allocation), entries, timestep):
            rows = report.source_rows[(timestep, entries[position]["campaign_id"])]
            problems.append(
                (f"row(s) {ranges(rows)}: {message}", ("body", "rows", rows[0], "spend"))
            )
        figures = {e["campaign_id"]: {**e, **row_stamp} for e in entries}
        if timestep == version:
            figures = {**(plan.get("parts") or {}), **figures}
        given = expected_campaigns(allocation)
        names = {
            item["campaign_id"]: item.get("campaign_name") for item in allocation["allocations"]
        }
        absent = [campaign_id for campaign_id in given if campaign_id not in figures]
        if absent and timestep < to_report[-1]:
            rows = sorted(
                r for e in entries for r in report.source_rows[(timestep, e["campaign_id"])]
            )
            problems.append(
                (
                    f"timestep {timestep} (rows {ranges(rows)}) has no row for campaign(s) "
                    f"{', '.join(names.get(cid) or cid for cid in absent)}; a timestep the file "
                    "goes past must name every campaign it gave a budget to",
                    ("body", "timestep", timestep),
                )
            )
        if problems or absent:  # a part of the file's last timestep waits for the others
            batch.part = {e["campaign_id"]: {**e, **row_stamp} for e in entries}
            return None
        return [figures[campaign_id] for campaign_id in given]

    learnt_up_to = plan.get("restatements", 0)
    if to_report and plan["allocation"] is not None:
        state = learned_state(plan, ResultRepository(db), learnt_up_to)
        stamp_with_id = {**stamp, "import_id": batch.import_id}
        batch.records, batch.changes = csv_apply.replay_closes(
            plan, state, results_for, stamp_with_id, learnt_up_to
        )
        batch.closes = [record["results"] for record in batch.records]
    if problems:
        raise CsvRejected(problems)
    return batch, [(t, changed) for t, _, changed in restatements]


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
