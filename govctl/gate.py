"""The promotion gate and `promote`: stack config pins checked against the governance record.

The check itself is `mlgov.gate_check`, the one the program runs at preview on the registry: here it runs
from a workstation on what governance writes to the registry for the version (the API's `registryView`,
`governance.mirror.desired`), so both read one definition. Approving at a stage creates (or reopens) the next stage's record as `pending`; a
rejection sends the version back to development; `retire` ends it (`governance.rules.transition`).

The gate reads each pinned version through the governance API (`GET .../versions/{v}`), so it runs with
the caller's IAM identity like every other read; it needs no DynamoDB permissions.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from governance.domain import Stage
from governance.views import REGISTRY_VIEW
from mlgov.gate_check import Pin, pins_of, refusal, view_of_package

from govctl.client import Api, ApiError, GovctlError

STACK_STAGE = {"test": Stage.test, "prod": Stage.production}
GOVERNANCE = "governance"


def approved_for(stage: Stage, version_view: Mapping[str, Any]) -> bool:
    """Whether a version (`GET .../versions/{v}`) may be deployed at `stage` (test or production)."""
    return why_not(stage, version_view) is None


def why_not(stage: Stage, version_view: Mapping[str, Any]) -> str | None:
    """None when approved for `stage`, else what governance shows (the gate's one refusal, `mlgov.gate_check`)."""
    if stage not in (Stage.test, Stage.production):
        raise ValueError(f"nothing is pinned at the {stage.value} stage")
    return refusal(stage.value, view_of_package(version_view.get(REGISTRY_VIEW) or {}), source=GOVERNANCE)


# --- stack files ---

def stack_path(stack: str, root: Path) -> Path:
    if stack not in STACK_STAGE:
        raise GovctlError(f"stack {stack!r}: versions are pinned in the test and prod stacks only")
    path = Path(root) / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise GovctlError(f"no stack file {path}")
    return path


def pins(stack: str, root: Path) -> list[Pin]:
    """Every version the stack deploys: each deployment's version, and its challenger or shadow version."""
    from mlgov.config import ConfigError, parse
    from mlgov.program import namespace_config

    data = _load(stack_path(stack, root))
    try:
        config = parse(namespace_config(_plain(data.get("config") or {})))
    except ConfigError as exc:
        raise GovctlError(f"Pulumi.{stack}.yaml: {exc}") from None
    return pins_of(config.deployments)


@dataclass(frozen=True)
class GateResult:
    stack: str
    stage: Stage
    passed: list[Pin]
    offenders: list[tuple[Pin, str]]

    @property
    def ok(self) -> bool:
        return not self.offenders

    def as_dict(self) -> dict[str, Any]:
        return {"stack": self.stack, "stage": self.stage.value, "ok": self.ok,
                "approved": [p.__dict__ for p in self.passed],
                "offenders": [{**p.__dict__, "reason": why} for p, why in self.offenders]}


def check_pin(api: Api, stage: Stage, pin: Pin) -> str | None:
    """None when the pinned version is approved for `stage`, else why not."""
    try:
        view = api.version(pin.group, pin.version, use_case_id=pin.use_case)
    except ApiError as exc:
        if exc.status == 404:
            return f"unknown to governance: {exc.message}"
        raise
    if view.get("useCaseStage") == "RETIRED":
        return f"its use case {pin.use_case} is retired"
    if view.get("retired"):
        return "the version is retired"
    return why_not(stage, view)


def gate(api: Api, stack: str, root: Path) -> GateResult:
    stage = STACK_STAGE.get(stack)
    if stage is None:
        raise GovctlError(f"stack {stack!r}: the gate checks the test and prod stacks")
    passed, offenders = [], []
    for pin in pins(stack, root):
        problem = check_pin(api, stage, pin)
        if problem is None:
            passed.append(pin)
        else:
            offenders.append((pin, problem))
    return GateResult(stack, stage, passed, offenders)


def registry_state(api: Api, stacks: Iterable[str], root: Path) -> dict[str, Any]:
    """What governance shows in the registry of every version the stacks pin, as a registry state the offline
    engine's gate reads (`mlgov.offline.registry_reader`); a version governance never saw is left out."""
    packages: dict[str, Any] = {}
    for stack in stacks:
        for pin in pins(stack, root):
            key = f"{pin.group}/{pin.version}"
            if key in packages:
                continue
            try:
                entry = dict(api.version(pin.group, pin.version, use_case_id=pin.use_case)[REGISTRY_VIEW])
            except ApiError as exc:
                if exc.status == 404:
                    continue
                raise
            packages[key] = entry
    return {"packages": packages}


# --- promote: pin a version, keeping the file's comments and order ---

def _yaml():
    from ruamel.yaml import YAML

    y = YAML()  # round-trip: comments, key order and quoting survive
    y.preserve_quotes = True
    y.indent(mapping=2, sequence=4, offset=2)
    y.width = 4096
    return y


def _load(path: Path) -> Any:
    from ruamel.yaml import YAMLError

    try:
        return _yaml().load(path.read_text()) or {}
    except YAMLError as exc:
        raise GovctlError(f"{path.name} is not valid YAML: {str(exc).splitlines()[0]}") from None


def _plain(node: Any) -> Any:
    return json.loads(json.dumps(node, default=str))


@dataclass(frozen=True)
class Promotion:
    stack: str
    group: str
    version: int
    use_case: str
    change: str  # what was done to the file
    path: str


def promote(api: Api, group: str, version: int, to: str, root: Path, *, use_case_id: str | None = None) -> Promotion:
    """Pin `group` `version` in `Pulumi.<to>.yaml` after the gate's check for that stage.

    An existing deployment of the group gets the new version (if the new version was its challenger or
    shadow, that variant is rolled out: the block goes and the version takes all traffic); otherwise a
    deployment is appended. The edited config must still validate, or the file is left untouched.
    """
    from mlgov.config import ConfigError, parse
    from mlgov.program import namespace_config
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    path = stack_path(to, root)
    stage = STACK_STAGE[to]
    use_case = api.use_case_of(group, use_case_id)
    problem = check_pin(api, stage, Pin(use_case, group, version, "version"))
    if problem is not None:
        raise GovctlError(f"refused: {group} v{version} is not approved for {stage.value}: {problem}")
    data = _load(path)
    config = data.setdefault("config", CommentedMap())
    deployments = config.get("mlgov:deployments")
    if deployments is None:
        deployments = config["mlgov:deployments"] = CommentedSeq()
    entry = next((d for d in deployments if isinstance(d, Mapping) and d.get("group") == group), None)
    if entry is None:
        new = CommentedMap([("useCase", use_case), ("group", group), ("version", version)])
        deployments.append(new)
        change = f"added a deployment of {group} v{version}"
    elif entry.get("version") == version:
        return Promotion(to, group, version, use_case, f"{group} v{version} is already pinned", str(path))
    else:
        old = entry.get("version")
        change = f"{group}: v{old} -> v{version}"
        for variant in ("challenger", "shadow"):
            block = entry.get(variant)
            if isinstance(block, Mapping) and block.get("version") == version:
                del entry[variant]
                if "weight" in entry:
                    entry["weight"] = 100
                change += f" (the {variant} is rolled out)"
        entry["version"] = version
    try:
        parse(namespace_config(_plain(config)))
    except ConfigError as exc:
        raise GovctlError(f"refused: pinning {group} v{version} would make Pulumi.{to}.yaml invalid: {exc}") from None
    buffer = io.StringIO()
    _yaml().dump(data, buffer)
    path.write_text(buffer.getvalue())
    return Promotion(to, group, version, use_case, change, str(path))


def roundtrip_is_exact(paths: Iterable[Path]) -> list[Path]:
    """The stack files a load+dump would change (the formatting promote relies on); empty when all are exact."""
    changed = []
    for path in paths:
        buffer = io.StringIO()
        _yaml().dump(_load(path), buffer)
        if buffer.getvalue() != path.read_text():
            changed.append(path)
    return changed
