"""What a member stack reads from the hub, and the checks a deployment must pass against it.

Member stacks never copy the hub's ARNs into their config: they read them through
`pulumi.StackReference` (DESIGN.md). The hub's group list is therefore only known from its outputs,
so "is this group onboarded?" is answered here, as a `ConfigError` naming the deployment.
"""
from dataclasses import dataclass
from typing import Any, Mapping

import pulumi

from components.errors import ConfigError

OUTPUT_NAMES = {
    "group_arns": "groupArns",
    "group_use_cases": "groupUseCases",
    "use_case_risk_tiers": "useCaseRiskTiers",
    "register_share_arns": "registerShareArns",
    "deploy_share_arns": "deployShareArns",
    "bus_arn": "busArn",
    "key_arn": "keyArn",
    "bucket_name": "bucketName",
    "shared_account_id": "sharedAccountId",
    "region": "region",
}


@dataclass
class HubOutputs:
    """The hub's stack outputs a member stack uses (see `CentralRegistry.exports()`)."""

    group_arns: pulumi.Input[Mapping[str, str]]
    group_use_cases: pulumi.Input[Mapping[str, str]]
    use_case_risk_tiers: pulumi.Input[Mapping[str, str]]
    register_share_arns: pulumi.Input[Mapping[str, str]]
    deploy_share_arns: pulumi.Input[Mapping[str, str]]
    bus_arn: pulumi.Input[str]
    key_arn: pulumi.Input[str]
    bucket_name: pulumi.Input[str]
    shared_account_id: pulumi.Input[str]
    region: pulumi.Input[str]

    @classmethod
    def from_stack(cls, reference: pulumi.StackReference) -> "HubOutputs":
        """Every output is required: a hub that does not export one is an older hub, and the error says which."""
        return cls(**{field: reference.require_output(output) for field, output in OUTPUT_NAMES.items()})

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> "HubOutputs":
        """From plain stack-output values (tests, or the hub's offline plan)."""
        return cls(**{field: values[output] for field, output in OUTPUT_NAMES.items()})


def model_package_arn(region: str, account: str, group: str, version: int, partition: str = "aws") -> str:
    """The ARN of version `version` of a hub group; SageMaker writes resource names in ARNs in lower case."""
    return f"arn:{partition}:sagemaker:{region}:{account}:model-package/{group.lower()}/{version}"


def check_deployment(use_case: str, group: str, version: int, group_arns: Mapping[str, str], group_use_cases: Mapping[str, str]) -> None:
    """Refuse a deployment of a group the hub has not onboarded, or under another use case than the hub's."""
    where = f"mlgov:deployments[{group} v{version}]"
    if group not in group_arns:
        onboarded = ", ".join(sorted(group_arns)) or "none"
        raise ConfigError(
            f"{where}.group: {group!r} is not onboarded in the hub; onboarded groups: {onboarded} "
            "(onboard it under mlgov:useCases in the shared stack first)"
        )
    expected = group_use_cases.get(group)
    if expected is not None and expected != use_case:
        raise ConfigError(
            f"{where}.useCase: {use_case!r} does not match the hub, where group {group!r} belongs to use case {expected!r}"
        )
