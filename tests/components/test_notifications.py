"""Notifications: the account's alarm topic, under its own key, published to by its CloudWatch alarms only, over TLS."""
from __future__ import annotations

import pulumi_aws as aws
import pytest

from components.notifications import Notifications, NotificationsArgs, Subscription, alarms_publish, topic_arn
from mlgov import offline
from tests.infra import policy_statements, run_component

ACCOUNT = "333333333333"
ARN = f"arn:aws:sns:eu-west-1:{ACCOUNT}:mlgov-alarms"


@pytest.fixture(scope="module")
def plan() -> offline.Plan:
    def declare() -> None:
        key = aws.kms.Key("key")
        Notifications("alarms", NotificationsArgs(account_id=ACCOUNT, region="eu-west-1", key_arn=key.arn, tags={"team": "ml"},
                                                  subscriptions=[Subscription("email", "ml-platform@example.com"),
                                                                 Subscription("https", "https://hooks.example.com/alarms")]))

    return run_component(declare, account_id=ACCOUNT)


def test_topic_is_named_as_alarms_expect_and_encrypted_with_the_given_key(plan) -> None:
    topic = plan.named("alarms")
    assert topic.type == "aws:sns/topic:Topic"
    assert topic.inputs["name"] == "mlgov-alarms" and topic_arn(ACCOUNT, "eu-west-1") == ARN
    assert topic.inputs["kmsMasterKeyId"].startswith(f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/")
    assert topic.inputs["tags"] == {"team": "ml", "mlgov:component": "notifications"}


def test_only_this_accounts_cloudwatch_publishes_and_only_over_tls(plan) -> None:
    allow, deny = policy_statements(plan.named("alarms-policy"))
    assert (allow["Effect"], allow["Principal"], allow["Action"], allow["Resource"]) == (
        "Allow", {"Service": "cloudwatch.amazonaws.com"}, "sns:Publish", ARN)
    assert allow["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    assert (deny["Effect"], deny["Condition"]) == ("Deny", {"Bool": {"aws:SecureTransport": "false"}})


def test_one_subscription_per_configured_endpoint(plan) -> None:
    subs = plan.by_type("aws:sns/topicSubscription:TopicSubscription")
    assert sorted((s.inputs["protocol"], s.inputs["endpoint"]) for s in subs) == [
        ("email", "ml-platform@example.com"), ("https", "https://hooks.example.com/alarms")]
    assert all(s.inputs["topic"].startswith(f"arn:aws:sns:eu-west-1:{ACCOUNT}:") and s.inputs["topic"].endswith("mlgov-alarms")
               for s in subs)


def test_an_unknown_protocol_is_refused() -> None:
    with pytest.raises(Exception, match="email or https"):
        run_component(lambda: Notifications("alarms", NotificationsArgs(
            account_id=ACCOUNT, region="eu-west-1", key_arn="arn:aws:kms:eu-west-1:333333333333:key/k",
            subscriptions=[Subscription("sms", "+33123")])))


def test_key_statement_lets_cloudwatch_alarms_of_the_account_use_the_key() -> None:
    s = alarms_publish(ACCOUNT, "eu-west-1")
    assert (s["Principal"], s["Action"], s["Condition"]) == (
        {"Service": "cloudwatch.amazonaws.com"}, ["kms:Decrypt", "kms:GenerateDataKey"],
        {"StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": ARN}})
