"""The dev, test and prod stacks from their files, reading the hub through a StackReference answered by the shared plan."""
from __future__ import annotations

import json
from collections import Counter

import hypothesis  # noqa: F401 - imported before Pulumi's threads run: hypothesis' pytest plugin otherwise imports it
import pytest     # at session end, where CPython 3.11.7's AST parser can fail with "recursion depth mismatch"

from mlgov import offline, plan as plan_printer
from mlgov.config import ConfigError
from tests.components.hub_sample import wildcard_actions
from tests.infra import sample

HUB_STACK = "acme/mlgov/shared"
HUB_ACCOUNT = "111111111111"


@pytest.fixture(scope="module")
def plans() -> dict[str, offline.Plan]:
    return {stack: offline.plan_stack(stack) for stack in ("dev", "test", "prod")}


@pytest.fixture(scope="module")
def hub() -> dict:
    return offline.plan_stack("shared").outputs


def with_deployments(stack: str, deployments: list[dict]) -> dict:
    config = sample(stack)
    config["mlgov:deployments"] = deployments
    return config


def endpoint_configs(plan: offline.Plan) -> dict[str, dict]:
    return {r.name: r.inputs for r in plan.by_type("aws:sagemaker/endpointConfiguration:EndpointConfiguration")}


def test_member_stacks_read_exactly_what_the_hub_exports(hub) -> None:
    assert offline.referenced_stack_outputs(sample("test")) == {HUB_STACK: hub}
    assert {"groupArns", "groupUseCases", "useCaseRiskTiers", "registerShareArns", "deployShareArns", "busArn", "keyArn",
            "bucketName", "sharedAccountId", "region"} <= set(hub)


def test_dev_stack(plans, hub) -> None:
    plan = plans["dev"]
    counts = Counter(r.type for r in plan.custom_resources)
    assert counts == Counter({"aws:iam/role:Role": 3, "aws:iam/rolePolicy:RolePolicy": 4,
                              "aws:cloudwatch/eventRule:EventRule": 1, "aws:cloudwatch/eventTarget:EventTarget": 1,
                              "aws:kms/key:Key": 1, "aws:kms/alias:Alias": 1, "aws:sqs/queue:Queue": 1,
                              "aws:sqs/queuePolicy:QueuePolicy": 1, "aws:cloudwatch/metricAlarm:MetricAlarm": 1,
                              "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer": 1, "aws:sns/topic:Topic": 1,
                              "aws:sns/topicPolicy:TopicPolicy": 1, "aws:sns/topicSubscription:TopicSubscription": 1})
    assert plan.outputs["dataScientistRoleArn"] == "arn:aws:iam::222222222222:role/mlgov-dev-data-scientist"
    assert plan.named("mlgov-dev-forward-hub").inputs["arn"] == hub["busArn"]
    register = {s["Sid"]: s for s in json.loads(plan.named("mlgov-dev-data-scientist-policy").inputs["policy"])["Statement"]}["RegisterIntoHubGroupsAsPending"]
    assert set(hub["groupArns"].values()) <= set(register["Resource"])


def test_dev_stack_runs_the_tracking_server_the_sample_config_asks_for(plans, hub) -> None:
    plan = plans["dev"]
    (tracking,) = plan.by_type("mlgov:experimentation:ExperimentTracking")
    added = [r for r in plan.custom_resources if f"{tracking.type}$" in r.urn]
    assert Counter(r.type for r in added) == Counter({"aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer": 1,
                                                      "aws:iam/role:Role": 1, "aws:iam/rolePolicy:RolePolicy": 2})
    (server,) = plan.by_type("aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer")
    assert (server.inputs["trackingServerSize"], server.inputs["mlflowVersion"], server.inputs["weeklyMaintenanceWindowStart"]) == (
        "Small", "3.0", "Sun:02:00")
    assert server.inputs["artifactStoreUri"] == f"s3://{hub['bucketName']}/models/222222222222/mlflow/"
    assert plan.outputs["trackingServerArn"] == "arn:aws:sagemaker:eu-west-1:222222222222:mlflow-tracking-server/mlgov-dev"
    key = {s["Sid"]: s for s in json.loads(plan.named("mlgov-dev-mlflow-server-role-policy").inputs["policy"])["Statement"]}
    assert key["EncryptWithHubKeyThroughS3"]["Resource"] == hub["keyArn"]
    assert plan.named("mlgov-dev-mlflow-data-scientist-mlflow").inputs["role"] == "mlgov-dev-data-scientist"


def test_dev_stack_without_experimentation_has_no_tracking_server() -> None:
    config = sample("dev")
    del config["mlgov:experimentation"]
    plan = offline.plan_stack("dev", config=config)
    assert plan.by_type("aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer") == []
    assert "trackingServerArn" not in plan.outputs


