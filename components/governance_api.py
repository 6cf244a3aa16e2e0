"""The governance HTTP API (API Gateway v2) in front of the `api` handler.

Every route requires IAM authorization, so the caller's ARN reaches the handler as the audit user;
the stage logs every request and throttles by default.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

ACCESS_LOG_FORMAT = json.dumps({
    "requestId": "$context.requestId",
    "caller": "$context.identity.userArn",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "latencyMs": "$context.responseLatency",
    "ip": "$context.identity.sourceIp",
    "time": "$context.requestTime",
    "error": "$context.integrationErrorMessage",
})


def route_keys(resolver) -> list[str]:
    """API Gateway route keys (`GET /use-cases/{id}`) of a Powertools resolver's routes, in declaration order."""
    routes = [*resolver._static_routes, *resolver._dynamic_routes]
    keys = [r.method.upper() + " " + re.sub(r"<([^>]+)>", r"{\1}", r.path) for r in routes]
    return list(dict.fromkeys(keys))


def route_slug(route_key: str) -> str:
    """`GET /models/{group}/{version}` → `get-models-group-version` (stable resource names)."""
    return re.sub(r"[^a-z0-9]+", "-", route_key.lower()).strip("-")


@dataclass
class GovernanceApiArgs:
    function_arn: pulumi.Input[str]
    function_name: pulumi.Input[str]
    routes: Sequence[str]
    kms_key_arn: pulumi.Input[str]
    log_retention_days: int = 365
    throttling_burst_limit: int = 50
    throttling_rate_limit: float = 25.0
    tags: Mapping[str, str] = field(default_factory=dict)


class GovernanceApi(pulumi.ComponentResource):
    def __init__(self, name: str, args: GovernanceApiArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlgov:governance_api:GovernanceApi", name, None, opts)
        if not args.routes:
            raise ValueError(f"{name}: an HTTP API needs at least one route")
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        self.api = aws.apigatewayv2.Api(
            f"{name}-api",
            name=name,
            protocol_type="HTTP",
            description="mlgov governance API (IAM auth; the caller is the audit user)",
            tags=tags,
            opts=child,
        )
        integration = aws.apigatewayv2.Integration(
            f"{name}-integration",
            api_id=self.api.id,
            integration_type="AWS_PROXY",
            integration_uri=args.function_arn,
            payload_format_version="2.0",
            opts=child,
        )
        for route_key in args.routes:
            aws.apigatewayv2.Route(
                f"{name}-route-{route_slug(route_key)}",
                api_id=self.api.id,
                route_key=route_key,
                authorization_type="AWS_IAM",
                target=integration.id.apply(lambda i: f"integrations/{i}"),
                opts=child,
            )
        self.access_logs = aws.cloudwatch.LogGroup(
            f"{name}-access-logs",
            name=f"/aws/apigateway/{name}",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn,
            tags=tags,
            opts=child,
        )
        self.stage = aws.apigatewayv2.Stage(
            f"{name}-stage",
            api_id=self.api.id,
            name="$default",
            auto_deploy=True,
            access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(
                destination_arn=self.access_logs.arn, format=ACCESS_LOG_FORMAT
            ),
            default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(
                throttling_burst_limit=args.throttling_burst_limit,
                throttling_rate_limit=args.throttling_rate_limit,
                detailed_metrics_enabled=True,
            ),
            tags=tags,
            opts=child,
        )
        aws.lambda_.Permission(
            f"{name}-invoke",
            action="lambda:InvokeFunction",
            function=args.function_name,
            principal="apigateway.amazonaws.com",
            source_arn=self.api.execution_arn.apply(lambda arn: f"{arn}/*/*"),
            opts=child,
        )
        self.endpoint = self.api.api_endpoint
        self.register_outputs({"endpoint": self.api.api_endpoint, "api_id": self.api.id})
