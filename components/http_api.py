"""An API Gateway HTTP API in front of one Lambda function, IAM-authorized on every route.

Callers sign requests with SigV4 (their IAM identity is the audit trail); the stage throttles every
route and writes JSON access logs to a KMS-encrypted log group.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.args import ComponentArgs

ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "caller": "$context.identity.caller",
    "userArn": "$context.identity.userArn",
    "sourceIp": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "integrationLatency": "$context.integrationLatency",
    "integrationError": "$context.integrationErrorMessage",
}
"""Who called which route, when, and how it went: one JSON object per request."""
ACCESS_LOG_FORMAT = json.dumps(ACCESS_LOG_FIELDS, sort_keys=True)


@dataclass
class IamHttpApiArgs(ComponentArgs):
    function_name: pulumi.Input[str]
    function_arn: pulumi.Input[str]
    routes: Sequence[str]
    """Route keys such as `POST /invocations`; `$default` is refused (every route is named and IAM-authorized)."""
    log_kms_key_arn: pulumi.Input[str]
    log_retention_days: int = 365
    throttling_burst_limit: int = 50
    throttling_rate_limit: float = 100.0


def access_log_group(name: str, retention_days: int, kms_key_arn: pulumi.Input[str], tags: dict,
                     opts: pulumi.ResourceOptions) -> aws.cloudwatch.LogGroup:
    """An API's access-log group, KMS-encrypted, named the same way for the HTTP and the REST API."""
    return aws.cloudwatch.LogGroup(f"{name}-access-logs", name=f"/mlgov/apigateway/{name}", retention_in_days=retention_days,
                                   kms_key_id=kms_key_arn, tags=tags, opts=opts)


class IamHttpApi(pulumi.ComponentResource):
    api: aws.apigatewayv2.Api
    stage: aws.apigatewayv2.Stage

    def __init__(self, name: str, args: IamHttpApiArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlgov:http_api:IamHttpApi", name, None, opts)
        if not args.routes:
            raise ValueError(f"{name}: an HTTP API needs at least one route")
        for route in args.routes:
            method, _, path = route.partition(" ")
            if not method.isupper() or not path.startswith("/"):
                raise ValueError(f"{name}: route {route!r} is not 'METHOD /path' (the catch-all $default is not allowed)")
        child = pulumi.ResourceOptions(parent=self)
        self.api = aws.apigatewayv2.Api(
            f"{name}-api",
            protocol_type="HTTP",
            description=f"mlgov: {name} (IAM-authorized)",
            tags=dict(args.tags),
            opts=child,
        )
        self.log_group = access_log_group(name, args.log_retention_days, args.log_kms_key_arn, dict(args.tags), child)
        integration = aws.apigatewayv2.Integration(
            f"{name}-integration",
            api_id=self.api.id,
            integration_type="AWS_PROXY",
            integration_uri=args.function_arn,
            integration_method="POST",
            payload_format_version="2.0",
            timeout_milliseconds=29_000,
            opts=child,
        )
        self.routes = [
            aws.apigatewayv2.Route(
                f"{name}-route-{route_slug(route)}",
                api_id=self.api.id,
                route_key=route,
                authorization_type="AWS_IAM",
                target=integration.id.apply(lambda i: f"integrations/{i}"),
                opts=child,
            )
            for route in args.routes
        ]
        self.stage = aws.apigatewayv2.Stage(
            f"{name}-stage",
            api_id=self.api.id,
            name="$default",
            auto_deploy=True,
            access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(
                destination_arn=self.log_group.arn, format=ACCESS_LOG_FORMAT
            ),
            default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(
                throttling_burst_limit=args.throttling_burst_limit,
                throttling_rate_limit=args.throttling_rate_limit,
                detailed_metrics_enabled=True,
            ),
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, depends_on=self.routes),
        )
        for route in args.routes:
            method, _, path = route.partition(" ")
            aws.lambda_.Permission(
                f"{name}-invoke-{route_slug(route)}",
                action="lambda:InvokeFunction",
                function=args.function_name,
                principal="apigateway.amazonaws.com",
                source_arn=self.api.execution_arn.apply(lambda arn, m=method, p=path: f"{arn}/*/{m}{p}"),
                opts=child,
            )
        self.url = self.api.api_endpoint
        self.register_outputs({"url": self.api.api_endpoint, "execution_arn": self.api.execution_arn})


def route_slug(route_key: str) -> str:
    """`GET /models/{group}/{version}` → `get-models-group-version` (stable resource names)."""
    return re.sub(r"[^a-z0-9]+", "-", route_key.lower()).strip("-")
