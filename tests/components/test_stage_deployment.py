"""StageDeployment on its own, fed hub outputs: what SageMaker, API Gateway, Lambda and CloudWatch receive."""
from __future__ import annotations

import json
from typing import Any

import hypothesis  # noqa: F401 - imported before Pulumi's threads run: hypothesis' pytest plugin otherwise imports it
import pytest     # at session end, where CPython 3.11.7's AST parser can fail with "recursion depth mismatch"

from components.hub_outputs import HubOutputs
from components.stage_deployment import StageDeployment, endpoint_name
from mlgov.compose import stage_deployment_args
from mlgov.config import ConfigError, Deployment
from tests.infra import run_component

from .hub_sample import HUB, HUB_ACCOUNT, HUB_REGION, statements_by_sid, wildcard_actions

PROD = "444444444444"
ENDPOINT = "mlgov-prod-credit-risk-credit-risk-xgb"
LOCAL_KEY = f"arn:aws:kms:eu-west-1:{PROD}:key/local"


def plan_for(deployment: dict[str, Any], stage: str = "prod", hub: dict[str, Any] = HUB):
    d = Deployment.model_validate(deployment)
    return run_component(
        lambda: StageDeployment("sd", stage_deployment_args(
            d, stage=stage, account_id=PROD, region="eu-west-1", hub=HubOutputs.from_values(hub), key_arn=LOCAL_KEY,
        )),
        account_id=PROD,
    )


HIGH = {"useCase": "credit-risk", "group": "credit-risk-xgb", "version": 3}
AB = {**HIGH, "weight": 90, "challenger": {"version": 4, "weight": 10}, "instanceCount": 2, "instanceType": "ml.m5.xlarge"}
LOW = {"useCase": "customer-churn", "group": "Churn-Model", "version": 1}
SHADOW = {**LOW, "shadow": {"version": 2, "samplingPercentage": 25}}


@pytest.fixture(scope="module")
def ab():
    return plan_for(AB)


def test_models_come_from_the_hub_registry_by_region_account_group_and_version(ab) -> None:
    packages = {r.name: r.inputs["primaryContainer"]["modelPackageName"] for r in ab.by_type("aws:sagemaker/model:Model")}
    assert packages == {
        "sd-model-champion": f"arn:aws:sagemaker:{HUB_REGION}:{HUB_ACCOUNT}:model-package/credit-risk-xgb/3",
        "sd-model-challenger": f"arn:aws:sagemaker:{HUB_REGION}:{HUB_ACCOUNT}:model-package/credit-risk-xgb/4",
    }
    for model in ab.by_type("aws:sagemaker/model:Model"):
        assert model.inputs["executionRoleArn"] == f"arn:aws:iam::{PROD}:role/sd-execution"
        assert model.inputs["enableNetworkIsolation"] is True


def test_group_names_are_lower_case_in_the_package_arn() -> None:
    (model,) = plan_for(LOW).by_type("aws:sagemaker/model:Model")
    assert model.inputs["primaryContainer"]["modelPackageName"].endswith(":model-package/churn-model/1")


def test_ab_pair_gets_weighted_production_variants(ab) -> None:
    config = ab.named("sd-endpoint-config")
    variants = config.inputs["productionVariants"]
    assert [(v["variantName"], v["modelName"], v["initialVariantWeight"]) for v in variants] == [("champion", "sd-model-champion", 90), ("challenger", "sd-model-challenger", 10)]
    assert all(v["instanceType"] == "ml.m5.xlarge" and v["initialInstanceCount"] == 2 for v in variants)
    assert "shadowProductionVariants" not in config.inputs
    assert config.inputs["kmsKeyArn"] == LOCAL_KEY


def test_shadow_variant_copies_a_sample_of_the_traffic() -> None:
    config = plan_for(SHADOW).named("sd-endpoint-config")
    assert [(v["variantName"], v["initialVariantWeight"]) for v in config.inputs["productionVariants"]] == [("champion", 100)]
    (shadow,) = config.inputs["shadowProductionVariants"]
    assert (shadow["variantName"], shadow["modelName"], shadow["initialVariantWeight"]) == ("shadow", "sd-model-shadow", 25)


