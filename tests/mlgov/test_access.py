"""Who the stack config lets do what: a share never grants what only the governance API may write."""
from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from mlgov.access import GOVERNANCE_ONLY_ACTIONS, Approvers, CustomPermission, Validators
from mlgov.config import ConfigError, parse
from tests.infra import namespace, sample


def with_share_permissions(permissions: dict[str, Any]) -> dict[str, Any]:
    ns = namespace(sample("shared"))
    ns["useCases"][1]["sharePermissions"] = permissions
    return ns


@pytest.mark.parametrize("share", ["register", "deploy"])
def test_a_share_granting_update_model_package_is_refused_naming_the_action_and_the_key(share: str) -> None:
    ns = with_share_permissions({share: {"actions": ["sagemaker:CreateModelPackage", "sagemaker:UpdateModelPackage"]}})
    message = str(pytest.raises(ConfigError, parse, ns).value)
    assert message.startswith(f"invalid stack config: mlgov:useCases[1:customer-churn].sharePermissions.{share}.actions: ")
    assert "sagemaker:UpdateModelPackage is never granted through a share" in message
    assert "approval status and lifecycle stage" in message


def test_the_allowed_list_shown_for_an_unknown_action_leaves_out_update_model_package() -> None:
    ns = with_share_permissions({"register": {"actions": ["sagemaker:DeleteModelPackage"]}})
    message = str(pytest.raises(ConfigError, parse, ns).value)
    assert "sagemaker:DeleteModelPackage not allowed" in message and "sagemaker:CreateModelPackage" in message
    assert "UpdateModelPackage" not in message


def test_a_custom_register_permission_without_approval_writes_is_kept_sorted_and_once() -> None:
    ns = with_share_permissions({"register": {"actions": ["sagemaker:CreateModelPackage", "sagemaker:DescribeModelPackageGroup",
                                                          "sagemaker:CreateModelPackage"]}})
    permission = parse(ns).use_case("customer-churn").share_permissions.register_
    assert permission is not None
    assert permission.actions == ("sagemaker:CreateModelPackage", "sagemaker:DescribeModelPackageGroup")


def test_config_refuses_exactly_what_the_dev_role_denies_and_the_policy_pack_flags() -> None:
    from components.member_account import GOVERNANCE_ONLY_ACTIONS as DENIED_TO_DATA_SCIENTISTS
    from policies.common import GOVERNANCE_ONLY_ACTIONS as FLAGGED_IN_RAM_PERMISSIONS

    assert GOVERNANCE_ONLY_ACTIONS == frozenset(DENIED_TO_DATA_SCIENTISTS) == FLAGGED_IN_RAM_PERMISSIONS
    for action in GOVERNANCE_ONLY_ACTIONS:
        with pytest.raises(ValidationError, match="never granted through a share"):
            CustomPermission(actions=(action,))


@pytest.mark.parametrize("model", [Approvers, Validators])
def test_approvers_and_validators_are_iam_principal_arns(model: type) -> None:
    role = "arn:aws:iam::333333333333:role/mlgov-ml-engineer"
    assert model(test=[role]).test == (role,)
    with pytest.raises(ValidationError, match="'ml-engineer' is not an IAM principal ARN"):
        model(test=["ml-engineer"])
