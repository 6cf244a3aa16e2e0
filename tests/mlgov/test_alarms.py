"""Every alarm of the four sample stacks notifies its account's alarm topic, which the stack declares under its own key."""
from __future__ import annotations

import json

import pytest

from mlgov import offline

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ACCOUNTS = {"shared": "111111111111", "dev": "222222222222", "test": "333333333333", "prod": "444444444444"}


@pytest.mark.parametrize("stack", sorted(ACCOUNTS))
def test_every_alarm_notifies_the_accounts_topic(stack: str) -> None:
    plan = offline.plan_stack(stack)
    topic_arn = f"arn:aws:sns:eu-west-1:{ACCOUNTS[stack]}:mlgov-alarms"
    [topic] = plan.by_type("aws:sns/topic:Topic")
    assert topic.inputs["name"] == "mlgov-alarms"
    [key] = [r for r in plan.by_type("aws:kms/key:Key") if r.inputs.get("keyUsage") != "SIGN_VERIFY"]  # not the audit signing key
    statements = json.loads(key.inputs["policy"])["Statement"]
    assert any(s["Principal"] == {"Service": "cloudwatch.amazonaws.com"} for s in statements)
    alarms = plan.by_type(ALARM)
    assert alarms
    assert [a.name for a in alarms if a.inputs.get("alarmActions") != [topic_arn]] == []
    [subscription] = plan.by_type("aws:sns/topicSubscription:TopicSubscription")
    assert (subscription.inputs["protocol"], subscription.inputs["endpoint"]) == ("email", "ml-platform@example.com")


def test_the_governance_api_alarms_on_its_rest_metrics() -> None:
    """REST APIs report `5XXError` and `Latency` under `AWS/ApiGateway` by `ApiName` and `Stage` (HTTP APIs by `ApiId`)."""
    plan = offline.plan_stack("shared")
    stage = plan.named("mlgov-governance-api-stage").inputs["stageName"]
    api_name = plan.named("mlgov-governance-api-api").inputs["name"]
    alarms = {(a.inputs["namespace"], a.inputs["metricName"]): a.inputs for a in plan.by_type(ALARM) if a.name.startswith("mlgov-governance-api")}
    assert set(alarms) == {("AWS/ApiGateway", "5XXError"), ("AWS/ApiGateway", "Latency")}
    assert all(a["dimensions"] == {"ApiName": api_name, "Stage": stage} for a in alarms.values())
