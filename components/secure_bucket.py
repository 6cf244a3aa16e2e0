"""An S3 bucket as mlgov keeps data: private, owner-enforced, versioned, SSE-KMS, TLS only, grants by prefix."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.args import MovedArgs
from components.moves import was_beside
from components.policy_documents import document, statement

TYPE = "aws:s3/bucket:Bucket"


@dataclass
class BucketGrant:
    """One Allow statement of the bucket policy."""

    sid: str
    actions: Sequence[str]
    principals: Sequence[str]
    """AWS principal ARNs (account roots)."""
    objects: Optional[str] = None
    """Object key pattern (`models/*`) the grant is on; None: the bucket itself (listing)."""
    conditions: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class SecureBucketArgs(MovedArgs):
    bucket_name: str
    kms_key_arn: pulumi.Input[str]
    """Default encryption (SSE-KMS with a bucket key)."""
    grants: Sequence[BucketGrant] = ()
    force_destroy: bool = False


class SecureBucket(pulumi.ComponentResource):
    bucket: aws.s3.Bucket

    def __init__(self, name: str, args: SecureBucketArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlgov:secure_bucket:SecureBucket", name, None, opts)
        self.bucket = bucket = aws.s3.Bucket(
            name,
            bucket=args.bucket_name,
            force_destroy=args.force_destroy,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, aliases=[was_beside(self, TYPE, name)] if args.moved_from_parent else None),
        )
        part = pulumi.ResourceOptions(parent=bucket)
        private_versioned(name, bucket, aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
            apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm="aws:kms", kms_master_key_id=args.kms_key_arn),
            bucket_key_enabled=True,
        ))
        objects = bucket.arn.apply(lambda arn: f"{arn}/*")
        statements = [deny_insecure_transport(bucket.arn, objects)]
        for grant in args.grants:
            resource = bucket.arn if grant.objects is None else bucket.arn.apply(lambda arn, o=grant.objects: f"{arn}/{o}")
            statements.append(statement(grant.sid, grant.actions, resource, principals={"AWS": list(grant.principals)},
                                        conditions=dict(grant.conditions) or None))
        aws.s3.BucketPolicy(f"{name}-policy", bucket=bucket.id, policy=document(statements), opts=part)
        self.arn = bucket.arn
        self.name = bucket.bucket
        self.register_outputs({"arn": bucket.arn, "name": bucket.bucket})


def private_versioned(name: str, bucket: aws.s3.Bucket, encryption: aws.s3.BucketServerSideEncryptionConfigurationRuleArgs) -> None:
    """What every mlgov bucket has: ACLs off (owner enforced), no public access, versioning, default encryption."""
    settings = {
        "ownership": (aws.s3.BucketOwnershipControls,
                      dict(rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"))),
        "public-access": (aws.s3.BucketPublicAccessBlock, dict(
            block_public_acls=True, block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True)),
        "versioning": (aws.s3.BucketVersioning,
                       dict(versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"))),
        "encryption": (aws.s3.BucketServerSideEncryptionConfiguration, dict(rules=[encryption])),
    }
    part = pulumi.ResourceOptions(parent=bucket)
    for suffix, (resource, inputs) in settings.items():
        resource(f"{name}-{suffix}", bucket=bucket.id, opts=part, **inputs)


def deny_insecure_transport(bucket_arn: pulumi.Input[str], objects: pulumi.Input[str]) -> dict[str, Any]:
    return statement("DenyInsecureTransport", ["s3:*"], [bucket_arn, objects], principals={"AWS": "*"}, effect="Deny",
                     conditions={"Bool": {"aws:SecureTransport": "false"}})
