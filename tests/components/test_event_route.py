"""EventRoute on its own: rule, target with retries, encrypted dead-letter queue only EventBridge may use, alarm."""
from __future__ import annotations

import json

import pytest

from components.event_route import EventRoute, EventRouteArgs
from tests.infra import policy_statements, run_component

KEY = "arn:aws:kms:eu-west-1:111111111111:key/k"
FN = "arn:aws:lambda:eu-west-1:111111111111:function:mlgov-sync"
PATTERN = {"source": ["aws.sagemaker"], "detail-type": ["SageMaker Model Package State Change"]}


def plan_of(**overrides):
    values = dict(event_pattern=PATTERN, function_arn=FN, function_name="mlgov-sync", kms_key_arn=KEY, rule_name="mlgov-registry-events")
    values.update(overrides)
    args = EventRouteArgs(**values)
    return run_component(lambda: EventRoute("mlgov-registry-events", args))


def test_rule_target_has_retry_policy_and_dead_letter_queue() -> None:
    plan = plan_of()
    rule = plan.named("mlgov-registry-events").inputs
    assert json.loads(rule["eventPattern"]) == PATTERN
    assert "eventBusName" not in rule
    target = plan.named("mlgov-registry-events-target").inputs
    assert target["arn"] == FN
    assert target["retryPolicy"] == {"maximumRetryAttempts": 8, "maximumEventAgeInSeconds": 3600}
    assert target["deadLetterConfig"]["arn"] == "arn:aws:sqs:eu-west-1:111111111111:mlgov-registry-events-dlq"
    assert plan.named("mlgov-registry-events-dlq").inputs["kmsMasterKeyId"] == KEY


def test_only_this_rule_may_send_to_the_dead_letter_queue_and_invoke_the_function() -> None:
    plan = plan_of()
    [s] = policy_statements(plan.named("mlgov-registry-events-dlq-policy"))
    assert s["Principal"] == {"Service": "events.amazonaws.com"} and s["Action"] == "sqs:SendMessage"
    assert s["Condition"] == {"ArnEquals": {"aws:SourceArn": ["arn:aws:events:eu-west-1:111111111111:rule/mlgov-registry-events"]}}
    invoke = plan.named("mlgov-registry-events-invoke").inputs
    assert (invoke["principal"], invoke["function"]) == ("events.amazonaws.com", "mlgov-sync")
    assert [invoke["sourceArn"]] == s["Condition"]["ArnEquals"]["aws:SourceArn"]


def test_alarm_fires_on_the_first_dead_letter() -> None:
    alarm = plan_of(alarm_actions=["arn:aws:sns:eu-west-1:111111111111:ops"]).named("mlgov-registry-events-dlq-alarm").inputs
    assert (alarm["metricName"], alarm["threshold"], alarm["comparisonOperator"]) == (
        "ApproximateNumberOfMessagesVisible", 1, "GreaterThanOrEqualToThreshold")
    assert alarm["dimensions"] == {"QueueName": "mlgov-registry-events-dlq"}
    assert alarm["alarmActions"] == ["arn:aws:sns:eu-west-1:111111111111:ops"]


def test_custom_bus_is_used_for_rule_and_target() -> None:
    plan = plan_of(event_bus_name="mlgov-governance")
    assert plan.named("mlgov-registry-events").inputs["eventBusName"] == "mlgov-governance"
    assert plan.named("mlgov-registry-events-target").inputs["eventBusName"] == "mlgov-governance"


def test_rule_on_a_custom_bus_has_the_bus_in_its_arn() -> None:
    [s] = policy_statements(plan_of(event_bus_name="mlgov-governance").named("mlgov-registry-events-dlq-policy"))
    assert s["Condition"]["ArnEquals"]["aws:SourceArn"] == ["arn:aws:events:eu-west-1:111111111111:rule/mlgov-governance/mlgov-registry-events"]


def test_a_schedule_triggers_the_function_and_an_unnamed_rule_is_named_by_pulumi() -> None:
    plan = plan_of(event_pattern=None, schedule_expression="rate(15 minutes)", rule_name=None)
    rule = plan.named("mlgov-registry-events").inputs
    assert rule["scheduleExpression"] == "rate(15 minutes)" and "eventPattern" not in rule and "name" not in rule
    assert plan.named("mlgov-registry-events-target").inputs["arn"] == FN


def test_a_route_has_a_pattern_or_a_schedule_not_both() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        plan_of(schedule_expression="rate(1 hour)")
