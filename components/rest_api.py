"""An API Gateway REST API in front of one Lambda function: IAM on every method, callable only from one organization.

An HTTP API has no resource policy, so AWS refuses IAM callers from other accounts; a REST API admits them
when both the caller's IAM policy and the API's resource policy allow the call
(https://repost.aws/knowledge-center/api-gateway-cross-account-403). The resource policy here allows
`execute-api:Invoke` on the declared methods to principals of the organization (`aws:PrincipalOrgID`) and
denies everyone else (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-resource-policies.html).
The stage throttles every method, writes JSON access logs to a KMS-encrypted log group, is traced with X-Ray,
and alarms on server errors and latency.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.args import ComponentArgs
from components.http_api import ACCESS_LOG_FIELDS, access_log_group, route_slug
from components.policy_documents import document, statement

ACCESS_LOG_FORMAT = json.dumps({
    **ACCESS_LOG_FIELDS,
    "routeKey": "$context.httpMethod $context.resourcePath",
    "integrationLatency": "$context.integration.latency",
    "integrationError": "$context.integration.error",
}, sort_keys=True)
"""The fields of the HTTP APIs' access log (`components.http_api`), with the REST API's variable names."""

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
"""Named HTTP methods only: `ANY` would send methods nobody declared to the function."""
_SEGMENT = re.compile(r"^(?:[A-Za-z0-9._~-]+|\{[A-Za-z_][A-Za-z0-9_]*\})$")


@dataclass
class IamRestApiArgs(ComponentArgs):
    function_name: pulumi.Input[str]
    """The Lambda function every method proxies to, by name (the invoke permissions name it)."""
    function_arn: pulumi.Input[str]
    """The same function's ARN; the proxy integrations call `arn:<partition>:apigateway:<region>:lambda:path/.../invocations` of it."""
    routes: Sequence[str]
    """Route keys such as `GET /use-cases/{use_case_id}`: one method each, on a resource tree built from their paths.
    `ANY`, greedy `{proxy+}` paths and a catch-all are refused (every method is named and IAM-authorized)."""
    organization_id: str
    """The AWS Organizations id (`o-...`) whose principals may invoke the API; every other principal is denied."""
    log_kms_key_arn: pulumi.Input[str]
    """Customer-managed key of the access log group (its policy must let CloudWatch Logs use it)."""
    log_retention_days: int = 365
    """Days the access logs are kept."""
    throttling_burst_limit: int = 50
    """Requests the stage admits at once, over all methods."""
    throttling_rate_limit: float = 100.0
    """Requests per second the stage admits in the steady state, over all methods."""
    stage_name: Optional[str] = "v1"
    """The stage the API is deployed to; the invoke URL ends with it."""
    alarm_actions: Optional[Sequence[pulumi.Input[str]]] = ()
    """What the 5xx and latency alarms notify (the account's alarm topic)."""
    latency_alarm_ms: Optional[int] = 5000
    """p90 latency (milliseconds) above which the latency alarm fires."""
    account_logging_role: Optional[bool] = True
    """Declare the region's API Gateway account setting: the role API Gateway writes access logs with. There is one
    per account and region (a second declaration overwrites the first); False where the account already has one."""


def parse_routes(name: str, routes: Sequence[str]) -> list[tuple[str, str]]:
    """`(method, path)` of each route key, refusing what would open the API beyond its named methods."""
    if not routes:
        raise ValueError(f"{name}: a REST API needs at least one route")
    parsed: list[tuple[str, str]] = []
    for route in routes:
        method, _, path = route.partition(" ")
        segments = path.split("/")[1:] if path != "/" else []
        if method not in METHODS or not path.startswith("/") or not all(_SEGMENT.match(s) for s in segments):
            raise ValueError(f"{name}: route {route!r} is not 'METHOD /path' with a named method ({', '.join(METHODS)}) "
                             "and plain or {parameter} path segments (no ANY, no {proxy+}, no catch-all)")
        if (method, path) in parsed:
            raise ValueError(f"{name}: route {route!r} is declared twice")
        parsed.append((method, path))
    _check_parameters([p for _, p in parsed], name)
    return parsed


def _check_parameters(paths: Sequence[str], name: str) -> None:
    """API Gateway allows one path parameter per level under a resource (`/a/{x}` and `/a/{y}` cannot coexist)."""
    params: dict[str, str] = {}
    for path in paths:
        parent = ""
        for segment in path.split("/")[1:]:
            if segment.startswith("{"):
                if params.setdefault(parent, segment) != segment:
                    raise ValueError(f"{name}: {parent or '/'} has two path parameters, {params[parent]} and {segment}")
            parent = f"{parent}/{segment}"


def resource_paths(paths: Sequence[str]) -> list[str]:
    """Every resource the paths need below the root, parents before children: `/a/{x}` → `/a`, `/a/{x}`."""
    out: set[str] = set()
    for path in paths:
        segments = [s for s in path.split("/") if s]
        out |= {"/" + "/".join(segments[:i]) for i in range(1, len(segments) + 1)}
    return sorted(out, key=lambda p: (p.count("/"), p))


