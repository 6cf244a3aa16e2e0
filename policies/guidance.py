"""How bad each rule's violation is and what to do about it, shown by the Pulumi CLI and Pulumi Cloud next to it.

Every rule must have an entry (`common._rule` looks it up), and docs/policies.md has a section per rule,
`DOCS_URL#<rule name>`, that says the same at more length.
"""
from __future__ import annotations

import os

from pulumi_policy import Severity

# Where the pack's documentation is published; each rule's `url` is this plus `#<rule name>`. An organization
# that publishes its own copy of the pack sets MLGOV_POLICY_DOCS_URL to its copy of docs/policies.md.
DOCS_URL = os.environ.get("MLGOV_POLICY_DOCS_URL") or "https://github.com/mlgov/mlgov/blob/main/docs/policies.md"

LOW, MEDIUM, HIGH, CRITICAL = Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL

GUIDANCE: dict[str, tuple[Severity, str]] = {
    # governance
    "no-unacceptable-risk-tier": (CRITICAL, "Remove the use case from mlgov:useCases: the EU AI Act prohibits AI systems of "
                                            "risk tier 'unacceptable', so none of its groups, shares or records may exist."),
    "model-group-governance-tags": (HIGH, "Tag the model package group with mlgov:use-case, mlgov:risk-tier (high, limited or "
                                          "minimal) and mlgov:owner; SharedModelGroup sets them from mlgov:useCases."),
    "model-group-register-and-deploy-shares": (MEDIUM, "Associate the group with a RAM share granting the register permission "
                                                       "to the dev accounts and one granting the deploy permission to the "
                                                       "test and prod accounts (SharedModelGroup creates both)."),
    "high-risk-endpoint-data-capture": (HIGH, "Set data_capture_config on the endpoint config: enable_capture=True, "
                                              "initial_sampling_percentage=100, capture options Input and Output, and a "
                                              "destination_s3_uri in the hub's capture bucket."),
    "high-risk-production-ab-or-shadow": (MEDIUM, "Before the full rollout of a high-risk model in production, deploy it as an "
                                                  "A/B challenger or a shadow variant (mlgov:deployments in Pulumi.prod.yaml)."),
    "deployment-governance-tags": (MEDIUM, "Tag SageMaker models, endpoint configs and endpoints with mlgov:use-case, "
                                           "mlgov:model-group, mlgov:model-version and mlgov:stage."),
    "endpoint-rollout-auto-rollback": (MEDIUM, "Set deployment_config on the endpoint: blue_green_update_policy (traffic "
                                               "routing ALL_AT_ONCE, CANARY or LINEAR) and auto_rollback_configuration.alarms "
                                               "naming the endpoint's 5xx and latency alarms (StageDeployment sets both)."),
    "model-from-hub-registry": (HIGH, "Build the model from a model package version of the hub registry: set "
                                      "primary_container.model_package_name to the hub's model package ARN, not an image "
                                      "and a copied artifact."),
    # sharing
    "ram-no-external-principals": (CRITICAL, "Set allow_external_principals=False on the RAM resource share."),
    "ram-principals-in-organization": (CRITICAL, "Associate the share only with accounts (or the organization / its OUs) "
                                                 "listed in mlgov:organization; set the pack config's account lists."),
    "ram-register-only-to-dev": (HIGH, "Share the register permission with dev accounts only; give test and prod accounts "
                                       "the deploy share."),
    "ram-prod-deploy-only": (HIGH, "Associate prod accounts only with a share whose permission is "
                                   "AWSRAMPermissionSageMakerModelPackageGroupAllowDeploy."),
    "ram-managed-or-declared-permission": (MEDIUM, "Set permission_arns on the share to a managed SageMaker model package "
                                                   "group permission, or to a custom RAM permission declared in the same stack."),
    "ram-custom-permission-actions": (HIGH, "Give the custom RAM permission resource_type sagemaker:ModelPackageGroup and a "
                                            "policy template listing only model package group actions, no wildcards."),
    "ram-permission-no-approval-writes": (CRITICAL, "Remove sagemaker:UpdateModelPackage (and any wildcard covering it) from "
                                                    "the RAM permission's policy template: approval status and lifecycle "
                                                    "stage are written by the hub's governance API only."),
    "resource-policy-principals-in-organization": (CRITICAL, "Name only accounts of the organization as principals, or add "
                                                             "Condition StringEquals aws:PrincipalOrgID=<organization id> "
                                                             "to a statement allowing \"*\"."),
    # data
    "dynamodb-point-in-time-recovery": (MEDIUM, "Set point_in_time_recovery.enabled=True on the table."),
    "dynamodb-deletion-protection": (MEDIUM, "Set deletion_protection_enabled=True on the table."),
    "dynamodb-customer-managed-key": (MEDIUM, "Set server_side_encryption enabled=True with kms_key_arn of a "
                                              "customer-managed KMS key."),
    "s3-public-access-blocked": (CRITICAL, "Add a BucketPublicAccessBlock for the bucket with block_public_acls, "
                                           "block_public_policy, ignore_public_acls and restrict_public_buckets all True."),
    "s3-versioning": (MEDIUM, "Add a BucketVersioning for the bucket with versioning_configuration status 'Enabled'."),
    "s3-sse-kms": (MEDIUM, "Add a BucketServerSideEncryptionConfiguration with sse_algorithm 'aws:kms' and "
                           "kms_master_key_id of a customer-managed key ('AES256' on a bucket tagged "
                           "mlgov:purpose=s3-server-access-logs)."),
    "s3-tls-only": (HIGH, "Add a bucket policy statement denying s3:* to every principal on the bucket and its objects "
                          "when aws:SecureTransport is false."),
    "s3-access-logging": (MEDIUM, "Add a BucketLogging for the bucket whose target_bucket is an access-log bucket: "
                                  "AccessLogBucket (tagged mlgov:purpose=s3-server-access-logs) and its log()."),
    "kms-key-rotation": (MEDIUM, "Set enable_key_rotation=True on the key."),
    "log-group-encrypted-and-retained": (MEDIUM, "Set kms_key_id to a customer-managed key and retention_in_days to at "
                                                 "least minLogRetentionDays (90 unless configured)."),
    "sqs-customer-managed-key": (MEDIUM, "Set kms_master_key_id on the queue to a customer-managed key."),
    # compute
    "iam-no-wildcard-action": (HIGH, "Replace wildcard actions (and NotAction) with the list of actions the principal calls."),
    "iam-scoped-resources": (HIGH, "Scope Resource to the ARNs the statement needs; keep \"*\" only for actions without "
                                   "resource-level permissions (the unscopedActions config)."),
    "lambda-supported-python-runtime": (MEDIUM, "Set the function's runtime to one of allowedRuntimes."),
    "lambda-tracing": (LOW, "Set tracing_config mode 'Active' and allow xray:PutTraceSegments and "
                            "xray:PutTelemetryRecords in the function's role."),
    "lambda-async-dead-letter": (MEDIUM, "Set dead_letter_config.target_arn to an encrypted SQS queue, or add a "
                                         "FunctionEventInvokeConfig with an on-failure destination."),
    "lambda-reserved-concurrency": (MEDIUM, "Set reserved_concurrent_executions above 0 on the function (mlgov: "
                                           "FunctionArgs reserved_concurrency, or mlgov:lambdaConcurrency in the stack config)."),
    "lambda-in-vpc": (MEDIUM, "Set vpc_config on the function with the subnet_ids and security_group_ids of the stack's "
                              "mlgov:network (mlgov: FunctionArgs network, from MemberAccount/CentralRegistry)."),
    "sagemaker-model-network-isolation": (MEDIUM, "Set enable_network_isolation=True on the SageMaker model."),
    # edge
    "http-route-authorized": (CRITICAL, "Set authorization_type 'AWS_IAM' on the route, or 'JWT' with authorizer_id of "
                                        "the API's JWT authorizer."),
    "http-stage-access-logs": (MEDIUM, "Set access_log_settings on the stage with a log group destination_arn and a JSON "
                                       "format that names the caller."),
    "http-stage-throttling": (MEDIUM, "Set default_route_settings throttling_burst_limit and throttling_rate_limit "
                                      "above 0 on the stage."),
    "rest-method-authorized": (CRITICAL, "Set authorization 'AWS_IAM' on the method, or 'COGNITO_USER_POOLS'/'CUSTOM' with "
                                         "authorizer_id of the API's authorizer."),
    "rest-stage-access-logs": (MEDIUM, "Set access_log_settings on the stage with a log group destination_arn and a JSON "
                                       "format that names the caller (and the account's API Gateway CloudWatch role)."),
    "rest-stage-throttling": (MEDIUM, "Add a MethodSettings for the stage with method_path '*/*' and settings "
                                      "throttling_burst_limit and throttling_rate_limit above 0."),
    "rest-api-organization-policy": (CRITICAL, "Attach a resource policy (RestApiPolicy) that allows execute-api:Invoke to "
                                               "\"*\" only with Condition StringEquals aws:PrincipalOrgID=<organization id> "
                                               "and denies execute-api:Invoke to \"*\" with StringNotEquals aws:PrincipalOrgID; "
                                               "mlgov: IamRestApi organization_id."),
    "sagemaker-endpoint-config-encrypted": (MEDIUM, "Set kms_key_arn on the endpoint config, and "
                                                    "data_capture_config.kms_key_id when it captures data."),
    "event-target-retry-and-dead-letter": (LOW, "Set dead_letter_config.arn to an encrypted SQS queue (and alarm on it) "
                                                "and an explicit retry_policy on the target."),
    "cloudwatch-alarm-has-action": (MEDIUM, "Set alarm_actions on the alarm to the account's SNS alarm topic (the components "
                                            "take alarm_actions; mlgov:notifications subscribes e-mail and HTTPS endpoints)."),
}


def url(name: str) -> str:
    """The documentation section of rule `name` (docs/policies.md, one heading per rule)."""
    return f"{DOCS_URL}#{name}"
