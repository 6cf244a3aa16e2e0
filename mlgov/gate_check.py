"""The promotion gate: may a test or prod stack deploy this version? One check, two callers.

The program runs it at preview on what the hub registry shows (`DescribeModelPackage` through the RAM
deploy share, with the stack's own credentials), before it declares anything; `govctl gate` runs it from
a workstation on the governance record, reduced to what governance writes to the registry. Both end in
`refusal()`, so both say the same thing about the same version.

Pure Python: no boto3, no Pulumi (the readers live with their callers).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from governance.contract import (
    DEPLOYABLE_LIFECYCLES, MODEL_PACKAGE_ARN_RE, MODEL_STAGES, REGISTRY_APPROVED, REGISTRY_PENDING,
    STAGE_OF_ACCOUNT_ROLE,
)


@dataclass(frozen=True)
class Pin:
    """One version a stack deploys: a deployment's version, or its challenger's or shadow's."""

    use_case: str
    group: str
    version: int
    role: str = "version"
    """`version`, `challenger` or `shadow`."""

    def label(self) -> str:
        return f"{self.group} v{self.version}" + (f" ({self.role})" if self.role != "version" else "")


@dataclass(frozen=True)
class RegistryView:
    """What the registry shows of one version: its approval status and its `ModelLifeCycle` (None when unset)."""

    approval: str
    stage: str | None = None
    status: str | None = None

    def describe(self) -> str:
        lifecycle = f"{self.stage}/{self.status}" if self.stage else "none"
        return f"ModelApprovalStatus {self.approval}, ModelLifeCycle {lifecycle}"


def view_of_package(described: Mapping[str, Any]) -> RegistryView:
    """From a `DescribeModelPackage` answer."""
    cycle = described.get("ModelLifeCycle") or {}
    return RegistryView(str(described.get("ModelApprovalStatus") or REGISTRY_PENDING), cycle.get("Stage"), cycle.get("StageStatus"))


def pins_of(deployments: Iterable[Any]) -> list[Pin]:
    """Every version a stack's `mlgov:deployments` (`mlgov.config.Deployment`s) deploy, in file order."""
    out = []
    for d in deployments:
        out.append(Pin(d.use_case, d.group, d.version))
        if d.challenger:
            out.append(Pin(d.use_case, d.group, d.challenger.version, "challenger"))
        if d.shadow:
            out.append(Pin(d.use_case, d.group, d.shadow.version, "shadow"))
    return out


def deploy_stage(account_role: str) -> str:
    """The model stage a stack deploys to (`test` → test, `prod` → production)."""
    stage = STAGE_OF_ACCOUNT_ROLE.get(account_role)
    if stage is None:
        raise ValueError(f"the {account_role} stack deploys nothing; versions are pinned in the test and prod stacks")
    return stage


def refusal(stage: str, view: RegistryView | None, source: str = "the registry") -> str | None:
    """None when a version `source` shows as `view` may be deployed at `stage`, else what `source` says.

    `view` None: `source` has no such version.
    """
    allowed = DEPLOYABLE_LIFECYCLES[stage]
    if view is None:
        return f"{source} has no such version"
    says = f"{source} shows {view.describe()}"
    if view.approval != REGISTRY_APPROVED:
        return f"{says}; a version is deployed only once it is {REGISTRY_APPROVED}"
    if (view.stage, view.status) not in allowed:
        return f"{says}; {stage} needs " + " or ".join(f"{s}/{st}" for s, st in allowed_by_stage(allowed))
    return None


def allowed_by_stage(allowed: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The allowed lifecycles, statuses of one stage joined (`production/approved|deployed|pending`)."""
    by: dict[str, list[str]] = {}
    for s, st in allowed:
        by.setdefault(s, []).append(st)
    return [(s, "|".join(sorted(by[s]))) for s in sorted(by, key=MODEL_STAGES.index)]


def message(stack: str, pin: Pin, reason: str) -> str:
    """The one refusal message: use case, group, version, stage, and what the registry says."""
    stage = deploy_stage(stack)
    return (f"mlgov:deployments[{pin.label()}]: use case {pin.use_case}, group {pin.group}, version {pin.version} "
            f"is not approved for {stage}: {reason}")


def hub_region_refusal(stack_region: str, hub_region: str) -> str | None:
    """A model package is deployed in its registry's region: RAM shares and SageMaker models do not cross regions."""
    if stack_region == hub_region:
        return None
    return (f"aws:region: this stack deploys in {stack_region} but the hub registry is in {hub_region}; a version is "
            f"deployed from the registry's own region (RAM shares are regional): set aws:region to {hub_region}")


def package_coordinates(arn: str) -> tuple[str, str, str, int] | None:
    """(region, account, group, version) of a model package ARN, or None."""
    match = MODEL_PACKAGE_ARN_RE.match(arn)
    return (match.group(2), match.group(3), match.group(4), int(match.group(5))) if match else None
