"""The hub's KMS key and its policy: each account may do with it exactly what its role needs.

The hub administers and uses it; dev accounts encrypt (they register artifacts) and decrypt only through S3
in the artifact bucket (MLflow artifacts, multipart uploads); stage accounts
decrypt, and encrypt only their own data capture through S3; CloudWatch Logs and the governance
bus encrypt the hub's own logs and events.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.args import MovedArgs
from components.moves import was_beside
from components.notifications import alarms_publish
from components.policy_documents import KMS_ADMIN_ACTIONS, KMS_USE_ACTIONS, LOGS_KEY_ACTIONS, account_roots, document, statement

DEV_KEY_ACTIONS = ("kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey")
STAGE_KEY_ACTIONS = ("kms:Decrypt", "kms:DescribeKey")


@dataclass
class RegistryKeyArgs(MovedArgs):
    alias: str
    """The key's alias without `alias/`."""
    shared_account: str
    dev_accounts: Sequence[str]
    stage_accounts: Sequence[str]
    """Test and prod accounts."""
    region: str
    bucket_name: str
    """The artifact bucket: stage accounts may encrypt their capture under it, through S3 only."""
    bus_arn: str
    """The governance bus, whose events the key encrypts."""
    partition: str = "aws"
    deletion_window_days: int = 30


class RegistryKey(pulumi.ComponentResource):
    key: aws.kms.Key

    def __init__(self, name: str, args: RegistryKeyArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlgov:registry_key:RegistryKey", name, None, opts)

        def part(type_: str, resource: str) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, aliases=[was_beside(self, type_, resource)] if args.moved_from_parent else None)

        self.key = aws.kms.Key(
            name,
            description="mlgov: model artifacts, governance record and governance events",
            enable_key_rotation=True,
            deletion_window_in_days=args.deletion_window_days,
            policy=document(key_statements(args)),
            tags=dict(args.tags),
            opts=part("aws:kms/key:Key", name),
        )
        aws.kms.Alias(f"{name}-alias", name=f"alias/{args.alias}", target_key_id=self.key.key_id,
                      opts=part("aws:kms/alias:Alias", f"{name}-alias"))
        self.arn = self.key.arn
        self.register_outputs({"arn": self.key.arn})


def key_statements(a: RegistryKeyArgs) -> list[dict[str, Any]]:
    hub_root = account_roots([a.shared_account], a.partition)
    stage_roots = account_roots(a.stage_accounts, a.partition)
    return [
        statement("HubAccountAdministers", KMS_ADMIN_ACTIONS, "*", principals={"AWS": hub_root}),
        statement("HubAccountUses", KMS_USE_ACTIONS, "*", principals={"AWS": hub_root}),
        statement("DevAccountsEncrypt", DEV_KEY_ACTIONS, "*", principals={"AWS": account_roots(a.dev_accounts, a.partition)}),
        statement("StageAccountsDecrypt", STAGE_KEY_ACTIONS, "*", principals={"AWS": stage_roots}),
        statement("DevAccountsDecryptThroughS3InTheArtifactBucket", ["kms:Decrypt"], "*",
                  principals={"AWS": account_roots(a.dev_accounts, a.partition)}, conditions=dev_decrypt_conditions(a)),
        # With the bucket's S3 Bucket Key, S3 asks KMS with the bucket ARN as context, never the object's, so the
        # condition names the bucket; the bucket policy keeps each stage account to its own capture/<account>/ prefix.
        # https://docs.aws.amazon.com/AmazonS3/latest/userguide/configuring-bucket-key.html
        statement("StageAccountsEncryptOwnCaptureThroughS3", ["kms:GenerateDataKey"], "*", principals={"AWS": stage_roots},
                  conditions=decrypt_through_s3(a.region, f"arn:{a.partition}:s3:::{a.bucket_name}")),
        statement(
            "CloudWatchLogsEncryptsHubLogGroups", LOGS_KEY_ACTIONS, "*",
            principals={"Service": f"logs.{a.region}.amazonaws.com"},
            conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:{a.partition}:logs:{a.region}:{a.shared_account}:log-group:*"}},
        ),
        statement(
            "GovernanceBusEncrypts", ["kms:Decrypt", "kms:GenerateDataKey"], "*",
            principals={"Service": "events.amazonaws.com"},
            conditions={"StringEquals": {"aws:SourceAccount": a.shared_account},
                        "ArnLike": {"aws:SourceArn": [a.bus_arn, f"arn:{a.partition}:events:{a.region}:{a.shared_account}:rule/*"]}},
        ),
        alarms_publish(a.shared_account, a.region, a.partition),
    ]



def dev_decrypt_conditions(a: RegistryKeyArgs) -> dict[str, Any]:
    """Dev accounts decrypt only as S3 serving the artifact bucket: reading their MLflow artifacts, finishing multipart uploads.

    The prefix a dev account may read is set by the bucket policy, which S3 checks before it calls KMS.
    """
    return decrypt_through_s3(a.region, f"arn:{a.partition}:s3:::{a.bucket_name}")


def decrypt_through_s3(region: pulumi.Input[str], bucket_arn: pulumi.Input[str]) -> dict[str, Any]:
    """kms:Decrypt conditions for S3 acting on one bucket that uses an S3 Bucket Key, in the key policy and in IAM policies.

    S3 calls kms:Decrypt for a multipart upload with SSE-KMS (each part is encrypted with the key of the first),
    and a cross-account caller needs the grant in the key policy as well as in its own IAM policy
    (https://repost.aws/knowledge-center/s3-large-file-encryption-kms-key). With an S3 Bucket Key, S3's encryption
    context is the bucket's ARN, not the object's
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/configuring-bucket-key.html), so an object-ARN pattern
    would never match: the context is pinned to the bucket and the service to S3 in its region.
    """
    via = pulumi.Output.from_input(region).apply(lambda r: f"s3.{r}.amazonaws.com")
    return {"StringEquals": {"kms:ViaService": via, "kms:EncryptionContext:aws:s3:arn": bucket_arn}}