def test_test_stack_deploys_the_two_pinned_versions(plans, hub) -> None:
    plan = plans["test"]
    assert sorted(r.name for r in plan.by_type("mlgov:index:StageDeployment")) == ["credit-risk-xgb", "customer-churn-model"]
    packages = sorted(r.inputs["primaryContainer"]["modelPackageName"] for r in plan.by_type("aws:sagemaker/model:Model"))
    assert packages == [
        f"arn:aws:sagemaker:eu-west-1:{HUB_ACCOUNT}:model-package/credit-risk-xgb/1",
        f"arn:aws:sagemaker:eu-west-1:{HUB_ACCOUNT}:model-package/customer-churn-model/1",
    ]
    configs = endpoint_configs(plan)
    assert configs["credit-risk-xgb-endpoint-config"]["dataCaptureConfig"]["initialSamplingPercentage"] == 100
    assert configs["customer-churn-model-endpoint-config"]["dataCaptureConfig"]["enableCapture"] is True  # asked for in the file
    assert all(c["dataCaptureConfig"]["destinationS3Uri"] == f"s3://{hub['bucketName']}/capture/333333333333" for c in configs.values())
    assert plan.outputs["endpoints"] == {"credit-risk-xgb": "mlgov-test-credit-risk-credit-risk-xgb",
                                         "customer-churn-model": "mlgov-test-customer-churn-customer-churn-model"}
    reporter = plan.named("credit-risk-xgb-reporter").inputs["environment"]["variables"]
    assert (reporter["STAGE"], reporter["HUB_BUS_ARN"]) == ("test", hub["busArn"])


def test_prod_stack_runs_an_ab_pair_and_a_shadow_test(plans) -> None:
    configs = endpoint_configs(plans["prod"])
    ab = configs["credit-risk-xgb-endpoint-config"]
    assert [(v["variantName"], v["initialVariantWeight"]) for v in ab["productionVariants"]] == [("champion", 90), ("challenger", 10)]
    assert ab["dataCaptureConfig"]["enableCapture"] is True  # high risk
    shadow = configs["customer-churn-model-endpoint-config"]
    assert [(v["variantName"], v["initialVariantWeight"]) for v in shadow["productionVariants"]] == [("champion", 100)]
    assert [(v["variantName"], v["initialVariantWeight"]) for v in shadow["shadowProductionVariants"]] == [("shadow", 50)]
    assert "dataCaptureConfig" not in shadow  # minimal risk, not asked for
    assert len(plans["prod"].by_type("aws:sagemaker/model:Model")) == 4


@pytest.mark.parametrize("stack", ["dev", "test", "prod"])
def test_no_wildcard_action_and_iam_on_every_route(plans, stack) -> None:
    plan = plans[stack]
    assert wildcard_actions(plan) == []
    assert all(r.inputs["authorizationType"] == "AWS_IAM" for r in plan.by_type("aws:apigatewayv2/route:Route"))


def test_routes_exist_where_endpoints_do(plans) -> None:
    assert len(plans["test"].by_type("aws:apigatewayv2/route:Route")) == 2
    assert plans["dev"].by_type("aws:apigatewayv2/route:Route") == []


@pytest.mark.parametrize("stack,shares", [("dev", "registerShareArns"), ("test", "deployShareArns"), ("prod", "deployShareArns")])
def test_accepters_only_without_organization_auto_accept(plans, hub, stack, shares) -> None:
    accepter = "aws:ram/resourceShareAccepter:ResourceShareAccepter"
    assert plans[stack].by_type(accepter) == []
    config = sample(stack)
    config["mlgov:organization"]["autoAcceptRamShares"] = False
    accepted = offline.plan_stack(stack, config).by_type(accepter)
    assert sorted(a.inputs["shareArn"] for a in accepted) == sorted(hub[shares].values())


def test_the_hub_reference_not_a_copy_decides_the_arns(hub) -> None:
    moved = {**hub, "region": "us-east-2", "sharedAccountId": "555555555555"}
    config = {**sample("test"), "aws:region": "us-east-2"}
    registry = {**offline.registry_state(), "region": "us-east-2", "account": "555555555555"}
    plan = offline.plan_stack("test", config, stack_outputs={HUB_STACK: moved}, registry=registry)
    packages = {r.inputs["primaryContainer"]["modelPackageName"] for r in plan.by_type("aws:sagemaker/model:Model")}
    assert all(p.startswith("arn:aws:sagemaker:us-east-2:555555555555:model-package/") for p in packages)


