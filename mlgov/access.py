"""Who the stack config lets do what: approvers and validators by stage, and what a use case's RAM shares grant.

A share's custom permission never grants what only the hub's governance API may do: a version's approval
status and lifecycle stage are written by the API alone (and mirrored to the registry by it).
"""
from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from governance.contract import PRINCIPAL_ARN_RE
from mlgov.fields import Strict

MODEL_PACKAGE_GROUP_ACTIONS = frozenset({
    "sagemaker:DescribeModelPackageGroup",
    "sagemaker:ListModelPackages",
    "sagemaker:DescribeModelPackage",
    "sagemaker:CreateModelPackage",
    "sagemaker:UpdateModelPackage",
    "sagemaker:CreateModel",
    "sagemaker:ListTags",
})
"""What a RAM permission of resource type `sagemaker:ModelPackageGroup` can name."""
GOVERNANCE_ONLY_ACTIONS = frozenset({"sagemaker:UpdateModelPackage"})
"""Of those, what writes a version's `ModelApprovalStatus` and `ModelLifeCycle`: never granted through a share.
(https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateModelPackage.html)"""
SHAREABLE_ACTIONS = MODEL_PACKAGE_GROUP_ACTIONS - GOVERNANCE_ONLY_ACTIONS


class CustomPermission(Strict):
    """A customer-managed RAM permission replacing the AWS-managed one for a share."""

    actions: Annotated[tuple[str, ...], Field(min_length=1)]

    @field_validator("actions")
    @classmethod
    def _known(cls, actions: tuple[str, ...]) -> tuple[str, ...]:
        governance_only = sorted(set(actions) & GOVERNANCE_ONLY_ACTIONS)
        if governance_only:
            raise ValueError(f"{', '.join(governance_only)} is never granted through a share: it writes a version's approval "
                             "status and lifecycle stage, which only the hub's governance API decides; remove it")
        unknown = sorted(set(actions) - MODEL_PACKAGE_GROUP_ACTIONS)
        if unknown:
            raise ValueError(f"{', '.join(unknown)} not allowed on a model package group; allowed: {', '.join(sorted(SHAREABLE_ACTIONS))}")
        return tuple(sorted(set(actions)))


class SharePermissions(Strict):
    register_: CustomPermission | None = Field(default=None, alias="register")
    deploy: CustomPermission | None = None


class Approvers(Strict):
    """Principals (IAM role or user ARNs) who may decide at each stage; officers are required past development for high risk."""

    development: tuple[str, ...] = ()
    test: tuple[str, ...] = ()
    production: tuple[str, ...] = ()
    officers: tuple[str, ...] = ()

    @field_validator("development", "test", "production", "officers")
    @classmethod
    def _arns(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            if not PRINCIPAL_ARN_RE.match(value):
                raise ValueError(f"{value!r} is not an IAM principal ARN (arn:aws:iam::<12 digits>:role/<name>)")
        return values


class Validators(Strict):
    """Principals (IAM role or user ARNs) who may record validation metrics at each stage (`mlgov:validators`).

    Validation metrics are the evidence a high-risk approval is judged on, so only these principals record
    them, and never the principal who registered the version. A stage left empty accepts them from nobody.
    """

    development: tuple[str, ...] = ()
    test: tuple[str, ...] = ()
    production: tuple[str, ...] = ()

    @field_validator("development", "test", "production")
    @classmethod
    def _arns(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return Approvers._arns(values)
