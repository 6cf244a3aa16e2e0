"""The hub: everything the shared-services account owns, composed of named parts.

The `RegistryKey`, the artifact `SecureBucket`, one `SharedModelGroup` per model, the
`GovernanceTable` with the use cases' `CONFIG` items, the governance event bus, and the
`GovernanceHandlers` with their API. Defaults are the secure choice; the arguments that differ
between organizations can be overridden.

Evidence outlives config edits: the key, the buckets, the image repository and the table are protected
(`pulumi up` refuses to delete them), and a use case removed from config leaves its groups, shares and
`CONFIG` items in AWS (`retain_on_delete`); the `HUB/CONFIG` item, rewritten on every update, no longer lists
it, which is how the runtime knows it was offboarded.
"""
import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.access_log_bucket import AccessLogBucket, AccessLogBucketArgs
from components.args import ComponentArgs
from components.function import POWERTOOLS_LAYER_VERSION
from components.audit_checkpoints import AuditCheckpoints, AuditCheckpointsArgs
from components.governance_handlers import SIGNERS, GovernanceHandlers, GovernanceHandlersArgs, endpoint_services
from components.governance_table import GovernanceTable, GovernanceTableArgs
from components.image_repository import ImageRepository, ImageRepositoryArgs
from components.mlflow_offer import artifact_prefix
from components.moves import renamed
from components.policy_documents import account_roots, document, statement
from components.private_network import NetworkArgs, PrivateNetwork
from components.registry_key import RegistryKey, RegistryKeyArgs
from components.signing_key import SigningKey, SigningKeyArgs
from components.secure_bucket import BucketGrant, SecureBucket, SecureBucketArgs
from components.shared_model_group import SharedModelGroup, SharedModelGroupArgs
from governance import schema
from governance.contract import MODELS_PREFIX, REFERENCES_PREFIX, capture_prefix, ecr_repository_uri, hub_bucket_name, hub_image_repository_name, models_prefix

TYPE = "mlgov:index:CentralRegistry"
PREVIOUS_TYPE = "mlgov:central_registry:CentralRegistry"


@dataclass
class CentralRegistryArgs(ComponentArgs):
    organization_id: str
    shared_account: str
    dev_accounts: Sequence[str]
    test_accounts: Sequence[str]
    prod_accounts: Sequence[str]
    groups: Sequence[SharedModelGroupArgs]
    """One per model; the accounts are filled in from the ones above."""
    config_items: Sequence[Sequence[Any]]
    """The governance table's `CONFIG` items as `[pk, sk, item]`, one per use case and one per group."""
    region: str
    partition: Optional[str] = "aws"
    bus_name: Optional[str] = "mlgov-governance"
    table_name: Optional[str] = "mlgov-governance"
    key_deletion_window_days: Optional[int] = 30
    table_deletion_protection: Optional[bool] = True
    bucket_force_destroy: Optional[bool] = False
    approvers: Optional[Mapping[str, Sequence[str]]] = field(default_factory=dict)
    """Principals allowed to decide, by stage (`development`, `test`, `production`) and `officers`."""
    log_retention_days: Optional[int] = 365
    powertools_layer_version: Optional[int] = POWERTOOLS_LAYER_VERSION
    alarm_actions: Optional[Sequence[str]] = ()
    lambda_concurrency: Optional[Mapping[str, int]] = None
    """Reserved executions by handler (`sync`, `api`, `metrics`); the others keep their defaults."""
    access_log_retention_days: Optional[int] = 365
    """Days the artifact bucket's S3 server access logs are kept."""
    network: Optional[NetworkArgs] = None
    """Private subnets for the handlers, with the VPC endpoints they need; None: Lambda's own network."""
    protect_data: Optional[bool] = True
    """`pulumi up` refuses to delete the key, the buckets and the image repository (Pulumi `protect`; the table follows
    `table_deletion_protection`); False only for a stack meant to be destroyed."""
    retain_removed_use_cases: Optional[bool] = True
    """A use case removed from config keeps its groups, shares and `CONFIG` items in AWS (`retain_on_delete`)."""
    audit_retention_days: Optional[int] = 2557
    """Days each audit checkpoint is kept under S3 Object Lock in COMPLIANCE mode (default 7 years)."""
    validators: Optional[Mapping[str, Sequence[str]]] = None
    """Principals who may record validation metrics, by stage; nobody when unset."""
    max_event_skew_seconds: Optional[int] = None
    """How far in the future an event's timestamps may be before it is refused (default 300)."""

    @property
    def stage_accounts(self) -> tuple[str, ...]:
        return (*self.test_accounts, *self.prod_accounts)

    @property
    def member_accounts(self) -> tuple[str, ...]:
        return (*self.dev_accounts, *self.stage_accounts)