def test_high_risk_always_captures_everything_to_the_hub_bucket(ab) -> None:
    capture = ab.named("sd-endpoint-config").inputs["dataCaptureConfig"]
    assert capture["enableCapture"] is True and capture["initialSamplingPercentage"] == 100
    assert capture["destinationS3Uri"] == f"s3://hub-artifacts/capture/{PROD}"
    assert capture["kmsKeyId"] == HUB["keyArn"]
    assert [o["captureMode"] for o in capture["captureOptions"]] == ["Input", "Output"]
    sids = statements_by_sid(ab.named("sd-execution-policy"))
    assert sids["WriteDataCapture"]["Resource"] == f"arn:aws:s3:::hub-artifacts/capture/{PROD}/*"


def test_high_risk_captures_even_when_the_deployment_does_not_ask() -> None:
    plan = plan_for({**HIGH, "dataCapture": False})
    assert plan.named("sd-endpoint-config").inputs["dataCaptureConfig"]["enableCapture"] is True


def test_lower_risk_captures_only_on_request() -> None:
    off = plan_for(LOW)
    assert "dataCaptureConfig" not in off.named("sd-endpoint-config").inputs
    assert not {"WriteDataCapture", "EncryptDataCapture"} & set(statements_by_sid(off.named("sd-execution-policy")))
    on = plan_for({**LOW, "dataCapture": True})
    assert on.named("sd-endpoint-config").inputs["dataCaptureConfig"]["enableCapture"] is True


