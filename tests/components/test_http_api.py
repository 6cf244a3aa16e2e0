"""IamHttpApi on its own: every route IAM-authorized, access logs, throttling, invoke permissions scoped per route."""
from __future__ import annotations

import json

import pytest

from components.http_api import IamHttpApi, IamHttpApiArgs, route_slug
from tests.infra import run_component

FN = "arn:aws:lambda:eu-west-1:111111111111:function:mlgov-api"
ROUTES = ["GET /use-cases", "GET /models/{group}/{version}", "POST /models/{group}/{version}/decisions"]


def plan_of(routes=ROUTES):
    args = IamHttpApiArgs(function_arn=FN, function_name="mlgov-api", routes=routes, log_kms_key_arn="arn:aws:kms:eu-west-1:111111111111:key/k",
                          throttling_rate_limit=25.0)
    return run_component(lambda: IamHttpApi("mlgov-governance-api", args))


def test_every_route_requires_iam_and_targets_the_lambda_integration() -> None:
    plan = plan_of()
    routes = plan.by_type("aws:apigatewayv2/route:Route")
    assert sorted(r.inputs["routeKey"] for r in routes) == sorted(ROUTES)
    assert all(r.inputs["authorizationType"] == "AWS_IAM" for r in routes)
    integration = plan.named("mlgov-governance-api-integration").inputs
    assert (integration["integrationType"], integration["integrationUri"], integration["payloadFormatVersion"]) == ("AWS_PROXY", FN, "2.0")
    assert {r.inputs["target"] for r in routes} == {"integrations/mlgov-governance-api-integration-id"}
    assert plan.named("mlgov-governance-api-route-post-models-group-version-decisions")


def test_stage_logs_access_and_throttles() -> None:
    stage = plan_of().named("mlgov-governance-api-stage").inputs
    assert stage["name"] == "$default" and stage["autoDeploy"] is True
    assert stage["accessLogSettings"]["destinationArn"].endswith("log-group:/mlgov/apigateway/mlgov-governance-api")
    assert "$context.identity.userArn" in json.loads(stage["accessLogSettings"]["format"]).values()
    assert stage["defaultRouteSettings"]["throttlingBurstLimit"] == 50
    assert stage["defaultRouteSettings"]["throttlingRateLimit"] == 25.0


def test_only_this_apis_routes_may_invoke_the_function() -> None:
    plan = plan_of()
    permissions = plan.by_type("aws:lambda/permission:Permission")
    assert len(permissions) == len(ROUTES)
    permission = plan.named("mlgov-governance-api-invoke-post-models-group-version-decisions").inputs
    assert (permission["principal"], permission["function"]) == ("apigateway.amazonaws.com", "mlgov-api")
    assert permission["sourceArn"].startswith("arn:aws:execute-api:eu-west-1:111111111111:")
    assert permission["sourceArn"].endswith("/*/POST/models/{group}/{version}/decisions")


def test_route_names_are_stable_slugs() -> None:
    assert route_slug("GET /models/{group}/{version}") == "get-models-group-version"


def test_an_api_without_routes_or_with_a_catch_all_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one route"):
        plan_of(routes=[])
    with pytest.raises(ValueError, match=r"'\$default' is not 'METHOD /path'"):
        plan_of(routes=["$default"])
