"""Liveness and storage check, without auth."""

from fastapi import APIRouter, Request
from pydantic import BaseModel

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: str
    storage: str


@router.get("/health")
def health(request: Request) -> Health:
    storage = request.app.state.storage
    storage.db.command("ping")
    return Health(status="ok", storage=storage.backend)
