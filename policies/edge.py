"""Edge: API routes and methods are authorized, stages logged and throttled, REST APIs open to the organization only;
endpoints and event routes keep what they hold; alarms reach people."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Iterator, Optional

from .common import (
    ADVISORY,
    ENDPOINT_CONFIG,
    EVENT_TARGET,
    HTTP_ROUTE,
    HTTP_STAGE,
    METRIC_ALARM,
    ORGANIZATION_CONFIG,
    REST_API,
    REST_API_POLICY,
    REST_METHOD,
    REST_METHOD_SETTINGS,
    REST_STAGE,
    actions,
    as_list,
    by_type,
    condition_values,
    document,
    field,
    join_key,
    parent_urn,
    prop,
    resource_rule,
    sid,
    stack_rule,
    statements,
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


def _access_logs(props: Mapping[str, Any], stage: Any, name: str) -> Iterator[str]:
    settings = props.get("accessLogSettings")
    if not (field(settings, "destinationArn") and settings.get("format")):
        yield (f"API stage {stage} of {name} writes no access logs: set access_log_settings with "
               "a log group destination_arn and a JSON format naming the caller")


@resource_rule("http-stage-access-logs", "API stages write access logs.", HTTP_STAGE)
def http_stage_access_logs(props, cfg, args) -> Iterator[str]:
    yield from _access_logs(props, props.get("name", args.name), args.name)


def _positive(value: object) -> bool:
    return isinstance(value, (int, float)) and value > 0


@resource_rule("http-stage-throttling", "API stages throttle every route by default.", HTTP_STAGE)
def http_stage_throttling(props, cfg, args) -> Iterator[str]:
    settings = props.get("defaultRouteSettings")
    burst, rate = field(settings, "throttlingBurstLimit"), field(settings, "throttlingRateLimit")
    if not (_positive(burst) and _positive(rate)):
        yield (f"API stage {args.name} is not throttled (burst {burst}, rate {rate}): set default_route_settings "
               "throttling_burst_limit and throttling_rate_limit above 0")


REST_AUTHORIZERS = ("COGNITO_USER_POOLS", "CUSTOM")


@resource_rule("rest-method-authorized", "Every REST API method requires IAM, Cognito or Lambda authorizer authorization.", REST_METHOD)
def rest_method_authorized(props, cfg, args) -> Iterator[str]:
    kind = props.get("authorization") or "NONE"
    method = f"{props.get('httpMethod', '?')} method {args.name}"
    if kind not in ("AWS_IAM", *REST_AUTHORIZERS):
        yield f"{method} is open to anyone (authorization {kind}): set authorization 'AWS_IAM' (or an authorizer)"
    elif kind in REST_AUTHORIZERS and not props.get("authorizerId"):
        yield f"{method} uses {kind} without an authorizer: set authorizer_id to the API's authorizer"


@resource_rule("rest-stage-access-logs", "REST API stages write access logs.", REST_STAGE)
def rest_stage_access_logs(props, cfg, args) -> Iterator[str]:
    yield from _access_logs(props, props.get("stageName", args.name), args.name)


def _same_api(part: Any, owner: Any, key: str, owner_key: str) -> bool:
    """`part` belongs to `owner`: joined by id (the engine's outputs), else declared beside it or under it."""
    owned, own = join_key(owner, owner_key), join_key(part, key)
    if owned and own:
        return owned == own
    return parent_urn(part) is not None and parent_urn(part) in (owner.urn, parent_urn(owner))


@stack_rule("rest-stage-throttling", "REST API stages throttle every method by default (method settings on */*).")
def rest_stage_throttling(resources, cfg) -> Iterator[tuple[str, Optional[str]]]:
    settings = by_type(resources, REST_METHOD_SETTINGS)
    for stage in by_type(resources, REST_STAGE):
        name = join_key(stage, "stageName")
        throttled = [
            s for s in settings
            if _same_api(s, stage, "restApi", "restApi") and join_key(s, "stageName") in (name, None) and prop(s, "methodPath") == "*/*"
            and _positive(field(prop(s, "settings"), "throttlingBurstLimit")) and _positive(field(prop(s, "settings"), "throttlingRateLimit"))
        ]
        if not throttled:
            yield (f"REST API stage {name or stage.name} is not throttled: add MethodSettings with method_path '*/*' and "
                   "settings throttling_burst_limit and throttling_rate_limit above 0"), stage.urn


def _organization_policy_faults(doc: Optional[Mapping[str, Any]], org: str) -> list[str]:
    """What keeps a REST API's resource policy from admitting the organization only (empty when it does)."""
    if doc is None:
        return ["has no resource policy"]
    faults, denies_outsiders = [], False
    for i, s in enumerate(statements(doc)):
        principal = s.get("Principal")
        anyone = principal == "*" or (isinstance(principal, Mapping) and "*" in as_list(principal.get("AWS")))
        bound = [v for v in condition_values(s, "aws:PrincipalOrgID") if not org or v == org]
        if s.get("Effect") == "Allow" and anyone and not bound:
            faults.append(f"allows \"Principal\": \"*\" in {sid(s, i)} without Condition StringEquals aws:PrincipalOrgID={org or '<organization id>'}")
        not_equals = field(s.get("Condition"), "StringNotEquals", "aws:PrincipalOrgID")
        invoke = bool({"execute-api:Invoke", "execute-api:*", "*"} & set(actions(s)))
        if s.get("Effect") == "Deny" and anyone and invoke and not_equals and (not org or org in as_list(not_equals)):
            denies_outsiders = True
    if not denies_outsiders:
        faults.append(f"does not deny principals outside the organization (a Deny of execute-api:Invoke to \"*\" with "
                      f"Condition StringNotEquals aws:PrincipalOrgID={org or '<organization id>'})")
    return faults


@stack_rule("rest-api-organization-policy",
            "REST APIs have a resource policy admitting principals of the organization only (aws:PrincipalOrgID).",
            config=ORGANIZATION_CONFIG)
def rest_api_organization_policy(resources, cfg) -> Iterator[tuple[str, Optional[str]]]:
    org = str(cfg.get("organizationId") or "")
    policies = by_type(resources, REST_API_POLICY)
    for api in by_type(resources, REST_API):
        docs = [document(prop(api, "policy"))] + [document(prop(p, "policy")) for p in policies if _same_api(p, api, "restApiId", "id")]
        found = [d for d in docs if d is not None]
        for fault in _organization_policy_faults(found[-1] if found else None, org):
            yield (f"REST API {prop(api, 'name') or api.name} {fault}: attach a resource policy that allows execute-api:Invoke "
                   "with aws:PrincipalOrgID and denies everyone else"), api.urn


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
    rest_method_authorized,
    rest_stage_access_logs,
    rest_stage_throttling,
    rest_api_organization_policy,
    sagemaker_endpoint_config_encrypted,
    event_target_retry_and_dead_letter,
    cloudwatch_alarm_has_action,
]
