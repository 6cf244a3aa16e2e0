"""CentralRegistry: key, bucket, bus and table policies give each account what it needs and nothing more."""
from __future__ import annotations

import json

import pytest

from components.central_registry import CentralRegistry
from components.registry_key import DEV_KEY_ACTIONS, STAGE_KEY_ACTIONS
from mlgov.compose import registry_args
from mlgov import offline
from mlgov.config import parse
from tests.infra import all_actions, namespace, policy_statements, run_component, sample

DEV, TEST, PROD = "arn:aws:iam::222222222222:root", "arn:aws:iam::333333333333:root", "arn:aws:iam::444444444444:root"


@pytest.fixture(scope="module")
def plan() -> offline.Plan:
    config = parse(namespace(sample("shared")))
    return run_component(lambda: CentralRegistry("mlgov", registry_args(config, "eu-west-1")))


def by_sid(statements):
    return {s["Sid"]: s for s in statements}


def test_key_is_rotated_and_dev_may_only_encrypt_and_stages_only_decrypt(plan) -> None:
    key = plan.named("mlgov-key")
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["deletionWindowInDays"] == 30
    statements = by_sid(policy_statements(key))
    dev = statements["DevAccountsEncrypt"]
    assert dev["Principal"] == {"AWS": [DEV]}
    assert sorted(dev["Action"]) == sorted(DEV_KEY_ACTIONS) and "kms:Decrypt" not in dev["Action"]
    stage = statements["StageAccountsDecrypt"]
    assert stage["Principal"] == {"AWS": [TEST, PROD]}
    assert sorted(stage["Action"]) == sorted(STAGE_KEY_ACTIONS)
    capture = statements["StageAccountsEncryptOwnCaptureThroughS3"]
    assert capture["Principal"] == {"AWS": [TEST, PROD]} and capture["Action"] == "kms:GenerateDataKey"
    # The Bucket Key makes S3's encryption context the bucket ARN; an object-prefix pattern would never match.
    assert capture["Condition"] == {"StringEquals": {
        "kms:ViaService": "s3.eu-west-1.amazonaws.com",
        "kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::mlgov-artifacts-111111111111-eu-west-1",
    }}
    capture_writes = [s for s in policy_statements(plan.named("mlgov-artifacts-policy"))
                      if s.get("Sid", "").startswith("Stage") and "s3:PutObject" in all_actions([s])]
    assert capture_writes and all(r.endswith(("/capture/333333333333/*", "/capture/444444444444/*"))
                                  for s in capture_writes for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"]))
    for statement in statements.values():
        principals = statement["Principal"].get("AWS", [])
        if DEV in principals or TEST in principals or PROD in principals:
            assert statement["Sid"] in {"DevAccountsEncrypt", "DevAccountsDecryptThroughS3InTheArtifactBucket", "StageAccountsDecrypt",
                                        "StageAccountsEncryptOwnCaptureThroughS3"}


def test_dev_accounts_decrypt_only_as_s3_serving_the_artifact_bucket(plan) -> None:
    """Multipart uploads and MLflow artifact reads need kms:Decrypt; with a Bucket Key S3's context is the bucket ARN."""
    statements = by_sid(policy_statements(plan.named("mlgov-key")))
    decrypt = statements["DevAccountsDecryptThroughS3InTheArtifactBucket"]
    assert (decrypt["Principal"], decrypt["Action"], decrypt["Resource"]) == ({"AWS": [DEV]}, "kms:Decrypt", "*")
    assert decrypt["Condition"] == {"StringEquals": {
        "kms:ViaService": "s3.eu-west-1.amazonaws.com",
        "kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::mlgov-artifacts-111111111111-eu-west-1",
    }}
    [rule] = plan.named("mlgov-artifacts-encryption").inputs["rules"]
    assert rule["bucketKeyEnabled"] is True  # the condition above holds only while the bucket uses a Bucket Key
    decrypting = {s["Sid"] for s in statements.values() if "kms:Decrypt" in all_actions([s]) and DEV in s["Principal"].get("AWS", [])}
    assert decrypting == {"DevAccountsDecryptThroughS3InTheArtifactBucket"}


def test_no_allow_statement_anywhere_grants_a_wildcard_action(plan) -> None:
    for resource in plan.resources:
        if "policy" in resource.inputs and isinstance(resource.inputs["policy"], str) and "Statement" in resource.inputs["policy"]:
            for statement in policy_statements(resource):
                if statement["Effect"] == "Allow":
                    assert not any("*" in a for a in all_actions([statement])), (resource.name, statement["Sid"])


def test_bucket_is_private_versioned_and_encrypted_with_the_key(plan) -> None:
    bucket = plan.named("mlgov-artifacts")
    assert bucket.inputs["bucket"] == "mlgov-artifacts-111111111111-eu-west-1"
    assert bucket.inputs["forceDestroy"] is False
    block = plan.named("mlgov-artifacts-public-access").inputs
    assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    assert plan.named("mlgov-artifacts-versioning").inputs["versioningConfiguration"] == {"status": "Enabled"}
    [rule] = plan.named("mlgov-artifacts-encryption").inputs["rules"]
    default = rule["applyServerSideEncryptionByDefault"]
    assert default["sseAlgorithm"] == "aws:kms"
    assert default["kmsMasterKeyId"].startswith("arn:aws:kms:eu-west-1:111111111111:key/")
    assert plan.named("mlgov-artifacts-ownership").inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}


