"""Every rule: at least one resource (or stack) that passes and one that fails, with the message that says what to change."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from pulumi_policy import StackValidationPolicy

from mlgov.offline import DeclaredResource

from policies import compute, data, edge, governance, sharing
from policies.common import (
    ACCESS_LOGS_PURPOSE,
    BUCKET_ENCRYPTION,
    BUCKET_LOGGING,
    BUCKET_POLICY,
    BUCKET_PUBLIC_ACCESS_BLOCK,
    BUCKET_VERSIONING,
    DEPLOY_PERMISSION,
    ENDPOINT,
    ENDPOINT_CONFIG,
    EVENT_BUS_POLICY,
    EVENT_TARGET,
    METRIC_ALARM,
    HTTP_ROUTE,
    HTTP_STAGE,
    IAM_POLICY,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    KMS_KEY,
    LAMBDA_EVENT_INVOKE_CONFIG,
    LAMBDA_FUNCTION,
    LAMBDA_PERMISSION,
    LOG_GROUP,
    MODEL_PACKAGE_GROUP,
    PRINCIPAL_ASSOCIATION,
    RAM_PERMISSION,
    REGISTER_PERMISSION,
    RESOURCE_ASSOCIATION,
    RESOURCE_SHARE,
    REST_API,
    REST_API_POLICY,
    REST_METHOD,
    REST_METHOD_SETTINGS,
    REST_STAGE,
    SAGEMAKER_MODEL,
    SQS_QUEUE,
    SQS_QUEUE_POLICY,
    TABLE,
    TABLE_ITEM,
)
from policies.rules import ALL_POLICIES

from .harness import allow, doc, messages, res

KEY = "arn:aws:kms:eu-west-1:111111111111:key/1234"
GROUP_ARN = "arn:aws:sagemaker:eu-west-1:111111111111:model-package-group/credit-risk-xgb"
BUCKET = "mlgov-artifacts-111111111111-eu-west-1"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
MANAGED = "arn:aws:ram::aws:permission/"
ROLLOUT = {"blueGreenUpdatePolicy": {"trafficRoutingConfiguration": {"type": "ALL_AT_ONCE", "waitIntervalInSeconds": 600}},
           "autoRollbackConfiguration": {"alarms": [{"alarmName": "e-champion-5xx"}]}}
DEPLOY_TAGS = {"mlgov:use-case": "credit-risk", "mlgov:model-group": "credit-risk-xgb", "mlgov:model-version": "1", "mlgov:stage": "production"}
GROUP_TAGS = {"mlgov:use-case": "credit-risk", "mlgov:risk-tier": "high", "mlgov:owner": "ds@example.com"}


REST_STAGE_OK = {"stageName": "v1", "restApi": "api1", "accessLogSettings": {
    "destinationArn": "arn:aws:logs:eu-west-1:111111111111:log-group:/mlgov/apigateway/api", "format": '{"userArn": "$context.identity.userArn"}'}}


def throttled(**overrides):
    return res(REST_METHOD_SETTINGS, "t", **{"restApi": "api1", "stageName": "v1", "methodPath": "*/*",
                                              "settings": {"throttlingBurstLimit": 50, "throttlingRateLimit": 25.0}, **overrides})


def invoke(effect: str, condition: Any = None, **extra: Any) -> dict[str, Any]:
    out = {"Sid": "Invoke", "Effect": effect, "Principal": "*", "Action": "execute-api:Invoke",
           "Resource": "arn:aws:execute-api:eu-west-1:111111111111:api1/*", **extra}
    return {**out, "Condition": condition} if condition else out


ORG_ONLY = [invoke("Allow", {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}),
            invoke("Deny", {"StringNotEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}})]


def rest_api(**props):
    return res(REST_API, "api", "urn:pulumi:unit::mlgov::c::api", **{"name": "mlgov-governance-api", "id": "api1", **props})


@dataclass
class Case:
    policy: Any
    passing: list = field(default_factory=list)
    failing: list = field(default_factory=list)
    message: str = ""
    settings: dict = field(default_factory=dict)


def share(name: str, permission: str, parent: str | None = None, **extra):
    props = {"name": name, "allowExternalPrincipals": False, "permissionArns": [permission],
             "arn": f"arn:aws:ram:eu-west-1:111111111111:resource-share/{name}", **extra}
    return res(RESOURCE_SHARE, name, parent, **props)


def principal(name: str, share_name: str, account: str):
    return res(PRINCIPAL_ASSOCIATION, name, principal=account,
               resourceShareArn=f"arn:aws:ram:eu-west-1:111111111111:resource-share/{share_name}")


def associate(name: str, share_name: str, resource_arn: str = GROUP_ARN):
    return res(RESOURCE_ASSOCIATION, name, resourceArn=resource_arn,
               resourceShareArn=f"arn:aws:ram:eu-west-1:111111111111:resource-share/{share_name}")


def group(**tags):
    return res(MODEL_PACKAGE_GROUP, "g", modelPackageGroupName="credit-risk-xgb", tags=tags, arn=GROUP_ARN)


def shared_group(register: str = REGISTER_PERMISSION, deploy: str | None = DEPLOY_PERMISSION):
    out = [group(**GROUP_TAGS), share("reg", MANAGED + register), associate("reg-g", "reg")]
    if deploy:
        out += [share("dep", MANAGED + deploy), associate("dep-g", "dep")]
    return out


def capture(**overrides):
    return {"enableCapture": True, "initialSamplingPercentage": 100, "destinationS3Uri": "s3://b/capture",
            "kmsKeyId": KEY, "captureOptions": [{"captureMode": "Input"}, {"captureMode": "Output"}], **overrides}


def endpoint_config(use_case="credit-risk", stage="production", variants=2, shadows=0, **extra):
    props = {"tags": {**DEPLOY_TAGS, "mlgov:use-case": use_case, "mlgov:stage": stage}, "kmsKeyArn": KEY,
             "productionVariants": [{"variantName": f"v{i}"} for i in range(1, variants + 1)],
             "dataCaptureConfig": capture(), **extra}
    if shadows:
        props["shadowProductionVariants"] = [{"variantName": "s"}]
    return res(ENDPOINT_CONFIG, "ec", **props)


def bucket_parts(*, block=True, versioning="Enabled", sse="aws:kms", tls=True):
    out = [res("aws:s3/bucket:Bucket", "b", bucket=BUCKET, arn=BUCKET_ARN)]
    out.append(res(BUCKET_PUBLIC_ACCESS_BLOCK, "b-pab", bucket=BUCKET, blockPublicAcls=True, blockPublicPolicy=block,
                   ignorePublicAcls=True, restrictPublicBuckets=True))
    out.append(res(BUCKET_VERSIONING[0], "b-v", bucket=BUCKET, versioningConfiguration={"status": versioning}))
    out.append(res(BUCKET_ENCRYPTION[0], "b-sse", bucket=BUCKET, rules=[{"applyServerSideEncryptionByDefault": {
        "sseAlgorithm": sse, **({"kmsMasterKeyId": KEY} if sse == "aws:kms" else {})}}]))
    statements = [allow("s3:GetObject", f"{BUCKET_ARN}/models/*", Principal={"AWS": ["arn:aws:iam::333333333333:root"]})]
    if tls:
        statements.append({"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*",
                           "Resource": [BUCKET_ARN, f"{BUCKET_ARN}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
    out.append(res(BUCKET_POLICY, "b-policy", bucket=BUCKET, policy=doc(*statements)))
    return out


def access_log_bucket(sse="AES256", **tags):
    bucket = res("aws:s3/bucket:Bucket", "logs", bucket="logs", tags={"mlgov:purpose": ACCESS_LOGS_PURPOSE, **tags})
    return [bucket, res(BUCKET_ENCRYPTION[0], "logs-sse", bucket="logs", rules=[{"applyServerSideEncryptionByDefault": {"sseAlgorithm": sse}}])]


def logged(parts):
    return [*parts, res(BUCKET_LOGGING[0], "b-logging", bucket=BUCKET, targetBucket="logs", targetPrefix="b/")]


NETWORK = {"vpcConfig": {"subnetIds": ["subnet-0a1b2c3d4e5f60718"], "securityGroupIds": ["sg-0a1b2c3d4e5f60718"]}}


def function(name="fn", **extra):
    props = {"name": name, "runtime": "python3.12", "tracingConfig": {"mode": "Active"},
             "arn": f"arn:aws:lambda:eu-west-1:111111111111:function:{name}", **extra}
    return res(LAMBDA_FUNCTION, name, **props)


def events_permission(fn="fn"):
    return res(LAMBDA_PERMISSION, f"{fn}-perm", function=fn, principal="events.amazonaws.com", action="lambda:InvokeFunction")


TABLE_OK = {"name": "t", "pointInTimeRecovery": {"enabled": True}, "deletionProtectionEnabled": True,
            "serverSideEncryption": {"enabled": True, "kmsKeyArn": KEY}}
STAGE_OK = {"name": "$default", "accessLogSettings": {"destinationArn": "arn:aws:logs:eu-west-1:1:log-group:x", "format": "{}"},
            "defaultRouteSettings": {"throttlingBurstLimit": 50, "throttlingRateLimit": 25}}
MODEL_OK = {"tags": DEPLOY_TAGS, "enableNetworkIsolation": True,
            "primaryContainer": {"modelPackageName": "arn:aws:sagemaker:eu-west-1:111111111111:model-package/credit-risk-xgb/1"}}

CASES: dict[str, Case] = {
    # --- governance ---
    "unacceptable-tag": Case(governance.no_unacceptable_risk_tier, [group(**GROUP_TAGS)],
                             [group(**{**GROUP_TAGS, "mlgov:risk-tier": "unacceptable"})], "remove the use case from mlgov:useCases"),
    "unacceptable-item": Case(
        governance.no_unacceptable_risk_tier,
        [res(TABLE_ITEM, "i", item=json.dumps({"pk": {"S": "USECASE#a"}, "riskTier": {"S": "high"}}))],
        [res(TABLE_ITEM, "i", item=json.dumps({"pk": {"S": "USECASE#social-scoring"}, "riskTier": {"S": "unacceptable"}}))],
        "use case social-scoring is recorded with risk tier 'unacceptable'"),
    "group-tags": Case(governance.model_group_governance_tags, [group(**GROUP_TAGS)],
                       [group(**{k: v for k, v in GROUP_TAGS.items() if k != "mlgov:owner"})], "lacks the governance tag(s) mlgov:owner"),
    "group-tags-config": Case(governance.model_group_governance_tags, [group(**GROUP_TAGS, **{"cost-center": "42"})], [group(**GROUP_TAGS)],
                              "lacks the governance tag(s) cost-center", settings={"requiredGroupTags": ["mlgov:owner", "cost-center"]}),
    "group-risk-tier-value": Case(governance.model_group_governance_tags, [group(**GROUP_TAGS)],
                                  [group(**{**GROUP_TAGS, "mlgov:risk-tier": "extreme"})], "is not a risk tier"),
    "group-shares": Case(governance.model_group_register_and_deploy_shares, [shared_group()], [shared_group(deploy=None)],
                         "has no deploy share"),
    "group-shares-register": Case(governance.model_group_register_and_deploy_shares, [shared_group()],
                                  [shared_group(register=DEPLOY_PERMISSION)], "has no register share"),
    "capture": Case(governance.high_risk_endpoint_data_capture,
                    [endpoint_config(), endpoint_config(use_case="customer-churn", dataCaptureConfig=None)],
                    [endpoint_config(dataCaptureConfig=None)], "does not capture data"),
    "capture-sampling": Case(governance.high_risk_endpoint_data_capture, [endpoint_config()],
                             [endpoint_config(dataCaptureConfig=capture(initialSamplingPercentage=20))], "set initial_sampling_percentage to 100"),
    "capture-modes": Case(governance.high_risk_endpoint_data_capture, [endpoint_config()],
                          [endpoint_config(dataCaptureConfig=capture(captureOptions=[{"captureMode": "Input"}]))], "capture both Input and Output"),
    "ab-or-shadow": Case(governance.high_risk_production_ab_or_shadow,
                         [endpoint_config(variants=2), endpoint_config(variants=1, shadows=1), endpoint_config(variants=1, stage="test"),
                          endpoint_config(use_case="customer-churn", variants=1)],
                         [endpoint_config(variants=1)], "run an A/B test (challenger) or a shadow test"),
    "deployment-tags": Case(governance.deployment_governance_tags, [res(ENDPOINT, "e", tags=DEPLOY_TAGS)],
                            [res(ENDPOINT, "e", tags={"mlgov:use-case": "credit-risk"})], "lacks the tag(s) mlgov:model-group"),
    "endpoint-rollback": Case(governance.endpoint_rollout_auto_rollback, [res(ENDPOINT, "e", deploymentConfig=ROLLOUT)],
                              [res(ENDPOINT, "e"), res(ENDPOINT, "e2", deploymentConfig={**ROLLOUT, "autoRollbackConfiguration": {"alarms": []}})],
                              "does not roll back by itself"),
    "endpoint-blue-green": Case(governance.endpoint_rollout_auto_rollback, [res(ENDPOINT, "e", deploymentConfig=ROLLOUT)],
                                [res(ENDPOINT, "e", deploymentConfig={"autoRollbackConfiguration": ROLLOUT["autoRollbackConfiguration"]})],
                                "has no blue/green update policy"),
    "model-from-registry": Case(governance.model_from_hub_registry, [res(SAGEMAKER_MODEL, "m", **MODEL_OK)],
                                [res(SAGEMAKER_MODEL, "m", primaryContainer={"image": "x.dkr.ecr/img", "modelDataUrl": "s3://b/m.tar.gz"})],
                                "set primary_container.model_package_name"),
    "model-from-other-account": Case(governance.model_from_hub_registry, [res(SAGEMAKER_MODEL, "m", **MODEL_OK)],
                                     [res(SAGEMAKER_MODEL, "m", primaryContainer={"modelPackageName": "arn:aws:sagemaker:eu-west-1:999999999999:model-package/x/1"})],
                                     "not a version in the hub registry"),
    # --- sharing ---
    "external": Case(sharing.ram_no_external_principals, [share("s", MANAGED + DEPLOY_PERMISSION)],
                     [share("s", MANAGED + DEPLOY_PERMISSION, allowExternalPrincipals=True), res(RESOURCE_SHARE, "s2", name="s2")],
                     "set allow_external_principals=False"),
    "in-org": Case(sharing.ram_principals_in_organization,
                   [res(PRINCIPAL_ASSOCIATION, "p", principal="333333333333"),
                    res(PRINCIPAL_ASSOCIATION, "p2", principal="arn:aws:organizations::111111111111:ou/o-a1b2c3d4e5/ou-ab12-cdef3456")],
                   [res(PRINCIPAL_ASSOCIATION, "p", principal="999999999999")], "is not an account of the organization"),
    "register-only-dev": Case(sharing.ram_register_only_to_dev,
                              [share("reg", MANAGED + REGISTER_PERMISSION), principal("p", "reg", "222222222222"),
                               share("dep", MANAGED + DEPLOY_PERMISSION), principal("q", "dep", "333333333333")],
                              [share("reg", MANAGED + REGISTER_PERMISSION), principal("p", "reg", "333333333333")],
                              "lets 333333333333 register model versions"),
    "prod-deploy-only": Case(sharing.ram_prod_deploy_only,
                             [share("dep", MANAGED + DEPLOY_PERMISSION), principal("q", "dep", "444444444444")],
                             [share("reg", MANAGED + REGISTER_PERMISSION), principal("q", "reg", "444444444444")],
                             "prod never gets more than deploy"),
    "prod-custom-permission": Case(
        sharing.ram_prod_deploy_only,
        [res(RAM_PERMISSION, "perm", arn="arn:aws:ram:eu-west-1:111111111111:permission/d",
             policyTemplate=json.dumps({"Effect": "Allow", "Action": ["sagemaker:DescribeModelPackage", "sagemaker:CreateModel"]})),
         share("dep", "arn:aws:ram:eu-west-1:111111111111:permission/d"), principal("q", "dep", "444444444444")],
        [res(RAM_PERMISSION, "perm", arn="arn:aws:ram:eu-west-1:111111111111:permission/d",
             policyTemplate=json.dumps({"Effect": "Allow", "Action": ["sagemaker:UpdateModelPackage", "sagemaker:CreateModel"]})),
         share("dep", "arn:aws:ram:eu-west-1:111111111111:permission/d"), principal("q", "dep", "444444444444")],
        "gets sagemaker:UpdateModelPackage"),
    "managed-or-declared": Case(
        sharing.ram_managed_or_declared_permission,
        [share("dep", MANAGED + DEPLOY_PERMISSION),
         res(RAM_PERMISSION, "perm", arn="arn:aws:ram:eu-west-1:111111111111:permission/d"),
         share("c", "arn:aws:ram:eu-west-1:111111111111:permission/d")],
        [share("c", "arn:aws:ram:eu-west-1:111111111111:permission/elsewhere")], "which this stack does not declare"),
    "managed-other": Case(sharing.ram_managed_or_declared_permission, [share("dep", MANAGED + DEPLOY_PERMISSION)],
                          [share("dep", MANAGED + "AWSRAMDefaultPermissionSageMakerModelPackageGroup")], "uses managed permission"),
    "custom-permission-actions": Case(
        sharing.ram_custom_permission_actions,
        [res(RAM_PERMISSION, "perm", name="p", resourceType="sagemaker:ModelPackageGroup",
             policyTemplate=json.dumps({"Effect": "Allow", "Action": ["sagemaker:DescribeModelPackage"]}))],
        [res(RAM_PERMISSION, "perm", name="p", resourceType="sagemaker:ModelPackageGroup",
             policyTemplate=json.dumps({"Effect": "Allow", "Action": ["sagemaker:DeleteModelPackage"]}))],
        "not allowed on a model package group"),
    "permission-no-approval-writes": Case(
        sharing.ram_permission_no_approval_writes,
        [res(RAM_PERMISSION, "perm", name="p", resourceType="sagemaker:ModelPackageGroup",
             policyTemplate=json.dumps({"Effect": "Allow", "Action": ["sagemaker:CreateModelPackage", "sagemaker:DescribeModelPackage"]}))],
        [res(RAM_PERMISSION, "perm", name="p", resourceType="sagemaker:ModelPackageGroup",
             policyTemplate=json.dumps({"Effect": "Allow", "Action": ["sagemaker:CreateModelPackage", "sagemaker:UpdateModelPackage"]})),
         res(RAM_PERMISSION, "perm", name="p", resourceType="sagemaker:ModelPackageGroup",
             policyTemplate=json.dumps({"Statement": [{"Effect": "Allow", "Action": "sagemaker:update*"}]}))],
        "writes a model version's approval status and lifecycle stage"),
    "resource-policy-principals": Case(
        sharing.resource_policy_principals_in_organization,
        [res(KMS_KEY, "k", policy=doc(allow("kms:Decrypt", "*", Principal={"AWS": ["arn:aws:iam::333333333333:root"]}))),
         res(EVENT_BUS_POLICY, "bp", policy=doc(allow("events:PutEvents", "arn:aws:events:eu-west-1:111111111111:event-bus/b",
             Principal={"AWS": "*"}, Condition={"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}})))],
        [res(KMS_KEY, "k", policy=doc(allow("kms:Decrypt", "*", Principal={"AWS": ["arn:aws:iam::999999999999:root"]})))],
        "allows account 999999999999, outside the organization"),
    "resource-policy-anyone": Case(
        sharing.resource_policy_principals_in_organization, [],
        [res(SQS_QUEUE_POLICY, "qp", policy=doc(allow("sqs:SendMessage", "arn:aws:sqs:eu-west-1:111111111111:q", Principal="*")))],
        "allows any AWS principal"),
    # --- data ---
    "pitr": Case(data.dynamodb_point_in_time_recovery, [res(TABLE, "t", **TABLE_OK)],
                 [res(TABLE, "t", **{**TABLE_OK, "pointInTimeRecovery": {"enabled": False}})], "set point_in_time_recovery.enabled=True"),
    "deletion-protection": Case(data.dynamodb_deletion_protection, [res(TABLE, "t", **TABLE_OK)],
                                [res(TABLE, "t", **{**TABLE_OK, "deletionProtectionEnabled": False})], "set deletion_protection_enabled=True"),
    "table-key": Case(data.dynamodb_customer_managed_key, [res(TABLE, "t", **TABLE_OK)],
                      [res(TABLE, "t", **{**TABLE_OK, "serverSideEncryption": {"enabled": True}})], "kms_key_arn of a customer-managed key"),
    "public-access": Case(data.s3_public_access_blocked, [bucket_parts()], [bucket_parts(block=False)], "does not block public access"),
    "versioning": Case(data.s3_versioning, [bucket_parts()], [bucket_parts(versioning="Suspended")], "is not versioned"),
    "sse-kms": Case(data.s3_sse_kms, [bucket_parts()], [bucket_parts(sse="AES256")], "sse_algorithm 'aws:kms'"),
    "sse-s3-access-logs": Case(data.s3_sse_kms, [access_log_bucket()], [access_log_bucket(sse="aws:fsx")],
                               "bucket logs is not encrypted"),
    "access-logging": Case(data.s3_access_logging, [logged(bucket_parts()), access_log_bucket()], [bucket_parts()],
                           f"bucket {BUCKET} has no server access logging"),
    "tls-only": Case(data.s3_tls_only, [bucket_parts()], [bucket_parts(tls=False)], "accepts plain HTTP"),
    "rotation": Case(data.kms_key_rotation, [res(KMS_KEY, "k", enableKeyRotation=True), res(KMS_KEY, "a", customerMasterKeySpec="RSA_2048")],
                     [res(KMS_KEY, "k", enableKeyRotation=False)], "set enable_key_rotation=True"),
    "log-group": Case(data.log_group_encrypted_and_retained, [res(LOG_GROUP, "l", name="/x", kmsKeyId=KEY, retentionInDays=365)],
                      [res(LOG_GROUP, "l", name="/x", retentionInDays=365)], "set kms_key_id"),
    "log-retention": Case(data.log_group_encrypted_and_retained, [res(LOG_GROUP, "l", name="/x", kmsKeyId=KEY, retentionInDays=90)],
                          [res(LOG_GROUP, "l", name="/x", kmsKeyId=KEY)], "set retention_in_days to at least 90"),
    "sqs-key": Case(data.sqs_customer_managed_key, [res(SQS_QUEUE, "q", name="q", kmsMasterKeyId=KEY)],
                    [res(SQS_QUEUE, "q", name="q", kmsMasterKeyId="alias/aws/sqs")], "set kms_master_key_id"),
    # --- compute ---
    "wildcard": Case(compute.iam_no_wildcard_action,
                     [res(IAM_ROLE_POLICY, "p", policy=doc(allow("dynamodb:GetItem"))),
                      res(BUCKET_POLICY, "bp", policy=doc({"Effect": "Deny", "Action": "s3:*", "Principal": "*", "Resource": "*"}))],
                     [res(IAM_ROLE_POLICY, "p", policy=doc(allow("dynamodb:*")))], "allows dynamodb:*: replace the wildcard"),
    "wildcard-inline": Case(compute.iam_no_wildcard_action, [res(IAM_ROLE, "r", inlinePolicies=[{"name": "i", "policy": doc(allow("s3:GetObject"))}])],
                            [res(IAM_ROLE, "r", inlinePolicies=[{"name": "i", "policy": doc(allow("*"))}])], "inlinePolicies[i] S allows *"),
    "not-action": Case(compute.iam_no_wildcard_action, [], [res(IAM_POLICY, "p", policy=doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}))],
                       "allows NotAction"),
    "scoped": Case(compute.iam_scoped_resources,
                   [res(IAM_ROLE_POLICY, "p", policy=doc(allow(["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*"))),
                    res(IAM_ROLE_POLICY, "d", policy=doc(allow("sagemaker:ListModelPackageGroups", "*"))),
                    res(KMS_KEY, "k", policy=doc(allow("kms:Decrypt", "*", Principal={"AWS": "arn:aws:iam::111111111111:root"})))],
                   [res(IAM_ROLE_POLICY, "p", policy=doc(allow(["dynamodb:GetItem", "xray:PutTraceSegments"], "*")))],
                   "grants dynamodb:GetItem on every resource"),
    "runtime": Case(compute.lambda_supported_python_runtime, [function(), function(packageType="Image", runtime=None)],
                    [function(runtime="python3.8")], "runs 'python3.8': use a supported Python runtime"),
    "tracing": Case(compute.lambda_tracing, [function()], [function(tracingConfig={"mode": "PassThrough"})], "set tracing_config mode 'Active'"),
    "async-dlq": Case(compute.lambda_async_dead_letter,
                      [function(deadLetterConfig={"targetArn": "arn:aws:sqs:eu-west-1:111111111111:dlq"}), events_permission(),
                       function("api"), res(LAMBDA_PERMISSION, "api-perm", function="api", principal="apigateway.amazonaws.com"),
                       function("dest"), events_permission("dest"),
                       res(LAMBDA_EVENT_INVOKE_CONFIG, "c", functionName="dest", destinationConfig={"onFailure": {"destination": "arn:aws:sqs:x"}})],
                      [function(), events_permission()], "has no dead-letter target"),
    "async-dlq-target": Case(compute.lambda_async_dead_letter, [function()],
                             [function(), res(EVENT_TARGET, "t", arn="arn:aws:lambda:eu-west-1:111111111111:function:fn")],
                             "invoked asynchronously by events.amazonaws.com"),
    "reserved-concurrency": Case(compute.lambda_reserved_concurrency, [function(reservedConcurrentExecutions=10)],
                                 [function(), function(reservedConcurrentExecutions=0), function(reservedConcurrentExecutions=-1)],
                                 "has no concurrency limit"),
    "in-vpc": Case(compute.lambda_in_vpc, [function(**NETWORK)],
                   [function(), function(vpcConfig={"subnetIds": ["subnet-0a1b2c3d4e5f60718"], "securityGroupIds": []})],
                   "runs outside the stack's network", settings={"lambdaNetwork": True}),
    "in-vpc-without-network": Case(compute.lambda_in_vpc, [function()], [], settings={"lambdaNetwork": False}),
    "network-isolation": Case(compute.sagemaker_model_network_isolation, [res(SAGEMAKER_MODEL, "m", **MODEL_OK)],
                              [res(SAGEMAKER_MODEL, "m", **{**MODEL_OK, "enableNetworkIsolation": False})], "set enable_network_isolation=True"),
    # --- edge ---
    "route": Case(edge.http_route_authorized,
                  [res(HTTP_ROUTE, "r", routeKey="POST /x", authorizationType="AWS_IAM"),
                   res(HTTP_ROUTE, "j", routeKey="GET /y", authorizationType="JWT", authorizerId="a1")],
                  [res(HTTP_ROUTE, "r", routeKey="POST /x", authorizationType="NONE"), res(HTTP_ROUTE, "r2", routeKey="GET /z")],
                  "is open to anyone"),
    "route-jwt": Case(edge.http_route_authorized, [], [res(HTTP_ROUTE, "j", routeKey="GET /y", authorizationType="JWT")],
                      "uses JWT without an authorizer"),
    "access-logs": Case(edge.http_stage_access_logs, [res(HTTP_STAGE, "s", **STAGE_OK)],
                        [res(HTTP_STAGE, "s", **{**STAGE_OK, "accessLogSettings": None})], "writes no access logs"),
    "throttling": Case(edge.http_stage_throttling, [res(HTTP_STAGE, "s", **STAGE_OK)],
                       [res(HTTP_STAGE, "s", **{**STAGE_OK, "defaultRouteSettings": {"detailedMetricsEnabled": True}})], "is not throttled"),
    "rest-method": Case(edge.rest_method_authorized,
                        [res(REST_METHOD, "m", httpMethod="POST", authorization="AWS_IAM"),
                         res(REST_METHOD, "c", httpMethod="GET", authorization="CUSTOM", authorizerId="a1")],
                        [res(REST_METHOD, "m", httpMethod="POST", authorization="NONE"), res(REST_METHOD, "m2", httpMethod="GET")],
                        "is open to anyone"),
    "rest-method-authorizer": Case(edge.rest_method_authorized, [],
                                   [res(REST_METHOD, "c", httpMethod="GET", authorization="COGNITO_USER_POOLS")], "without an authorizer"),
    "rest-access-logs": Case(edge.rest_stage_access_logs, [res(REST_STAGE, "s", **REST_STAGE_OK)],
                             [res(REST_STAGE, "s", **{**REST_STAGE_OK, "accessLogSettings": {"format": "{}"}})], "writes no access logs"),
    "rest-throttling": Case(edge.rest_stage_throttling, [[res(REST_STAGE, "s", **REST_STAGE_OK), throttled()]],
                            [[res(REST_STAGE, "s", **REST_STAGE_OK)],
                             [res(REST_STAGE, "s", **REST_STAGE_OK), throttled(methodPath="GET/queue")],
                             [res(REST_STAGE, "s", **REST_STAGE_OK), throttled(restApi="other")],
                             [res(REST_STAGE, "s", **REST_STAGE_OK), throttled(settings={"throttlingBurstLimit": 50, "throttlingRateLimit": 0})]],
                            "is not throttled"),
    "rest-org-policy": Case(edge.rest_api_organization_policy,
                            [[rest_api(), res(REST_API_POLICY, "p", restApiId="api1", policy=doc(*ORG_ONLY))],
                             [rest_api(policy=doc(*ORG_ONLY))],
                             [rest_api(id=None), res(REST_API_POLICY, "p", "urn:pulumi:unit::mlgov::c::api", policy=doc(*ORG_ONLY))]],
                            [[rest_api()],
                             [rest_api(), res(REST_API_POLICY, "p", restApiId="another-api", policy=doc(*ORG_ONLY))]],
                            "has no resource policy"),
    "rest-org-policy-open": Case(edge.rest_api_organization_policy, [],
                                 [[rest_api(policy=doc(invoke("Allow"), ORG_ONLY[1]))],
                                  [rest_api(policy=doc(invoke("Allow", {"StringEquals": {"aws:PrincipalOrgID": "o-zzzzzzzzzz"}}), ORG_ONLY[1]))],
                                  [rest_api(policy=doc(invoke("Allow", Principal={"AWS": "*"}), ORG_ONLY[1]))]],
                                 'allows "Principal": "*" in Invoke without Condition StringEquals aws:PrincipalOrgID=o-a1b2c3d4e5'),
    "rest-org-policy-no-deny": Case(edge.rest_api_organization_policy, [],
                                    [[rest_api(policy=doc(ORG_ONLY[0]))],
                                     [rest_api(policy=doc(ORG_ONLY[0], invoke("Deny", {"StringNotEquals": {"aws:PrincipalOrgID": "o-zzzzzzzzzz"}})))],
                                     [rest_api(policy=doc(ORG_ONLY[0], {**ORG_ONLY[1], "Action": "execute-api:ManageConnections"}))]],
                                    "does not deny principals outside the organization"),
    "endpoint-key": Case(edge.sagemaker_endpoint_config_encrypted, [endpoint_config()], [endpoint_config(kmsKeyArn=None)],
                         "set kms_key_arn to a customer-managed key"),
    "endpoint-capture-key": Case(edge.sagemaker_endpoint_config_encrypted, [endpoint_config()],
                                 [endpoint_config(dataCaptureConfig=capture(kmsKeyId=None))], "set data_capture_config.kms_key_id"),
    "event-target": Case(edge.event_target_retry_and_dead_letter,
                         [res(EVENT_TARGET, "t", arn="x", deadLetterConfig={"arn": "arn:aws:sqs:x"}, retryPolicy={"maximumRetryAttempts": 8})],
                         [res(EVENT_TARGET, "t", arn="x", retryPolicy={"maximumRetryAttempts": 8})], "set dead_letter_config.arn"),
    "alarm-action": Case(edge.cloudwatch_alarm_has_action,
                         [res(METRIC_ALARM, "a", alarmActions=["arn:aws:sns:eu-west-1:333333333333:mlgov-alarms"])],
                         [res(METRIC_ALARM, "a", alarmActions=[]), res(METRIC_ALARM, "b"), res(METRIC_ALARM, "c", alarmActions=[""])],
                         "notifies no one"),
}


def scenarios(policy: Any, entries: list) -> list[list]:
    """A resource rule's entries are one scenario each; a stack rule's flat list of resources is one stack."""
    if isinstance(policy, StackValidationPolicy) and entries and all(isinstance(e, DeclaredResource) for e in entries):
        return [entries]
    return [e if isinstance(e, list) else [e] for e in entries]


@pytest.mark.parametrize("case", sorted(CASES), ids=str)
def test_passing_resources_pass(case: str) -> None:
    c = CASES[case]
    for resources in scenarios(c.policy, c.passing):
        assert messages(c.policy, *resources, settings=c.settings) == [], (case, [r.name for r in resources])


@pytest.mark.parametrize("case", sorted(c for c in CASES if CASES[c].failing), ids=str)
def test_failing_resources_fail_with_a_message_that_says_what_to_change(case: str) -> None:
    c = CASES[case]
    for resources in scenarios(c.policy, c.failing):
        found = messages(c.policy, *resources, settings=c.settings)
        assert found and any(c.message in m for m in found), (case, found)


def test_every_rule_has_a_passing_and_a_failing_case() -> None:
    with_pass = {c.policy.name for c in CASES.values() if c.passing}
    with_fail = {c.policy.name for c in CASES.values() if c.failing}
    names = {p.name for p in ALL_POLICIES}
    assert names - with_pass == set() and names - with_fail == set()


# --- during a real `pulumi preview`, values computed by the provider are unknown ---

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # pulumi_policy.proxy.UNKNOWN_STRING_VALUE


def test_an_unknown_value_is_not_judged_the_engine_reports_the_rule_as_not_run() -> None:
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError

    assert UNKNOWN == UNKNOWN_STRING_VALUE
    parts = bucket_parts()
    parts[-1] = res(BUCKET_POLICY, "b-policy", bucket=BUCKET, policy=UNKNOWN)
    with pytest.raises(UnknownValueError):
        messages(data.s3_tls_only, *parts)
    with pytest.raises(UnknownValueError):
        messages(compute.iam_no_wildcard_action, res(IAM_ROLE_POLICY, "p", policy=UNKNOWN))


def test_shares_join_their_group_through_the_component_when_arns_are_unknown() -> None:
    component = "urn:pulumi:unit::mlgov::mlgov:index:SharedModelGroup::credit-risk-xgb"
    g = res(MODEL_PACKAGE_GROUP, "g", component, modelPackageGroupName="credit-risk-xgb", tags=GROUP_TAGS, arn=UNKNOWN)
    reg = res(RESOURCE_SHARE, "reg", component, name="reg", allowExternalPrincipals=False,
              permissionArns=[MANAGED + REGISTER_PERMISSION], arn=UNKNOWN)
    dep = res(RESOURCE_SHARE, "dep", component, name="dep", allowExternalPrincipals=False,
              permissionArns=[MANAGED + DEPLOY_PERMISSION], arn=UNKNOWN)
    reg_g = res(RESOURCE_ASSOCIATION, "reg-g", reg.urn, resourceArn=UNKNOWN, resourceShareArn=UNKNOWN)
    dep_g = res(RESOURCE_ASSOCIATION, "dep-g", dep.urn, resourceArn=UNKNOWN, resourceShareArn=UNKNOWN)
    policy = governance.model_group_register_and_deploy_shares
    assert messages(policy, g, reg, dep, reg_g, dep_g) == []
    assert [m for m in messages(policy, g, reg, reg_g) if "has no" in m] == [
        next(m for m in messages(policy, g, reg, reg_g) if "has no deploy share" in m)]
