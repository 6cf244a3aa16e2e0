"""What every spoke (dev, test, prod) account needs to take part in the central registry.

- RAM share accepters, only where the organization does not auto-accept shares (with auto-accept on,
  an accepter would fail: there is no invitation to accept).
- An EventBridge rule that forwards this account's model package events to the hub's bus, so the
  governance record hears about a registration no matter which account made it.
- On dev: the data scientists' SageMaker execution role, allowed to register versions into the hub's
  groups (as `PendingManualApproval` only; never to update a package: approval and lifecycle are governance's),
  write artifacts under its own bucket prefix and encrypt with the hub key — nothing else.
- A local KMS key for what the account keeps itself (dead-letter queues, Lambda and API logs, endpoint
  volumes); the hub key stays the one for artifacts and captured data.
"""
import dataclasses
import json
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.args import ComponentArgs
from components.dead_letters import dead_letter_queue
from components.hub_outputs import HubOutputs
from components.moves import renamed
from components.notifications import alarms_publish
from components.policy_documents import KMS_ADMIN_ACTIONS, KMS_USE_ACTIONS, LOGS_KEY_ACTIONS, account_roots, document, service_role, statement
from components.private_network import NetworkArgs, PrivateNetwork
from governance.contract import MODEL_STAGES, REGISTRY_PENDING, forwarded_model_package_pattern

REGISTER_ACTIONS = ("sagemaker:CreateModelPackage",)
READ_ACTIONS = ("sagemaker:DescribeModelPackage", "sagemaker:DescribeModelPackageGroup", "sagemaker:ListModelPackages")
GOVERNANCE_ONLY_ACTIONS = ("sagemaker:UpdateModelPackage",)
"""Approval status and lifecycle are governance's to write (the hub's API role): data scientists never update a package.

SageMaker's condition keys: `sagemaker:ModelApprovalStatus` on CreateModelPackage
(https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html), and
`sagemaker:ModelLifeCycle:stage` / `:stageStatus` on CreateModelPackage and UpdateModelPackage
(https://docs.aws.amazon.com/sagemaker/latest/dg/model-registry-staging-construct-set-up.html). UpdateModelPackage
changes more than these two (description, metadata, model card), none of it the registrant's after registration,
so it is denied outright.
"""
REGISTRATION_LIFECYCLE = (MODEL_STAGES[0], "pending")