def test_execution_role_reads_artifacts_and_decrypts_with_the_hub_key(ab) -> None:
    sids = statements_by_sid(ab.named("sd-execution-policy"))
    assert sids["ReadHubModelArtifacts"] == {"Sid": "ReadHubModelArtifacts", "Effect": "Allow", "Action": "s3:GetObject",
                                             "Resource": "arn:aws:s3:::hub-artifacts/models/*"}
    assert sids["DecryptWithHubKey"]["Action"] == ["kms:Decrypt", "kms:DescribeKey"]
    assert sids["DecryptWithHubKey"]["Resource"] == HUB["keyArn"]
    trust = json.loads(ab.named("sd-execution").inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    # Only the two actions AWS cannot scope have "*" as resource.
    assert sorted(s["Sid"] for s in sids.values() if s["Resource"] == "*") == ["EcrLogin"]
    for fn in ("invoke", "reporter"):
        policy = statements_by_sid(ab.named(f"sd-{fn}-policy"))
        assert {s["Sid"] for s in policy.values() if s["Resource"] == "*"} <= {"Tracing", "ReadEndpointMetrics"}


def test_endpoint_uses_the_config_and_a_stable_name_and_rolls_out_blue_green_under_its_alarms(ab) -> None:
    endpoint = ab.named("sd-endpoint")
    assert endpoint.inputs["name"] == ENDPOINT
    config_name = ab.named("sd-endpoint-config").inputs["name"]
    assert endpoint.inputs["endpointConfigName"] == config_name
    assert config_name.startswith(ENDPOINT + "-") and len(config_name) == len(ENDPOINT) + 13
    rollout = endpoint.inputs["deploymentConfig"]
    assert rollout["blueGreenUpdatePolicy"] == {"trafficRoutingConfiguration": {"type": "ALL_AT_ONCE", "waitIntervalInSeconds": 600}}
    alarms = {a.name for a in ab.by_type("aws:cloudwatch/metricAlarm:MetricAlarm") if a.inputs["namespace"] == "AWS/SageMaker"}
    assert sorted(a["alarmName"] for a in rollout["autoRollbackConfiguration"]["alarms"]) == sorted(alarms)
    assert len(alarms) == 4


def test_every_route_is_iam_authorized_and_the_stage_logs_and_throttles(ab) -> None:
    routes = ab.by_type("aws:apigatewayv2/route:Route")
    assert [r.inputs["routeKey"] for r in routes] == ["POST /invocations"]
    assert all(r.inputs["authorizationType"] == "AWS_IAM" for r in routes)
    stage = ab.named("sd-http-stage")
    assert stage.inputs["accessLogSettings"]["destinationArn"] == f"arn:aws:logs:eu-west-1:{PROD}:log-group:/mlgov/apigateway/sd-http"
    assert "$context.identity.userArn" in stage.inputs["accessLogSettings"]["format"]
    throttling = stage.inputs["defaultRouteSettings"]
    assert throttling["throttlingBurstLimit"] == 50 and throttling["throttlingRateLimit"] == 100
    assert ab.named("sd-http-access-logs").inputs["kmsKeyId"] == LOCAL_KEY
    integration = ab.named("sd-http-integration")
    assert (integration.inputs["integrationType"], integration.inputs["payloadFormatVersion"]) == ("AWS_PROXY", "2.0")
    assert integration.inputs["integrationUri"] == f"arn:aws:lambda:eu-west-1:{PROD}:function:sd-invoke"
    permission = ab.named("sd-http-invoke-post-invocations")
    assert permission.inputs["principal"] == "apigateway.amazonaws.com"
    assert permission.inputs["sourceArn"].endswith("/*/POST/invocations")


def test_invoke_lambda_may_only_invoke_its_endpoint(ab) -> None:
    fn = ab.named("sd-invoke")
    assert (fn.inputs["runtime"], fn.inputs["handler"]) == ("python3.12", "serving.invoke.handler")
    assert fn.inputs["layers"] == ["arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:27"]
    assert sorted(fn.inputs["code"].assets) == ["governance/__init__.py", "governance/contract.py", "serving/__init__.py", "serving/capture.py",
                                                 "serving/collector.py", "serving/drift.py", "serving/events.py", "serving/invoke.py"]
    assert fn.inputs["environment"]["variables"]["ENDPOINT_NAME"] == ENDPOINT
    assert fn.inputs["kmsKeyArn"] == LOCAL_KEY
    assert fn.inputs["loggingConfig"]["logGroup"] == "/mlgov/lambda/sd-invoke"
    sids = statements_by_sid(ab.named("sd-invoke-policy"))
    assert sids["InvokeTheEndpoint"] == {"Sid": "InvokeTheEndpoint", "Effect": "Allow", "Action": "sagemaker:InvokeEndpoint",
                                         "Resource": f"arn:aws:sagemaker:eu-west-1:{PROD}:endpoint/{ENDPOINT}"}
    assert sids["WriteOwnLogs"]["Resource"] == f"arn:aws:logs:eu-west-1:{PROD}:log-group:/mlgov/lambda/sd-invoke:*"
    assert set(sids) == {"InvokeTheEndpoint", "WriteOwnLogs", "Tracing"}
    assert fn.inputs["tracingConfig"] == {"mode": "Active"}
    assert "deadLetterConfig" not in fn.inputs  # invoked synchronously by API Gateway: the caller sees the error


def test_reporter_runs_on_a_schedule_and_when_the_endpoint_is_in_service(ab) -> None:
    fn = ab.named("sd-reporter")
    env = fn.inputs["environment"]["variables"]
    assert env["HUB_BUS_ARN"] == HUB["busArn"] and env["STAGE"] == "production" and env["ACCOUNT_ID"] == PROD
    assert json.loads(env["VARIANTS"]) == [{"name": "champion", "version": 3, "role": "champion"},
                                         {"name": "challenger", "version": 4, "role": "challenger"}]
    assert ab.named("sd-metrics-schedule").inputs["scheduleExpression"] == "rate(15 minutes)"
    assert json.loads(ab.named("sd-deployed").inputs["eventPattern"]) == {
        "source": ["aws.sagemaker"], "detail-type": ["SageMaker Endpoint State Change"],
        "detail": {"EndpointName": [ENDPOINT], "EndpointStatus": ["IN_SERVICE"]},
    }
    for part in ("metrics-schedule", "deployed"):
        assert ab.named(f"sd-{part}-target").inputs["arn"] == f"arn:aws:lambda:eu-west-1:{PROD}:function:sd-reporter"
        permission = ab.named(f"sd-{part}-invoke")
        assert permission.inputs["sourceArn"] == f"arn:aws:events:eu-west-1:{PROD}:rule/sd-{part}"
    queue_arn = f"arn:aws:sqs:eu-west-1:{PROD}:sd-reporter-dead-letters"
    assert fn.inputs["deadLetterConfig"] == {"targetArn": queue_arn}
    assert ab.named("sd-reporter-dead-letters").inputs["kmsMasterKeyId"] == LOCAL_KEY
    for part in ("metrics-schedule", "deployed"):
        assert ab.named(f"sd-{part}-target").inputs["deadLetterConfig"] == {"arn": queue_arn}
    (allow,) = json.loads(ab.named("sd-reporter-dead-letters-policy").inputs["policy"])["Statement"]
    assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": [
        f"arn:aws:events:eu-west-1:{PROD}:rule/sd-metrics-schedule", f"arn:aws:events:eu-west-1:{PROD}:rule/sd-deployed"]}}
    assert ab.named("sd-reporter-dead-letters-alarm").inputs["metricName"] == "ApproximateNumberOfMessagesVisible"
    sids = statements_by_sid(ab.named("sd-reporter-policy"))
    assert sids["OwnDeadLetterQueue"]["Resource"] == queue_arn
    assert sids["PutOnHubBus"]["Resource"] == HUB["busArn"]
    assert sids["ReadEndpointMetrics"]["Action"] == "cloudwatch:GetMetricData"


