"""The allocation policies a plan may name and their `policy_params` (for forms and scripts)."""

from fastapi import APIRouter, Depends

from oktapi.deps import get_principal
from oktapi.models.policies import PolicyPublic
from oktapi.services import policies as service

router = APIRouter(tags=["plans"])


@router.get("/policies", dependencies=[Depends(get_principal)])
def list_policies() -> list[PolicyPublic]:
    """Each policy with its parameters' defaults, allowed ranges and meaning."""
    return service.list_policies()