def test_a_stack_reference_the_engine_cannot_answer_is_an_error() -> None:
    with pytest.raises(offline.UnknownStackReferenceError, match="acme/mlgov/shared"):
        offline.plan_stack("test", stack_outputs={})
    config = sample("test")
    config["mlgov:hubStack"] = "acme/mlgov/nohub"
    with pytest.raises(offline.UnknownStackReferenceError, match="Pulumi.nohub.yaml"):
        offline.plan_stack("test", config)


# -- config errors: one ConfigError naming the key and what is allowed -------------------------------------------

CREDIT = {"useCase": "credit-risk", "group": "credit-risk-xgb", "version": 1}


@pytest.mark.parametrize("stack,deployments,message", [
    ("prod", [{**CREDIT, "weight": 80, "challenger": {"version": 2, "weight": 10}}], "weights must sum to 100; they sum to 90"),
    ("test", [{**CREDIT, "version": 0}], r"mlgov:deployments\[0:credit-risk-xgb\]\.version"),
    ("dev", [CREDIT], "deployments are pinned in the test and prod stacks only, not in the dev stack"),
    ("test", [{**CREDIT, "challenger": {"version": 2, "weight": 0}}], "tested in the prod stack"),
    ("prod", [{**CREDIT, "weight": 90, "challenger": {"version": 2, "weight": 10}, "shadow": {"version": 3}}], "cannot be combined"),
    ("prod", [CREDIT, CREDIT], "duplicate deployment of group/version"),
    ("prod", [CREDIT, {**CREDIT, "version": 2}], "group 'credit-risk-xgb' is deployed twice: a stage serves a group from one endpoint"),
])
def test_schema_refuses(stack, deployments, message) -> None:
    with pytest.raises(ConfigError, match=message):
        offline.plan_stack(stack, with_deployments(stack, deployments))


def test_a_group_not_onboarded_in_the_hub_is_refused_with_the_onboarded_list() -> None:
    config = with_deployments("test", [{"useCase": "credit-risk", "group": "credit-risk-lgbm", "version": 1}])
    with pytest.raises(ConfigError) as error:
        offline.plan_stack("test", config)
    assert str(error.value) == (
        "mlgov:deployments[credit-risk-lgbm v1].group: 'credit-risk-lgbm' is not onboarded in the hub; onboarded groups: "
        "credit-risk-xgb, customer-churn-model, fraud-detection (onboard it under mlgov:useCases in the shared stack first)"
    )


def test_a_deployment_under_the_wrong_use_case_is_refused() -> None:
    config = with_deployments("prod", [{"useCase": "customer-churn", "group": "credit-risk-xgb", "version": 1}])
    with pytest.raises(ConfigError, match="belongs to use case 'credit-risk'"):
        offline.plan_stack("prod", config)


def test_one_stack_per_account() -> None:
    config = sample("test")
    config["mlgov:organization"]["accounts"]["test"] = ["333333333333", "333333333334"]
    with pytest.raises(ConfigError, match="one stack deploys into one account"):
        offline.plan_stack("test", config)


def test_the_plan_printer_prints_all_four_stacks(capsys) -> None:
    assert plan_printer.main([]) == 0
    out = capsys.readouterr().out
    for stack in ("shared", "dev", "test", "prod"):
        assert f"stack {stack} (" in out
    assert "mlgov:index:StageDeployment" in out


def test_prod_lambdas_run_in_the_configured_subnets_with_the_endpoints_they_call(plans) -> None:
    prod = plans["prod"]
    network = sample("prod")["mlgov:network"]
    for function in prod.by_type("aws:lambda/function:Function"):
        assert function.inputs["vpcConfig"] == {"subnetIds": network["subnetIds"], "securityGroupIds": ["mlgov-prod-network-functions-id"]}
        kind = function.name.rsplit("-", 1)[-1]
        assert function.inputs["reservedConcurrentExecutions"] == sample("prod")["mlgov:lambdaConcurrency"][kind]
    services = sorted(r.inputs["serviceName"].removeprefix("com.amazonaws.eu-west-1.") for r in prod.by_type("aws:ec2/vpcEndpoint:VpcEndpoint"))
    assert services == ["events", "monitoring", "s3", "sagemaker.runtime", "xray"]


def test_without_a_network_lambdas_keep_lambdas_own_network_and_dev_gets_no_endpoints(plans) -> None:
    test = plans["test"]
    assert all("vpcConfig" not in f.inputs for f in test.by_type("aws:lambda/function:Function"))
    assert {f.name.rsplit("-", 1)[-1]: f.inputs["reservedConcurrentExecutions"] for f in test.by_type("aws:lambda/function:Function")} == {
        "invoke": 20, "reporter": 2}
    config = sample("dev")
    config["mlgov:network"] = sample("prod")["mlgov:network"]
    dev = offline.plan_stack("dev", config=config)
    assert dev.by_type("aws:ec2/vpcEndpoint:VpcEndpoint") == [] and dev.by_type("aws:ec2/securityGroup:SecurityGroup") == []