def test_bucket_policy_is_tls_only_dev_writes_its_prefix_and_stages_read_models(plan) -> None:
    statements = by_sid(policy_statements(plan.named("mlgov-artifacts-policy")))
    arn = "arn:aws:s3:::mlgov-artifacts-111111111111-eu-west-1"
    tls = statements["DenyInsecureTransport"]
    assert tls["Effect"] == "Deny" and tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert tls["Resource"] == [arn, f"{arn}/*"]
    write = statements["Dev222222222222WritesItsPrefix"]
    assert (write["Principal"], write["Action"], write["Resource"]) == ({"AWS": [DEV]}, "s3:PutObject", f"{arn}/models/222222222222/*")
    mlflow = statements["Dev222222222222ReadsItsMlflowArtifacts"]
    assert (mlflow["Principal"], mlflow["Action"], mlflow["Resource"]) == ({"AWS": [DEV]}, "s3:GetObject", f"{arn}/models/222222222222/mlflow/*")
    dev_reads = {s["Sid"]: s["Resource"] for s in statements.values()
                 if s["Effect"] == "Allow" and "s3:GetObject" in all_actions([s]) and DEV in s["Principal"]["AWS"]}
    assert dev_reads == {"Dev222222222222ReadsItsMlflowArtifacts": f"{arn}/models/222222222222/mlflow/*"}
    read = statements["StageAccountsReadModels"]
    assert (read["Principal"], read["Action"], read["Resource"]) == ({"AWS": [TEST, PROD]}, "s3:GetObject", f"{arn}/models/*")
    writers = {s["Sid"]: (s["Principal"], s["Resource"]) for s in statements.values()
               if s["Effect"] == "Allow" and "s3:PutObject" in all_actions([s])}
    assert writers == {
        "Dev222222222222WritesItsPrefix": ({"AWS": [DEV]}, f"{arn}/models/222222222222/*"),
        "Stage333333333333WritesItsCapture": ({"AWS": [TEST]}, f"{arn}/capture/333333333333/*"),
        "Stage444444444444WritesItsCapture": ({"AWS": [PROD]}, f"{arn}/capture/444444444444/*"),
    }


def test_bus_admits_only_the_organizations_member_accounts(plan) -> None:
    bus = plan.named("mlgov-bus")
    assert bus.inputs["name"] == "mlgov-governance"
    assert bus.inputs["kmsKeyIdentifier"].startswith("arn:aws:kms:")
    [statement] = policy_statements(plan.named("mlgov-bus-policy"))
    assert statement["Action"] == "events:PutEvents"
    assert statement["Principal"] == {"AWS": [DEV, TEST, PROD]}
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}
    assert statement["Resource"] == "arn:aws:events:eu-west-1:111111111111:event-bus/mlgov-governance"


def test_one_shared_group_per_model_and_one_config_item_per_use_case_and_group(plan) -> None:
    groups = {r.name for r in plan.by_type("mlgov:index:SharedModelGroup")}
    assert groups == {"credit-risk-xgb", "fraud-detection", "customer-churn-model"}
    items = {r.name: json.loads(r.inputs["item"]) for r in plan.by_type("aws:dynamodb/tableItem:TableItem")}
    credit = items["usecase-credit-risk-config"]
    assert credit["pk"] == {"S": "USECASE#credit-risk"} and credit["riskTier"] == {"S": "high"}
    assert credit["thresholds"] == {"L": [{"M": {"metric": {"S": "validation-auc"}, "min": {"N": "0.75"}}}]}
    assert credit["modelGroups"] == {"L": [{"S": "credit-risk-xgb"}, {"S": "fraud-detection"}]}
    assert items["credit-risk-xgb-config"]["pk"] == {"S": "GROUP#credit-risk-xgb"}
    assert all(r.inputs["tableName"] == "mlgov-governance" for r in plan.by_type("aws:dynamodb/tableItem:TableItem"))


def test_table_is_encrypted_with_the_registry_key(plan) -> None:
    table = plan.named("mlgov-governance-table")
    assert table.inputs["serverSideEncryption"]["kmsKeyArn"] == plan.named("mlgov-bus").inputs["kmsKeyIdentifier"]


