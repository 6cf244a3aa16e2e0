"""An EventBridge rule delivering to a Lambda, with retries and an alarmed, encrypted dead-letter queue.

EventBridge delivers at least once and gives up after its retry policy; what it gives up on lands
in the dead-letter queue, and the alarm says so, so no event is lost silently.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.dead_letters import dead_letter_queue


@dataclass
class EventRouteArgs:
    event_pattern: Mapping[str, Any]
    function_arn: pulumi.Input[str]
    function_name: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    event_bus_name: Optional[pulumi.Input[str]] = None
    """None: the account's default bus (where AWS services put their events)."""
    description: str = ""
    maximum_retry_attempts: int = 8
    maximum_event_age_seconds: int = 3600
    alarm_actions: Sequence[pulumi.Input[str]] = ()
    tags: Mapping[str, str] = field(default_factory=dict)


class EventRoute(pulumi.ComponentResource):
    def __init__(self, name: str, args: EventRouteArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlgov:event_route:EventRoute", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        self.rule = aws.cloudwatch.EventRule(
            f"{name}-rule",
            name=name,
            description=args.description,
            event_bus_name=args.event_bus_name,
            event_pattern=json.dumps(args.event_pattern, sort_keys=True),
            tags=tags,
            opts=child,
        )
        self.dead_letter_queue = dead_letter_queue(
            f"{name}-dlq", args.kms_key_arn, [self.rule.arn], tags, child,
            queue_name=f"{name}-dlq", alarm_actions=args.alarm_actions,
        )
        aws.lambda_.Permission(
            f"{name}-invoke",
            action="lambda:InvokeFunction",
            function=args.function_name,
            principal="events.amazonaws.com",
            source_arn=self.rule.arn,
            opts=child,
        )
        self.target = aws.cloudwatch.EventTarget(
            f"{name}-target",
            rule=self.rule.name,
            event_bus_name=args.event_bus_name,
            arn=args.function_arn,
            retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(
                maximum_retry_attempts=args.maximum_retry_attempts,
                maximum_event_age_in_seconds=args.maximum_event_age_seconds,
            ),
            dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(arn=self.dead_letter_queue.arn),
            opts=child,
        )
        self.register_outputs({"rule_arn": self.rule.arn, "dead_letter_queue_arn": self.dead_letter_queue.arn})
