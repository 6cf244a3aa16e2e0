"""Every rule of the pack, by concern. Importing this starts nothing (the PolicyPack is built in `__main__.py`)."""
from __future__ import annotations

from pulumi_policy import ResourceValidationPolicy, StackValidationPolicy

from . import compute, data, edge, governance, sharing

BY_CONCERN: dict[str, list[ResourceValidationPolicy | StackValidationPolicy]] = {
    "governance": governance.POLICIES,
    "sharing": sharing.POLICIES,
    "data": data.POLICIES,
    "compute": compute.POLICIES,
    "edge": edge.POLICIES,
}
ALL_POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [p for ps in BY_CONCERN.values() for p in ps]
CONCERN_OF: dict[str, str] = {p.name: concern for concern, ps in BY_CONCERN.items() for p in ps}
RESOURCE_POLICIES = [p for p in ALL_POLICIES if isinstance(p, ResourceValidationPolicy)]
STACK_POLICIES = [p for p in ALL_POLICIES if isinstance(p, StackValidationPolicy)]

if len(CONCERN_OF) != len(ALL_POLICIES):
    raise RuntimeError("two policies share a name")
