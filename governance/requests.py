"""API requests parsed strictly: a body, a caller, a decision or a metrics report is checked before any read.

Each parser returns plain values or raises the `BadInput` / `Forbidden` the caller gets.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

from .contract import VARIANT_RE
from .domain import Action, BadInput, Forbidden, Stage, check_endpoint, check_stage, principal_key
from .events import check_metrics

MAX_REASON = 1024
MAX_BODY_BYTES = 64 * 1024
# Slack over MAX_BODY_BYTES for JSON punctuation and escapes around the fields the parsers bound.
BODY_SLACK_BYTES = 4096
DEFAULT_LIMIT, MAX_LIMIT = 50, 100
VALIDATION, MONITORING = "validation", "monitoring"


def require_caller(caller: Any) -> str:
    if not isinstance(caller, str) or principal_key(caller) is None:
        raise Forbidden("no IAM caller identity on the request; the API requires IAM authorization")
    return caller


def caller_arn(raw_event: Mapping[str, Any]) -> str | None:
    """The IAM ARN API Gateway's IAM authorization put on an HTTP API (2.0) event, if any."""
    ctx = raw_event.get("requestContext") or {}
    iam = ((ctx.get("authorizer") or {}).get("iam") or {}) if isinstance(ctx, dict) else {}
    arn = iam.get("userArn") if isinstance(iam, dict) else None
    return arn if isinstance(arn, str) else None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON here")


def json_body(text: str) -> Any:
    """A request body: at most MAX_BODY_BYTES (plus slack) of JSON, no NaN or Infinity."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BODY_BYTES + BODY_SLACK_BYTES:
        raise BadInput(f"the request body exceeds {MAX_BODY_BYTES // 1024} KB")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise BadInput("the request body is not valid JSON") from None


def json_object(body: Any, allowed: set[str]) -> Mapping[str, Any]:
    """The body as a JSON object with no field outside `allowed`."""
    if not isinstance(body, Mapping):
        raise BadInput("the body must be a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise BadInput(f"unknown field(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(sorted(allowed))}")
    return body


def reason(value: Any, *, required: bool) -> str:
    if value is None:
        if required:
            raise BadInput("a reason is required")
        return ""
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > MAX_REASON:
        raise BadInput(f"reason must be a non-empty string of at most {MAX_REASON} characters")
    return value.strip()


def limit(value: Any) -> int:
    if value is None or value == "":
        return DEFAULT_LIMIT
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 3:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LIMIT:
        raise BadInput(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return value


def parse_decision(body: Any) -> tuple[Stage, Action, str, int | None]:
    """A version decision: stage, action (approve, reject, retire), reason, and the rev the caller saw."""
    body = json_object(body, {"stage", "action", "reason", "expectedRev"})
    stage = check_stage(body.get("stage"))
    action_raw = body.get("action")
    if action_raw not in ("approve", "reject", "retire"):
        raise BadInput(f"action {action_raw!r} is invalid; allowed: approve, reject, retire")
    action = Action(action_raw)
    why = reason(body.get("reason"), required=action is not Action.approve)
    expected = body.get("expectedRev")
    if expected is not None and (isinstance(expected, bool) or not isinstance(expected, int) or expected < 0):
        raise BadInput("expectedRev must be a non-negative integer")
    return stage, action, why, expected


def parse_use_case_decision(body: Any) -> tuple[str, str]:
    """A use case decision: action (approve, reject, retire) and reason (required to reject or retire)."""
    body = json_object(body, {"action", "reason"})
    action = body.get("action")
    if action not in ("approve", "reject", "retire"):
        raise BadInput(f"use case action {action!r} is invalid; allowed: approve, reject, retire")
    return action, reason(body.get("reason"), required=action != "approve")


@dataclass(frozen=True)
class MetricsReport:
    kind: str  # VALIDATION | MONITORING
    stage: Stage
    metrics: dict[str, Any]
    endpoint: str | None = None
    variant: str | None = None


def parse_metrics(body: Any) -> MetricsReport:
    """Validation metrics (no endpoint) or monitoring metrics (with their endpoint and optional variant)."""
    body = json_object(body, {"kind", "stage", "metrics", "endpointName", "variantName"})
    kind = body.get("kind")
    if kind not in (VALIDATION, MONITORING):
        raise BadInput(f"kind {kind!r} is invalid; allowed: {VALIDATION}, {MONITORING}")
    stage = check_stage(body.get("stage"))
    metrics = check_metrics(body.get("metrics"))
    if kind == VALIDATION:
        if body.get("endpointName") is not None or body.get("variantName") is not None:
            raise BadInput("endpointName and variantName belong to monitoring metrics")
        return MetricsReport(kind, stage, metrics)
    if body.get("endpointName") is None:
        raise BadInput("endpointName is required for monitoring metrics")
    endpoint = check_endpoint(body.get("endpointName"))
    variant = body.get("variantName")
    if variant is not None and (not isinstance(variant, str) or not VARIANT_RE.match(variant)):
        raise BadInput(f"variantName {variant!r} is invalid")
    return MetricsReport(kind, stage, metrics, endpoint, variant)
