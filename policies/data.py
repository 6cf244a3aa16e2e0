"""Data: the governance table, the artifact bucket, keys, queues and logs are recoverable and encrypted with our keys."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable, Iterator, Optional

from pulumi_policy import StackValidationPolicy

from .common import (
    ACCESS_LOGS_PURPOSE,
    BUCKET_ENCRYPTION,
    BUCKET_LOGGING,
    BUCKET_POLICY,
    BUCKET_PUBLIC_ACCESS_BLOCK,
    BUCKET_VERSIONING,
    BUCKETS,
    KMS_KEY,
    LOG_GROUP,
    PURPOSE_TAG,
    SQS_QUEUE,
    TABLE,
    actions,
    as_list,
    by_type,
    customer_key,
    document,
    field,
    is_true,
    join_key,
    parent_urn,
    prop,
    resource_rule,
    resources,
    setting_rule,
    stack_rule,
    statements,
    tags,
)

dynamodb_point_in_time_recovery = setting_rule(
    "dynamodb-point-in-time-recovery", "DynamoDB tables have point-in-time recovery.", TABLE,
    ("pointInTimeRecovery", "enabled"), is_true,
    "DynamoDB table {name} has no point-in-time recovery: set point_in_time_recovery.enabled=True",
)
dynamodb_deletion_protection = setting_rule(
    "dynamodb-deletion-protection", "DynamoDB tables have deletion protection.", TABLE,
    ("deletionProtectionEnabled",), is_true,
    "DynamoDB table {name} can be deleted: set deletion_protection_enabled=True",
)
sqs_customer_managed_key = setting_rule(
    "sqs-customer-managed-key", "SQS queues (dead-letter queues hold events) are encrypted with a customer-managed key.",
    SQS_QUEUE, ("kmsMasterKeyId",), customer_key,
    "SQS queue {name} is not encrypted with a customer-managed key: set kms_master_key_id",
)


@resource_rule("dynamodb-customer-managed-key", "DynamoDB tables are encrypted with a customer-managed KMS key.", TABLE)
def dynamodb_customer_managed_key(props, cfg, args) -> Iterator[str]:
    sse = props.get("serverSideEncryption")
    if not (field(sse, "enabled") is True and customer_key(field(sse, "kmsKeyArn"))):
        yield (f"DynamoDB table {props.get('name', args.name)} is encrypted with an AWS-owned or AWS-managed key: set "
               "server_side_encryption enabled=True with kms_key_arn of a customer-managed key")


@resource_rule("kms-key-rotation", "Symmetric KMS keys rotate yearly.", KMS_KEY)
def kms_key_rotation(props, cfg, args) -> Iterator[str]:
    spec = props.get("customerMasterKeySpec") or props.get("keySpec") or "SYMMETRIC_DEFAULT"
    if spec != "SYMMETRIC_DEFAULT":
        args.not_applicable("only symmetric keys can be rotated automatically")
    if props.get("enableKeyRotation") is not True:
        yield f"KMS key {args.name} is not rotated: set enable_key_rotation=True"


@resource_rule("log-group-encrypted-and-retained",
               "Log groups are encrypted with a customer-managed key and keep logs for a bounded, sufficient time.",
               LOG_GROUP, config=("minLogRetentionDays",))
def log_group_encrypted_and_retained(props, cfg, args) -> Iterator[str]:
    name = props.get("name", args.name)
    if not customer_key(props.get("kmsKeyId")):
        yield f"log group {name} is not encrypted with a customer-managed key: set kms_key_id"
    retention = props.get("retentionInDays")
    minimum = int(cfg["minLogRetentionDays"])
    if not isinstance(retention, (int, float)) or retention < minimum:
        yield f"log group {name} keeps logs {retention or 'forever (unset)'} days: set retention_in_days to at least {minimum}"


# --- S3: the bucket's settings are separate resources; join them to the bucket by name or parent ---


def _bucket_name(bucket: Any) -> Optional[str]:
    return join_key(bucket, "bucket") or join_key(bucket, "id")


def _parts(resources: list[Any], bucket: Any, types: tuple[str, ...] | str) -> list[Any]:
    name = _bucket_name(bucket)
    types = (types,) if isinstance(types, str) else types
    return [r for r in by_type(resources, *types) if (name and join_key(r, "bucket") == name) or parent_urn(r) == bucket.urn]


def bucket_rule(name: str, description: str, ok: Callable[[list[Any], Any], bool], fix: str) -> StackValidationPolicy:
    """A stack rule on every bucket: `ok(resources, bucket)` judges the bucket with its parts, else
    "bucket <name> `fix`". The four S3 rules differ only there."""

    @stack_rule(name, description)
    def check(resources: list[Any], cfg: dict[str, Any]) -> Iterator[tuple[str, Optional[str]]]:
        for bucket in by_type(resources, *BUCKETS):
            if not ok(resources, bucket):
                yield f"bucket {_bucket_name(bucket) or bucket.name} {fix}", bucket.urn

    return check


def _blocks_public_access(resources: list[Any], bucket: Any) -> bool:
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    return any(all(prop(b, f) is True for f in flags) for b in _parts(resources, bucket, BUCKET_PUBLIC_ACCESS_BLOCK))


s3_public_access_blocked = bucket_rule(
    "s3-public-access-blocked", "S3 buckets block every form of public access.", _blocks_public_access,
    "does not block public access: add a BucketPublicAccessBlock with block_public_acls, block_public_policy, "
    "ignore_public_acls and restrict_public_buckets all True",
)


def _versioned(resources: list[Any], bucket: Any) -> bool:
    ok = field(prop(bucket, "versioning"), "enabled") is True
    for v in _parts(resources, bucket, BUCKET_VERSIONING):
        conf = prop(v, "versioningConfiguration")
        ok = ok or field(conf, "status") == "Enabled"
    return ok


s3_versioning = bucket_rule(
    "s3-versioning", "S3 buckets are versioned.", _versioned,
    "is not versioned: add a BucketVersioning with versioning_configuration status 'Enabled'",
)


def _sse_rules(resource: Any, key: str) -> list[Mapping[str, Any]]:
    value = prop(resource, key)
    if isinstance(value, Mapping):  # legacy inline serverSideEncryptionConfiguration: {rule: {...}}
        value = value.get("rule") or value.get("rules")
    return [r for r in as_list(value) if isinstance(r, Mapping)]


def _access_log_bucket(bucket: Any) -> bool:
    return tags(bucket.props).get(PURPOSE_TAG) == ACCESS_LOGS_PURPOSE


def _sse_kms(resources: list[Any], bucket: Any) -> bool:
    """SSE-KMS under a customer-managed key; an access-log bucket needs SSE-S3 (see `ACCESS_LOGS_PURPOSE`)."""
    rules = _sse_rules(bucket, "serverSideEncryptionConfiguration")
    for part in _parts(resources, bucket, BUCKET_ENCRYPTION):
        rules += _sse_rules(part, "rules")
    ok = False
    for rule in rules:
        default = rule.get("applyServerSideEncryptionByDefault")
        if field(default, "sseAlgorithm") in ("aws:kms", "aws:kms:dsse") and customer_key(default.get("kmsMasterKeyId")):
            ok = True
        if _access_log_bucket(bucket) and field(default, "sseAlgorithm") == "AES256":
            ok = True
    return ok


s3_sse_kms = bucket_rule(
    "s3-sse-kms", "S3 buckets encrypt with SSE-KMS under a customer-managed key (access-log buckets with SSE-S3).", _sse_kms,
    "is not encrypted with SSE-KMS under a customer-managed key: add a BucketServerSideEncryptionConfiguration with "
    "sse_algorithm 'aws:kms' and kms_master_key_id (a bucket tagged mlgov:purpose=s3-server-access-logs: 'AES256')",
)


def _logs_access(resources: list[Any], bucket: Any) -> bool:
    if _access_log_bucket(bucket) or field(prop(bucket, "logging"), "targetBucket"):
        return True
    return any(prop(part, "targetBucket") for part in _parts(resources, bucket, BUCKET_LOGGING))


s3_access_logging = bucket_rule(
    "s3-access-logging", "S3 buckets log server access to an access-log bucket (which does not log itself).", _logs_access,
    "has no server access logging: add a BucketLogging with target_bucket an access-log bucket (tagged "
    "mlgov:purpose=s3-server-access-logs)",
)


def _denies_plain_http(statement: Mapping[str, Any], bucket_arn: Optional[str]) -> bool:
    if statement.get("Effect") != "Deny":
        return False
    if str(field(statement, "Condition", "Bool", "aws:SecureTransport")).lower() != "false":
        return False
    if not any(a in ("s3:*", "*") for a in actions(statement)):
        return False
    principal = statement.get("Principal")
    if not (principal == "*" or (isinstance(principal, Mapping) and "*" in as_list(principal.get("AWS")))):
        return False
    if bucket_arn:
        covered = set(resources(statement))
        return bucket_arn in covered and f"{bucket_arn}/*" in covered
    return True


def _tls_only(resources_: list[Any], bucket: Any) -> bool:
    name = _bucket_name(bucket)
    arn = join_key(bucket, "arn") or (f"arn:aws:s3:::{name}" if name else None)
    ok = False
    for policy in _parts(resources_, bucket, BUCKET_POLICY):
        ok = ok or any(_denies_plain_http(s, arn) for s in statements(document(prop(policy, "policy"))))
    return ok


s3_tls_only = bucket_rule(
    "s3-tls-only", "S3 bucket policies deny every request not sent over TLS.", _tls_only,
    "accepts plain HTTP: add a bucket policy statement that denies s3:* to every principal on the bucket and its "
    "objects when aws:SecureTransport is false",
)


POLICIES = [
    dynamodb_point_in_time_recovery,
    dynamodb_deletion_protection,
    dynamodb_customer_managed_key,
    s3_public_access_blocked,
    s3_versioning,
    s3_sse_kms,
    s3_tls_only,
    s3_access_logging,
    kms_key_rotation,
    log_group_encrypted_and_retained,
    sqs_customer_managed_key,
]
