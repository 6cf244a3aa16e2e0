"""The hub: everything the shared-services account owns.

The KMS key, the artifact bucket, one `SharedModelGroup` per model of every use case, the use
case `CONFIG` items, the `GovernanceTable` and the governance event bus. Defaults are the secure
choice; the arguments that differ between organizations can be overridden.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.event_route import EventRoute, EventRouteArgs
from components.governance_function import GovernanceFunction, GovernanceFunctionArgs, powertools_layer_arn
from components.governance_table import GovernanceTable, GovernanceTableArgs
from components.http_api import IamHttpApi, IamHttpApiArgs, route_keys
from components.policy_documents import KMS_ADMIN_ACTIONS, KMS_USE_ACTIONS, LOGS_KEY_ACTIONS, account_roots, document, statement
from components.shared_model_group import SharedModelGroup, SharedModelGroupArgs
from governance import events, schema
from governance.permissions import HANDLER_ACTIONS
from mlgov.config import StackConfig, UseCase

DEV_KEY_ACTIONS = ("kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey")
STAGE_KEY_ACTIONS = ("kms:Decrypt", "kms:DescribeKey")
MODELS_PREFIX = "models"
CAPTURE_PREFIX = "capture"
"""Endpoint data capture from each stage account lands under capture/<account>/ (see StageDeployment)."""


@dataclass
class CentralRegistryArgs:
    organization_id: str
    shared_account: str
    dev_accounts: Sequence[str]
    test_accounts: Sequence[str]
    prod_accounts: Sequence[str]
    use_cases: Sequence[UseCase]
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
    powertools_layer_version: int = 27
    alarm_actions: Sequence[str] = ()
    tags: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: StackConfig, region: str, **overrides) -> "CentralRegistryArgs":
        accounts = config.organization.accounts
        approvers = config.approvers
        overrides.setdefault("approvers", {
            "development": list(approvers.development),
            "test": list(approvers.test),
            "production": list(approvers.production),
            "officers": list(approvers.officers),
        })
        overrides.setdefault("log_retention_days", config.log_retention_days)
        return cls(
            organization_id=config.organization.id,
            shared_account=accounts.shared,
            dev_accounts=accounts.dev,
            test_accounts=accounts.test,
            prod_accounts=accounts.prod,
            use_cases=config.use_cases,
            region=region,
            **overrides,
        )

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
        self._name = name
        tags = {"mlgov:component": "central-registry", **args.tags}
        child = pulumi.ResourceOptions(parent=self)
        bus_arn = f"arn:{args.partition}:events:{args.region}:{args.shared_account}:event-bus/{args.bus_name}"

        self.key = aws.kms.Key(
            f"{name}-key",
            description="mlgov: model artifacts, governance record and governance events",
            enable_key_rotation=True,
            deletion_window_in_days=args.key_deletion_window_days,
            policy=self._key_policy(bus_arn),
            tags=tags,
            opts=child,
        )
        aws.kms.Alias(f"{name}-key-alias", name=f"alias/{name}", target_key_id=self.key.key_id, opts=child)

        self.bucket = self._artifact_bucket(name, tags)

        self.table = GovernanceTable(
            f"{name}-governance",
            GovernanceTableArgs(
                kms_key_arn=self.key.arn,
                table_name=args.table_name,
                deletion_protection=args.table_deletion_protection,
                tags=tags,
            ),
            opts=child,
        )

        self.groups: dict[str, SharedModelGroup] = {}
        for use_case in args.use_cases:
            for model in use_case.models:
                self.groups[model.group] = SharedModelGroup(
                    model.group,
                    SharedModelGroupArgs(
                        group_name=model.group,
                        description=model.description,
                        use_case_id=use_case.id,
                        use_case_name=use_case.name,
                        risk_tier=use_case.risk_tier.value,
                        model_risk=use_case.model_risk(model).value,
                        owner=use_case.owner,
                        line_of_business=use_case.line_of_business,
                        project=use_case.project,
                        table_name=self.table.name,
                        register_accounts=args.dev_accounts,
                        deploy_accounts=args.stage_accounts,
                        register_actions=use_case.share_permissions.register_.actions if use_case.share_permissions.register_ else None,
                        deploy_actions=use_case.share_permissions.deploy.actions if use_case.share_permissions.deploy else None,
                        partition=args.partition,
                        tags=tags,
                    ),
                    opts=child,
                )
            aws.dynamodb.TableItem(
                f"usecase-{use_case.id}-config",
                table_name=self.table.name,
                hash_key=schema.PK,
                range_key=schema.SK,
                item=schema.to_item_json(
                    schema.use_case_config_item(
                        use_case_id=use_case.id,
                        name=use_case.name,
                        risk_tier=use_case.risk_tier.value,
                        owner=use_case.owner,
                        line_of_business=use_case.line_of_business,
                        project=use_case.project,
                        groups=[m.group for m in use_case.models],
                        thresholds=[t.as_item() for t in use_case.approval_thresholds],
                    )
                ),
                opts=child,
            )

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

        self._handlers(name, tags)
        self.group_arns = pulumi.Output.all(**{g: c.group.arn for g, c in self.groups.items()}) if self.groups else pulumi.Output.from_input({})
        self.register_outputs(self.exports())

    def _handlers(self, name: str, tags: Mapping[str, str]) -> None:
        """The sync, api and metrics Lambdas, the two event routes that feed them and the governance API."""
        a = self._args
        layer = powertools_layer_arn(a.region, a.powertools_layer_version, a.partition)
        environment = {"GOVERNANCE_TABLE": self.table.name, "APPROVERS": json.dumps(dict(a.approvers), sort_keys=True)}
        self.functions: dict[str, GovernanceFunction] = {}
        for handler in ("sync", "api", "metrics"):
            self.functions[handler] = GovernanceFunction(
                f"{name}-{handler}",
                GovernanceFunctionArgs(
                    handler=handler,
                    statements=self._handler_statements(handler),
                    kms_key_arn=self.key.arn,
                    region=a.region,
                    environment=environment,
                    layers=[layer],
                    function_name=f"{name}-{handler}",
                    log_retention_days=a.log_retention_days,
                    alarm_actions=a.alarm_actions,
                    tags=tags,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        sync, metrics, api = self.functions["sync"].function, self.functions["metrics"].function, self.functions["api"].function
        registry_pattern = {
            "source": [events.SOURCE_SAGEMAKER],
            "detail-type": [events.DETAIL_TYPE_MODEL_PACKAGE],
            "detail": {"ModelPackageGroupName": sorted(self.groups)},
        }
        # The hub's own default bus carries the registry's events; member accounts forward theirs to the
        # governance bus (MemberAccount). Both reach sync, which is idempotent, so a copy seen twice is harmless.
        for route, bus, where in (("registry-events", None, "hub registry"), ("forwarded-registry-events", self.bus.name, "member accounts")):
            EventRoute(
                f"{name}-{route}",
                EventRouteArgs(
                    description=f"Model package state changes of the hub's groups from the {where} -> sync",
                    event_pattern=registry_pattern,
                    event_bus_name=bus,
                    function_arn=sync.arn,
                    function_name=sync.name,
                    kms_key_arn=self.key.arn,
                    alarm_actions=a.alarm_actions,
                    tags=tags,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        EventRoute(
            f"{name}-member-events",
            EventRouteArgs(
                description="Deployments and metrics reported by member accounts -> metrics",
                event_pattern={
                    "source": [events.SOURCE_MEMBER],
                    "detail-type": list(events.MEMBER_DETAIL_TYPES),
                    "account": list(a.stage_accounts),
                },
                event_bus_name=self.bus.name,
                function_arn=metrics.arn,
                function_name=metrics.name,
                kms_key_arn=self.key.arn,
                alarm_actions=a.alarm_actions,
                tags=tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        from governance.handlers.api import app

        self.api = IamHttpApi(
            f"{name}-governance-api",
            IamHttpApiArgs(
                function_arn=api.arn,
                function_name=api.name,
                routes=route_keys(app),
                log_kms_key_arn=self.key.arn,
                log_retention_days=a.log_retention_days,
                throttling_burst_limit=50,
                throttling_rate_limit=25.0,
                tags=tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _handler_statements(self, handler: str) -> list[dict]:
        """Exactly the actions `governance.permissions` says the handler calls, each scoped to its resources."""
        a = self._args
        table_arn = self.table.arn
        scopes = {
            "dynamodb": [table_arn, table_arn.apply(lambda arn: f"{arn}/index/*")],
            "sagemaker": [
                f"arn:{a.partition}:sagemaker:{a.region}:{a.shared_account}:model-package/{g.lower()}/*" for g in sorted(self.groups)
            ],
            "events": [self.bus.arn],
        }
        by_service: dict[str, list[str]] = {}
        for action in sorted(HANDLER_ACTIONS[handler]):
            service = action.split(":")[0]
            if service not in scopes:
                raise ValueError(f"{handler} calls {action}, and no resource scope is known for {service}")
            by_service.setdefault(service, []).append(action)
        return [statement(f"{handler.capitalize()}{service.capitalize()}", actions, scopes[service])
                for service, actions in by_service.items()]

    def exports(self) -> dict[str, pulumi.Input]:
        """What member stacks read through `StackReference` (names are the stack output names)."""
        return {
            "groupArns": self.group_arns,
            "tableName": self.table.name,
            "tableArn": self.table.arn,
            "busArn": self.bus.arn,
            "busName": self.bus.name,
            "keyArn": self.key.arn,
            "bucketName": self.bucket.bucket,
            "sharedAccountId": self._args.shared_account,
            "region": self._args.region,
            "governanceApiEndpoint": self.api.url,
            # Read by the member stacks (issue 4): which use case and risk tier a group belongs to (deployments are
            # checked against it; data capture is forced on for high risk), and the RAM shares they accept.
            "groupUseCases": {m.group: u.id for u in self._args.use_cases for m in u.models},
            "useCaseRiskTiers": {u.id: u.risk_tier.value for u in self._args.use_cases},
            "registerShareArns": pulumi.Output.all(**{g: c.register_share.arn for g, c in self.groups.items()}) if self.groups else {},
            "deployShareArns": pulumi.Output.all(**{g: c.deploy_share.arn for g, c in self.groups.items()}) if self.groups else {},
        }

    def _key_policy(self, bus_arn: str) -> pulumi.Output[str]:
        a = self._args
        hub_root = account_roots([a.shared_account], a.partition)
        return document([
            statement("HubAccountAdministers", KMS_ADMIN_ACTIONS, "*", principals={"AWS": hub_root}),
            statement("HubAccountUses", KMS_USE_ACTIONS, "*", principals={"AWS": hub_root}),
            statement("DevAccountsEncrypt", DEV_KEY_ACTIONS, "*", principals={"AWS": account_roots(a.dev_accounts, a.partition)}),
            statement("StageAccountsDecrypt", STAGE_KEY_ACTIONS, "*", principals={"AWS": account_roots(a.stage_accounts, a.partition)}),
            statement(
                "StageAccountsEncryptOwnCaptureThroughS3",
                ["kms:GenerateDataKey"],
                "*",
                principals={"AWS": account_roots(a.stage_accounts, a.partition)},
                conditions={
                    "StringEquals": {"kms:ViaService": f"s3.{a.region}.amazonaws.com"},
                    "StringLike": {"kms:EncryptionContext:aws:s3:arn": [
                        f"arn:{a.partition}:s3:::{self._bucket_name(a)}/{CAPTURE_PREFIX}/{account}/*" for account in a.stage_accounts
                    ]},
                },
            ),
            statement(
                "CloudWatchLogsEncryptsHubLogGroups",
                LOGS_KEY_ACTIONS,
                "*",
                principals={"Service": f"logs.{a.region}.amazonaws.com"},
                conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:{a.partition}:logs:{a.region}:{a.shared_account}:log-group:*"}},
            ),
            statement(
                "GovernanceBusEncrypts",
                ["kms:Decrypt", "kms:GenerateDataKey"],
                "*",
                principals={"Service": "events.amazonaws.com"},
                conditions={"StringEquals": {"aws:SourceAccount": a.shared_account}, "ArnLike": {"aws:SourceArn": [bus_arn, f"arn:{a.partition}:events:{a.region}:{a.shared_account}:rule/*"]}},
            ),
        ])

    def _bucket_name(self, a: CentralRegistryArgs) -> str:
        return f"{self._name}-artifacts-{a.shared_account}-{a.region}"

    def _artifact_bucket(self, name: str, tags: Mapping[str, str]) -> aws.s3.Bucket:
        a = self._args
        child = pulumi.ResourceOptions(parent=self)
        bucket = aws.s3.Bucket(
            f"{name}-artifacts",
            bucket=self._bucket_name(a),
            force_destroy=a.bucket_force_destroy,
            tags=tags,
            opts=child,
        )
        part = pulumi.ResourceOptions(parent=bucket)
        aws.s3.BucketOwnershipControls(
            f"{name}-artifacts-ownership",
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=part,
        )
        aws.s3.BucketPublicAccessBlock(
            f"{name}-artifacts-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=part,
        )
        aws.s3.BucketVersioning(
            f"{name}-artifacts-versioning",
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=part,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-artifacts-encryption",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms", kms_master_key_id=self.key.arn
                    ),
                    bucket_key_enabled=True,
                )
            ],
            opts=part,
        )
        objects = bucket.arn.apply(lambda arn: f"{arn}/*")
        statements = [
            statement(
                "DenyInsecureTransport", ["s3:*"], [bucket.arn, objects], principals={"AWS": "*"}, effect="Deny",
                conditions={"Bool": {"aws:SecureTransport": "false"}},
            ),
        ]
        for account in a.dev_accounts:
            prefix = f"{MODELS_PREFIX}/{account}/"
            statements += [
                statement(f"Dev{account}WritesItsPrefix", ["s3:PutObject"], bucket.arn.apply(lambda arn, p=prefix: f"{arn}/{p}*"),
                          principals={"AWS": account_roots([account], a.partition)}),
                statement(f"Dev{account}ListsItsPrefix", ["s3:ListBucket"], bucket.arn,
                          principals={"AWS": account_roots([account], a.partition)},
                          conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}}),
            ]
        stage_roots = account_roots(a.stage_accounts, a.partition)
        for account in a.stage_accounts:
            statements.append(
                statement(f"Stage{account}WritesItsCapture", ["s3:PutObject"],
                          bucket.arn.apply(lambda arn, acct=account: f"{arn}/{CAPTURE_PREFIX}/{acct}/*"),
                          principals={"AWS": account_roots([account], a.partition)}))
        statements += [
            statement("StageAccountsReadModels", ["s3:GetObject"], bucket.arn.apply(lambda arn: f"{arn}/{MODELS_PREFIX}/*"),
                      principals={"AWS": stage_roots}),
            statement("StageAccountsListModels", ["s3:ListBucket"], bucket.arn, principals={"AWS": stage_roots},
                      conditions={"StringLike": {"s3:prefix": [f"{MODELS_PREFIX}/*"]}}),
        ]
        aws.s3.BucketPolicy(f"{name}-artifacts-policy", bucket=bucket.id, policy=document(statements), opts=part)
        return bucket
