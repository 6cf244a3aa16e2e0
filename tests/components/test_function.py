"""Function on its own: runtime, code, tracing, logs, dead letters, and a role with only what is given."""
from __future__ import annotations

import json

import pytest

from components.function import Function, FunctionArgs, package_archive
from components.policy_documents import statement
from tests.infra import all_actions, policy_statements, run_component

KEY = "arn:aws:kms:eu-west-1:111111111111:key/k"
TABLE = "arn:aws:dynamodb:eu-west-1:111111111111:table/mlgov-governance"


def plan_of(**overrides):
    values = dict(
        handler="governance.handlers.sync.handler",
        code=package_archive("governance"),
        account_id="111111111111",
        region="eu-west-1",
        kms_key_arn=KEY,
        statements=[statement("Table", ["dynamodb:GetItem", "dynamodb:TransactWriteItems"], [TABLE])],
        environment={"GOVERNANCE_TABLE": "mlgov-governance"},
        function_name="mlgov-sync",
        role_name="mlgov-sync-role",
        asynchronous=True,
        dead_letter_queue_name="mlgov-sync-dlq",
        key_services=["dynamodb"],
        log_retention_days=90,
    )
    values.update(overrides)
    return run_component(lambda: Function("mlgov-sync", FunctionArgs(**values)))


def test_function_runs_the_handler_on_python_312_with_tracing_and_a_dead_letter_queue() -> None:
    plan = plan_of()
    fn = plan.named("mlgov-sync").inputs
    assert (fn["runtime"], fn["handler"], fn["architectures"]) == ("python3.12", "governance.handlers.sync.handler", ["x86_64"])
    assert fn["tracingConfig"] == {"mode": "Active"}
    assert fn["deadLetterConfig"]["targetArn"] == "arn:aws:sqs:eu-west-1:111111111111:mlgov-sync-dlq"
    assert fn["layers"] == ["arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:27"]
    assert fn["environment"]["variables"] == {"GOVERNANCE_TABLE": "mlgov-governance"}
    assert fn["role"] == "arn:aws:iam::111111111111:role/mlgov-sync-role"
    assert fn["loggingConfig"] == {"logFormat": "JSON", "logGroup": "/aws/lambda/mlgov-sync"}


def test_role_is_trusted_by_lambda_for_its_own_account_only() -> None:
    trust = json.loads(plan_of().named("mlgov-sync-role").inputs["assumeRolePolicy"])["Statement"]
    assert trust == [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole",
                      "Condition": {"StringEquals": {"aws:SourceAccount": "111111111111"}}}]


def test_log_group_has_retention_and_the_key_and_the_queue_is_encrypted() -> None:
    plan = plan_of()
    logs = plan.named("mlgov-sync-logs").inputs
    assert (logs["name"], logs["retentionInDays"], logs["kmsKeyId"]) == ("/aws/lambda/mlgov-sync", 90, KEY)
    assert plan.named("mlgov-sync-dlq").inputs["kmsMasterKeyId"] == KEY


def test_a_given_log_group_name_is_kept() -> None:
    plan = plan_of(log_group_name="/mlgov/lambda/sd-invoke")
    assert plan.named("mlgov-sync-logs").inputs["name"] == "/mlgov/lambda/sd-invoke"


def test_role_grants_the_given_calls_plus_the_runtime_minimum_and_nothing_else() -> None:
    plan = plan_of()
    statements = {s["Sid"]: s for s in policy_statements(plan.named("mlgov-sync-policy"))}
    assert statements["Table"]["Resource"] == [TABLE]
    assert set(all_actions(list(statements.values()))) == {
        "dynamodb:GetItem", "dynamodb:TransactWriteItems",
        "logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTelemetryRecords", "xray:PutTraceSegments",
        "sqs:SendMessage", "kms:Decrypt", "kms:GenerateDataKey",
    }
    assert statements["WriteOwnLogs"]["Resource"] == "arn:aws:logs:eu-west-1:111111111111:log-group:/aws/lambda/mlgov-sync:*"
    assert statements["UseKeyThroughServices"]["Condition"]["StringEquals"]["kms:ViaService"] == [
        "dynamodb.eu-west-1.amazonaws.com", "sqs.eu-west-1.amazonaws.com"]
    for s in statements.values():
        if s["Sid"] != "Tracing":
            assert s["Resource"] != "*", s["Sid"]


