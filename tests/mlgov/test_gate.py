"""The program enforces the promotion gate at preview: a test or prod stack declares nothing unless the hub
registry shows every pinned version approved for the stack's stage."""
from __future__ import annotations

import copy

import hypothesis  # noqa: F401 - imported before Pulumi's threads run (see tests/mlgov/test_member_stacks.py)
import pytest
from moto import mock_aws

from mlgov import offline, program
from mlgov.config import ConfigError
from tests.infra import sample

CREDIT = {"useCase": "credit-risk", "group": "credit-risk-xgb"}


def registry(**packages: tuple[str, str, str] | None) -> dict:
    """The sample registry with versions changed: `group_version=(approval, stage, status)`, None to remove one."""
    state = copy.deepcopy(offline.registry_state())
    for key, value in packages.items():
        name = key.rsplit("_", 1)[0].replace("_", "-") + "/" + key.rsplit("_", 1)[1]
        if value is None:
            state["packages"].pop(name, None)
        else:
            state["packages"][name] = {"ModelApprovalStatus": value[0], "ModelLifeCycle": {"Stage": value[1], "StageStatus": value[2]}}
    return state


def refused(stack: str, config: dict | None = None, state: dict | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as error:
        offline.plan_stack(stack, config, registry=state)
    assert error.value.declared == (), "a refused stack declares nothing"
    return error.value


def pinned(stack: str, *deployments: dict) -> dict:
    config = sample(stack)
    config["mlgov:deployments"] = list(deployments)
    return config


def test_the_sample_stacks_pass_on_the_sample_registry() -> None:
    for stack in ("test", "prod"):
        assert offline.plan_stack(stack).by_type("mlgov:index:StageDeployment")


def test_a_version_not_approved_for_the_stage_is_refused_with_one_message_naming_it() -> None:
    state = registry(customer_churn_model_2=("Approved", "test", "approved"), customer_churn_model_1=("Approved", "test", "pending"))
    error = refused("prod", state=state)
    assert str(error) == (
        "the promotion gate refuses this stack; nothing is declared:\n"
        "  mlgov:deployments[customer-churn-model v1]: use case customer-churn, group customer-churn-model, version 1 is not "
        "approved for production: the registry shows ModelApprovalStatus Approved, ModelLifeCycle test/pending; production "
        "needs test/approved or production/approved|deployed|pending"
    )
    # v2 (test/approved) may go to production; the same registry lets the test stack deploy v1
    assert offline.plan_stack("test", registry=state).by_type("mlgov:index:StageDeployment")


def test_a_version_pending_in_the_registry_is_refused_even_with_a_lifecycle() -> None:
    error = refused("test", state=registry(credit_risk_xgb_1=("PendingManualApproval", "development", "approved")))
    assert "version 1 is not approved for test: the registry shows ModelApprovalStatus PendingManualApproval" in str(error)
    assert "a version is deployed only once it is Approved" in str(error)


def test_rolling_back_to_a_version_still_approved_for_production_passes() -> None:
    """v2 was promoted (v1 pinned again): v1's lifecycle still says production/approved."""
    state = registry(credit_risk_xgb_2=("Approved", "production", "approved"))
    config = pinned("prod", {**CREDIT, "version": 1})
    plan = offline.plan_stack("prod", config, registry=state)
    packages = [r.inputs["primaryContainer"]["modelPackageName"] for r in plan.by_type("aws:sagemaker/model:Model")]
    assert packages == ["arn:aws:sagemaker:eu-west-1:111111111111:model-package/credit-risk-xgb/1"]


@pytest.mark.parametrize("deployment,expected", [
    ({**CREDIT, "version": 42}, "version 42 is not approved for test: the registry has no such version "
                                "(arn:aws:sagemaker:eu-west-1:111111111111:model-package/credit-risk-xgb/42)"),
    ({**CREDIT, "version": 3}, "version 3 is not approved for test: the registry shows ModelApprovalStatus Rejected, "
                               "ModelLifeCycle test/rejected"),
    ({"useCase": "credit-risk", "group": "fraud-detection", "version": 1},
     "version 1 is not approved for test: the registry shows ModelApprovalStatus Rejected, ModelLifeCycle production/retired"),
    ({"useCase": "credit-risk", "group": "credit-risk-lgbm", "version": 1},
     "mlgov:deployments[credit-risk-lgbm v1].group: 'credit-risk-lgbm' is not onboarded in the hub"),
])
def test_bad_pins_are_refused_at_preview_with_nothing_declared(deployment, expected) -> None:
    assert expected in str(refused("test", pinned("test", deployment)))


def test_a_stack_in_another_region_than_the_hub_is_refused() -> None:
    config = {**sample("prod"), "aws:region": "us-east-1"}
    assert str(refused("prod", config)) == (
        "aws:region: this stack deploys in us-east-1 but the hub registry is in eu-west-1; a version is deployed from the "
        "registry's own region (RAM shares are regional): set aws:region to eu-west-1")


def test_every_refused_pin_is_named_in_the_one_error() -> None:
    error = str(refused("prod", state=registry(customer_churn_model_1=None, credit_risk_xgb_2=("Rejected", "production", "rejected"))))
    assert error.count("\n  mlgov:deployments[") == 2
    assert "[credit-risk-xgb v2 (challenger)]" in error and "[customer-churn-model v1]" in error


def test_the_registry_is_read_with_describe_model_package(monkeypatch) -> None:
    """The reader the program uses outside the offline engine, on moto's registry (which keeps no ModelLifeCycle)."""
    import boto3

    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "eu-west-1",
                       "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(program.pulumi, "Config", lambda _name: type("C", (), {"get": staticmethod(lambda _k: None)})())
    with mock_aws():
        sagemaker = boto3.client("sagemaker", region_name="eu-west-1")
        sagemaker.create_model_package_group(ModelPackageGroupName="credit-risk-xgb")
        arn = sagemaker.create_model_package(
            ModelPackageGroupName="credit-risk-xgb", ModelApprovalStatus="PendingManualApproval",
            InferenceSpecification={"Containers": [{"Image": "image"}], "SupportedContentTypes": ["text/csv"],
                                    "SupportedResponseMIMETypes": ["application/json"]})["ModelPackageArn"]
        sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
        missing = arn[:-1] + "7"
        answers = program.describe_packages([arn, missing], "eu-west-1")
    assert answers[missing] is None
    assert answers[arn]["ModelApprovalStatus"] == "Approved"
