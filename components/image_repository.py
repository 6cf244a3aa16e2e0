"""The hub's ECR repository of custom inference images: dev pushes, test and prod SageMaker pull.

A registration whose image is neither one of SageMaker's own nor in this repository is recorded as
non-compliant by the governance runtime, so no version reaches test or prod with an image those accounts
cannot pull. Tags are immutable (a tag names one image for ever), every push is scanned, images are
encrypted with the hub key, and the repository policy names roles by ARN pattern inside the organization.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.args import ComponentArgs
from components.policy_documents import account_roots, document, statement

TYPE = "mlgov:index:ImageRepository"
PULL_ACTIONS = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
PUSH_ACTIONS = (*PULL_ACTIONS, "ecr:CompleteLayerUpload", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart")


@dataclass
class ImageRepositoryArgs(ComponentArgs):
    repository_name: str
    kms_key_arn: pulumi.Input[str]
    """The hub key: ECR encrypts images with it through a grant, so pullers need no key permission
    (https://docs.aws.amazon.com/AmazonECR/latest/userguide/encryption-at-rest.html)."""
    organization_id: str
    push_accounts: Sequence[str]
    """Dev accounts: their data scientists push images."""
    pull_accounts: Sequence[str]
    """Test and prod accounts: their SageMaker execution roles pull images."""
    push_role_patterns: Optional[Sequence[str]] = None
    """Role ARN patterns allowed to push; None: each push account's `mlgov-dev-data-scientist-*` role."""
    pull_role_patterns: Optional[Sequence[str]] = None
    """Role ARN patterns allowed to pull; None: each pull account's stage deployments' `*-execution-*` roles."""
    keep_untagged_images: Optional[int] = 10
    """Untagged images kept (failed or superseded pushes); older ones expire. Tagged images never expire: a
    registered version names its image by tag, and deploying it again must find the same image."""
    partition: Optional[str] = "aws"


class ImageRepository(pulumi.ComponentResource):
    repository_url: pulumi.Output[str]
    repository_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ImageRepositoryArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(TYPE, name, None, opts)
        if not args.push_accounts or not args.pull_accounts:
            raise ValueError(f"{name}: an image repository needs at least one push and one pull account")
        keep = 10 if args.keep_untagged_images is None else args.keep_untagged_images
        if keep < 1:
            raise ValueError(f"{name}: keep_untagged_images must be at least 1, not {keep}")
        self.repository = aws.ecr.Repository(
            name,
            name=args.repository_name,
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
            encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="KMS", kms_key=args.kms_key_arn)],
            force_delete=False,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        part = pulumi.ResourceOptions(parent=self.repository)
        aws.ecr.RepositoryPolicy(f"{name}-policy", repository=self.repository.name,
                                 policy=document(repository_statements(args)), opts=part)
        aws.ecr.LifecyclePolicy(f"{name}-lifecycle", repository=self.repository.name,
                                policy=json.dumps(lifecycle_rules(keep), sort_keys=True), opts=part)
        self.repository_url = self.repository.repository_url
        self.repository_arn = self.repository.arn
        self.register_outputs({"repository_url": self.repository_url, "repository_arn": self.repository_arn})


def role_patterns(accounts: Sequence[str], role: str, partition: str) -> list[str]:
    return [f"arn:{partition}:iam::{account}:role/{role}" for account in accounts]


def repository_statements(a: ImageRepositoryArgs) -> list[dict[str, Any]]:
    """Push for the dev data scientists' roles, pull for the stage accounts' SageMaker execution roles, both inside
    the organization; a repository policy's resource is the repository itself, so statements name none."""
    partition = a.partition or "aws"
    push = list(a.push_role_patterns or role_patterns(a.push_accounts, "mlgov-dev-data-scientist-*", partition))
    pull = list(a.pull_role_patterns or role_patterns(a.pull_accounts, "*-execution-*", partition))

    def grant(sid: str, actions: Sequence[str], accounts: Sequence[str], roles: list[str]) -> dict[str, Any]:
        body = statement(sid, actions, "*", principals={"AWS": account_roots(accounts, partition)},
                         conditions={"StringEquals": {"aws:PrincipalOrgID": a.organization_id},
                                     "ArnLike": {"aws:PrincipalArn": roles}})
        body.pop("Resource", None)
        return body

    return [
        grant("DevDataScientistsPush", PUSH_ACTIONS, a.push_accounts, push),
        grant("StageExecutionRolesPull", PULL_ACTIONS, a.pull_accounts, pull),
    ]


def lifecycle_rules(keep: int) -> dict[str, Any]:
    """Expire untagged images beyond the newest `keep`; tagged ones are evidence of what was registered."""
    return {"rules": [{
        "rulePriority": 1,
        "description": f"keep the newest {keep} untagged images",
        "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": keep},
        "action": {"type": "expire"},
    }]}
