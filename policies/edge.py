"""Edge: HTTP API routes are authorized, stages logged and throttled; endpoints and event routes keep what they hold."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Iterator

from policies.common import (
    ADVISORY,
    ENDPOINT_CONFIG,
    EVENT_TARGET,
    HTTP_ROUTE,
    HTTP_STAGE,
    resource_rule,
)

AUTHORIZATION_TYPES = ("AWS_IAM", "JWT")


def _route(props, cfg, args) -> Iterator[str]:
    kind = props.get("authorizationType") or "NONE"
    route = props.get("routeKey", args.name)
    if kind not in AUTHORIZATION_TYPES:
        yield f"route {route} is open to anyone (authorization {kind}): set authorization_type 'AWS_IAM' (or 'JWT' with an authorizer)"
    elif kind == "JWT" and not props.get("authorizerId"):
        yield f"route {route} uses JWT without an authorizer: set authorizer_id to the API's JWT authorizer"


http_route_authorized = resource_rule(
    "http-route-authorized",
    "Every HTTP API route requires IAM or JWT authorization.",
    HTTP_ROUTE,
    _route,
)


def _access_logs(props, cfg, args) -> Iterator[str]:
    settings = props.get("accessLogSettings")
    if not (isinstance(settings, Mapping) and settings.get("destinationArn") and settings.get("format")):
        yield (f"API stage {props.get('name', args.name)} of {args.name} writes no access logs: set access_log_settings with "
               "a log group destination_arn and a JSON format naming the caller")


http_stage_access_logs = resource_rule(
    "http-stage-access-logs",
    "API stages write access logs.",
    HTTP_STAGE,
    _access_logs,
)


def _throttling(props, cfg, args) -> Iterator[str]:
    settings = props.get("defaultRouteSettings")
    burst = settings.get("throttlingBurstLimit") if isinstance(settings, Mapping) else None
    rate = settings.get("throttlingRateLimit") if isinstance(settings, Mapping) else None
    if not (isinstance(burst, (int, float)) and burst > 0 and isinstance(rate, (int, float)) and rate > 0):
        yield (f"API stage {args.name} is not throttled (burst {burst}, rate {rate}): set default_route_settings "
               "throttling_burst_limit and throttling_rate_limit above 0")


http_stage_throttling = resource_rule(
    "http-stage-throttling",
    "API stages throttle every route by default.",
    HTTP_STAGE,
    _throttling,
)


def _endpoint_key(props, cfg, args) -> Iterator[str]:
    if not props.get("kmsKeyArn"):
        yield f"endpoint config {args.name} leaves its ML storage volumes under an AWS key: set kms_key_arn to a customer-managed key"
    capture = props.get("dataCaptureConfig")
    if isinstance(capture, Mapping) and capture.get("enableCapture") is True and not capture.get("kmsKeyId"):
        yield f"endpoint config {args.name} captures data without a customer-managed key: set data_capture_config.kms_key_id"


sagemaker_endpoint_config_encrypted = resource_rule(
    "sagemaker-endpoint-config-encrypted",
    "SageMaker endpoint configs (volumes and captured data) are encrypted with a customer-managed key.",
    ENDPOINT_CONFIG,
    _endpoint_key,
)


def _event_target(props, cfg, args) -> Iterator[str]:
    dlq = props.get("deadLetterConfig")
    retry = props.get("retryPolicy")
    if not (isinstance(dlq, Mapping) and dlq.get("arn")):
        yield (f"event target {args.name} drops events EventBridge cannot deliver: set dead_letter_config.arn to an "
               "encrypted SQS queue (and alarm on it)")
    if not isinstance(retry, Mapping):
        yield f"event target {args.name} relies on the default retry policy: set retry_policy (attempts and maximum event age)"


event_target_retry_and_dead_letter = resource_rule(
    "event-target-retry-and-dead-letter",
    "EventBridge targets have an explicit retry policy and a dead-letter queue.",
    EVENT_TARGET,
    _event_target,
    enforcement=ADVISORY,
)

POLICIES = [
    http_route_authorized,
    http_stage_access_logs,
    http_stage_throttling,
    sagemaker_endpoint_config_encrypted,
    event_target_retry_and_dead_letter,
]
