"""For every Lambda the program declares, its role grants exactly the AWS actions its handler calls.

The calls are recorded with botocore's `provide-client-params` event hook while the handlers run their
real scenarios under moto: the governance walkthrough and rejection path (tests/governance) for the hub's
sync, api and metrics functions (the whole runtime suite takes minutes, so the contract runs these); the invoke proxy and the reporter's endpoint-in-service and scheduled
paths for every stage deployment. Operations become IAM actions as AWS authorises them (a DynamoDB
`TransactWriteItems` is authorised per item: Put → PutItem, Update → UpdateItem, ...).

The walkthrough never changes a recorded version from the registry side, so a third scenario does (a
registry rejection and an approval made outside governance): the sync handler's update and set-back path.

Not handler calls, so left out of the comparison — exactly these statements, each required where the
function's configuration needs it (`expected_minimum`) and refused where it does not:
- logs:CreateLogStream/PutLogEvents on the function's own log group (every function);
- xray:PutTelemetryRecords/PutTraceSegments on "*" (functions with active tracing);
- sqs:SendMessage on the function's own dead-letter queue, and kms:Decrypt/GenerateDataKey only via SQS or
  DynamoDB (kms:ViaService) (functions with a dead-letter queue: the hub's GovernanceFunction, the reporter);
- the network interface actions of AWSLambdaVPCAccessExecutionRole, creation only in the function's subnets
  (functions in private subnets, `mlgov:network`).
"""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from moto import mock_aws

from components.function import ENI_DESCRIBE_ACTIONS, ENI_MANAGE_ACTIONS
from governance import permissions, runtime
from mlgov import offline

from .conftest import REGION, planned, statements_of

ENI_ACTIONS = {"ec2:CreateNetworkInterface", *ENI_DESCRIBE_ACTIONS, *ENI_MANAGE_ACTIONS}

# botocore service name → IAM service prefix, where they differ.
IAM_PREFIX = {"sagemaker-runtime": "sagemaker", "monitoring": "cloudwatch"}


class Recorder:
    """`<service>:<Operation>` with parameters of every call made through a session, per handler."""

    def __init__(self) -> None:
        self.current: str | None = None
        self.calls: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
        self.lock = threading.Lock()

    def hook(self, params: dict[str, Any], model: Any = None, **_: Any) -> None:
        if model is None:
            return
        with self.lock:
            if self.current is None:
                raise AssertionError(f"an AWS call outside any handler: {model.service_model.service_name}:{model.name}")
            self.calls.setdefault(self.current, []).append((model.service_model.service_name, model.name, params))

    def attach(self, session: boto3.session.Session) -> None:
        session.events.register("provide-client-params.*.*", self.hook)

    def run(self, handler: str, fn, *args, **kwargs):
        previous, self.current = self.current, handler
        try:
            return fn(*args, **kwargs)
        finally:
            self.current = previous

    def iam_actions(self, handler: str) -> set[str]:
        out: set[str] = set()
        for service, op, params in self.calls.get(handler, []):
            prefix = IAM_PREFIX.get(service, service)
            if f"{prefix}:{op}" in permissions.OPERATION_ACTIONS:
                out.add(permissions.OPERATION_ACTIONS[f"{prefix}:{op}"])
            elif (prefix, op) == ("dynamodb", "TransactWriteItems"):
                kinds = {kind for item in params["TransactItems"] for kind in item}
                out |= {permissions.TRANSACT_ITEM_ACTIONS[k] for k in kinds}
            else:
                out.add(f"{prefix}:{op}")
        return out


# --- what the plan grants ---

def _actions(statement: dict[str, Any]) -> list[str]:
    a = statement["Action"]
    return [a] if isinstance(a, str) else list(a)


def _resources(statement: dict[str, Any]) -> list[str]:
    r = statement["Resource"]
    return [r] if isinstance(r, str) else list(r)