def test_each_handler_role_grants_exactly_what_the_handler_calls_scoped_to_hub_resources(plan) -> None:
    from governance.permissions import HANDLER_ACTIONS

    runtime = {"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTelemetryRecords", "xray:PutTraceSegments",
               "sqs:SendMessage", "kms:Decrypt", "kms:GenerateDataKey"}
    table = "arn:aws:dynamodb:eu-west-1:111111111111:table/mlgov-governance"
    from components.audit_checkpoints import STREAM_READ_ACTIONS
    for handler, actions in HANDLER_ACTIONS.items():
        statements = policy_statements(plan.named(f"mlgov-{handler}-policy"))
        # the checkpoint consumer's role also lets its event source mapping read the table's stream
        stream = set(STREAM_READ_ACTIONS) if handler == "checkpoint" else set()
        assert set(all_actions(statements)) == set(actions) | runtime | stream, handler
        for s in statements:
            granted = set(all_actions([s]))
            if any(a.startswith("dynamodb:") for a in granted) and handler != "checkpoint":
                assert s["Resource"] == [table, f"{table}/index/*"]
            if any(a.startswith("sagemaker:") for a in granted):
                assert s["Resource"] == [f"arn:aws:sagemaker:eu-west-1:111111111111:model-package/{g}/*"
                                         for g in ("credit-risk-xgb", "customer-churn-model", "fraud-detection")]
    for writer in ("api", "sync"):  # decisions; registrations and set-backs of outside changes
        assert "sagemaker:UpdateModelPackage" in set(all_actions(policy_statements(plan.named(f"mlgov-{writer}-policy"))))
    assert not any(a.startswith("sagemaker:") for a in all_actions(policy_statements(plan.named("mlgov-metrics-policy"))))


def test_functions_read_the_table_name_and_approvers_from_the_environment(plan) -> None:
    for handler in ("sync", "api", "metrics"):
        fn = plan.named(f"mlgov-{handler}").inputs
        assert fn["runtime"] == "python3.12" and fn["handler"] == f"governance.handlers.{handler}.handler"
        env = fn["environment"]["variables"]
        assert env["GOVERNANCE_TABLE"] == "mlgov-governance"
        assert env["REGISTRY_WRITERS"] == "arn:aws:iam::111111111111:role/mlgov-api-role,arn:aws:iam::111111111111:role/mlgov-sync-role"
        approvers = json.loads(env["APPROVERS"])
        assert approvers["officers"] == ["arn:aws:iam::111111111111:role/mlgov-governance-officer",
                                         "arn:aws:iam::111111111111:role/mlgov-risk-officer"]
        assert set(approvers) == {"development", "test", "production", "officers"}


def test_registry_events_of_the_hubs_groups_go_to_sync_and_member_reports_to_metrics(plan) -> None:
    registry = plan.named("mlgov-registry-events").inputs
    assert "eventBusName" not in registry
    assert json.loads(registry["eventPattern"]) == {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Model Package State Change"],
        "detail": {"ModelPackageGroupName": ["credit-risk-xgb", "customer-churn-model", "fraud-detection"],
                   "ModelPackageArn": [{"prefix": "arn:aws:sagemaker:eu-west-1:111111111111:model-package/"}]},
    }
    assert plan.named("mlgov-registry-events-target").inputs["arn"].endswith(":function:mlgov-sync")
    forwarded = plan.named("mlgov-forwarded-registry-events").inputs
    assert forwarded["eventBusName"] == "mlgov-governance"
    assert forwarded["eventPattern"] == registry["eventPattern"]
    assert plan.named("mlgov-forwarded-registry-events-target").inputs["arn"].endswith(":function:mlgov-sync")
    member = plan.named("mlgov-member-events").inputs
    assert member["eventBusName"] == "mlgov-governance"
    assert json.loads(member["eventPattern"]) == {
        "source": ["mlgov.member"], "detail-type": ["Model Deployed", "Model Metrics", "Model Decommissioned"],
        "account": ["333333333333", "444444444444"],
    }
    assert plan.named("mlgov-member-events-target").inputs["arn"].endswith(":function:mlgov-metrics")
    for route in ("registry-events", "forwarded-registry-events", "member-events"):
        assert plan.named(f"mlgov-{route}-target").inputs["deadLetterConfig"]["arn"].endswith(f"mlgov-{route}-dlq")


