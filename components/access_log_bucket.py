"""The bucket S3 server access logs of an account's data buckets go to, and the logging that sends them there.

One per account and region (S3 delivers access logs only to a bucket of the same account and region):
the artifact bucket logs here today, and any later data bucket (model checkpoints, ...) is added to
`source_bucket_names` and calls `log(...)`, each under its own prefix.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.args import ComponentArgs
from components.policy_documents import document, statement
from components.secure_bucket import deny_insecure_transport, private_versioned

PURPOSE_TAG = "mlgov:purpose"
PURPOSE = "s3-server-access-logs"
"""The tag value that marks an access-log bucket (the policy pack exempts it from SSE-KMS and from logging itself)."""
LOGGING_SERVICE = "logging.s3.amazonaws.com"


@dataclass
class AccessLogBucketArgs(ComponentArgs):
    bucket_name: str
    account_id: str
    source_bucket_names: Sequence[str]
    """The buckets allowed to deliver here: the logging service may write only on their behalf."""
    partition: Optional[str] = "aws"
    retention_days: Optional[int] = 365
    """Days an access log is kept (and a noncurrent version of it)."""
    force_destroy: Optional[bool] = False


class AccessLogBucket(pulumi.ComponentResource):
    bucket: aws.s3.Bucket

    def __init__(self, name: str, args: AccessLogBucketArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlgov:access_log_bucket:AccessLogBucket", name, None, opts)
        self._name = name
        tags = {**args.tags, PURPOSE_TAG: PURPOSE}
        # Not logged itself: AWS advises against a log bucket logging its own access (each delivery would log again).
        self.bucket = bucket = aws.s3.Bucket(
            name, bucket=args.bucket_name, force_destroy=args.force_destroy, tags=tags, opts=pulumi.ResourceOptions(parent=self),
        )
        part = pulumi.ResourceOptions(parent=bucket)
        # SSE-S3, not SSE-KMS under the account's key: AWS documents SSE-S3 (AES256) as the default encryption a
        # server access logging destination bucket may use ("Enabling Amazon S3 server access logging",
        # https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html), and a
        # customer-managed key would also have to let the logging service encrypt with it.
        private_versioned(name, bucket, aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
            apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm="AES256"),
        ))
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-expiry", bucket=bucket.id, opts=part, rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-access-logs", status="Enabled", filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=args.retention_days),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=args.retention_days),
                ),
            ])
        objects = bucket.arn.apply(lambda arn: f"{arn}/*")
        sources = [f"arn:{args.partition}:s3:::{b}" for b in args.source_bucket_names]
        aws.s3.BucketPolicy(f"{name}-policy", bucket=bucket.id, opts=part, policy=document([
            deny_insecure_transport(bucket.arn, objects),
            # The S3 logging service writes the logs; only for this account's listed buckets.
            statement("S3ServerAccessLogsDelivery", ["s3:PutObject"], objects, principals={"Service": LOGGING_SERVICE},
                      conditions={"StringEquals": {"aws:SourceAccount": args.account_id}, "ArnLike": {"aws:SourceArn": sources}}),
        ]))
        self.arn = bucket.arn
        self.name = bucket.bucket
        self.register_outputs({"arn": bucket.arn, "name": bucket.bucket})

    def log(self, source_name: str, source_bucket: pulumi.Input[str], parent: pulumi.Resource,
            prefix: Optional[str] = None) -> aws.s3.BucketLogging:
        """Send `source_bucket`'s server access logs here, under `prefix` (default `<source bucket name>/`)."""
        return aws.s3.BucketLogging(
            f"{source_name}-access-logging", bucket=source_bucket, target_bucket=self.bucket.id,
            target_prefix=prefix if prefix is not None else f"{source_name}/",
            opts=pulumi.ResourceOptions(parent=parent),
        )
