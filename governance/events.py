"""The events the handlers accept, parsed strictly: anything malformed is refused before a read or write.

SageMaker registry (sync handler): source `aws.sagemaker`, detail-type `SageMaker Model Package State
Change`; the detail is the model package as `DescribeModelPackage` shows it. `CreationTime` and
`LastModifiedTime` arrive as ISO-8601 strings or epoch milliseconds; `ModelLifeCycle` may be absent.
A version registered from an MLflow run (`govctl register`) names the run in
`CustomerMetadataProperties[MLFLOW_RUN_ID_KEY]`, which links the record to the run.

Member accounts (metrics handler), on the governance bus: source `mlgov.member` (SOURCE_MEMBER), and
detail-type `Model Deployed` (DEPLOYED) or `Model Metrics` (METRICS). The `detail` object::

    {
      "modelGroup":   "credit-risk-xgb",          # model package group in the hub registry (required)
      "modelVersion": 3,                          # integer >= 1 (required)
      "stage":        "test" | "production",      # the member account's stage (required)
      "endpointName": "credit-risk-xgb-test",     # the SageMaker endpoint serving it (required)
      "variantName":  "AllTraffic",               # optional: production variant (A/B) or "shadow"
      "reportedAt":   "2024-09-01T12:00:00.123Z", # optional: ISO-8601 or epoch ms; defaults to the event's time
      "metrics":      {"auc": 0.91, ...}          # Model Metrics only: a JSON object, at most 64 KB serialised
    }

`Model Deployed` may list `"endpointVersions": [3, 4]`, every version the endpoint serves after the rollout;
`Model Decommissioned` (same detail, no metrics) says the endpoint was deleted.

`Model Deployed` moves the stage record from pending to deployed; `Model Metrics` stores the metrics,
with the endpoint (and variant) they came from, as the record's monitoring metrics. A report older than
the one already stored is stale and changes nothing.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

from .contract import (  # noqa: F401 (the event names are read from here too)
    ACCOUNT_ID_RE,
    DETAIL_TYPE_DECOMMISSIONED,
    DETAIL_TYPE_DEPLOYED,
    DETAIL_TYPE_METRICS,
    DETAIL_TYPE_MODEL_PACKAGE,
    MAX_METADATA_VALUE_LENGTH,
    MEMBER_DETAIL_TYPES,
    MLFLOW_RUN_ID_KEY,
    MODEL_PACKAGE_ARN_RE,
    SOURCE_MEMBER,
    SOURCE_SAGEMAKER,
    VARIANT_RE,
)
from .domain import BadInput, RegistryStatus, Stage, check_endpoint, check_group, check_stage, check_version

# The member detail-types under the names the runtime has always used.
DEPLOYED = DETAIL_TYPE_DEPLOYED
METRICS = DETAIL_TYPE_METRICS
DECOMMISSIONED = DETAIL_TYPE_DECOMMISSIONED
MAX_ENDPOINT_VERSIONS = 10

MAX_METRICS_BYTES = 64 * 1024
EVENT_ID_RE = re.compile(r"^[A-Za-z0-9-]{1,64}$")
# Package states that are not a registered version (yet, or any more): nothing to record.
IGNORED_PACKAGE_STATUSES = frozenset({"Failed", "Deleting"})


def to_millis(value: Any, what: str) -> int:
    """A timestamp given as ISO-8601 (with zone) or epoch milliseconds (seconds accepted) → epoch ms."""
    if isinstance(value, bool):
        raise BadInput(f"{what} {value!r} is not a timestamp")
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or value < 0:
            raise BadInput(f"{what} {value!r} is not a timestamp")
        return int(value if value >= 1e11 else value * 1000)
    if isinstance(value, str) and value:
        if value.isdigit():
            return to_millis(int(value), what)
        text = value.replace("Z", "+00:00").replace("z", "+00:00")
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise BadInput(f"{what} {value!r} is not ISO-8601 or epoch milliseconds") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return int(round(parsed.timestamp() * 1000))
    raise BadInput(f"{what} {value!r} is not a timestamp")


def iso_millis(ms: int) -> str:
    """Epoch ms → `2024-09-01T12:00:00.123Z` (fixed width, so it sorts as text)."""
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _require(detail: Mapping[str, Any], key: str) -> Any:
    if key not in detail or detail[key] is None:
        raise BadInput(f"detail.{key} is missing")
    return detail[key]


def _envelope(event: Any, source: str, detail_types: tuple[str, ...]) -> tuple[str, str, Mapping[str, Any], int]:
    if not isinstance(event, Mapping):
        raise BadInput("the event is not a JSON object")
    if event.get("source") != source:
        raise BadInput(f"event source {event.get('source')!r} is not {source!r}")
    if event.get("detail-type") not in detail_types:
        raise BadInput(f"detail-type {event.get('detail-type')!r} is not one of {list(detail_types)}")
    event_id = event.get("id")
    if not isinstance(event_id, str) or not EVENT_ID_RE.match(event_id):
        raise BadInput(f"event id {event_id!r} is missing or invalid")
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise BadInput("event detail is missing or not an object")
    time_ms = to_millis(event.get("time"), "event time")
    return event_id, event["detail-type"], detail, time_ms


@dataclass(frozen=True)
class RegistryEvent:
    event_id: str
    group: str
    version: int
    arn: str
    status: RegistryStatus
    created_ms: int
    modified_ms: int
    created_by: str | None
    modified_by: str | None
    lifecycle: Mapping[str, str] | None
    package_status: str | None
    mlflow_run_id: str | None = None


def _identity(value: Any, what: str) -> str | None:
    """The IAM ARN in a `CreatedBy`/`LastModifiedBy` block (`IamIdentity.Arn`), if the block has one."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise BadInput(f"detail.{what} is not an object")
    iam = value.get("IamIdentity")
    if iam is None:
        return None
    if not isinstance(iam, Mapping) or not isinstance(iam.get("Arn"), str):
        raise BadInput(f"detail.{what}.IamIdentity.Arn is missing or not a string")
    return iam["Arn"]