def policy_path(path: str) -> str:
    """A resource path as a policy or permission matches it: each `{parameter}` is whatever the caller sent (`*`)."""
    return re.sub(r"\{[^}]+\}", "*", path)


def resource_policy(execution_arn: pulumi.Input[str], stage_name: str, methods: Sequence[tuple[str, str]],
                    organization_id: str) -> pulumi.Input[str]:
    """Principals of `organization_id` may invoke the declared methods of the stage; any other principal is denied.

    A cross-account IAM caller needs both its own IAM allow and this policy's
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-authorization-flow.html); the Deny
    also stops a same-account principal outside the organization. A policy change takes effect only after the
    API is deployed again (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-resource-policies-create-attach.html),
    so it is part of the deployment's trigger.
    """
    arn = pulumi.Output.from_input(execution_arn)
    allowed = [arn.apply(lambda a, m=m, p=p: f"{a}/{stage_name}/{m}{policy_path(p)}") for m, p in sorted(methods)]
    org = {"aws:PrincipalOrgID": organization_id}
    return document([
        {**statement("OrganizationInvokesDeclaredMethods", ["execute-api:Invoke"], allowed,
                     conditions={"StringEquals": org}), "Principal": "*"},
        {**statement("DenyOutsideOrganization", ["execute-api:Invoke"], arn.apply(lambda a: f"{a}/*"),
                     effect="Deny", conditions={"StringNotEquals": org}), "Principal": "*"},
    ])


