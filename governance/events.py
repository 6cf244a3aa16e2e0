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

Every parse is total: whatever the event holds, the result is a parsed event or BadInput with the reason.
Timestamps lie between 2000-01-01 and `now + max skew` (default 5 minutes; `mlgov:maxEventSkewSeconds`), so
no event can date itself in the year 3000 and freeze a record; every accepted timestamp can be formatted.
Text refuses control characters and invalid Unicode (lone surrogates); metrics and metadata nest at most
`MAX_STRUCTURE_DEPTH` levels (`{"auc": 0.9}` is one).
"""
from __future__ import annotations

import json
import math
import re
import sys
import time
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

from .contract import (  # noqa: F401 (the event names are read from here too)
    ACCOUNT_ID_RE,
    DETAIL_TYPE_DECOMMISSIONED,
    DEFAULT_MAX_EVENT_SKEW_SECONDS,
    DETAIL_TYPE_DEPLOYED,
    DETAIL_TYPE_METRICS,
    DETAIL_TYPE_MODEL_PACKAGE,
    MAX_EVENT_TEXT_LENGTH,
    MAX_METADATA_VALUE_LENGTH,
    MAX_STRUCTURE_DEPTH,
    MEMBER_DETAIL_TYPES,
    MIN_EVENT_MS,
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
# The latest instant any timestamp may name (9999-12-31T23:59:59.999Z), whatever the clock says: always formattable.
MAX_EVENT_MS = 253_402_300_799_999
MAX_TIMESTAMP_TEXT = 40
_EPOCH_SECONDS_BELOW = 100_000_000_000  # a number below this is epoch seconds (before 1973 in ms)


def _now_ms() -> int:
    return int(time.time() * 1000)


# --- text and structures ---

def check_text(value: Any, what: str, *, max_length: int = MAX_EVENT_TEXT_LENGTH) -> str:
    """A string of 1 to `max_length` characters, without control characters or lone surrogates."""
    if not isinstance(value, str):
        raise BadInput(f"{what} is not a string")
    if not 0 < len(value) <= max_length:
        raise BadInput(f"{what} must be 1 to {max_length} characters (got {len(value)})")
    for ch in value:
        category = unicodedata.category(ch)
        if category == "Cc":
            raise BadInput(f"{what} contains the control character U+{ord(ch):04X}")
        if category == "Cs":
            raise BadInput(f"{what} contains a lone surrogate U+{ord(ch):04X} (invalid Unicode)")
    return value


def check_structure(value: Any, what: str, *, max_depth: int = MAX_STRUCTURE_DEPTH) -> None:
    """Plain JSON nesting at most `max_depth` objects/arrays deep: text keys and strings, finite numbers.

    Walked without recursion, so no depth of input can exhaust the stack before it is refused.
    """
    stack: list[tuple[Any, int, str]] = [(value, 0, what)]
    while stack:
        node, depth, where = stack.pop()
        if isinstance(node, (Mapping, list)):
            if depth + 1 > max_depth:
                raise BadInput(f"{what} nests deeper than {max_depth} levels (at {where})")
            if isinstance(node, Mapping):
                for key, child in node.items():
                    if not isinstance(key, str):
                        raise BadInput(f"{where} has a key that is not a string")
                    check_text(key, f"a key of {where}", max_length=128)
                    stack.append((child, depth + 1, f"{where}.{key}"))
            else:
                stack.extend((child, depth + 1, f"{where}[{i}]") for i, child in enumerate(node))
        elif isinstance(node, str):
            if node:
                check_text(node, where, max_length=sys.maxsize)
        elif isinstance(node, float):
            if not math.isfinite(node):
                raise BadInput(f"{where} is {node}; numbers must be finite")
        elif node is not None and not isinstance(node, (bool, int)):
            raise BadInput(f"{where} is not plain JSON")


# --- timestamps ---

def _epoch_ms(value: int | float, what: str) -> int:
    if isinstance(value, float) and not math.isfinite(value):
        raise BadInput(f"{what} {value!r} is not a timestamp")
    ms = value * 1000 if 0 <= value < _EPOCH_SECONDS_BELOW else value
    if not MIN_EVENT_MS <= ms <= MAX_EVENT_MS:
        raise BadInput(f"{what} is out of range: timestamps lie between 2000-01-01 and the present")
    return int(ms)


def to_millis(value: Any, what: str) -> int:
    """A timestamp given as ISO-8601 (with zone) or epoch milliseconds (seconds accepted) → epoch ms, or BadInput.

    Total: any input gives a value between 2000-01-01 and 9999-12-31 (formattable) or BadInput with the reason.
    """
    if isinstance(value, bool):
        raise BadInput(f"{what} {value!r} is not a timestamp")
    if isinstance(value, (int, float)):
        return _epoch_ms(value, what)
    if isinstance(value, str) and value:
        if len(value) > MAX_TIMESTAMP_TEXT:
            raise BadInput(f"{what} is {len(value)} characters long; not a timestamp")
        if value.isascii() and value.isdigit():
            return _epoch_ms(int(value), what)
        text = value.replace("Z", "+00:00").replace("z", "+00:00")
        try:
            parsed = datetime.fromisoformat(text)
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=timezone.utc)
            ms = round(parsed.timestamp() * 1000)
        except (ValueError, OverflowError, OSError):
            raise BadInput(f"{what} {value[:MAX_TIMESTAMP_TEXT]!r} is not ISO-8601 or epoch milliseconds") from None
        return _epoch_ms(ms, what)
    raise BadInput(f"{what} {str(value)[:MAX_TIMESTAMP_TEXT]!r} is not a timestamp")


def not_in_future(ms: int, what: str, now_ms: int, max_skew_ms: int) -> int:
    """Refuse a timestamp more than the allowed clock skew ahead of now: it would freeze the record it touches."""
    if ms > now_ms + max_skew_ms:
        raise BadInput(f"{what} {iso_millis(ms)} is more than {max_skew_ms // 1000} s in the future "
                       f"(now {iso_millis(now_ms)}); refused so that no event can freeze a record")
    return ms


def iso_millis(ms: Any) -> str:
    """Epoch ms → `2024-09-01T12:00:00.123Z` (fixed width, so it sorts as text); a value no date fits stays a number."""
    try:
        return datetime.fromtimestamp(int(ms) / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    except (ValueError, OverflowError, OSError, TypeError):
        return f"{ms!r} ms"


def _require(detail: Mapping[str, Any], key: str) -> Any:
    if key not in detail or detail[key] is None:
        raise BadInput(f"detail.{key} is missing")
    return detail[key]


@dataclass(frozen=True)
class Clock:
    """What "now" is while an event is parsed, and how far ahead of it a timestamp may be."""

    now_ms: int
    max_skew_ms: int = DEFAULT_MAX_EVENT_SKEW_SECONDS * 1000

    def timestamp(self, value: Any, what: str) -> int:
        return not_in_future(to_millis(value, what), what, self.now_ms, self.max_skew_ms)


def _clock(clock: Clock | None) -> Clock:
    return clock if clock is not None else Clock(_now_ms())


def _envelope(event: Any, source: str, detail_types: tuple[str, ...], clock: Clock) -> tuple[str, str, Mapping[str, Any], int]:
    if not isinstance(event, Mapping):
        raise BadInput("the event is not a JSON object")
    if event.get("source") != source:
        raise BadInput(f"event source {str(event.get('source'))[:80]!r} is not {source!r}")
    if event.get("detail-type") not in detail_types:
        raise BadInput(f"detail-type {str(event.get('detail-type'))[:80]!r} is not one of {list(detail_types)}")
    event_id = event.get("id")
    if not isinstance(event_id, str) or not EVENT_ID_RE.match(event_id):
        raise BadInput(f"event id {str(event_id)[:80]!r} is missing or invalid")
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise BadInput("event detail is missing or not an object")
    time_ms = clock.timestamp(event.get("time"), "event time")
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
    partition: str = "aws"
    region: str = ""
    account: str = ""
    """Whose package this is: the partition, region and account named by the ARN (not by the envelope)."""


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
    return check_text(iam["Arn"], f"detail.{what}.IamIdentity.Arn")


def _mlflow_run_id(detail: Mapping[str, Any]) -> str | None:
    """The MLflow run a version was registered from, if its metadata names one (as SageMaker allows: 1-256 characters)."""
    metadata = detail.get("CustomerMetadataProperties")
    if metadata is None:
        return None
    if not isinstance(metadata, Mapping):
        raise BadInput("detail.CustomerMetadataProperties is not an object")
    check_structure(metadata, "detail.CustomerMetadataProperties")
    run_id = metadata.get(MLFLOW_RUN_ID_KEY)
    if run_id is None:
        return None
    if not isinstance(run_id, str) or not 0 < len(run_id) <= MAX_METADATA_VALUE_LENGTH:
        raise BadInput(f"detail.CustomerMetadataProperties[{MLFLOW_RUN_ID_KEY}] must be a string of 1 to "
                       f"{MAX_METADATA_VALUE_LENGTH} characters")
    return run_id


def _lifecycle(value: Any) -> Mapping[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or not all(isinstance(value.get(k), str) for k in ("Stage", "StageStatus")):
        raise BadInput("detail.ModelLifeCycle must be an object with string Stage and StageStatus")
    return {k: check_text(v, f"detail.ModelLifeCycle.{k}") for k, v in value.items()
            if k in ("Stage", "StageStatus", "StageDescription") and isinstance(v, str)}


def parse_registry_event(event: Any, clock: Clock | None = None) -> RegistryEvent:
    """A `SageMaker Model Package State Change` event, or BadInput naming what is wrong."""
    clock = _clock(clock)
    event_id, _, detail, time_ms = _envelope(event, SOURCE_SAGEMAKER, (DETAIL_TYPE_MODEL_PACKAGE,), clock)
    group = check_group(_require(detail, "ModelPackageGroupName"))
    version = _require(detail, "ModelPackageVersion")
    if isinstance(version, bool) or not isinstance(version, int):
        raise BadInput(f"detail.ModelPackageVersion {str(version)[:40]!r} is not an integer")
    version = check_version(version)
    arn = _require(detail, "ModelPackageArn")
    match = MODEL_PACKAGE_ARN_RE.match(arn) if isinstance(arn, str) and len(arn) <= MAX_EVENT_TEXT_LENGTH else None
    if not match:
        raise BadInput(f"detail.ModelPackageArn {str(arn)[:200]!r} is not a model package version ARN")
    if match.group(4).lower() != group.lower() or int(match.group(5)) != version:
        raise BadInput(f"detail.ModelPackageArn {arn!r} does not name {group}/{version}")
    status_raw = _require(detail, "ModelApprovalStatus")
    try:
        status = RegistryStatus(status_raw)
    except (ValueError, TypeError):
        raise BadInput(f"detail.ModelApprovalStatus {str(status_raw)[:80]!r} is not Approved, Rejected or "
                       "PendingManualApproval") from None
    created_ms = clock.timestamp(_require(detail, "CreationTime"), "detail.CreationTime")
    modified = detail.get("LastModifiedTime")
    modified_ms = clock.timestamp(modified, "detail.LastModifiedTime") if modified is not None else max(created_ms, time_ms)
    package_status = detail.get("ModelPackageStatus")
    if package_status is not None:
        check_text(package_status, "detail.ModelPackageStatus", max_length=64)
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
        lifecycle=_lifecycle(detail.get("ModelLifeCycle")),
        package_status=package_status,
        mlflow_run_id=_mlflow_run_id(detail),
        partition=match.group(1),
        region=match.group(2),
        account=match.group(3),
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
    """A metrics payload: a non-empty JSON object of at most 64 KB and `MAX_STRUCTURE_DEPTH` levels, finite numbers only."""
    if not isinstance(value, Mapping):
        raise BadInput("metrics must be a JSON object")
    if not value:
        raise BadInput("metrics must not be empty")
    if not all(isinstance(k, str) and 0 < len(k) <= 128 for k in value):
        raise BadInput("metric names must be 1 to 128 characters")
    check_structure(value, "metrics")
    try:
        text = json.dumps(value, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):
        raise BadInput("metrics must be plain JSON (no NaN or Infinity)") from None
    if len(text.encode()) > MAX_METRICS_BYTES:
        raise BadInput(f"metrics are {len(text.encode())} bytes; the limit is {MAX_METRICS_BYTES}")
    return json.loads(text)


def parse_member_event(event: Any, clock: Clock | None = None) -> MemberEvent:
    """A `Model Deployed` / `Model Metrics` event from a member account, or BadInput."""
    clock = _clock(clock)
    event_id, kind, detail, time_ms = _envelope(event, SOURCE_MEMBER, MEMBER_DETAIL_TYPES, clock)
    account = event.get("account")
    if not isinstance(account, str) or not ACCOUNT_ID_RE.fullmatch(account):
        raise BadInput(f"event account {str(account)[:40]!r} is not an AWS account id")
    group = check_group(_require(detail, "modelGroup"))
    version = _require(detail, "modelVersion")
    if isinstance(version, bool) or not isinstance(version, int):
        raise BadInput(f"detail.modelVersion {str(version)[:40]!r} is not an integer")
    version = check_version(version)
    stage = check_stage(_require(detail, "stage"))
    if stage is Stage.development:
        raise BadInput("member reports are for the test and production stages")
    endpoint = check_endpoint(_require(detail, "endpointName"))
    variant = detail.get("variantName")
    if variant is not None and (not isinstance(variant, str) or not VARIANT_RE.match(variant)):
        raise BadInput(f"detail.variantName {str(variant)[:80]!r} is invalid")
    reported = detail.get("reportedAt")
    reported_ms = clock.timestamp(reported, "detail.reportedAt") if reported is not None else time_ms
    metrics = check_metrics(_require(detail, "metrics")) if kind == METRICS else None
    listed = detail.get("endpointVersions")
    if listed is not None and (not isinstance(listed, list) or not 0 < len(listed) <= MAX_ENDPOINT_VERSIONS
                               or any(isinstance(v, bool) or not isinstance(v, int) for v in listed)):
        raise BadInput(f"detail.endpointVersions must be a list of 1 to {MAX_ENDPOINT_VERSIONS} version numbers")
    endpoint_versions = frozenset(check_version(v) for v in listed) if listed is not None else None
    return MemberEvent(event_id, kind, account, group, version, stage, endpoint, variant, reported_ms, metrics, endpoint_versions)
