"""Where a registration's artifacts and images are, recorded on the version; non-compliant versions and offboarded
use cases are never approved; an offboarded use case stays readable and shows as retired."""
from __future__ import annotations

import json

import pytest

from governance import compliance, schema
from governance.contract import ecr_repository_uri

from .conftest import ACCOUNT, DEV_SESSION, DS_SESSION, REGION

BUCKET = "mlgov-artifacts-123456789012-us-east-1"
REPOSITORY = ecr_repository_uri(ACCOUNT, REGION, "mlgov-inference")
HUB = schema.hub_config_item(use_case_ids=["credit-risk"], artifact_bucket=BUCKET, image_repository=REPOSITORY)
GOOD_ARTIFACTS = f"s3://{BUCKET}/models/{ACCOUNT}/credit-risk-xgb/model.tar.gz"
XGBOOST = f"683313688378.dkr.ecr.{REGION}.amazonaws.com/sagemaker-xgboost:1.7-1"
DEV = "222222222222"
UC, GROUP = "credit-risk", "credit-risk-xgb"


def event(*containers, account=ACCOUNT, region=REGION, package_account=ACCOUNT):
    return {"account": account, "region": region, "detail": {
        "ModelPackageArn": f"arn:aws:sagemaker:{region}:{package_account}:model-package/{GROUP}/1",
        "InferenceSpecification": {"Containers": list(containers)}}}


def assess(*containers, created_by=DS_SESSION, **kw):
    return compliance.assess(event(*containers, **kw), created_by=created_by, hub=HUB)


def test_artifacts_under_the_registrants_prefix_with_a_sagemaker_or_hub_image_are_compliant():
    assert assess({"Image": XGBOOST, "ModelDataUrl": GOOD_ARTIFACTS}) == {"compliant": True, "problems": [], "account": ACCOUNT}
    source = {"S3DataSource": {"S3Uri": f"s3://{BUCKET}/models/{ACCOUNT}/mlflow/run/model/", "S3DataType": "S3Prefix"}}
    assert assess({"Image": f"{REPOSITORY}:credit-risk-xgb-1", "ModelDataSource": source})["compliant"] is True
    assert assess({"Image": f"{REPOSITORY}@sha256:{'a' * 64}", "ModelDataUrl": GOOD_ARTIFACTS})["compliant"] is True
    assert assess({"Image": f"763104351884.dkr.ecr.{REGION}.amazonaws.com/pytorch-inference:2.1", "ModelDataUrl": GOOD_ARTIFACTS})["compliant"]


@pytest.mark.parametrize("container, reason", [
    ({"Image": XGBOOST, "ModelDataUrl": "s3://artifacts/credit-risk-xgb/model.tar.gz"}, "are not under s3://mlgov-artifacts"),
    ({"Image": XGBOOST, "ModelDataUrl": f"s3://{BUCKET}/models/{DEV}/model.tar.gz"}, f"not under s3://{BUCKET}/models/{ACCOUNT}/"),
    ({"Image": XGBOOST, "ModelDataUrl": f"s3://{BUCKET}-evil/models/{ACCOUNT}/m.tar.gz"}, "are not under"),
    ({"Image": XGBOOST, "ModelDataSource": {"S3DataSource": {"S3Uri": f"s3://{BUCKET}/capture/{ACCOUNT}/"}}}, "are not under"),
    ({"Image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/xgb:1", "ModelDataUrl": GOOD_ARTIFACTS}, "neither a SageMaker-provided image"),
    ({"Image": "683313688378.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1", "ModelDataUrl": GOOD_ARTIFACTS}, "neither"),
    ({"Image": f"{REPOSITORY}-other:1", "ModelDataUrl": GOOD_ARTIFACTS}, "nor in the hub's image repository"),
    ({"Image": "docker.io/library/python:3.12", "ModelDataUrl": GOOD_ARTIFACTS}, "neither"),
    ({"ModelDataUrl": GOOD_ARTIFACTS}, "names no image"),
    ({"Image": XGBOOST, "ModelDataUrl": 42}, "are not under"),
])
def test_artifacts_elsewhere_or_an_image_test_and_prod_cannot_pull_are_non_compliant_with_the_reason(container, reason):
    found = assess(container)
    assert found["compliant"] is False and any(reason in p for p in found["problems"]), found


def test_the_registering_account_comes_from_created_by_else_from_the_forwarding_member_account():
    assert compliance.registrant_account(event(), f"arn:aws:sts::{DEV}:assumed-role/ds/alice") == DEV
    assert compliance.registrant_account(event(account=DEV), None) == DEV
    assert compliance.registrant_account(event(account=ACCOUNT), None) is None
    found = assess({"Image": XGBOOST, "ModelDataUrl": GOOD_ARTIFACTS}, created_by=None)
    assert found["compliant"] is False and "registering account is unknown" in found["problems"][0]


@pytest.mark.parametrize("detail", [{}, {"InferenceSpecification": None}, {"InferenceSpecification": {"Containers": "x"}},
                                    {"InferenceSpecification": {"Containers": [None, 3]}}])