# -- rollouts: a new version of a deployment updates its endpoint in place ------------------------------------------

IMMUTABLE = {"aws:sagemaker/model:Model", "aws:sagemaker/endpointConfiguration:EndpointConfiguration"}
"""Every input of these replaces them (SageMaker models and endpoint configurations cannot be updated)."""
TAGS = {"tags", "tagsAll"}


def _plain(value):
    """Inputs as comparable values: an archive by what it holds (assets compare by identity)."""
    import pulumi

    if isinstance(value, pulumi.AssetArchive):
        return {name: _plain(asset) for name, asset in value.assets.items()}
    if isinstance(value, (pulumi.FileAsset, pulumi.FileArchive)):
        return value.path
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def rollout(before: offline.Plan, after: offline.Plan) -> dict[str, list[str]]:
    """What `pulumi up` from `before` to `after` does to each cloud resource, read off the declared URNs and inputs.

    Same URN and inputs: unchanged; a changed physical name (`name`) or any change to an immutable type: replaced;
    another change: updated; a URN only before: deleted, only after: created.
    """
    old, new = ({r.urn: r for r in p.custom_resources} for p in (before, after))
    out: dict[str, list[str]] = {"created": sorted(new.keys() - old.keys()), "deleted": sorted(old.keys() - new.keys()),
                                 "replaced": [], "updated": []}
    for urn in sorted(old.keys() & new.keys()):
        a, b = _plain(dict(old[urn].inputs)), _plain(dict(new[urn].inputs))
        if a == b:
            continue
        changed = {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)}
        immutable = old[urn].type in IMMUTABLE and changed - TAGS
        out["replaced" if immutable or "name" in changed else "updated"].append(urn)
    return out


def serving_front(plan: offline.Plan) -> dict[str, tuple[str, ...]]:
    """The endpoints and invoke APIs, by URN, with their names: what clients call."""
    kinds = {"aws:sagemaker/endpoint:Endpoint", "aws:apigatewayv2/api:Api", "aws:apigatewayv2/stage:Stage", "aws:apigatewayv2/route:Route"}
    return {r.urn: (r.inputs.get("name"),) for r in plan.custom_resources if r.type in kinds}


def test_promoting_the_challenger_keeps_the_endpoint_and_the_api(plans) -> None:
    config = sample("prod")
    config["mlgov:deployments"][0] = {**config["mlgov:deployments"][0], "version": 2, "weight": 100}
    del config["mlgov:deployments"][0]["challenger"]
    after = offline.plan_stack("prod", config)
    changes = rollout(plans["prod"], after)
    front = serving_front(plans["prod"])
    assert front == serving_front(after) and len(front) == 8  # 2 endpoints, 2 APIs, their stages and routes
    assert not set(front) & {u for kind in ("created", "deleted", "replaced") for u in changes[kind]}
    endpoint = next(u for u in front if u.endswith("::credit-risk-xgb-endpoint"))
    assert endpoint in changes["updated"]
    assert after.outputs["invokeUrls"] == plans["prod"].outputs["invokeUrls"]
    assert after.outputs["endpoints"] == plans["prod"].outputs["endpoints"]
    config_urn = next(u for u in changes["replaced"] if u.endswith("::credit-risk-xgb-endpoint-config"))
    assert after.named("credit-risk-xgb-endpoint").inputs["endpointConfigName"] == after.named("credit-risk-xgb-endpoint-config").inputs["name"]
    assert config_urn and [u.rsplit("::", 1)[1] for u in changes["deleted"]] == [
        "credit-risk-xgb-challenger-5xx", "credit-risk-xgb-challenger-latency", "credit-risk-xgb-model-challenger"]
    assert changes["created"] == []


def test_pinning_a_new_version_in_test_replaces_the_model_and_config_only(plans) -> None:
    config = sample("test")
    config["mlgov:deployments"][0] = {**config["mlgov:deployments"][0], "version": 2}
    changes = rollout(plans["test"], offline.plan_stack("test", config))
    assert [u.rsplit("::", 1)[1] for u in changes["replaced"]] == ["credit-risk-xgb-endpoint-config", "credit-risk-xgb-model-champion"]
    assert changes["created"] == changes["deleted"] == []
    assert {u.rsplit("::", 1)[1] for u in changes["updated"]} == {"credit-risk-xgb-endpoint", "credit-risk-xgb-reporter", "credit-risk-xgb-reporter-policy"}
