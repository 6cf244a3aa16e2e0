"""Edge: HTTP API routes are authorized, stages logged and throttled; endpoints and event routes keep what they hold; alarms reach people."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Iterator

from .common import (
    ADVISORY,
    ENDPOINT_CONFIG,
    EVENT_TARGET,
    HTTP_ROUTE,
    HTTP_STAGE,
    METRIC_ALARM,
    field,
    resource_rule,
)

AUTHORIZATION_TYPES = ("AWS_IAM", "JWT")


@resource_rule("http-route-authorized", "Every HTTP API route requires IAM or JWT authorization.", HTTP_ROUTE)
def http_route_authorized(props, cfg, args) -> Iterator[str]:
    kind = props.get("authorizationType") or "NONE"
    route = props.get("routeKey", args.name)
    if kind not in AUTHORIZATION_TYPES:
        yield f"route {route} is open to anyone (authorization {kind}): set authorization_type 'AWS_IAM' (or 'JWT' with an authorizer)"
    elif kind == "JWT" and not props.get("authorizerId"):
        yield f"route {route} uses JWT without an authorizer: set authorizer_id to the API's JWT authorizer"


@resource_rule("http-stage-access-logs", "API stages write access logs.", HTTP_STAGE)
def http_stage_access_logs(props, cfg, args) -> Iterator[str]:
    settings = props.get("accessLogSettings")
    if not (field(settings, "destinationArn") and settings.get("format")):
        yield (f"API stage {props.get('name', args.name)} of {args.name} writes no access logs: set access_log_settings with "
               "a log group destination_arn and a JSON format naming the caller")


def _positive(value: object) -> bool:
    return isinstance(value, (int, float)) and value > 0


@resource_rule("http-stage-throttling", "API stages throttle every route by default.", HTTP_STAGE)
def http_stage_throttling(props, cfg, args) -> Iterator[str]:
    settings = props.get("defaultRouteSettings")
    burst, rate = field(settings, "throttlingBurstLimit"), field(settings, "throttlingRateLimit")
    if not (_positive(burst) and _positive(rate)):
        yield (f"API stage {args.name} is not throttled (burst {burst}, rate {rate}): set default_route_settings "
               "throttling_burst_limit and throttling_rate_limit above 0")


@resource_rule("sagemaker-endpoint-config-encrypted",
               "SageMaker endpoint configs (volumes and captured data) are encrypted with a customer-managed key.",
               ENDPOINT_CONFIG)
def sagemaker_endpoint_config_encrypted(props, cfg, args) -> Iterator[str]:
    if not props.get("kmsKeyArn"):
        yield f"endpoint config {args.name} leaves its ML storage volumes under an AWS key: set kms_key_arn to a customer-managed key"
    capture = props.get("dataCaptureConfig")
    if field(capture, "enableCapture") is True and not capture.get("kmsKeyId"):
        yield f"endpoint config {args.name} captures data without a customer-managed key: set data_capture_config.kms_key_id"


@resource_rule("event-target-retry-and-dead-letter",
               "EventBridge targets have an explicit retry policy and a dead-letter queue.", EVENT_TARGET,
               enforcement=ADVISORY)
def event_target_retry_and_dead_letter(props, cfg, args) -> Iterator[str]:
    dlq = props.get("deadLetterConfig")
    retry = props.get("retryPolicy")
    if not field(dlq, "arn"):
        yield (f"event target {args.name} drops events EventBridge cannot deliver: set dead_letter_config.arn to an "
               "encrypted SQS queue (and alarm on it)")
    if not isinstance(retry, Mapping):
        yield f"event target {args.name} relies on the default retry policy: set retry_policy (attempts and maximum event age)"


@resource_rule("cloudwatch-alarm-has-action", "Every CloudWatch alarm notifies someone when it fires.", METRIC_ALARM)
def cloudwatch_alarm_has_action(props, cfg, args) -> Iterator[str]:
    if not [a for a in props.get("alarmActions") or () if a]:
        yield (f"alarm {props.get('name', args.name)} notifies no one: set alarm_actions to the account's alarm topic "
               "(mlgov:notifications subscribes people to it)")


POLICIES = [
    http_route_authorized,
    http_stage_access_logs,
    http_stage_throttling,
    sagemaker_endpoint_config_encrypted,
    event_target_retry_and_dead_letter,
    cloudwatch_alarm_has_action,
]