def lambdas(stack: str) -> list[tuple[offline.DeclaredResource, list[dict[str, Any]]]]:
    """Each Lambda of a stack's plan with the statements of its role's policies."""
    p = planned(stack)
    roles = {p.outputs[r.urn]["arn"]: r for r in p.plan.by_type("aws:iam/role:Role")}
    policies = p.plan.by_type("aws:iam/rolePolicy:RolePolicy")
    out = []
    for function in p.plan.by_type("aws:lambda/function:Function"):
        role = roles[function.inputs["role"]]
        keys = {p.outputs[role.urn]["id"], p.outputs[role.urn]["name"]}
        statements = [s for rp in policies if rp.inputs["role"] in keys for s in statements_of(rp)]
        assert statements, f"{function.name}: no policy on its role"
        out.append((function, statements))
    return out


def runtime_minimum(function: offline.DeclaredResource, statement: dict[str, Any], region: str) -> str | None:
    """The kind of runtime statement this is (see the module docstring), or None for a handler grant."""
    actions, resources = set(_actions(statement)), _resources(statement)
    log_group = function.inputs["loggingConfig"]["logGroup"]
    if actions == {"logs:CreateLogStream", "logs:PutLogEvents"} and all(r.endswith(f":log-group:{log_group}:*") for r in resources):
        return "logs"
    if actions == {"xray:PutTelemetryRecords", "xray:PutTraceSegments"} and resources == ["*"]:
        return "xray"
    subnets = ((function.inputs.get("vpcConfig") or {}).get("subnetIds")) or []
    if subnets and actions <= ENI_ACTIONS:
        # Lambda creates the function's network interfaces with its role, in its own subnets only.
        creates = "ec2:CreateNetworkInterface" in actions
        assert not creates or all(any(r.endswith(f":subnet/{s}") for r in resources) for s in subnets), resources
        return "eni"
    if statement.get("Sid") in ("ReadTableStream", "FailedBatches") and function.inputs["handler"].endswith(".checkpoint.handler"):
        return "stream"
    dlq = (function.inputs.get("deadLetterConfig") or {}).get("targetArn")
    if actions == {"sqs:SendMessage"} and dlq and resources == [dlq]:
        return "dlq"
    via = statement.get("Condition", {}).get("StringEquals", {}).get("kms:ViaService")
    via = [via] if isinstance(via, str) else list(via or [])
    if actions <= {"kms:Decrypt", "kms:GenerateDataKey"} and via and set(via) <= {f"dynamodb.{region}.amazonaws.com", f"sqs.{region}.amazonaws.com", f"s3.{region}.amazonaws.com"}:
        return "kms-via-service"
    return None


def expected_minimum(function: offline.DeclaredResource) -> set[str]:
    """The runtime statements a function of this configuration needs: logs always; X-Ray when traced; its DLQ
    (and the key through SQS/DynamoDB) when it has one."""
    out = {"logs"}
    if (function.inputs.get("tracingConfig") or {}).get("mode") == "Active":
        out.add("xray")
    if (function.inputs.get("deadLetterConfig") or {}).get("targetArn"):
        out |= {"dlq", "kms-via-service"}
    if (function.inputs.get("vpcConfig") or {}).get("subnetIds"):
        out.add("eni")
    if function.inputs["handler"].endswith(".checkpoint.handler"):
        out |= {"stream", "kms-via-service"}
    return out


def grants(function: offline.DeclaredResource, statements: list[dict[str, Any]]) -> set[str]:
    kinds = {runtime_minimum(function, s, REGION) for s in statements} - {None}
    expected = expected_minimum(function)
    assert kinds == expected, f"{function.name}: runtime statements {sorted(kinds)}, expected {sorted(expected)}"
    return {a for s in statements if s["Effect"] == "Allow" and runtime_minimum(function, s, REGION) is None for a in _actions(s)}


def assert_contract(function: str, granted: set[str], called: set[str]) -> None:
    missing, unused = sorted(called - granted), sorted(granted - called)
    problems = [f"{a} is called but not granted" for a in missing] + [f"{a} is granted but never called" for a in unused]
    assert not problems, f"{function}: " + "; ".join(problems)


