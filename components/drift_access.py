"""What a stage deployment's reporter may do in the hub bucket to compute prediction drift, and nothing more.

It reads its own endpoint's data capture (`capture/<account>/<endpoint>/`, listing only that prefix) and the drift
references of the versions it serves (`contract.reference_key`); the test reporter also publishes them. The hub
key decrypts (and, for the test reporter, encrypts) only through S3 on that bucket. The hub's bucket policy
(`central_registry.bucket_grants`) grants the same to the account, which a cross-account read needs as well.
"""
from dataclasses import dataclass
from typing import Any, Sequence

import pulumi

from components.policy_documents import statement
from components.registry_key import decrypt_through_s3
from governance.contract import endpoint_capture_prefix, reference_key


@dataclass
class DriftAccess:
    bucket_arn: pulumi.Input[str]
    """The hub's artifact bucket, where capture and references are."""
    key_arn: pulumi.Input[str]
    """The hub key the bucket encrypts with."""
    hub_region: pulumi.Input[str]
    account_id: str
    endpoint: str
    group: str
    versions: Sequence[int]
    stage: str
    """`test` publishes references; `production` only reads them."""
    capture: pulumi.Input[bool]
    """Whether the endpoint captures; without capture every statement is a Deny."""


def drift_statements(d: DriftAccess) -> list[dict[str, Any]]:
    """The reporter's statements for drift; Allow only when the endpoint captures, Deny otherwise."""
    bucket = pulumi.Output.from_input(d.bucket_arn)
    effect = pulumi.Output.from_input(d.capture).apply(lambda c: "Allow" if c else "Deny")
    prefix = endpoint_capture_prefix(d.account_id, d.endpoint)
    references = bucket.apply(lambda b: sorted({f"{b}/{reference_key(d.group, v)}" for v in d.versions}))
    publishes = d.stage == "test"
    return [{**s, "Effect": effect} for s in (
        statement("ReadOwnCapture", ["s3:GetObject"], bucket.apply(lambda b: f"{b}/{prefix}*")),
        statement("ListOwnCapture", ["s3:ListBucket"], bucket, conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}}),
        statement("DriftReferences", ["s3:GetObject", "s3:PutObject"] if publishes else ["s3:GetObject"], references),
        statement("HubKeyThroughS3", ["kms:Decrypt", "kms:GenerateDataKey"] if publishes else ["kms:Decrypt"], d.key_arn,
                  conditions=decrypt_through_s3(d.hub_region, bucket)),
    )]
