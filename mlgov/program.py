"""The one Pulumi program of every stack: read and validate the config, compose for the account role."""
from __future__ import annotations

import json
from contextvars import ContextVar
from typing import Any, Callable, Mapping, Optional, Sequence

import pulumi
from pulumi.runtime import config as runtime_config

from mlgov.config import NAMESPACE, AccountRole, ConfigError, StackConfig, parse

RegistryReader = Callable[[Sequence[str], str], Mapping[str, Optional[Mapping[str, Any]]]]
"""(model package ARNs, the registry's region) → each ARN's `DescribeModelPackage` answer, None where there is no such version."""
REGISTRY: ContextVar[Optional[RegistryReader]] = ContextVar("mlgov_registry", default=None)
"""The registry the gate reads; unset: the hub's, through boto3 (the offline engine sets its own)."""


def _decode(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def namespace_config(values: Mapping[str, Any], namespace: str = NAMESPACE) -> dict[str, Any]:
    """The keys of one config namespace without their prefix, object values decoded from JSON."""
    prefix = f"{namespace}:"
    return {k[len(prefix):]: _decode(v) for k, v in values.items() if k.startswith(prefix)}


def engine_config() -> dict[str, Any]:
    """Every config key the engine passed to this program (process environment and runtime store)."""
    return {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}


def load_config() -> StackConfig:
    return parse(namespace_config(engine_config()))


def region() -> str:
    value = pulumi.Config("aws").get("region")
    if not value:
        raise ConfigError("aws:region: required key is missing; set it with `pulumi config set aws:region eu-west-1`")
    return value


def describe_packages(arns: Sequence[str], region: str) -> dict[str, Optional[Mapping[str, Any]]]:
    """The hub's model packages through the RAM deploy share, with this stack's AWS credentials (`aws:profile` if set).

    The AWS-managed deploy permission grants `DescribeModelPackage` on the shared group's versions
    (https://docs.aws.amazon.com/sagemaker/latest/dg/model-registry-ram.html); the deploying identity needs it in IAM too.
    """
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    client = boto3.session.Session(profile_name=pulumi.Config("aws").get("profile") or None, region_name=region).client("sagemaker")
    out: dict[str, Optional[Mapping[str, Any]]] = {}
    for arn in arns:
        try:
            out[arn] = client.describe_model_package(ModelPackageName=arn)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if error.get("Code") in ("ValidationException", "ResourceNotFound") and "not" in str(error.get("Message", "")).lower():
                out[arn] = None
                continue
            raise ConfigError(f"the promotion gate cannot read {arn} from the hub registry: {error.get('Code')}: "
                              f"{error.get('Message')} (this stack's credentials need sagemaker:DescribeModelPackage on it)") from None
        except BotoCoreError as exc:
            raise ConfigError(f"the promotion gate cannot reach the hub registry in {region}: {exc}") from None
    return out


READ_STACK_OUTPUTS = "pulumi:pulumi:readStackOutputs"
"""The engine's built-in invoke that `pulumi.StackReference` is made of, answered during preview as during up."""


def hub_stack_outputs(stack: str) -> Mapping[str, Any]:
    """The hub stack's outputs, read before the program declares anything (an invoke returns its value at once)."""
    result = pulumi.runtime.invoke(READ_STACK_OUTPUTS, {"name": stack})
    return dict((result.value or {}).get("outputs") or {})


def enforce_gate(config: StackConfig, stack_region: str, hub: Mapping[str, Any]) -> list[Any]:
    """Refuse the stack unless the registry shows every pinned version approved for its stage (`mlgov.gate_check`).

    Runs before anything is declared: one `ConfigError` names each refused version with its use case, group,
    stage and what the registry says.
    """
    from components.hub_outputs import check_deployment, model_package_arn
    from mlgov.gate_check import deploy_stage, hub_region_refusal, message, pins_of, refusal, view_of_package

    for d in config.deployments:
        check_deployment(d.use_case, d.group, d.version, hub["groupArns"], hub["groupUseCases"])
    wrong_region = hub_region_refusal(stack_region, hub["region"])
    if wrong_region:
        raise ConfigError(wrong_region)
    role = config.account_role.value
    pins = pins_of(config.deployments)
    arns = {pin: model_package_arn(hub["region"], hub["sharedAccountId"], pin.group, pin.version) for pin in pins}
    described = (REGISTRY.get() or describe_packages)(sorted(set(arns.values())), hub["region"])
    problems = []
    for pin in pins:
        answer = described.get(arns[pin])
        reason = refusal(deploy_stage(role), view_of_package(answer) if answer is not None else None)
        if reason is not None:
            problems.append(message(role, pin, reason if answer is not None else f"{reason} ({arns[pin]})"))
    if problems:
        raise ConfigError("the promotion gate refuses this stack; nothing is declared:\n  " + "\n  ".join(problems))
    return []


def build(config: StackConfig) -> dict[str, Any]:
    """Declare the stack's resources; returns the stack outputs."""
    if config.account_role is AccountRole.shared:
        from components.central_registry import CentralRegistry
        from mlgov.compose import notifications, registry_args

        args = registry_args(config, region())
        registry = CentralRegistry("mlgov", args)
        notifications(config, name="mlgov-alarms", account_id=args.shared_account, region=args.region, key_arn=registry.key_arn)
        return registry.exports()
    return build_member(config)


def build_member(config: StackConfig) -> dict[str, Any]:
    """A dev, test or prod account: `MemberAccount`, plus one `StageDeployment` per pinned version on test/prod
    and `ExperimentTracking` on dev when `mlgov:experimentation` is set.

    Everything the member needs from the hub comes through the `mlgov:hubStack` StackReference.
    """
    from components.hub_outputs import HubOutputs
    from components.member_account import MemberAccount, MemberAccountArgs
    from components.stage_deployment import StageDeployment
    from mlgov.compose import alarm_actions, member_network_args, notifications, stage_deployment_args

    role = config.account_role.value
    accounts = config.organization.accounts.of(role)
    account_id = accounts[0]
    if len(accounts) > 1:
        raise ConfigError(
            f"mlgov:organization.accounts.{role}: one stack deploys into one account; this stack's config lists "
            f"{len(accounts)} ({', '.join(accounts)}) — give each {role} account its own stack"
        )
    aws_region = region()
    if config.deployments:
        enforce_gate(config, aws_region, hub_stack_outputs(config.hub_stack))
    hub = HubOutputs.from_stack(pulumi.StackReference(config.hub_stack))
    member = MemberAccount(
        f"mlgov-{role}",
        MemberAccountArgs(
            account_id=account_id,
            role=role,
            region=aws_region,
            hub=hub,
            auto_accept_ram_shares=config.organization.auto_accept_ram_shares,
            network=member_network_args(config, aws_region),
            alarm_actions=alarm_actions(account_id, aws_region),
        ),
    )
    notifications(config, name=f"mlgov-{role}-alarms", account_id=account_id, region=aws_region, key_arn=member.key.arn)
    tracking = None
    if config.experimentation is not None and member.data_scientist_role is not None:
        from components.experimentation import ExperimentTracking
        from mlgov.compose import experiment_tracking_args

        tracking = ExperimentTracking(
            f"mlgov-{role}-mlflow",
            experiment_tracking_args(
                config.experimentation, account_id=account_id, hub=hub, data_scientist_role_name=member.data_scientist_role.name,
            ),
        )
    endpoints: dict[str, Any] = {}
    urls: dict[str, Any] = {}
    for deployment in config.deployments:
        # Named for the group, not the version: a new pinned version updates this deployment in place.
        stage = StageDeployment(
            deployment.group,
            stage_deployment_args(
                deployment,
                stage=role,
                account_id=account_id,
                region=aws_region,
                hub=hub,
                key_arn=member.key.arn,
                log_retention_days=config.log_retention_days,
                lambda_concurrency=dict(config.lambda_concurrency) or None,
                network=member.placement,
                alarm_actions=alarm_actions(account_id, aws_region),
            ),
        )
        endpoints[deployment.group] = stage.endpoint.name
        urls[deployment.group] = stage.api.url
    outputs: dict[str, Any] = {
        "accountRole": role,
        "accountId": account_id,
        "hubStack": config.hub_stack,
        "forwardRuleArn": member.forward_rule.arn,
        "deployments": [d.model_dump(by_alias=True, exclude_none=True) for d in config.deployments],
    }
    outputs["keyArn"] = member.key.arn
    if member.data_scientist_role is not None:
        outputs["dataScientistRoleArn"] = member.data_scientist_role.arn
    if tracking is not None:
        outputs["trackingServerArn"] = tracking.server.arn
    if config.deployments:
        outputs["endpoints"] = endpoints
        outputs["invokeUrls"] = urls
    return outputs


def main() -> dict[str, Any]:
    """Entry point for `__main__.py` and the offline engine: validate first, then declare."""
    outputs = build(load_config())
    for key, value in outputs.items():
        pulumi.export(key, value)
    return outputs