def test_alarms_on_5xx_and_latency_for_each_variant(ab) -> None:
    alarms = {a.name: a.inputs for a in ab.by_type("aws:cloudwatch/metricAlarm:MetricAlarm") if a.inputs["namespace"] == "AWS/SageMaker"}
    assert set(alarms) == {"sd-champion-5xx", "sd-champion-latency", "sd-challenger-5xx", "sd-challenger-latency"}
    assert alarms["sd-challenger-5xx"]["metricName"] == "Invocation5XXErrors"
    assert alarms["sd-challenger-5xx"]["dimensions"] == {"EndpointName": ENDPOINT, "VariantName": "challenger"}
    assert alarms["sd-champion-latency"]["metricName"] == "ModelLatency"
    assert alarms["sd-champion-latency"]["threshold"] == 1_000_000  # 1000 ms default, in microseconds


def test_no_wildcard_action_in_any_policy(ab) -> None:
    assert wildcard_actions(ab) == []
    assert wildcard_actions(plan_for(SHADOW)) == []


def test_a_group_the_hub_has_not_onboarded_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match=r"'fraud-model' is not onboarded in the hub; onboarded groups: Churn-Model, credit-risk-xgb"):
        plan_for({**HIGH, "group": "fraud-model"})


def test_a_use_case_other_than_the_hubs_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"group 'credit-risk-xgb' belongs to use case 'credit-risk'"):
        plan_for({**HIGH, "useCase": "customer-churn"})


def test_refuses_a_stage_other_than_test_or_prod() -> None:
    with pytest.raises(ValueError, match="test or prod"):
        plan_for(HIGH, stage="dev")


def test_endpoint_names_are_per_use_case_group_and_stage_within_sagemakers_limit() -> None:
    long_group = "g" * 63
    name = endpoint_name("prod", "credit-risk", long_group)
    assert len(name) == 63 and name != endpoint_name("prod", "credit-risk", long_group[:-1] + "h")
    assert name == endpoint_name("prod", "credit-risk", long_group)
    assert endpoint_name("test", "credit-risk", "credit-risk-xgb") == "mlgov-test-credit-risk-credit-risk-xgb"