class CentralRegistry(pulumi.ComponentResource):
    """The hub. Its outputs are the shared stack's outputs (`exports()`), which member stacks read."""

    group_arns: pulumi.Output[dict[str, str]]
    table_name: pulumi.Output[str]
    table_arn: pulumi.Output[str]
    bus_arn: pulumi.Output[str]
    bus_name: pulumi.Output[str]
    key_arn: pulumi.Output[str]
    bucket_name: pulumi.Output[str]
    shared_account_id: pulumi.Output[str]
    region: pulumi.Output[str]
    governance_api_endpoint: pulumi.Output[str]
    group_use_cases: pulumi.Output[dict[str, str]]
    """Which use case each group belongs to: member stacks check deployments against it."""
    use_case_risk_tiers: pulumi.Output[dict[str, str]]
    """Each use case's risk tier: member stacks force data capture on for high risk."""
    register_share_arns: pulumi.Output[dict[str, str]]
    """The RAM shares dev accounts accept, by group."""
    deploy_share_arns: pulumi.Output[dict[str, str]]
    """The RAM shares test and prod accounts accept, by group."""
    image_repository_url: pulumi.Output[str]
    """The hub's ECR repository of custom inference images."""

    def __init__(self, name: str, args: CentralRegistryArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(TYPE, name, None, renamed(TYPE, PREVIOUS_TYPE, opts))
        self._args = args
        tags = {"mlgov:component": "central-registry", **args.tags}
        child = pulumi.ResourceOptions(parent=self)
        kept = pulumi.ResourceOptions(parent=self, protect=args.protect_data is not False)
        self._retain = args.retain_removed_use_cases is not False
        bus_arn = f"arn:{args.partition}:events:{args.region}:{args.shared_account}:event-bus/{args.bus_name}"
        bucket_name = hub_bucket_name(name, args.shared_account, args.region)

        self.key = RegistryKey(f"{name}-key", RegistryKeyArgs(
            alias=name, shared_account=args.shared_account, dev_accounts=args.dev_accounts, stage_accounts=args.stage_accounts,
            region=args.region, bucket_name=bucket_name, bus_arn=bus_arn, partition=args.partition,
            deletion_window_days=args.key_deletion_window_days, tags=tags, moved_from_parent=True,
        ), opts=kept).key
        self.access_logs = AccessLogBucket(f"{name}-access-logs", AccessLogBucketArgs(
            bucket_name=f"{name}-access-logs-{args.shared_account}-{args.region}", account_id=args.shared_account,
            source_bucket_names=[bucket_name, checkpoint_bucket_name(name, args.shared_account, args.region)], partition=args.partition, retention_days=args.access_log_retention_days,
            force_destroy=args.bucket_force_destroy, tags=tags,
        ), opts=kept)
        self.bucket = SecureBucket(f"{name}-artifacts", SecureBucketArgs(
            bucket_name=bucket_name, kms_key_arn=self.key.arn, grants=bucket_grants(args), force_destroy=args.bucket_force_destroy,
            tags=tags, moved_from_parent=True,
        ), opts=kept).bucket
        self.access_logs.log(f"{name}-artifacts", self.bucket.id, parent=self.bucket)
        self.table = GovernanceTable(
            f"{name}-governance",
            GovernanceTableArgs(kms_key_arn=self.key.arn, table_name=args.table_name, deletion_protection=args.table_deletion_protection, tags=tags),
            opts=child,
        )
        self.groups: dict[str, SharedModelGroup] = {
            g.group_name: SharedModelGroup(g.group_name, dataclasses.replace(
                g, register_accounts=args.dev_accounts, deploy_accounts=args.stage_accounts, partition=args.partition, tags={**tags, **g.tags},
                retain_on_delete=self._retain and g.retain_on_delete is not False,
            ), opts=child)
            for g in args.groups
        }
        for pk, sk, item in args.config_items:
            self._config_item(pk, item)
        self.images = ImageRepository(f"{name}-images", ImageRepositoryArgs(
            repository_name=hub_image_repository_name(name), kms_key_arn=self.key.arn, organization_id=args.organization_id,
            push_accounts=args.dev_accounts, pull_accounts=args.stage_accounts, partition=args.partition, tags=tags,
        ), opts=kept)
        self._config_item(schema.HUB_PK, schema.hub_config_item(
            use_case_ids={g.use_case_id for g in args.groups}, artifact_bucket=bucket_name,
            image_repository=ecr_repository_uri(args.shared_account, args.region, hub_image_repository_name(name)),
        ), name=f"{name}-hub-config")

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
        self.signing_key, self.checkpoints = self._tamper_evidence(name, args, tags)
        self.handlers = GovernanceHandlers(f"{name}-handlers", GovernanceHandlersArgs(
            prefix=name, account_id=args.shared_account, region=args.region, table_name=self.table.name, table_arn=self.table.arn,
            bus_name=self.bus.name, bus_arn=self.bus.arn, kms_key_arn=self.key.arn, groups=list(self.groups),
            stage_accounts=args.stage_accounts, organization_id=args.organization_id, approvers=args.approvers, partition=args.partition,
            log_retention_days=args.log_retention_days, powertools_layer_version=args.powertools_layer_version,
            alarm_actions=args.alarm_actions, tags=tags, moved_from_parent=True,
            reserved_concurrency=args.lambda_concurrency, network=self.network.placement if self.network is not None else None,
            signing_key_arn=self.signing_key.arn, checkpoint_bucket_arn=self.checkpoints.bucket_arn,
            checkpoint_bucket_name=self.checkpoints.bucket_name,
            validators=args.validators, max_event_skew_seconds=args.max_event_skew_seconds,
            accounts_by_stage={"test": list(args.test_accounts), "production": list(args.prod_accounts)},
        ), opts=child)
        self.functions = self.handlers.functions
        self.api = self.handlers.api
        self.group_arns = self._by_group(lambda c: c.group.arn)
        self.table_name, self.table_arn = self.table.name, self.table.arn
        self.bus_arn, self.bus_name = self.bus.arn, self.bus.name
        self.key_arn, self.bucket_name = self.key.arn, self.bucket.bucket
        self.shared_account_id, self.region = args.shared_account, args.region
        self.governance_api_endpoint = self.api.url
        self.group_use_cases = {g.group_name: g.use_case_id for g in args.groups}
        self.use_case_risk_tiers = {g.use_case_id: g.risk_tier for g in args.groups}
        self.register_share_arns = self._by_group(lambda c: c.register_share.arn)
        self.deploy_share_arns = self._by_group(lambda c: c.deploy_share.arn)
        self.image_repository_url = self.images.repository_url
        self.register_outputs(self.exports())

    def _tamper_evidence(self, name: str, args: CentralRegistryArgs, tags: Mapping[str, str]) -> tuple[SigningKey, AuditCheckpoints]:
        """The audit signing key (signed by the writing handlers) and the checkpoints kept outside the table."""
        role = lambda fn: f"arn:{args.partition}:iam::{args.shared_account}:role/{name}-{fn}-role"  # noqa: E731
        key = SigningKey(f"{name}-audit-signing", SigningKeyArgs(
            alias=f"{name}-audit-signing", account_id=args.shared_account, signer_role_arns=[role(h) for h in SIGNERS],
            verifier_role_arns=[role("checkpoint")], partition=args.partition, deletion_window_days=args.key_deletion_window_days,
            tags=tags), opts=pulumi.ResourceOptions(parent=self))
        checkpoints = AuditCheckpoints(f"{name}-audit-checkpoints", AuditCheckpointsArgs(
            prefix=name, bucket_name=checkpoint_bucket_name(name, args.shared_account, args.region), account_id=args.shared_account,
            region=args.region, kms_key_arn=self.key.arn, table_name=self.table.name, table_arn=self.table.arn,
            stream_arn=self.table.stream_arn, signing_key_arn=key.arn, retention_days=args.audit_retention_days or 2557,
            partition=args.partition or "aws", log_retention_days=args.log_retention_days or 365,
            powertools_layer_version=args.powertools_layer_version or POWERTOOLS_LAYER_VERSION,
            alarm_actions=list(args.alarm_actions or ()), tags=tags,
            network=self.network.placement if self.network is not None else None,
        ), opts=pulumi.ResourceOptions(parent=self))
        self.access_logs.log(f"{name}-audit-checkpoints", checkpoints.bucket.id, parent=checkpoints.bucket)
        return key, checkpoints

    def _by_group(self, output: Callable[[SharedModelGroup], pulumi.Output[str]]) -> pulumi.Output[dict[str, str]]:
        return pulumi.Output.all(**{g: output(c) for g, c in self.groups.items()}) if self.groups else pulumi.Output.from_input({})

    def _config_item(self, pk: str, item: Mapping[str, Any], name: Optional[str] = None) -> aws.dynamodb.TableItem:
        """A use case's item (`usecase-<id>-config`), or a group's (`<group>-config`), shown under the group it configures;
        kept in the table when it leaves the stack, as the evidence it is."""
        group = item.get(schema.MODEL_GROUP)
        if name is not None:
            parent: pulumi.Resource = self
        elif group is not None and pk == schema.group_pk(group) and group in self.groups:
            name, parent = f"{group}-config", self.groups[group]
        else:
            name, parent = f"usecase-{item[schema.USE_CASE_ID]}-config", self
        return aws.dynamodb.TableItem(
            name,
            table_name=self.table.name,
            hash_key=schema.PK,
            range_key=schema.SK,
            item=schema.to_item_json(item),
            opts=pulumi.ResourceOptions(parent=parent, retain_on_delete=self._retain),
        )

    def exports(self) -> dict[str, pulumi.Input]:
        """What member stacks read through `StackReference`: every output, named in camelCase as stack outputs are."""
        return {re.sub(r"_(\w)", lambda m: m.group(1).upper(), name): getattr(self, name) for name in CentralRegistry.__annotations__}


def checkpoint_bucket_name(registry_name: str, shared_account: str, region: str) -> str:
    return f"{registry_name}-audit-{shared_account}-{region}"


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
    for account in a.stage_accounts:
        roots, prefix = account_roots([account], a.partition), capture_prefix(account)
        grants += [
            BucketGrant(f"Stage{account}WritesItsCapture", ["s3:PutObject"], roots, objects=f"{prefix}*"),
            BucketGrant(f"Stage{account}ReadsItsCapture", ["s3:GetObject"], roots, objects=f"{prefix}*"),
            BucketGrant(f"Stage{account}ListsItsCapture", ["s3:ListBucket"], roots, conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}}),
        ]
    stage_roots = account_roots(a.stage_accounts, a.partition)
    return grants + [
        BucketGrant("StageAccountsReadModels", ["s3:GetObject"], stage_roots, objects=f"{MODELS_PREFIX}*"),
        BucketGrant("StageAccountsListModels", ["s3:ListBucket"], stage_roots, conditions={"StringLike": {"s3:prefix": [f"{MODELS_PREFIX}*"]}}),
        # Drift references: the test accounts' reporters publish them, every stage account's reporter reads them.
        BucketGrant("TestAccountsPublishDriftReferences", ["s3:PutObject"], account_roots(a.test_accounts, a.partition),
                    objects=f"{REFERENCES_PREFIX}*"),
        BucketGrant("StageAccountsReadDriftReferences", ["s3:GetObject"], stage_roots, objects=f"{REFERENCES_PREFIX}*"),
    ]
