"""The hub: everything the shared-services account owns, composed of named parts.

The `RegistryKey`, the artifact `SecureBucket`, one `SharedModelGroup` per model, the
`GovernanceTable` with the use cases' `CONFIG` items, the governance event bus, and the
`GovernanceHandlers` with their API. Defaults are the secure choice; the arguments that differ
between organizations can be overridden.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.access_log_bucket import AccessLogBucket, AccessLogBucketArgs
from components.args import ComponentArgs
from components.function import POWERTOOLS_LAYER_VERSION
from components.governance_handlers import GovernanceHandlers, GovernanceHandlersArgs, endpoint_services
from components.governance_table import GovernanceTable, GovernanceTableArgs
from components.mlflow_offer import artifact_prefix
from components.policy_documents import account_roots, document, statement
from components.private_network import NetworkArgs, PrivateNetwork
from components.registry_key import RegistryKey, RegistryKeyArgs
from components.secure_bucket import BucketGrant, SecureBucket, SecureBucketArgs
from components.shared_model_group import SharedModelGroup, SharedModelGroupArgs
from governance import schema
from governance.contract import MODELS_PREFIX, capture_prefix, models_prefix

@dataclass
class CentralRegistryArgs(ComponentArgs):
    organization_id: str
    shared_account: str
    dev_accounts: Sequence[str]
    test_accounts: Sequence[str]
    prod_accounts: Sequence[str]
    groups: Sequence[SharedModelGroupArgs]
    """One per model; the accounts are filled in from the ones above."""
    config_items: Sequence[tuple[str, str, Mapping[str, Any]]]
    """The governance table's `CONFIG` items as `(pk, sk, item)`, one per use case and one per group."""
    region: str
    partition: str = "aws"
    bus_name: str = "mlgov-governance"
    table_name: str = "mlgov-governance"
    key_deletion_window_days: int = 30
    table_deletion_protection: bool = True
    bucket_force_destroy: bool = False
    approvers: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Principals allowed to decide, by stage (`development`, `test`, `production`) and `officers`."""
    log_retention_days: int = 365
    powertools_layer_version: int = POWERTOOLS_LAYER_VERSION
    alarm_actions: Sequence[str] = ()
    lambda_concurrency: Optional[Mapping[str, int]] = None
    """Reserved executions by handler (`sync`, `api`, `metrics`); the others keep their defaults."""
    access_log_retention_days: Optional[int] = 365
    """Days the artifact bucket's S3 server access logs are kept."""
    network: Optional[NetworkArgs] = None
    """Private subnets for the handlers, with the VPC endpoints they need; None: Lambda's own network."""

    @property
    def stage_accounts(self) -> tuple[str, ...]:
        return (*self.test_accounts, *self.prod_accounts)

    @property
    def member_accounts(self) -> tuple[str, ...]:
        return (*self.dev_accounts, *self.stage_accounts)