def test_a_new_version_or_new_weights_make_a_new_endpoint_config_name() -> None:
    from components.stage_deployment import endpoint_config_name

    config = {"production_variants": [{"variant_name": "champion", "initial_variant_weight": 100}], "packages": {"champion": "p/1"}}
    names = {endpoint_config_name(ENDPOINT, config),
             endpoint_config_name(ENDPOINT, {**config, "packages": {"champion": "p/2"}}),
             endpoint_config_name(ENDPOINT, {**config, "production_variants": [{"variant_name": "champion", "initial_variant_weight": 90}]})}
    assert len(names) == 3 and all(len(n) <= 63 for n in names)


def test_the_member_archive_alone_imports_every_handler(ab, tmp_path) -> None:
    """What Lambda unpacks is all the serving code has: a module missing from the archive fails here, not at deploy."""
    import shutil
    import subprocess
    import sys
    import sysconfig

    for name, asset in ab.named("sd-invoke").inputs["code"].assets.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(asset.path, tmp_path / name)
    # -S: no .pth files, so the editable install cannot supply a module the archive lacks.
    env = {"PYTHONPATH": f"{tmp_path}:{sysconfig.get_paths()['purelib']}", "AWS_DEFAULT_REGION": "eu-west-1"}
    run = subprocess.run([sys.executable, "-S", "-P", "-c", "import serving.invoke, serving.collector, governance.contract"],
                         cwd=tmp_path, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_the_reporter_reads_only_its_endpoints_capture_and_its_versions_references(ab) -> None:
    env = ab.named("sd-reporter").inputs["environment"]["variables"]
    bucket = f"arn:aws:s3:::{HUB['bucketName']}"
    assert env["CAPTURE_BUCKET"] == HUB["bucketName"]
    sids = statements_by_sid(ab.named("sd-reporter-policy"))
    capture = f"capture/{PROD}/{ENDPOINT}/"
    assert (sids["ReadOwnCapture"]["Effect"], sids["ReadOwnCapture"]["Action"], sids["ReadOwnCapture"]["Resource"]) == (
        "Allow", "s3:GetObject", f"{bucket}/{capture}*")
    assert (sids["ListOwnCapture"]["Resource"], sids["ListOwnCapture"]["Condition"]) == (
        bucket, {"StringLike": {"s3:prefix": [f"{capture}*"]}})
    # Production reads the references published at test, for the versions it serves, and publishes none.
    assert (sids["DriftReferences"]["Action"], sids["DriftReferences"]["Resource"]) == (
        "s3:GetObject", [f"{bucket}/drift-references/credit-risk-xgb/3.json", f"{bucket}/drift-references/credit-risk-xgb/4.json"])
    key = sids["HubKeyThroughS3"]
    assert (key["Action"], key["Resource"]) == ("kms:Decrypt", HUB["keyArn"])
    assert key["Condition"] == {"StringEquals": {"kms:ViaService": f"s3.{HUB_REGION}.amazonaws.com", "kms:EncryptionContext:aws:s3:arn": bucket}}
    assert not [a for name, a in wildcard_actions(ab) if name == "sd-reporter-policy"]


def test_the_test_reporter_also_publishes_its_versions_references() -> None:
    sids = statements_by_sid(plan_for(HIGH, stage="test").named("sd-reporter-policy"))
    assert sids["DriftReferences"]["Action"] == ["s3:GetObject", "s3:PutObject"]
    assert sids["DriftReferences"]["Resource"] == [f"arn:aws:s3:::{HUB['bucketName']}/drift-references/credit-risk-xgb/3.json"]
    assert sids["HubKeyThroughS3"]["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]


def test_an_endpoint_without_capture_denies_its_reporter_every_drift_read() -> None:
    plan = plan_for(LOW)
    assert plan.named("sd-reporter").inputs["environment"]["variables"]["CAPTURE_BUCKET"] == ""
    sids = statements_by_sid(plan.named("sd-reporter-policy"))
    assert {sids[s]["Effect"] for s in ("ReadOwnCapture", "ListOwnCapture", "DriftReferences", "HubKeyThroughS3")} == {"Deny"}