def test_governance_api_serves_every_handler_route_with_iam_to_the_organization_only(plan) -> None:
    from governance.routes import ROUTES, route_keys

    methods = plan.by_type("aws:apigateway/method:Method")
    assert sorted(m.name for m in methods) == sorted(f"mlgov-governance-api-method-{r.slug}" for r in ROUTES)
    assert "POST /use-cases/{use_case_id}/models/{group}/versions/{version}/decision" in route_keys()
    assert all(m.inputs["authorization"] == "AWS_IAM" for m in methods)
    assert {i.inputs["uri"] for i in plan.by_type("aws:apigateway/integration:Integration")} == {
        "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:111111111111:function:mlgov-api/invocations"}
    statements = policy_statements(plan.named("mlgov-governance-api-policy"))
    assert [(s["Effect"], s["Condition"]) for s in statements] == [
        ("Allow", {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}),
        ("Deny", {"StringNotEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}),
    ]
    assert plan.by_type("aws:apigatewayv2/api:Api") == []


def test_governance_api_alarms_notify_the_alarm_actions(plan) -> None:
    alarms = {a.name: a.inputs for a in plan.by_type("aws:cloudwatch/metricAlarm:MetricAlarm") if a.name.startswith("mlgov-governance-api")}
    assert sorted(alarms) == ["mlgov-governance-api-5xx", "mlgov-governance-api-latency"]
    assert {a["metricName"] for a in alarms.values()} == {"5XXError", "Latency"}
    assert all(a["dimensions"] == {"ApiName": "mlgov-governance-api", "Stage": "v1"} for a in alarms.values())
    assert all(a["alarmActions"] == ["arn:aws:sns:eu-west-1:111111111111:mlgov-alarms"] for a in alarms.values())


def test_key_lets_cloudwatch_logs_encrypt_only_this_accounts_log_groups(plan) -> None:
    statements = by_sid(policy_statements(plan.named("mlgov-key")))
    logs = statements["CloudWatchLogsEncryptsHubLogGroups"]
    assert logs["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}
    assert logs["Condition"] == {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:eu-west-1:111111111111:log-group:*"}}


def test_artifact_bucket_logs_access_to_the_hubs_own_log_bucket(plan) -> None:
    logging = plan.named("mlgov-artifacts-access-logging").inputs
    assert (logging["bucket"], logging["targetBucket"], logging["targetPrefix"]) == (
        "mlgov-artifacts-111111111111-eu-west-1", "mlgov-access-logs-111111111111-eu-west-1", "mlgov-artifacts/")
    delivery = by_sid(policy_statements(plan.named("mlgov-access-logs-policy")))["S3ServerAccessLogsDelivery"]
    assert delivery["Condition"]["ArnLike"]["aws:SourceArn"] == ["arn:aws:s3:::mlgov-artifacts-111111111111-eu-west-1",
                                                                 "arn:aws:s3:::mlgov-audit-111111111111-eu-west-1"]
    assert plan.named("mlgov-access-logs-expiry").inputs["rules"][0]["expiration"]["days"] == 365


def test_handlers_reserve_their_default_concurrency_and_the_config_overrides_it(plan) -> None:
    reserved = {f.name: f.inputs["reservedConcurrentExecutions"] for f in plan.by_type("aws:lambda/function:Function")}
    assert reserved == {"mlgov-sync": 20, "mlgov-api": 50, "mlgov-metrics": 20, "mlgov-checkpoint": 5}
    ns = namespace(sample("shared"))
    ns["lambdaConcurrency"] = {"api": 80}
    tuned = run_component(lambda: CentralRegistry("mlgov", registry_args(parse(ns), "eu-west-1")))
    assert tuned.named("mlgov-api").inputs["reservedConcurrentExecutions"] == 80
    assert tuned.named("mlgov-sync").inputs["reservedConcurrentExecutions"] == 20


def test_with_a_network_the_handlers_run_in_it_and_reach_dynamodb_sagemaker_and_xray_privately(plan) -> None:
    assert plan.by_type("aws:ec2/vpcEndpoint:VpcEndpoint") == []
    ns = namespace(sample("shared"))
    ns["network"] = {"vpcId": "vpc-0a1b2c3d4e5f60718", "subnetIds": ["subnet-0a1b2c3d4e5f60718"], "routeTableIds": ["rtb-0a1b2c3d4e5f60718"]}
    private = run_component(lambda: CentralRegistry("mlgov", registry_args(parse(ns), "eu-west-1")))
    endpoints = {r.inputs["serviceName"]: r.inputs["vpcEndpointType"] for r in private.by_type("aws:ec2/vpcEndpoint:VpcEndpoint")}
    assert endpoints == {"com.amazonaws.eu-west-1.dynamodb": "Gateway", "com.amazonaws.eu-west-1.sagemaker.api": "Interface",
                         "com.amazonaws.eu-west-1.xray": "Interface", "com.amazonaws.eu-west-1.kms": "Interface",
                         "com.amazonaws.eu-west-1.s3": "Interface"}
    for function in private.by_type("aws:lambda/function:Function"):
        assert function.inputs["vpcConfig"]["subnetIds"] == ["subnet-0a1b2c3d4e5f60718"]