def present_and_not(values: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """An IAM condition true when a request sets each key to another value than the one given."""
    return {"StringNotEquals": dict(values), "Null": {k: "false" for k in values}}
"""The only `ModelLifeCycle` a registration may carry (or none): governance writes every later one."""
ARTIFACT_WRITE_ACTIONS = ("s3:PutObject",)
HUB_KEY_ENCRYPT_ACTIONS = ("kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey")
MODELS_PREFIX = "models"
TYPE = "mlgov:index:MemberAccount"
PREVIOUS_TYPE = "mlgov:member_account:MemberAccount"


@dataclass
class MemberAccountArgs(ComponentArgs):
    account_id: str
    role: str
    """`dev`, `test` or `prod`."""
    region: str
    hub: HubOutputs
    auto_accept_ram_shares: Optional[bool] = True
    partition: Optional[str] = "aws"
    key_deletion_window_days: Optional[int] = 30
    network: Optional[NetworkArgs] = None
    """Private subnets for the account's Lambdas, with the endpoints of `network.services`; None: Lambda's own network."""
    alarm_actions: Optional[Sequence[str]] = ()
    """What the account's alarms notify (its alarm topic's ARN)."""


class MemberAccount(pulumi.ComponentResource):
    forward_rule_arn: pulumi.Output[str]
    key_arn: pulumi.Output[str]
    accepted_share_arns: pulumi.Output[list[str]]
    """The RAM shares this stack accepted (none when the organization accepts them itself)."""
    data_scientist_role_arn: Optional[pulumi.Output[str]]
    """On dev only."""
    data_scientist_role = None
    placement = None
    """Where the account's Lambdas run (a `FunctionNetwork`, for `StageDeploymentArgs.network`), when `network` is set."""

    def __init__(self, name: str, args: MemberAccountArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(TYPE, name, None, renamed(TYPE, PREVIOUS_TYPE, opts))
        if args.role not in ("dev", "test", "prod"):
            raise ValueError(f"{name}: a member account's role is dev, test or prod, not {args.role!r}")
        self._args = args
        self._name = name
        self._tags = {"mlgov:component": "member-account", "mlgov:account-role": args.role, **args.tags}
        self.accepters: list[aws.ram.ResourceShareAccepter] = []

        shares = args.hub.register_share_arns if args.role == "dev" else args.hub.deploy_share_arns
        self.accepted_share_arns = (
            pulumi.Output.from_input(shares).apply(self._accept)
            if not args.auto_accept_ram_shares
            else pulumi.Output.from_input([])
        )
        self.key = self._local_key()
        self._forward_model_package_events()
        if args.role == "dev":
            self.data_scientist_role = self._data_scientist_role()
        self.forward_rule_arn = self.forward_rule.arn
        self.key_arn = self.key.arn
        self.data_scientist_role_arn = self.data_scientist_role.arn if self.data_scientist_role else None
        if args.network is not None:
            self.placement = PrivateNetwork(f"{name}-network", dataclasses.replace(
                args.network, tags={**self._tags, **args.network.tags}), opts=pulumi.ResourceOptions(parent=self)).placement
        self.register_outputs({
            "forward_rule_arn": self.forward_rule_arn,
            "accepted_share_arns": self.accepted_share_arns,
            "data_scientist_role_arn": self.data_scientist_role_arn,
            "key_arn": self.key_arn,
        })

    def _accept(self, share_arns: Mapping[str, str]) -> list[str]:
        """One accepter per share the hub sent this account's role.

        Declared from the hub's outputs (a StackReference is read during preview too, so the plan shows
        them): the member stack cannot know the hub's groups any other way.
        """
        for group, share_arn in sorted(share_arns.items()):
            self.accepters.append(
                aws.ram.ResourceShareAccepter(
                    f"{self._name}-accept-{group}",
                    share_arn=share_arn,
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
        return [arn for _, arn in sorted(share_arns.items())]

    def _forward_model_package_events(self) -> None:
        a = self._args
        child = pulumi.ResourceOptions(parent=self)
        role = service_role(
            f"{self._name}-forward-role", "events.amazonaws.com", a.account_id,
            "mlgov: EventBridge puts this account's model package events on the hub bus",
            tags=self._tags, opts=child,
        )
        aws.iam.RolePolicy(
            f"{self._name}-forward-policy",
            role=role.id,
            policy=document([statement("PutOnHubBus", ["events:PutEvents"], a.hub.bus_arn)]),
            opts=pulumi.ResourceOptions(parent=role),
        )
        # Only the hub's packages (matched on the ARN): a local group that shares a hub group's name is not forwarded.
        pattern = pulumi.Output.all(a.hub.shared_account_id, a.hub.region).apply(
            lambda hub: json.dumps(forwarded_model_package_pattern(hub[0], hub[1], a.partition or "aws"), sort_keys=True))
        self.forward_rule = aws.cloudwatch.EventRule(
            f"{self._name}-forward",
            description="mlgov: forward state changes of the hub's model packages to the hub's governance bus",
            event_pattern=pattern,
            tags=self._tags,
            opts=child,
        )
        self.dead_letter_queue = dead_letter_queue(
            f"{self._name}-forward-dead-letters", self.key.arn, [self.forward_rule.arn], self._tags, pulumi.ResourceOptions(parent=self),
            alarm_actions=list(a.alarm_actions or ()),
        )
        aws.cloudwatch.EventTarget(
            f"{self._name}-forward-hub",
            rule=self.forward_rule.name,
            arn=a.hub.bus_arn,
            role_arn=role.arn,
            retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(maximum_event_age_in_seconds=86400, maximum_retry_attempts=185),
            dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(arn=self.dead_letter_queue.arn),
            opts=pulumi.ResourceOptions(parent=self.forward_rule),
        )

    def _data_scientist_role(self) -> aws.iam.Role:
        """The data scientists' role; its denies apply when a request sets a governance field to anything else.

        (A negated operator alone would also match a request without the key, as IAM evaluates a missing key.)
        """
        a = self._args
        hub = a.hub
        role = service_role(
            f"{self._name}-data-scientist", "sagemaker.amazonaws.com", a.account_id,
            "mlgov: data scientists' SageMaker execution role; registers versions into the hub's groups",
            tags=self._tags, opts=pulumi.ResourceOptions(parent=self),
        )
        packages = pulumi.Output.from_input(hub.group_arns).apply(
            lambda arns: sorted(arn.replace(":model-package-group/", ":model-package/") + "/*" for arn in arns.values())
        )
        groups = pulumi.Output.from_input(hub.group_arns).apply(lambda arns: sorted(arns.values()))
        hub_resources = pulumi.Output.all(groups, packages).apply(lambda p: p[0] + p[1])
        bucket_arn = pulumi.Output.from_input(hub.bucket_name).apply(lambda b: f"arn:{a.partition}:s3:::{b}")
        prefix = f"{MODELS_PREFIX}/{a.account_id}/"
        aws.iam.RolePolicy(
            f"{self._name}-data-scientist-policy",
            role=role.id,
            policy=document([
                statement("RegisterIntoHubGroupsAsPending", REGISTER_ACTIONS, hub_resources,
                          conditions={"StringEquals": {"sagemaker:ModelApprovalStatus": REGISTRY_PENDING}}),
                statement("ReadHubGroups", READ_ACTIONS, hub_resources),
                statement("RegisterOnlyAsPending", REGISTER_ACTIONS, "*", effect="Deny",
                          conditions=present_and_not({"sagemaker:ModelApprovalStatus": REGISTRY_PENDING})),
                statement("RegisterNoLaterStage", REGISTER_ACTIONS, "*", effect="Deny",
                          conditions=present_and_not({"sagemaker:ModelLifeCycle:stage": REGISTRATION_LIFECYCLE[0]})),
                statement("RegisterNoLaterStageStatus", REGISTER_ACTIONS, "*", effect="Deny",
                          conditions=present_and_not({"sagemaker:ModelLifeCycle:stageStatus": REGISTRATION_LIFECYCLE[1]})),
                statement("OnlyGovernanceDecides", GOVERNANCE_ONLY_ACTIONS, "*", effect="Deny"),
                statement("WriteOwnArtifacts", ARTIFACT_WRITE_ACTIONS, bucket_arn.apply(lambda arn: f"{arn}/{prefix}*")),
                statement("ListOwnArtifacts", ["s3:ListBucket"], bucket_arn, conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}}),
                statement("EncryptWithHubKey", HUB_KEY_ENCRYPT_ACTIONS, hub.key_arn),
                # Discovering the groups shared with this account (ListModelPackageGroups with CrossAccountFilterOption
                # CrossAccount, https://docs.aws.amazon.com/sagemaker/latest/dg/model-registry-ram-view-shared.html): a
                # list action with no resource type in the Service Authorization Reference, so AWS only accepts "*".
                statement("DiscoverSharedGroups", ["sagemaker:ListModelPackageGroups"], "*"),
            ]),
            opts=pulumi.ResourceOptions(parent=role),
        )
        return role

    def _local_key(self) -> aws.kms.Key:
        a = self._args
        root = account_roots([a.account_id], a.partition)
        logs_context = f"arn:{a.partition}:logs:{a.region}:{a.account_id}:log-group:*"
        key = aws.kms.Key(
            f"{self._name}-key",
            description=f"mlgov {a.role}: dead-letter queues, Lambda and API logs, endpoint volumes",
            enable_key_rotation=True,
            deletion_window_in_days=a.key_deletion_window_days,
            policy=document([
                statement("AccountAdministers", KMS_ADMIN_ACTIONS, "*", principals={"AWS": root}),
                statement("AccountUses", KMS_USE_ACTIONS, "*", principals={"AWS": root}),
                statement(
                    "CloudWatchLogsEncrypts", LOGS_KEY_ACTIONS, "*",
                    principals={"Service": f"logs.{a.region}.amazonaws.com"},
                    conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": logs_context}},
                ),
                statement(
                    "EventBridgeWritesDeadLetters", ["kms:Decrypt", "kms:GenerateDataKey"], "*",
                    principals={"Service": "events.amazonaws.com"},
                    conditions={"StringEquals": {"aws:SourceAccount": a.account_id}},
                ),
                alarms_publish(a.account_id, a.region, a.partition),
            ]),
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.kms.Alias(f"{self._name}-key-alias", name=f"alias/mlgov-{a.role}", target_key_id=key.key_id, opts=pulumi.ResourceOptions(parent=self))
        return key