def test_malformed_packages_are_non_compliant_never_an_error(detail):
    found = compliance.assess({"detail": detail, "region": REGION}, created_by=DS_SESSION, hub=HUB)
    assert found["compliant"] is False and found["problems"]


def test_no_hub_item_means_not_assessed():
    assert compliance.assess(event({"Image": "x"}), created_by=DS_SESSION, hub=None) is None


# --- through the handlers ---------------------------------------------------------------------------------------

def register(world, container=None, *, version=1):
    world.register_package(GROUP)
    ev = world.package_event(GROUP, version)
    if container is not None:
        ev["detail"]["InferenceSpecification"]["Containers"] = [container]
    assert world.sync(ev)["result"] == "written"
    return version


def decide(world, version, stage="development", action="approve", caller=DEV_SESSION):
    body = {"stage": stage, "action": action, **({"reason": "rework"} if action != "approve" else {})}
    return world.api("POST", f"/use-cases/{UC}/models/{GROUP}/versions/{version}/decision", body, caller=caller)


def test_a_non_compliant_registration_is_recorded_with_its_reason_and_cannot_be_approved(world):
    world.onboard(UC, groups=(GROUP,), risk_tier="minimal", thresholds=())
    world.approve_use_case(UC)
    world.put_config(HUB)
    version = register(world)  # the fixture's package: artifacts in s3://artifacts/..., an image of a repository of its own
    record = world.record(GROUP, version, "development")
    found = json.loads(record[schema.COMPLIANCE])
    assert found["compliant"] is False and found["account"] == ACCOUNT
    entry = [i for i in world.items() if i["sk"].startswith("AUDIT#") and i.get("action") == "register"][0]
    assert json.loads(entry["detail"])[schema.COMPLIANCE] == found
    view = world.api("GET", f"/use-cases/{UC}/models/{GROUP}/versions/{version}")[1]
    assert view["records"][0][schema.COMPLIANCE]["compliant"] is False
    before = world.snapshot()
    code, body = decide(world, version)
    assert code == 409 and "non-compliant" in body["message"] and "are not under" in body["message"]
    assert world.snapshot() == before
    assert decide(world, version, action="reject")[0] == 200  # a rejection is still possible


def test_a_compliant_registration_is_approved(world):
    world.onboard(UC, groups=(GROUP,), risk_tier="minimal", thresholds=())
    world.approve_use_case(UC)
    world.put_config(HUB)
    version = register(world, {"Image": XGBOOST, "ModelDataUrl": GOOD_ARTIFACTS})
    assert json.loads(world.record(GROUP, version, "development")[schema.COMPLIANCE])["compliant"] is True
    assert decide(world, version)[0] == 200


def test_a_use_case_removed_from_config_is_retired_its_trail_readable_and_nothing_approvable(world):
    world.onboard(UC, groups=(GROUP,), risk_tier="minimal", thresholds=())
    world.onboard("customer-churn", groups=("churn",), risk_tier="minimal", thresholds=(), name="Churn")
    world.put_config(HUB | {schema.HUB_USE_CASES: [UC, "customer-churn"]})
    assert world.api("POST", "/use-cases/customer-churn/decision", {"action": "approve", "reason": "go"}, caller=DEV_SESSION)[0] == 200
    world.register_package("churn")
    churn = world.package_event("churn", 1)
    churn["detail"]["InferenceSpecification"]["Containers"] = [{"Image": XGBOOST, "ModelDataUrl": GOOD_ARTIFACTS}]
    assert world.sync(churn)["result"] == "written"
    # `pulumi up` without customer-churn: its CONFIG items are retained, the hub item no longer lists it.
    world.put_config(HUB)

    code, listing = world.api("GET", "/use-cases")
    shown = {u["useCaseId"]: u for u in listing["useCases"]}
    assert code == 200 and set(shown) == {UC, "customer-churn"}
    assert (shown["customer-churn"]["stage"], shown["customer-churn"]["stageStatus"], shown["customer-churn"]["offboarded"]) == (
        "RETIRED", "retired", True)
    assert shown["customer-churn"]["stageWhenOffboarded"] == "DEVELOPMENT"
    assert (shown[UC]["stage"], shown[UC]["offboarded"]) == ("POC", False)
    code, trail = world.api("GET", "/use-cases/customer-churn/audit")
    assert code == 200 and [e["action"] for e in trail["entries"]] == ["approve"]
    assert world.api("GET", "/use-cases/customer-churn/audit/verify")[1]["ok"] is True
    assert world.api("GET", "/use-cases/customer-churn/models/churn/versions/1/audit")[0] == 200
    code, body = world.api("POST", "/use-cases/customer-churn/models/churn/versions/1/decision",
                           {"stage": "development", "action": "approve"}, caller=DEV_SESSION)
    assert code == 409 and "removed from the hub stack's config" in body["message"]

    from governance import dashboard, runtime

    data = dashboard.collect(runtime.governance())
    assert data["byStageAndTier"]["RETIRED"]["minimal"] == 1 and data["byStageAndTier"]["POC"]["minimal"] == 1
    assert "removed from config (offboarded)" in dashboard.render(data)
