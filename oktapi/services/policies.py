"""The registered allocation policies with their parameter specs (read-only, no storage)."""

from oktapi.engine.policies import DEFAULT_POLICY, POLICIES
from oktapi.models.policies import PolicyParamPublic, PolicyPublic


def list_policies() -> list[PolicyPublic]:
    """Every policy a plan may name, default first, each with what its parameters may be."""
    names = sorted(POLICIES, key=lambda name: (name != DEFAULT_POLICY, name))
    return [
        PolicyPublic(
            name=name,
            default=name == DEFAULT_POLICY,
            uses_step=POLICIES[name].uses_step,
            params={
                key: PolicyParamPublic(
                    default=spec.default,
                    low=spec.low,
                    high=spec.high,
                    low_inclusive=spec.low_inclusive,
                    high_inclusive=spec.high_inclusive,
                    allow_none=spec.allow_none,
                    integer=spec.integer,
                    range=spec.describe_range(),
                    help=spec.help,
                )
                for key, spec in POLICIES[name].param_specs.items()
            },
        )
        for name in names
    ]
