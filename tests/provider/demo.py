"""A component shaped the way the SDK's component analyzer accepts, for the package tests.

It mirrors StageDeployment's interface: a dataclass of plain documented types, a nested dataclass for
the hub's outputs, `pulumi.Input` where a value may come from another resource, `Optional[...]` for
every argument with a default (the analyzer reads a dataclass default as required otherwise), and
class-level `pulumi.Output[...]` annotations for what the component returns.

No `from __future__ import annotations` here: the analyzer reads annotations without evaluating
strings, so a module with that import is refused outright.
"""
import enum
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

TYPE = "mlgov:index:DemoDeployment"
PREVIOUS_TYPE = "mlgov:demo:DemoDeployment"


class Stage(enum.Enum):
    """Where the demo runs."""

    TEST = "test"
    """The test account."""
    PROD = "prod"
    """The production account."""


@dataclass
class DemoHub:
    """The hub stack outputs the demo reads."""

    group_arns: pulumi.Input[Mapping[str, str]]
    """Model package group ARN by group name."""
    key_arn: pulumi.Input[str]
    """The hub's KMS key."""


@dataclass
class DemoVariant:
    """A second model version taking part of the traffic."""

    version: int
    """Model package version."""
    weight: int
    """Traffic share, percent."""


@dataclass
class DemoDeploymentArgs:
    group: str
    """Model package group."""
    version: int
    """Model package version served."""
    stage: Stage
    """Account role."""
    hub: DemoHub
    """What the hub exports."""
    key_arn: pulumi.Input[str]
    """This account's KMS key."""
    challenger: Optional[DemoVariant] = None
    """An A/B challenger, if any."""
    content_types: Optional[Sequence[str]] = ("application/json",)
    """Request content types the API accepts."""
    throttling_rate_limit: Optional[float] = 100.0
    """Requests per second."""
    capture: Optional[bool] = False
    """Capture every request and response."""
    alarm_actions: Optional[Sequence[pulumi.Input[str]]] = ()
    """SNS topics the alarms notify."""
    tags: Optional[Mapping[str, str]] = field(default_factory=dict)
    """Extra tags on every resource."""


class DemoDeployment(pulumi.ComponentResource):
    """One model version served behind a topic that tells the hub what was deployed."""

    endpoint_name: pulumi.Output[str]
    """The SageMaker endpoint's name."""
    topic_arn: pulumi.Output[str]
    """Where deployment events go."""
    variant_weights: pulumi.Output[Mapping[str, int]]
    """Traffic weight by variant."""

    def __init__(self, name: str, args: DemoDeploymentArgs, opts: Optional[pulumi.ResourceOptions] = None):
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=PREVIOUS_TYPE)]))
        super().__init__(TYPE, name, None, opts)
        weights = {f"v{args.version}": 100}
        if args.challenger:
            weights = {f"v{args.version}": 100 - args.challenger.weight, f"v{args.challenger.version}": args.challenger.weight}
        topic = aws.sns.Topic(
            f"{name}-events",
            kms_master_key_id=args.key_arn,
            tags={"mlgov:stage": args.stage.value, **(args.tags or {})},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.endpoint_name = pulumi.Output.from_input(f"mlgov-{args.stage.value}-{args.group}-v{args.version}")
        self.topic_arn = topic.arn
        self.variant_weights = pulumi.Output.from_input(weights)
        self.register_outputs({"endpoint_name": self.endpoint_name, "topic_arn": self.topic_arn, "variant_weights": self.variant_weights})

