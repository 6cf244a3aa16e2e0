"""The dead-letter queue every asynchronous path of mlgov ends in: encrypted, kept 14 days, alarmed.

EventBridge targets and Lambda async invocations deliver at least once and then give up; what they
give up on lands here, and the alarm fires on the first message, so nothing is lost silently.
"""
from __future__ import annotations

from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.policy_documents import document, statement

RETENTION_SECONDS = 14 * 24 * 3600


def dead_letter_queue(
    name: str,
    key_arn: pulumi.Input[str],
    rule_arns: Sequence[pulumi.Input[str]],
    tags: Mapping[str, str],
    opts: pulumi.ResourceOptions,
    *,
    queue_name: Optional[str] = None,
    alarm_actions: Sequence[pulumi.Input[str]] = (),
) -> aws.sqs.Queue:
    """A KMS-encrypted queue for what EventBridge (from `rule_arns`, the only senders it admits) or a Lambda could not deliver."""
    queue = aws.sqs.Queue(name, name=queue_name, kms_master_key_id=key_arn, message_retention_seconds=RETENTION_SECONDS,
                          tags=dict(tags), opts=opts)
    if rule_arns:
        admit_event_rules(f"{name}-policy", queue, rule_arns)
    aws.cloudwatch.MetricAlarm(
        f"{name}-alarm",
        alarm_description=f"{name}: events could not be delivered after retries and wait in the dead-letter queue",
        namespace="AWS/SQS", metric_name="ApproximateNumberOfMessagesVisible",
        dimensions={"QueueName": queue.name}, statistic="Maximum", period=300, evaluation_periods=1,
        threshold=1, comparison_operator="GreaterThanOrEqualToThreshold", treat_missing_data="notBreaching",
        alarm_actions=list(alarm_actions), tags=dict(tags), opts=pulumi.ResourceOptions(parent=queue),
    )
    return queue


def admit_event_rules(name: str, queue: aws.sqs.Queue, rule_arns: Sequence[pulumi.Input[str]]) -> aws.sqs.QueuePolicy:
    """The queue policy letting EventBridge put what `rule_arns` (and no other rule) could not deliver."""
    return aws.sqs.QueuePolicy(
        name,
        queue_url=queue.url,
        policy=document([statement(
            "EventBridgeDeadLetters", ["sqs:SendMessage"], queue.arn,
            principals={"Service": "events.amazonaws.com"},
            conditions={"ArnEquals": {"aws:SourceArn": list(rule_arns)}},
        )]),
        opts=pulumi.ResourceOptions(parent=queue),
    )
