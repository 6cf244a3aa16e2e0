"""Tamper evidence outside the governance table: the checkpoint bucket and the stream consumer that fills it.

The bucket has S3 Object Lock in COMPLIANCE mode with a default retention (7 years unless configured):
a locked object version cannot be overwritten or deleted by anyone, the account root included, and the
mode and period cannot be weakened until the retention ends; Object Lock needs versioning and is enabled
when the bucket is created (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-overview.html).
The consumer reads the table's stream (event source mapping: bounded retries, bisect on error, failed
batches to an encrypted queue), verifies every chain a change touches, writes verified heads as
`checkpoints/<subject>/<seq>.json` (PutObject on that prefix is its only write) and counts changes that
arrived without a valid signed entry; an alarm on that count notifies within a minute.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.args import ComponentArgs
from components.dead_letters import dead_letter_queue
from components.function import POWERTOOLS_LAYER_VERSION, Function, FunctionArgs, package_archive
from components.policy_documents import document, statement
from components.private_network import FunctionNetwork
from components.secure_bucket import deny_insecure_transport, private_versioned
from governance import contract

HANDLER = "governance.handlers.checkpoint.handler"
STREAM_READ_ACTIONS = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams")
MAX_RETRIES = 5
BATCH_SIZE = 50


@dataclass
class AuditCheckpointsArgs(ComponentArgs):
    prefix: str
    """Names the consumer (`<prefix>-checkpoint`) and its parts."""
    bucket_name: str
    account_id: str
    region: str
    kms_key_arn: pulumi.Input[str]
    """The hub key: encrypts the bucket, the queue, the function's logs and environment."""
    table_name: pulumi.Input[str]
    table_arn: pulumi.Input[str]
    stream_arn: pulumi.Input[str]
    signing_key_arn: pulumi.Input[str]
    retention_days: int = contract.DEFAULT_AUDIT_RETENTION_DAYS
    """Default COMPLIANCE retention of every checkpoint object version."""
    partition: str = "aws"
    log_retention_days: int = 365
    powertools_layer_version: int = POWERTOOLS_LAYER_VERSION
    alarm_actions: Sequence[pulumi.Input[str]] = ()
    network: Optional[FunctionNetwork] = None


class AuditCheckpoints(pulumi.ComponentResource):
    bucket: aws.s3.Bucket
    function: Function

    def __init__(self, name: str, args: AuditCheckpointsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlgov:audit_checkpoints:AuditCheckpoints", name, None, opts)
        tags = dict(args.tags)
        child = pulumi.ResourceOptions(parent=self)
        # Evidence: never destroyed with the stack, and Object Lock keeps every version for its retention anyway.
        self.bucket = bucket = aws.s3.Bucket(f"{name}-bucket", bucket=args.bucket_name, object_lock_enabled=True,
                                             force_destroy=False, tags=tags, opts=pulumi.ResourceOptions(parent=self, protect=True))
        part = pulumi.ResourceOptions(parent=bucket)
        private_versioned(f"{name}-bucket", bucket, aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
            apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm="aws:kms", kms_master_key_id=args.kms_key_arn),
            bucket_key_enabled=True,
        ))
        aws.s3.BucketObjectLockConfiguration(
            f"{name}-object-lock", bucket=bucket.id, object_lock_enabled="Enabled",
            rule=aws.s3.BucketObjectLockConfigurationRuleArgs(default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(
                mode="COMPLIANCE", days=args.retention_days)),
            opts=part,
        )
        objects = bucket.arn.apply(lambda arn: f"{arn}/*")
        aws.s3.BucketPolicy(f"{name}-bucket-policy", bucket=bucket.id,
                            policy=document([deny_insecure_transport(bucket.arn, objects)]), opts=part)

        failures = dead_letter_queue(f"{name}-failed-batches", args.kms_key_arn, [], tags, child,
                                     queue_name=f"{args.prefix}-checkpoint-failed-batches", alarm_actions=args.alarm_actions)
        checkpoints = bucket.arn.apply(lambda arn: f"{arn}/{contract.CHECKPOINTS_PREFIX}*")
        table_arn = pulumi.Output.from_input(args.table_arn)
        statements = [
            statement("CheckpointDynamodb", ["dynamodb:BatchGetItem", "dynamodb:Query"], table_arn),
            statement("CheckpointKms", ["kms:GetPublicKey"], args.signing_key_arn),
            statement("CheckpointS3List", ["s3:ListBucket"], bucket.arn,
                      conditions={"StringLike": {"s3:prefix": [f"{contract.CHECKPOINTS_PREFIX}*"]}}),
            statement("CheckpointS3", ["s3:GetObject", "s3:PutObject"], checkpoints),
            statement("ReadTableStream", STREAM_READ_ACTIONS, args.stream_arn),
            statement("FailedBatches", ["sqs:SendMessage"], failures.arn),
        ]
        function_name = f"{args.prefix}-checkpoint"
        self.function = Function(function_name, FunctionArgs(
            handler=HANDLER, code=package_archive("governance"), account_id=args.account_id, region=args.region,
            kms_key_arn=args.kms_key_arn, statements=statements,
            environment={"POWERTOOLS_SERVICE_NAME": "mlgov-checkpoint",
                         **contract.CheckpointSettings(args.table_name, args.signing_key_arn, bucket.bucket).to_env()},
            function_name=function_name, role_name=f"{function_name}-role", key_services=["dynamodb", "s3", "sqs"],
            log_retention_days=args.log_retention_days, powertools_layer_version=args.powertools_layer_version,
            partition=args.partition, alarm_actions=args.alarm_actions, tags=tags, reserved_concurrency=5, network=args.network,
        ), opts=child)
        aws.lambda_.EventSourceMapping(
            f"{name}-stream", event_source_arn=args.stream_arn, function_name=self.function.arn, starting_position="TRIM_HORIZON",
            batch_size=BATCH_SIZE, maximum_retry_attempts=MAX_RETRIES, bisect_batch_on_function_error=True,
            maximum_record_age_in_seconds=24 * 3600,
            destination_config=aws.lambda_.EventSourceMappingDestinationConfigArgs(
                on_failure=aws.lambda_.EventSourceMappingDestinationConfigOnFailureArgs(destination_arn=failures.arn)),
            opts=pulumi.ResourceOptions(parent=self.function),
        )
        aws.cloudwatch.MetricAlarm(
            f"{name}-unsigned-changes",
            alarm_description=f"{name}: a governance record or audit chain changed without a valid signed entry",
            namespace=contract.AUDIT_METRICS_NAMESPACE, metric_name=contract.UNSIGNED_CHANGE_METRIC,
            dimensions={"service": "mlgov-checkpoint"}, statistic="Sum", period=60, evaluation_periods=1,
            threshold=1, comparison_operator="GreaterThanOrEqualToThreshold", treat_missing_data="notBreaching",
            alarm_actions=list(args.alarm_actions), tags=tags, opts=child,
        )
        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.role_arn = self.function.role.arn
        self.register_outputs({"bucket_name": bucket.bucket, "bucket_arn": bucket.arn})
