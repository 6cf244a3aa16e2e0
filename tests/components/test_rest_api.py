"""IamRestApi on its own: IAM on every method, an organization-only resource policy, logs, throttling, redeploys, alarms."""
from __future__ import annotations

import json

import pytest

from components.rest_api import (
    IamRestApi,
    IamRestApiArgs,
    invoke_arn,
    parse_routes,
    policy_path,
    resource_paths,
    statement_id,
)
from tests.infra import run_component

FN = "arn:aws:lambda:eu-west-1:111111111111:function:mlgov-api"
ORG = "o-a1b2c3d4e5"
TOPIC = "arn:aws:sns:eu-west-1:111111111111:mlgov-alarms"
ROUTES = ["GET /use-cases", "GET /use-cases/{use_case_id}", "POST /use-cases/{use_case_id}/decision", "GET /dashboard"]
API = "mlgov-governance-api"


def plan_of(routes=ROUTES, **overrides):
    args = IamRestApiArgs(**{
        "function_arn": FN, "function_name": "mlgov-api", "routes": routes, "organization_id": ORG,
        "log_kms_key_arn": "arn:aws:kms:eu-west-1:111111111111:key/k", "throttling_rate_limit": 25.0,
        "alarm_actions": [TOPIC], **overrides,
    })
    return run_component(lambda: IamRestApi(API, args))


@pytest.fixture(scope="module")
def plan():
    return plan_of()


def test_every_route_is_an_iam_method_on_its_resource_proxied_to_the_lambda(plan) -> None:
    methods = plan.by_type("aws:apigateway/method:Method")
    assert sorted((m.inputs["httpMethod"], m.name) for m in methods) == sorted([
        ("GET", f"{API}-method-get-use-cases"), ("GET", f"{API}-method-get-use-cases-use-case-id"),
        ("POST", f"{API}-method-post-use-cases-use-case-id-decision"), ("GET", f"{API}-method-get-dashboard"),
    ])
    assert {m.inputs["authorization"] for m in methods} == {"AWS_IAM"}
    resources = {r.name: r.inputs for r in plan.by_type("aws:apigateway/resource:Resource")}
    assert {r["pathPart"] for r in resources.values()} == {"use-cases", "{use_case_id}", "decision", "dashboard"}
    assert resources[f"{API}-resource-use-cases-use-case-id"]["parentId"] == f"{API}-resource-use-cases-id"
    api_id = plan.named(f"{API}-stage").inputs["restApi"]
    assert resources[f"{API}-resource-use-cases"]["parentId"] == f"{api_id}-root"  # the offline engine's root resource id
    decision = plan.named(f"{API}-method-post-use-cases-use-case-id-decision").inputs
    assert decision["resourceId"] == f"{API}-resource-use-cases-use-case-id-decision-id"
    integrations = plan.by_type("aws:apigateway/integration:Integration")
    assert len(integrations) == len(ROUTES)
    assert {(i.inputs["type"], i.inputs["integrationHttpMethod"], i.inputs["uri"]) for i in integrations} == {
        ("AWS_PROXY", "POST", f"arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/{FN}/invocations")}
    api = plan.named(f"{API}-api").inputs
    assert api["endpointConfiguration"]["types"] == "REGIONAL" and api["name"] == API


def test_the_resource_policy_admits_the_organization_on_the_declared_methods_and_denies_everyone_else(plan) -> None:
    policy = plan.named(f"{API}-policy").inputs
    execution_arn = "arn:aws:execute-api:eu-west-1:111111111111:" + plan.named(f"{API}-stage").inputs["restApi"]
    allow, deny = json.loads(policy["policy"])["Statement"]
    assert (allow["Effect"], allow["Principal"], allow["Action"]) == ("Allow", "*", "execute-api:Invoke")
    assert allow["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": ORG}}
    assert allow["Resource"] == [f"{execution_arn}/v1/{m}" for m in
                                 ("GET/dashboard", "GET/use-cases", "GET/use-cases/*", "POST/use-cases/*/decision")]
    assert (deny["Effect"], deny["Principal"], deny["Action"], deny["Resource"]) == ("Deny", "*", "execute-api:Invoke", f"{execution_arn}/*")
    assert deny["Condition"] == {"StringNotEquals": {"aws:PrincipalOrgID": ORG}}


def test_stage_logs_access_as_json_traces_and_throttles_every_method(plan) -> None:
    stage = plan.named(f"{API}-stage").inputs
    assert stage["stageName"] == "v1" and stage["xrayTracingEnabled"] is True
    assert stage["deployment"] == f"{API}-deployment-id"
    assert stage["accessLogSettings"]["destinationArn"] == f"arn:aws:logs:eu-west-1:111111111111:log-group:/mlgov/apigateway/{API}"
    fields = json.loads(stage["accessLogSettings"]["format"])
    assert set(fields) == {"requestId", "caller", "userArn", "sourceIp", "requestTime", "routeKey", "status", "responseLength",
                           "integrationLatency", "integrationError"}
    assert fields["userArn"] == "$context.identity.userArn" and fields["integrationLatency"] == "$context.integration.latency"
    logs = plan.named(f"{API}-access-logs").inputs
    assert (logs["kmsKeyId"], logs["retentionInDays"]) == ("arn:aws:kms:eu-west-1:111111111111:key/k", 365)
    settings = plan.named(f"{API}-throttling").inputs
    assert (settings["methodPath"], settings["stageName"]) == ("*/*", "v1")
    assert (settings["settings"]["throttlingBurstLimit"], settings["settings"]["throttlingRateLimit"]) == (50, 25.0)