# --- hub handlers: the governance walkthrough under moto ---

@pytest.fixture(scope="module")
def hub_calls() -> Recorder:
    """Run the governance scenarios (walkthrough, rejection path) with every handler call recorded."""
    import os

    from tests.governance import conftest as gov
    from tests.governance import test_walkthrough as walkthrough

    recorder = Recorder()

    class RecordingWorld(gov.World):
        def __init__(self) -> None:
            super().__init__()
            recorder.attach(boto3.DEFAULT_SESSION)

        def sync(self, event):
            return recorder.run("sync", super().sync, event)

        def report(self, event):
            return recorder.run("metrics", super().report, event)

        def api(self, *args, **kwargs):
            return recorder.run("api", super().api, *args, **kwargs)

        def checkpoint(self, records=None):
            return recorder.run("checkpoint", super().checkpoint, records)

    def checkpointed(world) -> None:
        """The stream consumer checkpoints a version's heads, then the api verifies against the checkpoint."""
        registry_changes_outside_governance(world)
        assert world.checkpoint()["checkpoints"] > 0
        back = world.package_event("credit-risk-xgb", 1, status="Rejected", modified_ms=1_724_904_900_000)
        assert world.sync(back)["result"] == "written"
        assert world.checkpoint()["checkpoints"] == 1
        assert world.api("GET", "/use-cases/credit-risk/models/credit-risk-xgb/versions/1/audit/verify")[1]["checkpoint"]

    saved = dict(os.environ)
    os.environ.update({"AWS_DEFAULT_REGION": gov.REGION, "AWS_REGION": gov.REGION, **gov.SETTINGS.to_env(),
                       "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled", "POWERTOOLS_LOG_LEVEL": "WARNING"})
    try:
        for scenario in (walkthrough.test_walkthrough_credit_risk_reaches_production,
                         walkthrough.test_rejection_sends_the_version_back_to_development,
                         registry_changes_outside_governance, checkpointed):
            with mock_aws():
                runtime.reset()
                scenario(RecordingWorld())
                runtime.reset()
                boto3.DEFAULT_SESSION = None
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return recorder


def registry_changes_outside_governance(world) -> None:
    """The sync handler's other path: status changes made in the registry to a version it already records."""
    world.onboard("credit-risk", groups=("credit-risk-xgb",))
    assert world.sync(world.package_event("credit-risk-xgb", 1))["result"] == "written"
    rejected = world.package_event("credit-risk-xgb", 1, status="Rejected", modified_ms=1_724_904_700_000)
    assert world.sync(rejected)["result"] == "written"  # recorded as an outside change, the registry set back
    assert world.sync(rejected)["result"] == "stale"
    approved = world.package_event("credit-risk-xgb", 1, status="Approved", modified_ms=1_724_904_800_000)
    assert world.sync(approved)["result"] == "written"
    schedule = {"id": "repair-1", "source": "aws.events", "detail-type": "Scheduled Event", "time": "2024-09-02T10:00:00Z", "detail": {}}
    assert world.sync(schedule)["result"] == "written"  # the scheduled registry repair: what sync queued


def hub_functions() -> list[tuple[str, offline.DeclaredResource, list[dict[str, Any]]]]:
    out = []
    for function, statements in lambdas("shared"):
        handler = function.inputs["handler"]
        assert handler.startswith("governance.handlers.") and handler.endswith(".handler"), handler
        out.append((handler.split(".")[2], function, statements))
    return out


def test_the_hub_declares_one_lambda_per_handler() -> None:
    assert sorted(h for h, _, _ in hub_functions()) == sorted(permissions.HANDLER_OPERATIONS)


@pytest.mark.parametrize("handler", sorted(permissions.HANDLER_OPERATIONS))
def test_hub_lambda_role_grants_exactly_what_its_handler_calls(hub_calls: Recorder, handler: str) -> None:
    [(name, function, statements)] = [f for f in hub_functions() if f[0] == handler]
    called = hub_calls.iam_actions(handler)
    assert called, f"the scenarios never ran the {handler} handler"
    assert_contract(function.name, grants(function, statements), called)