def _mlflow_run_id(detail: Mapping[str, Any]) -> str | None:
    """The MLflow run a version was registered from, if its metadata names one (as SageMaker allows: 1-256 characters)."""
    metadata = detail.get("CustomerMetadataProperties")
    if metadata is None:
        return None
    if not isinstance(metadata, Mapping):
        raise BadInput("detail.CustomerMetadataProperties is not an object")
    run_id = metadata.get(MLFLOW_RUN_ID_KEY)
    if run_id is None:
        return None
    if not isinstance(run_id, str) or not 0 < len(run_id) <= MAX_METADATA_VALUE_LENGTH:
        raise BadInput(f"detail.CustomerMetadataProperties[{MLFLOW_RUN_ID_KEY}] must be a string of 1 to "
                       f"{MAX_METADATA_VALUE_LENGTH} characters")
    return run_id


def parse_registry_event(event: Any) -> RegistryEvent:
    """A `SageMaker Model Package State Change` event, or BadInput naming what is wrong."""
    event_id, _, detail, time_ms = _envelope(event, SOURCE_SAGEMAKER, (DETAIL_TYPE_MODEL_PACKAGE,))
    group = check_group(_require(detail, "ModelPackageGroupName"))
    version = _require(detail, "ModelPackageVersion")
    if isinstance(version, bool) or not isinstance(version, int):
        raise BadInput(f"detail.ModelPackageVersion {version!r} is not an integer")
    version = check_version(version)
    arn = _require(detail, "ModelPackageArn")
    match = MODEL_PACKAGE_ARN_RE.match(arn) if isinstance(arn, str) else None
    if not match:
        raise BadInput(f"detail.ModelPackageArn {arn!r} is not a model package version ARN")
    if match.group(4).lower() != group.lower() or int(match.group(5)) != version:
        raise BadInput(f"detail.ModelPackageArn {arn!r} does not name {group}/{version}")
    status_raw = _require(detail, "ModelApprovalStatus")
    try:
        status = RegistryStatus(status_raw)
    except ValueError:
        raise BadInput(f"detail.ModelApprovalStatus {status_raw!r} is not Approved, Rejected or PendingManualApproval") from None
    created_ms = to_millis(_require(detail, "CreationTime"), "detail.CreationTime")
    modified = detail.get("LastModifiedTime")
    modified_ms = to_millis(modified, "detail.LastModifiedTime") if modified is not None else max(created_ms, time_ms)
    lifecycle = detail.get("ModelLifeCycle")
    if lifecycle is not None:
        if not isinstance(lifecycle, Mapping) or not all(isinstance(lifecycle.get(k), str) for k in ("Stage", "StageStatus")):
            raise BadInput("detail.ModelLifeCycle must be an object with string Stage and StageStatus")
        lifecycle = {k: str(v) for k, v in lifecycle.items() if k in ("Stage", "StageStatus", "StageDescription") and isinstance(v, str)}
    package_status = detail.get("ModelPackageStatus")
    if package_status is not None and not isinstance(package_status, str):
        raise BadInput("detail.ModelPackageStatus is not a string")
    return RegistryEvent(
        event_id=event_id,
        group=group,
        version=version,
        arn=arn,
        status=status,
        created_ms=created_ms,
        modified_ms=modified_ms,
        created_by=_identity(detail.get("CreatedBy"), "CreatedBy"),
        modified_by=_identity(detail.get("LastModifiedBy"), "LastModifiedBy"),
        lifecycle=lifecycle,
        package_status=package_status,
        mlflow_run_id=_mlflow_run_id(detail),
    )


