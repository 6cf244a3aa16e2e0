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