# --- stage deployment handlers (serving/) ---

def stage_functions() -> list[tuple[str, offline.DeclaredResource, list[dict[str, Any]]]]:
    return [(stack, f, s) for stack in ("test", "prod") for f, s in lambdas(stack)]


def _now() -> datetime:
    return datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)


def run_serving_handler(function: offline.DeclaredResource, monkeypatch) -> Recorder:
    """Call the function's real entry point with the environment the plan gives it, under moto."""
    from serving import collector, invoke

    recorder = Recorder()
    env = dict(function.inputs["environment"]["variables"])
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    handler = function.inputs["handler"]
    context = type("Context", (), {"function_name": function.name, "memory_limit_in_mb": 256, "aws_request_id": "r-1",
                                   "invoked_function_arn": f"arn:aws:lambda:{REGION}:123456789012:function:{function.name}"})()
    with mock_aws():
        boto3.setup_default_session(region_name=REGION)
        recorder.attach(boto3.DEFAULT_SESSION)
        try:
            if handler == "serving.invoke.handler":
                invoke._client.cache_clear()
                event = {"version": "2.0", "routeKey": "POST /invocations", "rawPath": "/invocations", "isBase64Encoded": False,
                         "headers": {"content-type": "application/json"}, "body": '{"features": [1, 2]}',
                         "requestContext": {"http": {"method": "POST"}}}
                result = recorder.run(function.name, invoke.handler, event, context)
                assert result["statusCode"] == 200, result
            elif handler == "serving.collector.handler":
                collector._clients.cache_clear()
                setup = boto3.session.Session(region_name=REGION)
                setup.client("events").create_event_bus(Name=env["HUB_BUS_ARN"].rsplit("/", 1)[-1])
                variants = json.loads(env["VARIANTS"])
                setup.client("cloudwatch").put_metric_data(Namespace="AWS/SageMaker", MetricData=[
                    {"MetricName": "Invocations", "Value": 5.0, "Timestamp": datetime.now(timezone.utc) - timedelta(minutes=2),
                     "Dimensions": [{"Name": "EndpointName", "Value": env["ENDPOINT_NAME"]}, {"Name": "VariantName", "Value": v["name"]}]}
                    for v in variants])
                if env.get("CAPTURE_BUCKET"):
                    capture_for_drift(setup, env, variants)
                in_service = {"id": "e1", "detail-type": "SageMaker Endpoint State Change", "source": "aws.sagemaker",
                              "account": env["ACCOUNT_ID"], "time": "2026-03-02T11:58:00Z", "region": REGION, "resources": [],
                              "detail": {"EndpointName": env["ENDPOINT_NAME"], "EndpointStatus": "IN_SERVICE"}}
                scheduled = {"id": "e2", "detail-type": "Scheduled Event", "source": "aws.events", "account": env["ACCOUNT_ID"],
                             "time": _now().isoformat(), "region": REGION, "resources": [], "detail": {}}
                assert recorder.run(function.name, collector.handler, in_service, context)["published"] == len(variants)
                assert recorder.run(function.name, collector.handler, scheduled, context)["published"] == len(variants)
            else:
                raise AssertionError(f"{function.name}: no scenario for handler {handler}; add one to this test")
        finally:
            invoke._client.cache_clear()
            collector._clients.cache_clear()
            boto3.DEFAULT_SESSION = None
    return recorder


