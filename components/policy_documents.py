"""IAM policy documents as plain dicts, so tests and policies can read what a resource was given."""
from __future__ import annotations

import json
from typing import Any, Iterable, Iterator, Mapping, Sequence

import pulumi
import pulumi_aws as aws

# A key policy's own statements: the owning account administers the key and uses it (its IAM then decides who).
KMS_ADMIN_ACTIONS = (
    "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:DeleteAlias", "kms:DescribeKey", "kms:DisableKey",
    "kms:EnableKey", "kms:EnableKeyRotation", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListAliases",
    "kms:ListGrants", "kms:ListResourceTags", "kms:PutKeyPolicy", "kms:RevokeGrant", "kms:ScheduleKeyDeletion",
    "kms:TagResource", "kms:UntagResource", "kms:UpdateAlias", "kms:UpdateKeyDescription",
)
KMS_USE_ACTIONS = (
    "kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo",
)
# What CloudWatch Logs needs of a key to encrypt an account's log groups.
LOGS_KEY_ACTIONS = (
    "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom", "kms:ReEncryptTo",
)

def statement(
    sid: str,
    actions: Sequence[str],
    resources: Sequence[Any] | Any,
    *,
    principals: Mapping[str, Any] | None = None,
    effect: str = "Allow",
    conditions: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {"Sid": sid, "Effect": effect}
    if principals is not None:
        out["Principal"] = dict(principals)
    out["Action"] = sorted(actions) if len(actions) > 1 else actions[0]
    out["Resource"] = resources
    if conditions:
        out["Condition"] = dict(conditions)
    return out


def document(statements: Iterable[Mapping[str, Any]]) -> pulumi.Input[str]:
    """A policy JSON string; statements may hold Outputs (ARNs of resources not yet created).

    Only the Outputs are awaited, not every string of the document: a policy without any is plain JSON.
    """
    doc = {"Version": "2012-10-17", "Statement": list(statements)}
    outputs: list[pulumi.Output] = []
    _outputs_in(doc, outputs)
    if not outputs:
        return json.dumps(doc, sort_keys=True)
    return pulumi.Output.all(*outputs).apply(lambda values: json.dumps(_filled(doc, iter(values)), sort_keys=True))


def _outputs_in(value: Any, found: list[pulumi.Output]) -> None:
    if isinstance(value, pulumi.Output):
        found.append(value)
    elif isinstance(value, Mapping):
        for item in value.values():
            _outputs_in(item, found)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _outputs_in(item, found)


def _filled(value: Any, values: Iterator[Any]) -> Any:
    """`value` with each Output replaced by the next of `values`, in the order `_outputs_in` found them."""
    if isinstance(value, pulumi.Output):
        return next(values)
    if isinstance(value, Mapping):
        return {k: _filled(v, values) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_filled(v, values) for v in value]
    return value


def account_roots(accounts: Iterable[str], partition: str = "aws") -> list[str]:
    return [f"arn:{partition}:iam::{a}:root" for a in accounts]


def service_trust(service: str, account_id: str) -> dict:
    """A trust policy for an AWS service acting on behalf of this account only (confused-deputy guard)."""
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        }],
    }


def service_role(resource_name: str, service: str, account_id: str, description: str, tags: Mapping[str, str],
                 opts: pulumi.ResourceOptions, role_name: str | None = None) -> aws.iam.Role:
    """A role only `service` may assume, and only on behalf of `account_id` (see `service_trust`)."""
    return aws.iam.Role(
        resource_name,
        name=role_name,
        description=description,
        assume_role_policy=json.dumps(service_trust(service, account_id), sort_keys=True),
        tags=tags,
        opts=opts,
    )
