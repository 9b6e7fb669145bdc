"""Audit entries of a plan's loop, each written at most once (a retry or a crash repair may ask again)."""

from typing import Any

from oktapi.repositories.audit import AuditRepository
from oktapi.scope import Principal


def reporter_of(record: dict[str, Any]) -> Principal:
    """Who reported a recorded timestep, as an audit actor."""
    return Principal(
        user_id=record["reported_by"],
        username=record.get("reported_by_username") or record["reported_by"],
        role="",
        client_ids=frozenset(),
    )


def allocation_event(
    actor: Principal | None,
    plan: dict[str, Any],
    allocation: dict[str, Any],
    *,
    change: int | None = None,
) -> dict[str, Any]:
    """Once per timestep, and once more per plan change that recomputed it (``change``)."""
    suffix = "" if change is None else f":c{change}"
    return {
        "actor": actor,
        "action": "plan.allocation_issued",
        "client_id": plan["client_id"],
        "plan_id": plan["_id"],
        "changes": {
            "timestep": allocation["timestep"],
            "budgets": {item["campaign_id"]: item["budget"] for item in allocation["allocations"]},
        },
        "event_id": f"{plan['_id']}:{allocation['timestep']}:allocation_issued{suffix}",
    }


def audit_allocation(
    audit: AuditRepository,
    actor: Principal | None,
    plan: dict[str, Any],
    allocation: dict[str, Any] | None,
    *,
    change: int | None = None,
) -> None:
    if allocation is not None:
        audit.append(**allocation_event(actor, plan, allocation, change=change))


def closed_timestep_events(plan: dict[str, Any], record: dict[str, Any]) -> list[dict[str, Any]]:
    """The audit events of a closed timestep (``AuditRepository.append`` keywords, with ids)."""
    reporter = reporter_of(record)
    results = record["results"]
    events = [
        {
            "actor": reporter,
            "action": "plan.results_accepted",
            "client_id": plan["client_id"],
            "plan_id": plan["_id"],
            "changes": {
                "timestep": record["timestep"],
                "spend": sum(r["spend"] for r in results),
                "conversions": sum(r["conversions"] for r in results),
                "revenue": sum(r["revenue"] for r in results),
            },
            "event_id": f"{plan['_id']}:{record['timestep']}:results_accepted",
        }
    ]
    if record["next_allocation"] is not None:
        events.append(allocation_event(reporter, plan, record["next_allocation"]))
    return events


def audit_closed_timestep(
    audit: AuditRepository, plan: dict[str, Any], record: dict[str, Any]
) -> None:
    """Audit a closed timestep from its record, once: the post, a retry or a crash repair may call it."""
    for event in closed_timestep_events(plan, record):
        audit.append(**event)