def capture_for_drift(setup: boto3.session.Session, env: dict[str, str], variants: list[dict[str, Any]]) -> None:
    """The hub bucket with a capture file per variant in the current hour, enough for the test reporter to publish a reference."""
    from serving.drift import MIN_REFERENCE_PREDICTIONS

    s3 = setup.client("s3")
    s3.create_bucket(Bucket=env["CAPTURE_BUCKET"], CreateBucketConfiguration={"LocationConstraint": REGION})
    line = json.dumps({"captureData": {"endpointOutput": {"observedContentType": "text/csv", "mode": "OUTPUT", "data": "0.5",
                                                          "encoding": "CSV"}}})
    hour = datetime.now(timezone.utc).strftime("%Y/%m/%d/%H")
    for v in variants:
        key = f"capture/{env['ACCOUNT_ID']}/{env['ENDPOINT_NAME']}/{v['name']}/{hour}/f.jsonl"
        s3.put_object(Bucket=env["CAPTURE_BUCKET"], Key=key, Body="\n".join([line] * MIN_REFERENCE_PREDICTIONS).encode())


def test_member_stacks_declare_their_serving_lambdas() -> None:
    handlers = {f.inputs["handler"] for _, f, _ in stage_functions()}
    assert handlers == {"serving.invoke.handler", "serving.collector.handler"}


# Collected from the sample test and prod plans: one test per stage Lambda the program declares.
STAGE_LAMBDAS = sorted((stack, f.name) for stack, f, _ in stage_functions())


@pytest.mark.parametrize("stack,name", STAGE_LAMBDAS, ids=[f"{s}/{n}" for s, n in STAGE_LAMBDAS])
def test_stage_lambda_role_grants_exactly_what_its_handler_calls(stack: str, name: str, monkeypatch) -> None:
    [(function, statements)] = [(f, s) for st, f, s in stage_functions() if (st, f.name) == (stack, name)]
    recorder = run_serving_handler(function, monkeypatch)
    called = recorder.iam_actions(function.name)
    assert called, f"{stack}/{function.name}: the scenario made no AWS call"
    assert_contract(f"{stack}/{function.name}", grants(function, statements), called)


def test_a_grant_without_a_call_and_a_call_without_a_grant_are_named() -> None:
    with pytest.raises(AssertionError) as failure:
        assert_contract("fn", {"dynamodb:Query", "dynamodb:DeleteItem"}, {"dynamodb:Query", "dynamodb:PutItem"})
    assert "dynamodb:PutItem is called but not granted" in str(failure.value)
    assert "dynamodb:DeleteItem is granted but never called" in str(failure.value)


# --- only governance writes approval status and lifecycle -------------------------------------------------

def _matches(patterns: Any, value: str) -> bool:
    from fnmatch import fnmatchcase

    return any(fnmatchcase(value, p) for p in ([patterns] if isinstance(patterns, str) else patterns))


def _condition_holds(condition: dict[str, Any], context: dict[str, str]) -> bool:
    """IAM's condition operators as the policies here use them; any other operator fails the test."""
    for operator, keys in condition.items():
        for key, expected in keys.items():
            expected = [expected] if isinstance(expected, str) else list(expected)
            present = key in context
            if operator == "StringEquals":
                ok = present and context[key] in expected
            elif operator == "StringNotEquals":  # a key missing from the request matches a negated operator
                ok = not present or context[key] not in expected
            elif operator == "Null":
                ok = present is (expected == ["false"])
            elif operator == "StringLike":
                ok = present and _matches(expected, context[key])
            else:
                raise AssertionError(f"no evaluation of {operator} here; add it")
            if not ok:
                return False
    return True


def decision(statements: list[dict[str, Any]], action: str, resource: str, context: dict[str, str]) -> str:
    """IAM's evaluation within one identity policy: an explicit Deny wins, then an Allow, else the implicit deny."""
    applicable = [s for s in statements if _matches(s["Action"], action) and _matches(s["Resource"], resource)
                  and _condition_holds(s.get("Condition", {}), context)]
    if any(s["Effect"] == "Deny" for s in applicable):
        return "explicit deny"
    return "allow" if applicable else "implicit deny"


def data_scientist_statements() -> list[dict[str, Any]]:
    p = planned("dev")
    return statements_of(p.plan.named("mlgov-dev-data-scientist-policy"))