class CentralRegistry(pulumi.ComponentResource):
    def __init__(self, name: str, args: CentralRegistryArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlgov:central_registry:CentralRegistry", name, None, opts)
        self._args = args
        tags = {"mlgov:component": "central-registry", **args.tags}
        child = pulumi.ResourceOptions(parent=self)
        bus_arn = f"arn:{args.partition}:events:{args.region}:{args.shared_account}:event-bus/{args.bus_name}"
        bucket_name = f"{name}-artifacts-{args.shared_account}-{args.region}"

        self.key = RegistryKey(f"{name}-key", RegistryKeyArgs(
            alias=name, shared_account=args.shared_account, dev_accounts=args.dev_accounts, stage_accounts=args.stage_accounts,
            region=args.region, bucket_name=bucket_name, bus_arn=bus_arn, partition=args.partition,
            deletion_window_days=args.key_deletion_window_days, tags=tags, moved_from_parent=True,
        ), opts=child).key
        self.access_logs = AccessLogBucket(f"{name}-access-logs", AccessLogBucketArgs(
            bucket_name=f"{name}-access-logs-{args.shared_account}-{args.region}", account_id=args.shared_account,
            source_bucket_names=[bucket_name], partition=args.partition, retention_days=args.access_log_retention_days,
            force_destroy=args.bucket_force_destroy, tags=tags,
        ), opts=child)
        self.bucket = SecureBucket(f"{name}-artifacts", SecureBucketArgs(
            bucket_name=bucket_name, kms_key_arn=self.key.arn, grants=bucket_grants(args), force_destroy=args.bucket_force_destroy,
            tags=tags, moved_from_parent=True,
        ), opts=child).bucket
        self.access_logs.log(f"{name}-artifacts", self.bucket.id, parent=self.bucket)
        self.table = GovernanceTable(
            f"{name}-governance",
            GovernanceTableArgs(kms_key_arn=self.key.arn, table_name=args.table_name, deletion_protection=args.table_deletion_protection, tags=tags),
            opts=child,
        )
        self.groups: dict[str, SharedModelGroup] = {
            g.group_name: SharedModelGroup(g.group_name, dataclasses.replace(
                g, register_accounts=args.dev_accounts, deploy_accounts=args.stage_accounts, partition=args.partition, tags={**tags, **g.tags},
            ), opts=child)
            for g in args.groups
        }
        for pk, sk, item in args.config_items:
            self._config_item(pk, item)

        self.bus = aws.cloudwatch.EventBus(
            f"{name}-bus",
            name=args.bus_name,
            description="mlgov: deployments and metrics reported by member accounts",
            kms_key_identifier=self.key.arn,
            tags=tags,
            opts=child,
        )
        aws.cloudwatch.EventBusPolicy(
            f"{name}-bus-policy",
            event_bus_name=self.bus.name,
            policy=document([
                statement(
                    "OrganizationMembersPutEvents",
                    ["events:PutEvents"],
                    self.bus.arn,
                    principals={"AWS": account_roots(args.member_accounts, args.partition)},
                    conditions={"StringEquals": {"aws:PrincipalOrgID": args.organization_id}},
                )
            ]),
            opts=child,
        )
        self.network = PrivateNetwork(f"{name}-network", dataclasses.replace(
            args.network, services=endpoint_services(), tags={**tags, **args.network.tags},
        ), opts=child) if args.network is not None else None
        self.handlers = GovernanceHandlers(f"{name}-handlers", GovernanceHandlersArgs(
            prefix=name, account_id=args.shared_account, region=args.region, table_name=self.table.name, table_arn=self.table.arn,
            bus_name=self.bus.name, bus_arn=self.bus.arn, kms_key_arn=self.key.arn, groups=list(self.groups),
            stage_accounts=args.stage_accounts, approvers=args.approvers, partition=args.partition,
            log_retention_days=args.log_retention_days, powertools_layer_version=args.powertools_layer_version,
            alarm_actions=args.alarm_actions, tags=tags, moved_from_parent=True,
            reserved_concurrency=args.lambda_concurrency, network=self.network.placement if self.network is not None else None,
        ), opts=child)
        self.functions = self.handlers.functions
        self.api = self.handlers.api
        self.group_arns = pulumi.Output.all(**{g: c.group.arn for g, c in self.groups.items()}) if self.groups else pulumi.Output.from_input({})
        self.register_outputs(self.exports())

    def _config_item(self, pk: str, item: Mapping[str, Any]) -> aws.dynamodb.TableItem:
        """A use case's item (`usecase-<id>-config`), or a group's (`<group>-config`), shown under the group it configures."""
        group = item.get(schema.MODEL_GROUP)
        if group is not None and pk == schema.group_pk(group) and group in self.groups:
            name, parent = f"{group}-config", self.groups[group]
        else:
            name, parent = f"usecase-{item[schema.USE_CASE_ID]}-config", self
        return aws.dynamodb.TableItem(
            name,
            table_name=self.table.name,
            hash_key=schema.PK,
            range_key=schema.SK,
            item=schema.to_item_json(item),
            opts=pulumi.ResourceOptions(parent=parent),
        )

    def exports(self) -> dict[str, pulumi.Input]:
        """What member stacks read through `StackReference` (names are the stack output names)."""
        a = self._args
        return {
            "groupArns": self.group_arns,
            "tableName": self.table.name,
            "tableArn": self.table.arn,
            "busArn": self.bus.arn,
            "busName": self.bus.name,
            "keyArn": self.key.arn,
            "bucketName": self.bucket.bucket,
            "sharedAccountId": a.shared_account,
            "region": a.region,
            "governanceApiEndpoint": self.api.url,
            # Which use case and risk tier a group belongs to (member stacks check deployments against it and
            # force data capture on for high risk), and the RAM shares they accept.
            "groupUseCases": {g.group_name: g.use_case_id for g in a.groups},
            "useCaseRiskTiers": {g.use_case_id: g.risk_tier for g in a.groups},
            "registerShareArns": pulumi.Output.all(**{g: c.register_share.arn for g, c in self.groups.items()}) if self.groups else {},
            "deployShareArns": pulumi.Output.all(**{g: c.deploy_share.arn for g, c in self.groups.items()}) if self.groups else {},
        }


def bucket_grants(a: CentralRegistryArgs) -> list[BucketGrant]:
    """Dev accounts write and list their own `models/<account>/` prefix and read back only its MLflow part (the tracking
    server's UI, `mlflow.pyfunc.load_model`); stage accounts read every model and write their own capture."""
    grants: list[BucketGrant] = []
    for account in a.dev_accounts:
        roots, prefix = account_roots([account], a.partition), models_prefix(account)
        grants += [
            BucketGrant(f"Dev{account}WritesItsPrefix", ["s3:PutObject"], roots, objects=f"{prefix}*"),
            BucketGrant(f"Dev{account}ListsItsPrefix", ["s3:ListBucket"], roots, conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}}),
            BucketGrant(f"Dev{account}ReadsItsMlflowArtifacts", ["s3:GetObject"], roots, objects=f"{artifact_prefix(account)}*"),
        ]
    grants += [BucketGrant(f"Stage{account}WritesItsCapture", ["s3:PutObject"], account_roots([account], a.partition),
                           objects=f"{capture_prefix(account)}*") for account in a.stage_accounts]
    stage_roots = account_roots(a.stage_accounts, a.partition)
    return grants + [
        BucketGrant("StageAccountsReadModels", ["s3:GetObject"], stage_roots, objects=f"{MODELS_PREFIX}*"),
        BucketGrant("StageAccountsListModels", ["s3:ListBucket"], stage_roots, conditions={"StringLike": {"s3:prefix": [f"{MODELS_PREFIX}*"]}}),
    ]
