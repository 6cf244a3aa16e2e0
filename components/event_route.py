"""An EventBridge rule (an event pattern or a schedule) delivering to a Lambda, with retries and an alarmed, encrypted dead-letter queue.

EventBridge delivers at least once and gives up after its retry policy; what it gives up on lands
in the dead-letter queue, and the alarm says so, so no event is lost silently.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.args import ComponentArgs
from components.dead_letters import dead_letter_queue


@dataclass
class EventRouteArgs(ComponentArgs):
    function_arn: pulumi.Input[str]
    function_name: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    """Encrypts the dead-letter queue."""
    event_pattern: Optional[Mapping[str, Any]] = None
    """The events that trigger the function; give this or `schedule_expression`."""
    schedule_expression: Optional[str] = None
    """`rate(15 minutes)` or `cron(...)`: the function runs on a schedule (default bus only)."""
    event_bus_name: Optional[pulumi.Input[str]] = None
    """None: the account's default bus (where AWS services put their events)."""
    rule_name: Optional[str] = None
    """Physical rule name (also names the dead-letter queue); None lets Pulumi name it."""
    description: str = ""
    dead_letter_queue: Optional[aws.sqs.Queue] = None
    """A queue shared with other routes and the function (its policy is then the owner's); None creates one."""
    maximum_retry_attempts: int = 8
    maximum_event_age_seconds: int = 3600
    alarm_actions: Sequence[pulumi.Input[str]] = ()
    aliases: Mapping[str, Sequence[pulumi.Input[Any]]] = field(default_factory=dict)
    """Earlier URNs or `pulumi.Alias`es of the parts (`rule`, `invoke`, `target`) so they are kept."""


class EventRoute(pulumi.ComponentResource):
    rule: aws.cloudwatch.EventRule
    dead_letter_queue: aws.sqs.Queue

    def __init__(self, name: str, args: EventRouteArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlgov:event_route:EventRoute", name, None, opts)
        if (args.event_pattern is None) == (args.schedule_expression is None):
            raise ValueError(f"{name}: an event route has an event pattern or a schedule, exactly one")
        tags = dict(args.tags)

        def part(key: str) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, aliases=list(args.aliases.get(key, ())) or None)

        self.rule = aws.cloudwatch.EventRule(
            name,
            name=args.rule_name,
            description=args.description,
            event_bus_name=args.event_bus_name,
            event_pattern=json.dumps(args.event_pattern, sort_keys=True) if args.event_pattern is not None else None,
            schedule_expression=args.schedule_expression,
            tags=tags,
            opts=part("rule"),
        )
        self.dead_letter_queue = args.dead_letter_queue or dead_letter_queue(
            f"{name}-dlq", args.kms_key_arn, [self.rule.arn], tags, pulumi.ResourceOptions(parent=self),
            queue_name=f"{args.rule_name}-dlq" if args.rule_name else None, alarm_actions=args.alarm_actions,
        )
        aws.lambda_.Permission(
            f"{name}-invoke",
            action="lambda:InvokeFunction",
            function=args.function_name,
            principal="events.amazonaws.com",
            source_arn=self.rule.arn,
            opts=part("invoke"),
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
            opts=part("target"),
        )
        self.register_outputs({"rule_arn": self.rule.arn, "dead_letter_queue_arn": self.dead_letter_queue.arn})