HUB_PACKAGE = "arn:aws:sagemaker:eu-west-1:111111111111:model-package/credit-risk-xgb/3"
HUB_GROUP = "arn:aws:sagemaker:eu-west-1:111111111111:model-package-group/credit-risk-xgb"
PENDING = {"sagemaker:ModelApprovalStatus": "PendingManualApproval"}


@pytest.mark.parametrize("action,resource,context,expected", [
    ("sagemaker:CreateModelPackage", HUB_GROUP, PENDING, "allow"),
    ("sagemaker:CreateModelPackage", HUB_PACKAGE, {**PENDING, "sagemaker:ModelLifeCycle:stage": "development",
                                                   "sagemaker:ModelLifeCycle:stageStatus": "pending"}, "allow"),
    ("sagemaker:CreateModelPackage", HUB_GROUP, {"sagemaker:ModelApprovalStatus": "Approved"}, "explicit deny"),
    ("sagemaker:CreateModelPackage", HUB_GROUP, {}, "implicit deny"),
    ("sagemaker:CreateModelPackage", HUB_GROUP, {**PENDING, "sagemaker:ModelLifeCycle:stage": "production",
                                                 "sagemaker:ModelLifeCycle:stageStatus": "pending"}, "explicit deny"),
    ("sagemaker:CreateModelPackage", HUB_GROUP, {**PENDING, "sagemaker:ModelLifeCycle:stage": "development",
                                                 "sagemaker:ModelLifeCycle:stageStatus": "approved"}, "explicit deny"),
    ("sagemaker:CreateModelPackage", "arn:aws:sagemaker:eu-west-1:222222222222:model-package-group/own", PENDING, "implicit deny"),
    ("sagemaker:UpdateModelPackage", HUB_PACKAGE, {"sagemaker:ModelApprovalStatus": "Approved"}, "explicit deny"),
    ("sagemaker:UpdateModelPackage", HUB_PACKAGE, {"sagemaker:ModelLifeCycle:stage": "production",
                                                   "sagemaker:ModelLifeCycle:stageStatus": "approved"}, "explicit deny"),
    ("sagemaker:UpdateModelPackage", HUB_PACKAGE, {}, "explicit deny"),
    ("sagemaker:DescribeModelPackage", HUB_PACKAGE, {}, "allow"),
])
def test_data_scientists_register_as_pending_and_never_decide(action, resource, context, expected) -> None:
    assert decision(data_scientist_statements(), action, resource, context) == expected


def test_only_the_hubs_governance_handlers_may_update_a_model_package() -> None:
    """Approval status and lifecycle have one writer, governance on the hub: no member role, no other hub role."""
    writers = {(stack, policy.inputs["role"]) for stack in ("shared", "dev", "test", "prod")
               for policy in planned(stack).plan.by_type("aws:iam/rolePolicy:RolePolicy") for s in statements_of(policy)
               if s["Effect"] == "Allow" and _matches(_actions(s), "sagemaker:UpdateModelPackage")}
    shared = planned("shared")
    handler_roles = {}
    for handler, function, _ in hub_functions():
        [role] = [r for r in shared.plan.by_type("aws:iam/role:Role") if shared.outputs[r.urn]["arn"] == function.inputs["role"]]
        handler_roles[shared.outputs[role.urn]["id"]] = handler_roles[shared.outputs[role.urn]["name"]] = handler
    assert {stack for stack, _ in writers} == {"shared"}
    assert {handler_roles.get(role) for _, role in writers} <= set(permissions.HANDLER_OPERATIONS)
    assert "api" in {handler_roles.get(role) for _, role in writers}


def test_no_registry_share_or_group_policy_grants_member_accounts_update_model_package() -> None:
    shared = planned("shared").plan
    assert shared.by_type("aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy") == []
    for permission in shared.by_type("aws:ram/permission:Permission"):
        template = json.loads(permission.inputs["policyTemplate"])
        assert "sagemaker:UpdateModelPackage" not in _actions(template), permission.name
