"""AccessLogBucket: where a data bucket's server access logs go, written only by S3's logging service for listed buckets."""
from __future__ import annotations

import json

import pulumi_aws as aws
import pytest

from components.access_log_bucket import AccessLogBucket, AccessLogBucketArgs
from mlgov import offline
from tests.infra import policy_statements, run_component

LOGS = "mlgov-access-logs-111111111111-eu-west-1"
SOURCE = "mlgov-artifacts-111111111111-eu-west-1"


@pytest.fixture(scope="module")
def plan() -> offline.Plan:
    def declare() -> None:
        logs = AccessLogBucket("logs", AccessLogBucketArgs(bucket_name=LOGS, account_id="111111111111", source_bucket_names=[SOURCE],
                                                            retention_days=90, tags={"team": "ml"}))
        source = aws.s3.Bucket("source", bucket=SOURCE)
        logs.log("source", source.id, parent=source)

    return run_component(declare)


def test_log_bucket_is_tagged_private_versioned_and_sse_s3(plan) -> None:
    assert plan.named("logs").inputs["tags"] == {"team": "ml", "mlgov:purpose": "s3-server-access-logs"}
    assert plan.named("logs-ownership").inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    assert all(plan.named("logs-public-access").inputs[k] is True
               for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    assert plan.named("logs-versioning").inputs["versioningConfiguration"] == {"status": "Enabled"}
    assert plan.named("logs-encryption").inputs["rules"] == [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]


def test_logs_and_their_old_versions_expire_after_the_retention(plan) -> None:
    [rule] = plan.named("logs-expiry").inputs["rules"]
    assert (rule["status"], rule["expiration"]["days"], rule["noncurrentVersionExpiration"]["noncurrentDays"]) == ("Enabled", 90, 90)


def test_only_the_logging_service_writes_for_the_listed_buckets_of_this_account_over_tls(plan) -> None:
    statements = {s["Sid"]: s for s in policy_statements(plan.named("logs-policy"))}
    assert statements["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    delivery = statements["S3ServerAccessLogsDelivery"]
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert (delivery["Action"], delivery["Resource"]) == ("s3:PutObject", f"arn:aws:s3:::{LOGS}/*")
    assert delivery["Condition"] == {"StringEquals": {"aws:SourceAccount": "111111111111"},
                                     "ArnLike": {"aws:SourceArn": [f"arn:aws:s3:::{SOURCE}"]}}


def test_a_source_bucket_logs_under_its_own_prefix(plan) -> None:
    logging = plan.named("source-access-logging")
    assert (logging.inputs["bucket"], logging.inputs["targetBucket"], logging.inputs["targetPrefix"]) == (SOURCE, LOGS, "source/")
    assert json.dumps(logging.inputs).count("targetGrants") == 0
