"""The allocation engine: numpy/scipy only, arrays in and arrays out."""

from oktapi.engine.ai import AI, UNCHANGED, Allocation, Restatement, Results
from oktapi.engine.policies import DEFAULT_POLICY, POLICIES, get_policy
from oktapi.engine.state import Campaign, State

__all__ = [
    "AI",
    "DEFAULT_POLICY",
    "POLICIES",
    "UNCHANGED",
    "Allocation",
    "Campaign",
    "Restatement",
    "Results",
    "State",
    "get_policy",
]