@dataclass(frozen=True)
class MemberEvent:
    event_id: str
    kind: str  # DEPLOYED | METRICS
    account: str
    group: str
    version: int
    stage: Stage
    endpoint: str
    variant: str | None
    reported_ms: int
    metrics: Mapping[str, Any] | None
    endpoint_versions: frozenset[int] | None = None  # every version the endpoint serves after this rollout, if listed


def check_metrics(value: Any) -> dict[str, Any]:
    """A metrics payload: a non-empty JSON object of at most 64 KB, with finite numbers only."""
    if not isinstance(value, Mapping):
        raise BadInput("metrics must be a JSON object")
    if not value:
        raise BadInput("metrics must not be empty")
    try:
        text = json.dumps(value, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError):
        raise BadInput("metrics must be plain JSON (no NaN or Infinity)") from None
    if len(text.encode()) > MAX_METRICS_BYTES:
        raise BadInput(f"metrics are {len(text.encode())} bytes; the limit is {MAX_METRICS_BYTES}")
    if not all(isinstance(k, str) and 0 < len(k) <= 128 for k in value):
        raise BadInput("metric names must be 1 to 128 characters")
    return json.loads(text)


def parse_member_event(event: Any) -> MemberEvent:
    """A `Model Deployed` / `Model Metrics` event from a member account, or BadInput."""
    event_id, kind, detail, time_ms = _envelope(event, SOURCE_MEMBER, MEMBER_DETAIL_TYPES)
    account = event.get("account")
    if not isinstance(account, str) or not ACCOUNT_ID_RE.fullmatch(account):
        raise BadInput(f"event account {account!r} is not an AWS account id")
    group = check_group(_require(detail, "modelGroup"))
    version = _require(detail, "modelVersion")
    if isinstance(version, bool) or not isinstance(version, int):
        raise BadInput(f"detail.modelVersion {version!r} is not an integer")
    version = check_version(version)
    stage = check_stage(_require(detail, "stage"))
    if stage is Stage.development:
        raise BadInput("member reports are for the test and production stages")
    endpoint = check_endpoint(_require(detail, "endpointName"))
    variant = detail.get("variantName")
    if variant is not None and (not isinstance(variant, str) or not VARIANT_RE.match(variant)):
        raise BadInput(f"detail.variantName {variant!r} is invalid")
    reported = detail.get("reportedAt")
    reported_ms = to_millis(reported, "detail.reportedAt") if reported is not None else time_ms
    metrics = check_metrics(_require(detail, "metrics")) if kind == METRICS else None
    listed = detail.get("endpointVersions")
    if listed is not None and (not isinstance(listed, list) or not 0 < len(listed) <= MAX_ENDPOINT_VERSIONS
                               or any(isinstance(v, bool) or not isinstance(v, int) for v in listed)):
        raise BadInput(f"detail.endpointVersions must be a list of 1 to {MAX_ENDPOINT_VERSIONS} version numbers")
    endpoint_versions = frozenset(check_version(v) for v in listed) if listed is not None else None
    return MemberEvent(event_id, kind, account, group, version, stage, endpoint, variant, reported_ms, metrics, endpoint_versions)
