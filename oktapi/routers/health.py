"""Health without auth: readiness (store writable, signing key usable) and bare liveness."""

from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from oktapi.services import health as health_service

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: Literal["ok"]
    storage: str


class Degraded(BaseModel):
    status: Literal["degraded"]
    storage: str
    problems: list[str]


class Alive(BaseModel):
    status: Literal["alive"]


@router.get(
    "/health",
    responses={503: {"model": Degraded, "description": "The store or the signing key fails"}},
)
def health(request: Request, response: Response) -> Health | Degraded:
    """200 when requests can succeed; 503 `degraded` naming what fails (e.g. for a balancer)."""
    storage = request.app.state.storage
    found = health_service.problems(db=storage.db, settings=request.app.state.settings)
    if found:
        response.status_code = 503
        return Degraded(status="degraded", storage=storage.backend, problems=found)
    return Health(status="ok", storage=storage.backend)


@router.get("/health/live")
async def live() -> Alive:
    """200 while the process answers at all; touches nothing (for a restart-on-hang probe)."""
    return Alive(status="alive")
