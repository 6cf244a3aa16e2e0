"""SharedModelGroup on its own: the group and its two RAM shares."""
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
        risk_tier="high",
        model_risk="high",
        owner="ds-lead@example.com",
        line_of_business="retail-lending",
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
    assert component.type == "mlgov:index:SharedModelGroup"
    assert group.parent == component.urn


@pytest.mark.parametrize("purpose,permission,accounts", [
    ("register", REGISTER, ["222222222222"]),
    ("deploy", DEPLOY, ["333333333333", "444444444444"]),
])
def test_each_share_goes_to_its_accounts_only_with_the_managed_permission(purpose: str, permission: str, accounts: list[str]) -> None:
    plan = plan_of(args())
    share = plan.named(f"credit-risk-xgb-{purpose}-share")
    assert share.inputs["permissionArns"] == [permission]
    assert share.inputs["allowExternalPrincipals"] is False
    principals = sorted(r.inputs["principal"] for r in plan.children(share) if r.type.endswith("PrincipalAssociation"))
    assert principals == accounts
    association = plan.named(f"credit-risk-xgb-{purpose}-group")
    assert association.inputs["resourceArn"] == "arn:aws:sagemaker:eu-west-1:111111111111:model-package-group/credit-risk-xgb"
    assert association.inputs["resourceShareArn"].endswith(f":resource-share/credit-risk-xgb-{purpose}-share")
    assert plan.named(f"credit-risk-xgb-{purpose}-{accounts[-1]}").inputs["resourceShareArn"].endswith(f"credit-risk-xgb-{purpose}-share")


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


def test_the_group_declares_no_config_item_of_its_own() -> None:
    assert plan_of(args()).by_type("aws:dynamodb/tableItem:TableItem") == []


@pytest.mark.parametrize("field", ["register_accounts", "deploy_accounts"])
def test_a_group_nobody_can_use_is_refused(field: str) -> None:
    with pytest.raises(ValueError, match="at least one register and one deploy account"):
        plan_of(args(**{field: []}))
