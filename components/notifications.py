"""Where an account's alarms go: one SNS topic, encrypted with the account's own key, with the subscriptions from config.

The topic's ARN follows from its name, so a stack hands it to the alarms of components declared before the topic
(whose key they create). CloudWatch may publish only for alarms of this account, and only over TLS.
"""
import hashlib
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.args import ComponentArgs
from components.policy_documents import document, statement

TOPIC_NAME = "mlgov-alarms"
PROTOCOLS = ("email", "https")


@dataclass
class Subscription:
    protocol: str
    """`email` or `https`."""
    endpoint: str
    """An e-mail address, or an `https://` URL."""


@dataclass
class NotificationsArgs(ComponentArgs):
    account_id: str
    region: str
    key_arn: pulumi.Input[str]
    """The account's customer-managed key; its policy lets CloudWatch use it for SNS."""
    subscriptions: Sequence[Subscription] = field(default_factory=list)
    topic_name: str = TOPIC_NAME
    partition: str = "aws"


# What CloudWatch alarms need of a customer-managed key to publish to an SNS topic it encrypts
# (https://repost.aws/knowledge-center/cloudwatch-configure-alarm-sns); AWS's example grants kms:GenerateDataKey*,
# of which SNS calls only kms:GenerateDataKey (the pack refuses wildcard actions).
ALARMS_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


def alarms_publish(account_id: str, region: str, partition: str = "aws") -> dict[str, Any]:
    """The key statement letting CloudWatch alarms publish to the account's alarm topic, and only to it.

    SNS names the topic in the encryption context (`aws:sns:topicArn`), as AWS's own key policies for SNS
    publishers do (https://docs.aws.amazon.com/gamelift/latest/flexmatchguide/queue-notification-sns-sse.html).
    """
    return statement("CloudWatchAlarmsPublishToEncryptedTopic", ALARMS_KEY_ACTIONS, "*",
                     principals={"Service": "cloudwatch.amazonaws.com"},
                     conditions={"StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": topic_arn(account_id, region, partition=partition)}})


def topic_arn(account_id: str, region: str, topic_name: str = TOPIC_NAME, partition: str = "aws") -> str:
    """The topic's ARN, known before the topic exists: what alarms declared earlier name as their action."""
    return f"arn:{partition}:sns:{region}:{account_id}:{topic_name}"


def subscription_name(name: str, s: Subscription) -> str:
    """Named for its endpoint, so adding or removing another subscription replaces none."""
    return f"{name}-{s.protocol}-{hashlib.sha256(s.endpoint.encode()).hexdigest()[:8]}"


class Notifications(pulumi.ComponentResource):
    topic: aws.sns.Topic

    def __init__(self, name: str, args: NotificationsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlgov:notifications:Notifications", name, None, opts)
        for s in args.subscriptions:
            if s.protocol not in PROTOCOLS:
                raise ValueError(f"{name}: a subscription's protocol is email or https, not {s.protocol!r}")
        tags = {"mlgov:component": "notifications", **args.tags}
        self.topic = aws.sns.Topic(name, name=args.topic_name, kms_master_key_id=args.key_arn, tags=tags,
                                   opts=pulumi.ResourceOptions(parent=self))
        arn = topic_arn(args.account_id, args.region, args.topic_name, args.partition)
        aws.sns.TopicPolicy(f"{name}-policy", arn=self.topic.arn, policy=document([
            statement("CloudWatchAlarmsOfThisAccountPublish", ["sns:Publish"], arn,
                      principals={"Service": "cloudwatch.amazonaws.com"},
                      conditions={"StringEquals": {"aws:SourceAccount": args.account_id}}),
            statement("DenyWithoutTls", ["sns:Publish"], arn, principals={"AWS": "*"}, effect="Deny",
                      conditions={"Bool": {"aws:SecureTransport": "false"}}),
        ]), opts=pulumi.ResourceOptions(parent=self.topic))
        for s in args.subscriptions:
            aws.sns.TopicSubscription(subscription_name(name, s), topic=self.topic.arn, protocol=s.protocol, endpoint=s.endpoint,
                                      opts=pulumi.ResourceOptions(parent=self.topic))
        self.arn = self.topic.arn
        self.register_outputs({"arn": self.topic.arn})