def test_a_synchronous_function_has_no_dead_letters_and_no_key_use() -> None:
    plan = plan_of(asynchronous=False, key_services=[])
    assert "deadLetterConfig" not in plan.named("mlgov-sync").inputs
    assert plan.by_type("aws:sqs/queue:Queue") == []
    assert set(s["Sid"] for s in policy_statements(plan.named("mlgov-sync-policy"))) == {"Table", "WriteOwnLogs", "Tracing"}


def test_a_shared_dead_letter_queue_is_used_instead_of_its_own() -> None:
    queue = "arn:aws:sqs:eu-west-1:111111111111:shared"
    plan = plan_of(dead_letter_queue_arn=queue)
    assert plan.by_type("aws:sqs/queue:Queue") == []
    assert plan.named("mlgov-sync").inputs["deadLetterConfig"] == {"targetArn": queue}
    assert {s["Sid"]: s for s in policy_statements(plan.named("mlgov-sync-policy"))}["OwnDeadLetterQueue"]["Resource"] == queue


@pytest.mark.parametrize("package", ["governance", "serving"])
def test_code_is_the_package_alone(package: str) -> None:
    names = sorted(package_archive(package).assets)
    assert names and all(n.startswith(f"{package}/") and n.endswith(".py") for n in names)
    assert f"{package}/__init__.py" in names and not any("__pycache__" in n or "tests" in n for n in names)


def test_failed_async_invocations_raise_an_alarm() -> None:
    alarm = plan_of(alarm_actions=["arn:aws:sns:eu-west-1:111111111111:ops"]).named("mlgov-sync-dlq-alarm").inputs
    assert alarm["dimensions"] == {"QueueName": "mlgov-sync-dlq"}
    assert (alarm["threshold"], alarm["alarmActions"]) == (1, ["arn:aws:sns:eu-west-1:111111111111:ops"])


def test_every_function_has_a_reserved_concurrency_default_or_given() -> None:
    assert plan_of().named("mlgov-sync").inputs["reservedConcurrentExecutions"] == 10
    assert plan_of(reserved_concurrency=3).named("mlgov-sync").inputs["reservedConcurrentExecutions"] == 3


def test_a_function_outside_a_network_has_no_vpc_config_and_no_network_interface_grants() -> None:
    plan = plan_of()
    assert "vpcConfig" not in plan.named("mlgov-sync").inputs
    assert not [a for a in all_actions(policy_statements(plan.named("mlgov-sync-policy"))) if a.startswith("ec2:")]


def test_a_function_in_private_subnets_may_create_interfaces_only_there() -> None:
    from components.private_network import FunctionNetwork

    network = FunctionNetwork(subnet_ids=["subnet-0a1b2c3d4e5f60718", "subnet-0b2c3d4e5f6071829"], security_group_ids=["sg-0a1b2c3d4e5f60718"])
    plan = plan_of(network=network)
    assert plan.named("mlgov-sync").inputs["vpcConfig"] == {
        "subnetIds": ["subnet-0a1b2c3d4e5f60718", "subnet-0b2c3d4e5f6071829"], "securityGroupIds": ["sg-0a1b2c3d4e5f60718"]}
    statements = {s["Sid"]: s for s in policy_statements(plan.named("mlgov-sync-policy"))}
    ec2 = "arn:aws:ec2:eu-west-1:111111111111"
    assert statements["CreateInterfacesInItsSubnets"]["Resource"] == [
        f"{ec2}:network-interface/*", f"{ec2}:subnet/subnet-0a1b2c3d4e5f60718", f"{ec2}:subnet/subnet-0b2c3d4e5f6071829",
        f"{ec2}:security-group/sg-0a1b2c3d4e5f60718"]
    assert statements["ManageItsInterfaces"]["Resource"] == f"{ec2}:network-interface/*"
    assert statements["DescribeInterfaces"] == {"Sid": "DescribeInterfaces", "Effect": "Allow", "Resource": "*",
                                                "Action": ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"]}
