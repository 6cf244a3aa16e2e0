"""GovernanceFunction on its own: runtime, code, tracing, logs, dead letters, and a role with only what is given."""
from __future__ import annotations

import zipfile
from pathlib import Path

from components.governance_function import GovernanceFunction, GovernanceFunctionArgs, package_archive, powertools_layer_arn
from components.policy_documents import statement
from tests.infra import all_actions, policy_statements, run_component

KEY = "arn:aws:kms:eu-west-1:111111111111:key/k"
TABLE = "arn:aws:dynamodb:eu-west-1:111111111111:table/mlgov-governance"


def plan_of(**overrides):
    args = GovernanceFunctionArgs(
        handler="sync",
        statements=[statement("Table", ["dynamodb:GetItem", "dynamodb:TransactWriteItems"], [TABLE])],
        kms_key_arn=KEY,
        region="eu-west-1",
        environment={"GOVERNANCE_TABLE": "mlgov-governance"},
        layers=[powertools_layer_arn("eu-west-1", 27)],
        function_name="mlgov-sync",
        log_retention_days=90,
        **overrides,
    )
    return run_component(lambda: GovernanceFunction("mlgov-sync", args))


def test_function_runs_the_handler_on_python_312_with_tracing_and_a_dead_letter_queue() -> None:
    plan = plan_of()
    fn = plan.named("mlgov-sync-function").inputs
    assert (fn["runtime"], fn["handler"]) == ("python3.12", "governance.handlers.sync.handler")
    assert fn["tracingConfig"] == {"mode": "Active"}
    assert fn["deadLetterConfig"]["targetArn"] == "arn:aws:sqs:eu-west-1:111111111111:mlgov-sync-dlq"
    assert fn["layers"] == ["arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:27"]
    env = fn["environment"]["variables"]
    assert env["GOVERNANCE_TABLE"] == "mlgov-governance" and env["AWS_RETRY_MODE"] == "standard"
    assert not any(value.isdigit() and len(value) == 12 for value in env.values())
    assert fn["role"] == "arn:aws:iam::111111111111:role/mlgov-sync-role"


def test_log_group_has_retention_and_the_key_and_the_queue_is_encrypted() -> None:
    plan = plan_of()
    logs = plan.named("mlgov-sync-logs").inputs
    assert (logs["name"], logs["retentionInDays"], logs["kmsKeyId"]) == ("/aws/lambda/mlgov-sync", 90, KEY)
    assert plan.named("mlgov-sync-dlq").inputs["kmsMasterKeyId"] == KEY


def test_role_grants_the_given_calls_plus_the_runtime_minimum_and_nothing_else() -> None:
    plan = plan_of()
    statements = {s["Sid"]: s for s in policy_statements(plan.named("mlgov-sync-policy"))}
    assert statements["Table"]["Resource"] == [TABLE]
    assert set(all_actions(list(statements.values()))) == {
        "dynamodb:GetItem", "dynamodb:TransactWriteItems",
        "logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTelemetryRecords", "xray:PutTraceSegments",
        "sqs:SendMessage", "kms:Decrypt", "kms:GenerateDataKey",
    }
    assert statements["OwnLogGroup"]["Resource"] == "arn:aws:logs:eu-west-1:111111111111:log-group:/aws/lambda/mlgov-sync:*"
    assert statements["KeyThroughDynamoDbAndSqs"]["Condition"]["StringEquals"]["kms:ViaService"] == [
        "dynamodb.eu-west-1.amazonaws.com", "sqs.eu-west-1.amazonaws.com"]
    for s in statements.values():
        if s["Sid"] != "Tracing":
            assert s["Resource"] != "*", s["Sid"]


def test_code_is_the_governance_package_alone(tmp_path: Path) -> None:
    archive = package_archive()
    names = sorted(archive.assets)
    assert names and all(n.startswith("governance/") and n.endswith(".py") for n in names)
    assert "governance/schema.py" in names and not any("__pycache__" in n or "tests" in n for n in names)


def test_failed_async_invocations_raise_an_alarm() -> None:
    alarm = plan_of(alarm_actions=["arn:aws:sns:eu-west-1:111111111111:ops"]).named("mlgov-sync-dlq-alarm").inputs
    assert alarm["dimensions"] == {"QueueName": "mlgov-sync-dlq"}
    assert (alarm["threshold"], alarm["alarmActions"]) == (1, ["arn:aws:sns:eu-west-1:111111111111:ops"])