class IamRestApi(pulumi.ComponentResource):
    api: aws.apigateway.RestApi
    stage: aws.apigateway.Stage
    url: pulumi.Output[str]
    rest_api_id: pulumi.Output[str]
    execution_arn: pulumi.Output[str]

    def __init__(self, name: str, args: IamRestApiArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlgov:rest_api:IamRestApi", name, None, opts)
        methods = parse_routes(name, args.routes)
        if not re.fullmatch(r"o-[a-z0-9]{10,32}", args.organization_id or ""):
            raise ValueError(f"{name}: organization_id {args.organization_id!r} is not an AWS Organizations id (o-...)")
        self._name, self._args = name, args
        tags = dict(args.tags)
        child = pulumi.ResourceOptions(parent=self)
        self.api = aws.apigateway.RestApi(
            f"{name}-api",
            name=name,
            description=f"mlgov: {name} (IAM-authorized, organization {args.organization_id} only)",
            endpoint_configuration=aws.apigateway.RestApiEndpointConfigurationArgs(types="REGIONAL"),
            tags=tags,
            opts=child,
        )
        self.policy = aws.apigateway.RestApiPolicy(
            f"{name}-policy",
            rest_api_id=self.api.id,
            policy=resource_policy(self.api.execution_arn, args.stage_name, methods, args.organization_id),
            opts=child,
        )
        self.log_group = access_log_group(name, args.log_retention_days, args.log_kms_key_arn, tags, child)
        resources = self._resources([p for _, p in methods])
        invoke_uri = pulumi.Output.from_input(args.function_arn).apply(invoke_arn)
        parts: list[pulumi.Resource] = []
        for method, path in methods:
            slug = route_slug(f"{method} {path}")
            declared = aws.apigateway.Method(
                f"{name}-method-{slug}", rest_api=self.api.id, resource_id=resources[path], http_method=method,
                authorization="AWS_IAM", opts=child,
            )
            parts += [declared, aws.apigateway.Integration(
                f"{name}-integration-{slug}", rest_api=self.api.id, resource_id=resources[path], http_method=declared.http_method,
                type="AWS_PROXY", integration_http_method="POST", uri=invoke_uri, timeout_milliseconds=29_000, opts=child,
            )]
            aws.lambda_.Permission(
                f"{name}-invoke-{slug}",
                statement_id=statement_id(f"{name}-invoke-{slug}"),
                action="lambda:InvokeFunction",
                function=args.function_name,
                principal="apigateway.amazonaws.com",
                source_arn=self.api.execution_arn.apply(lambda arn, m=method, p=path: f"{arn}/*/{m}{policy_path(p)}"),
                opts=child,
            )
        self.deployment = aws.apigateway.Deployment(
            f"{name}-deployment",
            rest_api=self.api.id,
            description=f"mlgov: {name}",
            triggers={"redeployment": pulumi.Output.all(sorted(args.routes), invoke_uri, self.policy.policy).apply(fingerprint)},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*parts, self.policy]),
        )
        logging = self._account_logging(tags) if args.account_logging_role else []
        self.stage = aws.apigateway.Stage(
            f"{name}-stage",
            rest_api=self.api.id,
            deployment=self.deployment.id,
            stage_name=args.stage_name,
            xray_tracing_enabled=True,
            access_log_settings=aws.apigateway.StageAccessLogSettingsArgs(destination_arn=self.log_group.arn, format=ACCESS_LOG_FORMAT),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=logging),
        )
        aws.apigateway.MethodSettings(
            f"{name}-throttling",
            rest_api=self.api.id,
            stage_name=self.stage.stage_name,
            method_path="*/*",
            settings=aws.apigateway.MethodSettingsSettingsArgs(
                throttling_burst_limit=args.throttling_burst_limit,
                throttling_rate_limit=args.throttling_rate_limit,
                metrics_enabled=True,
                logging_level="OFF",
                data_trace_enabled=False,
            ),
            opts=child,
        )
        self.alarms = self._alarms(tags)
        self.url = self.stage.invoke_url
        self.rest_api_id = self.api.id
        self.execution_arn = self.api.execution_arn
        self.register_outputs({"url": self.url, "rest_api_id": self.rest_api_id, "execution_arn": self.execution_arn})

    def _resources(self, paths: Sequence[str]) -> dict[str, pulumi.Output[str]]:
        """The id of the resource of each path (the root's for `/`), each created under its parent."""
        ids: dict[str, pulumi.Output[str]] = {"/": self.api.root_resource_id}
        for path in resource_paths(paths):
            parent, _, part = path.rpartition("/")
            ids[path] = aws.apigateway.Resource(
                f"{self._name}-resource-{route_slug(path)}", rest_api=self.api.id, parent_id=ids[parent or "/"], path_part=part,
                opts=pulumi.ResourceOptions(parent=self),
            ).id
        return ids

    def _account_logging(self, tags: dict[str, str]) -> list[pulumi.Resource]:
        """The role API Gateway writes this API's access logs with, set as the region's API Gateway account setting.

        REST APIs log through an account-level role (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html);
        its trust names API Gateway only, as AWS documents it, and its policy reaches this API's log group only.
        """
        name = self._name
        role = aws.iam.Role(
            f"{name}-logging-role",
            description=f"mlgov: API Gateway writes the access logs of {name}",
            assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"}, "Action": "sts:AssumeRole",
            }]}, sort_keys=True),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        policy = aws.iam.RolePolicy(
            f"{name}-logging-policy",
            role=role.id,
            policy=document([
                statement("WriteAccessLogs", ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                          [self.log_group.arn, self.log_group.arn.apply(lambda arn: f"{arn}:*")]),
                statement("FindLogGroups", ["logs:DescribeLogGroups"], "*"),
            ]),
            opts=pulumi.ResourceOptions(parent=role),
        )
        account = aws.apigateway.Account(f"{name}-account", cloudwatch_role_arn=role.arn,
                                         opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]))
        return [account]

    def _alarms(self, tags: dict[str, str]) -> list[aws.cloudwatch.MetricAlarm]:
        """Server errors and p90 latency of the stage, on the REST API metrics (`ApiName` and `Stage` dimensions)."""
        a, name = self._args, self._name
        dims = {"ApiName": self.api.name, "Stage": self.stage.stage_name}
        actions = list(a.alarm_actions or ())
        common: dict[str, Any] = dict(namespace="AWS/ApiGateway", dimensions=dims, period=300, treat_missing_data="notBreaching",
                                      alarm_actions=actions, ok_actions=actions, tags=tags, opts=pulumi.ResourceOptions(parent=self))
        return [
            aws.cloudwatch.MetricAlarm(
                f"{name}-5xx", alarm_description=f"{name}: the API answers with server errors",
                metric_name="5XXError", statistic="Sum", evaluation_periods=1, threshold=1,
                comparison_operator="GreaterThanOrEqualToThreshold", **common,
            ),
            aws.cloudwatch.MetricAlarm(
                f"{name}-latency", alarm_description=f"{name}: p90 latency above {a.latency_alarm_ms} ms",
                metric_name="Latency", extended_statistic="p90", evaluation_periods=3, datapoints_to_alarm=2,
                threshold=a.latency_alarm_ms, comparison_operator="GreaterThanThreshold", **common,
            ),
        ]


def invoke_arn(function_arn: str) -> str:
    """The URI a Lambda proxy integration calls: `arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<arn>/invocations`."""
    parts = function_arn.split(":")
    if len(parts) < 7 or parts[2] != "lambda":
        raise ValueError(f"not a Lambda function ARN: {function_arn!r}")
    return f"arn:{parts[1]}:apigateway:{parts[3]}:lambda:path/2015-03-31/functions/{function_arn}/invocations"


def statement_id(name: str, limit: int = 100) -> str:
    """The name itself when Lambda accepts it as a permission's statement id (at most 100 characters), else its
    start and a digest of the whole: a generated id adds a random suffix that can pass the limit."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:12]
    return f"{name[:limit - len(digest) - 1]}-{digest}"


def fingerprint(values: Sequence[Any]) -> str:
    """A digest of what a deployment serves (routes, integration, resource policy): a new one deploys the API again."""
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()