def test_access_logs_are_written_through_a_role_that_reaches_only_this_log_group(plan) -> None:
    account = plan.named(f"{API}-account").inputs
    assert account["cloudwatchRoleArn"].endswith(f":role/{API}-logging-role")
    trust = json.loads(plan.named(f"{API}-logging-role").inputs["assumeRolePolicy"])["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "apigateway.amazonaws.com"}]
    write, find = json.loads(plan.named(f"{API}-logging-policy").inputs["policy"])["Statement"]
    group = f"arn:aws:logs:eu-west-1:111111111111:log-group:/mlgov/apigateway/{API}"
    assert write["Resource"] == [group, f"{group}:*"] and "logs:PutLogEvents" in write["Action"]
    assert (find["Action"], find["Resource"]) == ("logs:DescribeLogGroups", "*")
    without = plan_of(account_logging_role=False)
    assert without.by_type("aws:apigateway/account:Account") == [] and without.by_type("aws:iam/role:Role") == []


def test_only_this_apis_methods_may_invoke_the_function(plan) -> None:
    permissions = {p.name: p.inputs for p in plan.by_type("aws:lambda/permission:Permission")}
    assert len(permissions) == len(ROUTES)
    decision = permissions[f"{API}-invoke-post-use-cases-use-case-id-decision"]
    assert (decision["principal"], decision["function"], decision["action"]) == ("apigateway.amazonaws.com", "mlgov-api", "lambda:InvokeFunction")
    assert decision["sourceArn"].startswith("arn:aws:execute-api:eu-west-1:111111111111:")
    assert decision["sourceArn"].endswith("/*/POST/use-cases/*/decision")
    assert all(len(p["statementId"]) <= 100 for p in permissions.values())


def test_a_new_route_or_a_new_organization_deploys_the_api_again(plan) -> None:
    trigger = plan.named(f"{API}-deployment").inputs["triggers"]["redeployment"]
    assert plan_of().named(f"{API}-deployment").inputs["triggers"]["redeployment"] == trigger
    more = plan_of(routes=[*ROUTES, "GET /openapi.json"])
    assert more.named(f"{API}-deployment").inputs["triggers"]["redeployment"] != trigger
    assert more.named(f"{API}-method-get-openapi-json").inputs["authorization"] == "AWS_IAM"
    assert more.named(f"{API}-resource-openapi-json").inputs["pathPart"] == "openapi.json"
    other = plan_of(organization_id="o-z9y8x7w6v5")
    assert other.named(f"{API}-deployment").inputs["triggers"]["redeployment"] != trigger


def test_alarms_on_server_errors_and_latency_of_the_stage_notify_the_topic(plan) -> None:
    alarms = {a.name: a.inputs for a in plan.by_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert set(alarms) == {f"{API}-5xx", f"{API}-latency"}
    for alarm in alarms.values():
        assert alarm["namespace"] == "AWS/ApiGateway" and alarm["dimensions"] == {"ApiName": API, "Stage": "v1"}
        assert alarm["alarmActions"] == [TOPIC] and alarm["okActions"] == [TOPIC]
    assert alarms[f"{API}-5xx"]["metricName"] == "5XXError" and alarms[f"{API}-5xx"]["statistic"] == "Sum"
    assert (alarms[f"{API}-latency"]["metricName"], alarms[f"{API}-latency"]["threshold"]) == ("Latency", 5000)


@pytest.mark.parametrize("routes, match", [
    ([], "at least one route"),
    (["ANY /use-cases"], "named method"),
    (["GET /{proxy+}"], r"no \{proxy\+\}"),
    (["$default"], "not 'METHOD /path'"),
    (["GET use-cases"], "not 'METHOD /path'"),
    (["GET /a//b"], "not 'METHOD /path'"),
    (["GET /a", "GET /a"], "declared twice"),
    (["GET /a/{x}", "GET /a/{y}/b"], "two path parameters"),
])
def test_routes_that_would_open_the_api_beyond_named_methods_are_refused(routes, match) -> None:
    with pytest.raises(ValueError, match=match):
        parse_routes(API, routes)


def test_an_organization_id_that_is_not_one_is_refused() -> None:
    with pytest.raises(ValueError, match="not an AWS Organizations id"):
        plan_of(organization_id="")


def test_helpers() -> None:
    assert resource_paths(["/a/{x}/b", "/a", "/c"]) == ["/a", "/c", "/a/{x}", "/a/{x}/b"]
    assert policy_path("/use-cases/{use_case_id}/audit") == "/use-cases/*/audit"
    assert invoke_arn("arn:aws-cn:lambda:cn-north-1:111111111111:function:f") == (
        "arn:aws-cn:apigateway:cn-north-1:lambda:path/2015-03-31/functions/arn:aws-cn:lambda:cn-north-1:111111111111:function:f/invocations")
    with pytest.raises(ValueError, match="not a Lambda function ARN"):
        invoke_arn("mlgov-api")
    long = "x" * 120
    assert len(statement_id(long)) == 100 and statement_id(long) != statement_id("y" * 120)
    assert statement_id("short") == "short"
