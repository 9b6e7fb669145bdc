"""Campaign history routes of API.md: days from before a plan, by JSON or CSV, and their pages."""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from oktapi.deps import CurrentPrincipal, DbDep, PageDep
from oktapi.models.history import CampaignHistory, HistoryPost, HistoryUploadPublic
from oktapi.routers.plans import CSV_OPENAPI, DateOrderQuery, read_upload
from oktapi.services import history as service

router = APIRouter(tags=["history"])

HISTORY_CSV_OPENAPI = {
    "requestBody": {
        **CSV_OPENAPI["requestBody"],
        "description": "A platform's report by day (Google Ads, Meta, TikTok, Microsoft "
        "Advertising) or the columns date, campaign (name, id or the platform's campaign id), "
        "spend, conversions, revenue; other columns are ignored.",
    }
}


@router.post("/campaigns/{campaign_id}/history")
def record_history(
    campaign_id: str, body: HistoryPost, principal: CurrentPrincipal, db: DbDep
) -> HistoryUploadPublic:
    """Store a campaign's daily results (all days or none); a day already recorded is restated.

    Days in the future, a day sent twice, or figures below 0 are refused with 422 naming them.
    A plan created over the campaign learns from its history before its first allocation.
    """
    return service.record_history(
        db=db, principal=principal, campaign_id=campaign_id, days=body.results
    )


@router.get("/campaigns/{campaign_id}/history")
def get_history(
    campaign_id: str, principal: CurrentPrincipal, db: DbDep, page: PageDep
) -> CampaignHistory:
    """The campaign's recorded days, oldest first, with their revision (`limit`, `offset`)."""
    return service.get_history(db=db, principal=principal, campaign_id=campaign_id, page=page)


@router.post("/clients/{client_id}/history/csv", openapi_extra=HISTORY_CSV_OPENAPI)
async def import_history_csv(
    client_id: str,
    request: Request,
    principal: CurrentPrincipal,
    db: DbDep,
    ignore_unknown: Annotated[
        bool,
        Query(description="Skip campaigns the file names that are not the client's (listed back)."),
    ] = False,
    date_order: DateOrderQuery = None,
) -> HistoryUploadPublic:
    """A platform report (any format of the plan import) of daily results for any of the
    client's campaigns, matched by platform id, id or name: all rows or none."""
    content = await read_upload(request)
    return await run_in_threadpool(
        service.import_history_csv,
        db=db,
        principal=principal,
        client_id=client_id,
        content=content,
        ignore_unknown=ignore_unknown,
        date_order=date_order,
    )
