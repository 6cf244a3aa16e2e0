"""A SageMaker model package group in the hub registry, shared to the stage accounts through AWS RAM.

Dev accounts get a *register* share (they create versions in the hub's group); test and prod
accounts get a *deploy* share (they read versions and build models from them). Neither share
admits principals outside the organization. By default the group, its shares and their associations are
kept in AWS when they leave the stack (a use case removed from config): the group holds the registered
versions, the evidence of what was built, and a config edit must not delete it.
"""
import json
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.args import ComponentArgs
from components.moves import renamed


REGISTER_PERMISSION = "AWSRAMPermissionSageMakerModelPackageGroupAllowRegister"
DEPLOY_PERMISSION = "AWSRAMPermissionSageMakerModelPackageGroupAllowDeploy"
RESOURCE_TYPE = "sagemaker:ModelPackageGroup"
TYPE = "mlgov:index:SharedModelGroup"
PREVIOUS_TYPE = "mlgov:shared_model_group:SharedModelGroup"


def managed_permission_arn(permission: str, partition: str = "aws") -> str:
    return f"arn:{partition}:ram::aws:permission/{permission}"


@dataclass
class SharedModelGroupArgs(ComponentArgs):
    group_name: str
    """The SageMaker model package group name."""
    use_case_id: str
    risk_tier: str
    """The use case's EU AI Act tier (`high`, `limited`, `minimal`), tagged on the group."""
    model_risk: str
    """The model's own risk (`high`, `medium`, `low`), tagged on the group."""
    owner: str
    line_of_business: str
    register_accounts: Optional[Sequence[str]] = ()
    """Dev accounts, which create versions in the group."""
    deploy_accounts: Optional[Sequence[str]] = ()
    """Test and prod accounts, which build models from its versions."""
    description: Optional[str] = ""
    register_actions: Optional[Sequence[str]] = None
    """Actions of a custom register permission; None uses the AWS-managed one."""
    deploy_actions: Optional[Sequence[str]] = None
    """Actions of a custom deploy permission; None uses the AWS-managed one."""
    partition: Optional[str] = "aws"
    retain_on_delete: Optional[bool] = True
    """Leave the group and its shares in AWS when they leave the stack (Pulumi `retain_on_delete`); False deletes them."""


class SharedModelGroup(pulumi.ComponentResource):
    group_arn: pulumi.Output[str]
    group_name: pulumi.Output[str]
    register_share_arn: pulumi.Output[str]
    deploy_share_arn: pulumi.Output[str]

    def __init__(self, name: str, args: SharedModelGroupArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(TYPE, name, None, renamed(TYPE, PREVIOUS_TYPE, opts))
        if not args.register_accounts or not args.deploy_accounts:
            raise ValueError(f"{name}: a shared model group needs at least one register and one deploy account")
        self._retain = args.retain_on_delete is not False
        child = self._child(self)
        tags = {
            **args.tags,
            "mlgov:use-case": args.use_case_id,
            "mlgov:risk-tier": args.risk_tier,
            "mlgov:model-risk": args.model_risk,
            "mlgov:owner": args.owner,
            "mlgov:line-of-business": args.line_of_business,
        }
        self.group = aws.sagemaker.ModelPackageGroup(
            f"{name}-group",
            model_package_group_name=args.group_name,
            model_package_group_description=args.description or f"{args.use_case_id}: {args.group_name}",
            tags=tags,
            opts=child,
        )
        self.register_share = self._share(name, "register", args.register_accounts, args.register_actions, REGISTER_PERMISSION, args, tags)
        self.deploy_share = self._share(name, "deploy", args.deploy_accounts, args.deploy_actions, DEPLOY_PERMISSION, args, tags)
        self.group_arn = self.group.arn
        self.group_name = self.group.model_package_group_name
        self.register_share_arn = self.register_share.arn
        self.deploy_share_arn = self.deploy_share.arn
        self.register_outputs({
            "group_arn": self.group_arn,
            "group_name": self.group_name,
            "register_share_arn": self.register_share_arn,
            "deploy_share_arn": self.deploy_share_arn,
        })

    def _child(self, parent: pulumi.Resource) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=parent, retain_on_delete=self._retain)

    def _share(
        self,
        name: str,
        purpose: str,
        accounts: Sequence[str],
        actions: Optional[Sequence[str]],
        managed: str,
        args: SharedModelGroupArgs,
        tags: Mapping[str, str],
    ) -> aws.ram.ResourceShare:
        child = self._child(self)
        if actions:
            permission = aws.ram.Permission(
                f"{name}-{purpose}-permission",
                name=f"mlgov-{args.group_name}-{purpose}",
                resource_type=RESOURCE_TYPE,
                policy_template=json.dumps({"Effect": "Allow", "Action": sorted(actions)}),
                tags=tags,
                opts=child,
            )
            permission_arn: pulumi.Input[str] = permission.arn
        else:
            permission_arn = managed_permission_arn(managed, args.partition)
        share = aws.ram.ResourceShare(
            f"{name}-{purpose}-share",
            name=f"mlgov-{args.group_name}-{purpose}",
            allow_external_principals=False,
            permission_arns=[permission_arn],
            tags=tags,
            opts=child,
        )
        share_child = self._child(share)
        aws.ram.ResourceAssociation(
            f"{name}-{purpose}-group",
            resource_arn=self.group.arn,
            resource_share_arn=share.arn,
            opts=share_child,
        )
        for account in accounts:
            aws.ram.PrincipalAssociation(
                f"{name}-{purpose}-{account}",
                principal=account,
                resource_share_arn=share.arn,
                opts=share_child,
            )
        return share
