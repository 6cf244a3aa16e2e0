"""SharedModelGroup on its own: the group, its two RAM shares and its CONFIG item."""
from __future__ import annotations

import json

import pytest

from components.shared_model_group import SharedModelGroup, SharedModelGroupArgs
from tests.infra import run_component

REGISTER = "arn:aws:ram::aws:permission/AWSRAMPermissionSageMakerModelPackageGroupAllowRegister"
DEPLOY = "arn:aws:ram::aws:permission/AWSRAMPermissionSageMakerModelPackageGroupAllowDeploy"


def args(**overrides) -> SharedModelGroupArgs:
    values = dict(
        group_name="credit-risk-xgb",
        use_case_id="credit-risk",
        use_case_name="Credit risk assessment",
        risk_tier="high",
        model_risk="high",
        owner="ds-lead@example.com",
        line_of_business="retail-lending",
        project="credit-decisioning",
        table_name="mlgov-governance",
        register_accounts=["222222222222"],
        deploy_accounts=["333333333333", "444444444444"],
    )
    values.update(overrides)
    return SharedModelGroupArgs(**values)


def plan_of(group_args: SharedModelGroupArgs):
    return run_component(lambda: SharedModelGroup("credit-risk-xgb", group_args))


def test_group_is_named_and_tagged_for_governance() -> None:
    plan = plan_of(args())
    group = plan.named("credit-risk-xgb-group")
    assert group.type == "aws:sagemaker/modelPackageGroup:ModelPackageGroup"
    assert group.inputs["modelPackageGroupName"] == "credit-risk-xgb"
    assert group.inputs["tags"] == {
        "mlgov:use-case": "credit-risk",
        "mlgov:risk-tier": "high",
        "mlgov:model-risk": "high",
        "mlgov:owner": "ds-lead@example.com",
        "mlgov:line-of-business": "retail-lending",
    }
    component = plan.named("credit-risk-xgb")
    assert component.type == "mlgov:shared_model_group:SharedModelGroup"
    assert group.parent == component.urn


def test_register_share_goes_to_dev_only_with_the_managed_register_permission() -> None:
    plan = plan_of(args())
    share = plan.named("credit-risk-xgb-register-share")
    assert share.inputs["permissionArns"] == [REGISTER]
    assert share.inputs["allowExternalPrincipals"] is False
    principals = sorted(r.inputs["principal"] for r in plan.children(share) if r.type.endswith("PrincipalAssociation"))
    assert principals == ["222222222222"]
    association = plan.named("credit-risk-xgb-register-group")
    assert association.inputs["resourceArn"] == "arn:aws:sagemaker:eu-west-1:111111111111:model-package-group/credit-risk-xgb"
    assert association.inputs["resourceShareArn"].endswith(":resource-share/credit-risk-xgb-register-share")


def test_deploy_share_goes_to_test_and_prod_with_the_managed_deploy_permission() -> None:
    plan = plan_of(args())
    share = plan.named("credit-risk-xgb-deploy-share")
    assert share.inputs["permissionArns"] == [DEPLOY]
    assert share.inputs["allowExternalPrincipals"] is False
    principals = sorted(r.inputs["principal"] for r in plan.children(share) if r.type.endswith("PrincipalAssociation"))
    assert principals == ["333333333333", "444444444444"]
    assert plan.named("credit-risk-xgb-deploy-333333333333").inputs["resourceShareArn"].endswith("credit-risk-xgb-deploy-share")


def test_no_custom_permission_unless_asked() -> None:
    plan = plan_of(args())
    assert plan.by_type("aws:ram/permission:Permission") == []


def test_custom_register_permission_replaces_the_managed_one() -> None:
    plan = plan_of(args(register_actions=["sagemaker:DescribeModelPackageGroup", "sagemaker:CreateModelPackage"]))
    [permission] = plan.by_type("aws:ram/permission:Permission")
    assert permission.name == "credit-risk-xgb-register-permission"
    assert permission.inputs["resourceType"] == "sagemaker:ModelPackageGroup"
    assert json.loads(permission.inputs["policyTemplate"]) == {
        "Effect": "Allow",
        "Action": ["sagemaker:CreateModelPackage", "sagemaker:DescribeModelPackageGroup"],
    }
    assert plan.named("credit-risk-xgb-register-share").inputs["permissionArns"] == [
        "arn:aws:ram:eu-west-1:111111111111:permission/mlgov-credit-risk-xgb-register"
    ]
    assert plan.named("credit-risk-xgb-deploy-share").inputs["permissionArns"] == [DEPLOY]


def test_config_item_carries_what_the_sync_handler_reads() -> None:
    plan = plan_of(args())
    item = plan.named("credit-risk-xgb-config")
    assert item.inputs["tableName"] == "mlgov-governance"
    assert (item.inputs["hashKey"], item.inputs["rangeKey"]) == ("pk", "sk")
    body = json.loads(item.inputs["item"])
    assert body["pk"] == {"S": "GROUP#credit-risk-xgb"} and body["sk"] == {"S": "CONFIG"}
    assert {k: v["S"] for k, v in body.items() if k in {"useCaseId", "useCaseName", "owner", "lineOfBusiness", "project", "risk"}} == {
        "useCaseId": "credit-risk",
        "useCaseName": "Credit risk assessment",
        "owner": "ds-lead@example.com",
        "lineOfBusiness": "retail-lending",
        "project": "credit-decisioning",
        "risk": "high",
    }


@pytest.mark.parametrize("field", ["register_accounts", "deploy_accounts"])
def test_a_group_nobody_can_use_is_refused(field: str) -> None:
    with pytest.raises(ValueError, match="at least one register and one deploy account"):
        plan_of(args(**{field: []}))
