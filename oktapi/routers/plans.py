"""Plan routes of API.md: create, read, allocation, results (JSON and CSV), history, list."""

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from oktapi.deps import CurrentPrincipal, DbDep, PageDep
from oktapi.errors import Invalid
from oktapi.models.plans import (
    MAX_TIMESTEPS,
    AllocationPublic,
    CsvImportPublic,
    HistoryEntry,
    PlanCreate,
    PlanHistory,
    PlanPublic,
    ResultsPost,
    ResultsRestatement,
    ResultsWaiting,
)
from oktapi.reports import DateOrder
from oktapi.services import csv_import, restatements, timesteps
from oktapi.services import plans as service
from oktapi.services.idempotency import create_plan_once
from oktapi.services.plan_answers import plan_public

# The report routes' (plan results, client history) way of settling day/month order.
DateOrderQuery = Annotated[
    DateOrder | None,
    Query(description="dmy or mdy, for files whose dates could be read either way."),
]


router = APIRouter(tags=["plans"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[!-~]+$",
        description="Printable ASCII, no spaces: retries with the same key make one plan.",
    ),
]

CSV_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
        "description": "Columns: timestep (or date), campaign (name or id), spend, conversions, "
        "revenue; other columns are ignored, header names are case-insensitive.",
    }
}


@router.post(
    "/clients/{client_id}/plans",
    status_code=status.HTTP_201_CREATED,
    response_model_exclude_unset=True,
)
def create_plan(
    client_id: str,
    body: PlanCreate,
    principal: CurrentPrincipal,
    db: DbDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> PlanPublic:
    """Create a plan; the answer carries the allocation for timestep 0.

    With an `Idempotency-Key` (any printable text, kept 24 hours), a retry with the same key and
    body answers the plan the first request created (header `Idempotent-Replayed: true`) instead
    of creating another; the same key with a different body is refused with 409.
    """
    created = create_plan_once(
        db=db,
        principal=principal,
        client_id=client_id,
        body=body,
        idempotency_key=idempotency_key,
    )
    if created.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return plan_public(created.plan)


@router.get("/clients/{client_id}/plans", response_model_exclude_unset=True)
def list_plans(
    client_id: str, principal: CurrentPrincipal, db: DbDep, page: PageDep
) -> list[PlanPublic]:
    plans = service.list_plans(db=db, principal=principal, client_id=client_id, page=page)
    return [plan_public(plan) for plan in plans]


@router.get("/plans/{plan_id}", response_model_exclude_unset=True)
def get_plan(plan_id: str, principal: CurrentPrincipal, db: DbDep) -> PlanPublic:
    return plan_public(service.get_plan(db=db, principal=principal, plan_id=plan_id))


@router.get("/plans/{plan_id}/allocation", response_model_exclude_unset=True)
def get_allocation(plan_id: str, principal: CurrentPrincipal, db: DbDep) -> AllocationPublic:
    """The budgets to set on each campaign for the open timestep (409 once finished)."""
    allocation = service.get_allocation(db=db, principal=principal, plan_id=plan_id)
    return AllocationPublic.model_validate(allocation)


@router.post(
    "/plans/{plan_id}/results",
    response_model_exclude_unset=True,
    responses={202: {"model": ResultsWaiting, "description": "A part: the timestep stays open."}},
)
def post_results(
    plan_id: str, body: ResultsPost, principal: CurrentPrincipal, db: DbDep, response: Response
) -> AllocationPublic | PlanPublic | ResultsWaiting:
    """Report timestep k; answers the allocation for k+1, or the finished plan after the last.

    A post naming only some of the plan's campaigns answers 202 with the campaigns still
    missing; the part that completes the timestep closes it. Posting the same numbers again
    answers the same; different numbers for a closed timestep (restate them with PUT), or any
    timestep but the open one, are refused with 409.
    """
    answer = timesteps.post_results(
        db=db, principal=principal, plan_id=plan_id, timestep=body.timestep, results=body.results
    )
    if isinstance(answer, ResultsWaiting):
        response.status_code = status.HTTP_202_ACCEPTED
    return answer


@router.put("/plans/{plan_id}/results/{timestep}", response_model_exclude_unset=True)
def restate_results(
    plan_id: str,
    timestep: Annotated[int, Path(ge=0, le=2**31)],
    body: ResultsRestatement,
    principal: CurrentPrincipal,
    db: DbDep,
) -> HistoryEntry:
    """Restate a closed timestep with the figures the platform shows now (some or all campaigns).

    Answers the timestep's history entry; its `revision` counts the restatements that changed
    something. The same figures again change nothing. The plan learns from them at its next
    allocation; a finished plan's history and spend are corrected.
    """
    return restatements.restate_results(
        db=db, principal=principal, plan_id=plan_id, timestep=timestep, results=body.results
    )


@router.post(
    "/plans/{plan_id}/results/csv",
    response_model_exclude_unset=True,
    openapi_extra=CSV_OPENAPI,
)
async def import_results_csv(
    plan_id: str,
    request: Request,
    principal: CurrentPrincipal,
    db: DbDep,
    ignore_unknown: Annotated[
        bool,
        Query(description="Skip campaigns the file names that are not in the plan (listed back)."),
    ] = False,
    date_order: DateOrderQuery = None,
) -> CsvImportPublic:
    """Apply a platform report (text/csv body or multipart `file`): all rows or none."""
    content = await read_upload(request)
    return await run_in_threadpool(
        csv_import.import_results,
        db=db,
        principal=principal,
        plan_id=plan_id,
        content=content,
        ignore_unknown=ignore_unknown,
        date_order=date_order,
    )


@router.get("/plans/{plan_id}/history", response_model_exclude_unset=True)
def get_history(
    plan_id: str,
    principal: CurrentPrincipal,
    db: DbDep,
    offset: Annotated[int, Query(ge=0, le=MAX_TIMESTEPS)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_TIMESTEPS)] = MAX_TIMESTEPS,
) -> PlanHistory:
    """Per timestep: the allocation given and the results reported (null for the open one)."""
    return service.get_history(
        db=db, principal=principal, plan_id=plan_id, offset=offset, limit=limit
    )


async def read_upload(request: Request) -> bytes:
    """The CSV bytes from a raw body or from the first file of a multipart form."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        for value in form.values():
            if hasattr(value, "read"):
                return await value.read()
        raise Invalid("the form has no file: upload the CSV as the field 'file'", ("body", "file"))
    return await request.body()
