"""The validated stack config mapped to the components' plain arguments: the only place that knows both."""
from __future__ import annotations

from typing import Any, Optional, Sequence

import pulumi

from components.central_registry import CentralRegistryArgs
from components.experimentation import ExperimentTrackingArgs
from components.hub_outputs import HubOutputs
from components.notifications import Notifications, NotificationsArgs, Subscription, topic_arn
from components.private_network import NetworkArgs
from components.shared_model_group import SharedModelGroupArgs
from components.stage_deployment import ENDPOINT_SERVICES, StageDeploymentArgs, VariantSpec
from mlgov import catalog
from mlgov.config import Deployment, StackConfig
from mlgov.experimentation import Experimentation


def variants_of(deployment: Deployment) -> list[VariantSpec]:
    """The champion, then the challenger (A/B) or the shadow the deployment pins.

    Variants are named for their role, not their version: a blue/green rollout keeps the variant names
    (https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-exclusions.html), and the alarms and
    metrics of a role stay the same series across versions.
    """
    out = [VariantSpec("champion", deployment.version, "champion", deployment.weight)]
    if deployment.challenger:
        out.append(VariantSpec("challenger", deployment.challenger.version, "challenger", deployment.challenger.weight))
    if deployment.shadow:
        out.append(VariantSpec("shadow", deployment.shadow.version, "shadow", deployment.shadow.sampling_percentage))
    return out


def experiment_tracking_args(
    experimentation: Experimentation, *, account_id: str, hub: HubOutputs, data_scientist_role_name: pulumi.Input[str],
) -> ExperimentTrackingArgs:
    """The dev stack's tracking server: artifacts in the hub's bucket under the dev account's prefix, with the hub's key."""
    return ExperimentTrackingArgs(
        name="mlgov-dev",
        hub_bucket_name=hub.bucket_name,
        hub_key_arn=hub.key_arn,
        dev_account_id=account_id,
        data_scientist_role_name=data_scientist_role_name,
        size=experimentation.size,
        mlflow_version=experimentation.mlflow_version,
        maintenance_window=experimentation.maintenance_window,
    )


def stage_deployment_args(
    deployment: Deployment, *, stage: str, account_id: str, region: str, hub: HubOutputs, key_arn: pulumi.Input[str], **overrides: Any,
) -> StageDeploymentArgs:
    return StageDeploymentArgs(
        use_case=deployment.use_case,
        group=deployment.group,
        version=deployment.version,
        variants=variants_of(deployment),
        stage=stage,
        account_id=account_id,
        region=region,
        hub=hub,
        key_arn=key_arn,
        instance_type=deployment.instance_type,
        instance_count=deployment.instance_count,
        data_capture=deployment.data_capture,
        latency_alarm_ms=deployment.latency_alarm_ms,
        **overrides,
    )


def registry_args(config: StackConfig, region: str, **overrides: Any) -> CentralRegistryArgs:
    """The hub's `CentralRegistry` from the shared stack's config."""
    accounts = config.organization.accounts
    overrides.setdefault("approvers", catalog.approvers(config))
    overrides.setdefault("validators", catalog.validators(config))
    overrides.setdefault("max_event_skew_seconds", config.max_event_skew_seconds)
    overrides.setdefault("log_retention_days", config.log_retention_days)
    overrides.setdefault("lambda_concurrency", dict(config.lambda_concurrency) or None)
    overrides.setdefault("access_log_retention_days", config.access_log_retention_days)
    overrides.setdefault("audit_retention_days", config.audit_retention_days)
    overrides.setdefault("network", network_args(config, region))
    overrides.setdefault("alarm_actions", alarm_actions(accounts.shared, region))
    groups = [
        SharedModelGroupArgs(
            group_name=model.group,
            description=model.description,
            use_case_id=use_case.id,
            risk_tier=use_case.risk_tier.value,
            model_risk=use_case.model_risk(model).value,
            owner=use_case.owner,
            line_of_business=use_case.line_of_business,
            register_actions=permissions.register_.actions if (permissions := use_case.share_permissions).register_ else None,
            deploy_actions=permissions.deploy.actions if permissions.deploy else None,
        )
        for use_case in config.use_cases
        for model in use_case.models
    ]
    return CentralRegistryArgs(
        organization_id=config.organization.id,
        shared_account=accounts.shared,
        dev_accounts=accounts.dev,
        test_accounts=accounts.test,
        prod_accounts=accounts.prod,
        groups=groups,
        config_items=catalog.config_items(config),
        region=region,
        **overrides,
    )


def network_args(config: StackConfig, region: str, services: Sequence[str] = ()) -> Optional[NetworkArgs]:
    """`mlgov:network` as the private network of the stack's Lambdas; None without one."""
    network = config.network
    if network is None:
        return None
    return NetworkArgs(
        vpc_id=network.vpc_id, subnet_ids=list(network.subnet_ids), region=region, services=list(services),
        security_group_ids=list(network.security_group_ids) or None, route_table_ids=list(network.route_table_ids) or None,
        create_endpoints=network.create_endpoints,
    )


def member_network_args(config: StackConfig, region: str) -> Optional[NetworkArgs]:
    """A member account's private network: only where Lambdas run (stacks pinning deployments); dev runs none."""
    return network_args(config, region, ENDPOINT_SERVICES) if config.deployments else None


def alarm_actions(account_id: str, region: str) -> list[str]:
    """What every alarm of the account notifies: its alarm topic, named before the topic is declared."""
    return [topic_arn(account_id, region)]


def notifications(config: StackConfig, *, name: str, account_id: str, region: str, key_arn: pulumi.Input[str]) -> Notifications:
    """The account's alarm topic under its own key, subscribed as `mlgov:notifications` says."""
    return Notifications(name, NotificationsArgs(
        account_id=account_id, region=region, key_arn=key_arn,
        subscriptions=[Subscription(n.protocol, n.endpoint) for n in config.notifications],
    ))
