"""The one promotion check: what the registry shows → deployable at a stage or not, and why."""
from __future__ import annotations

import pytest

from governance.contract import DEPLOYABLE_LIFECYCLES
from mlgov.gate_check import Pin, RegistryView, hub_region_refusal, message, refusal, view_of_package

A, P, R = "Approved", "PendingManualApproval", "Rejected"


def test_the_deployable_lifecycles_are_the_stage_before_approved_or_this_stage_or_later_live() -> None:
    live = {"pending", "deployed", "approved"}
    assert DEPLOYABLE_LIFECYCLES["test"] == {("development", "approved")} | {(s, st) for s in ("test", "production") for st in live}
    assert DEPLOYABLE_LIFECYCLES["production"] == {("test", "approved")} | {("production", st) for st in live}


@pytest.mark.parametrize("view,test,production", [
    (RegistryView(A, "development", "approved"), True, False),
    (RegistryView(A, "test", "pending"), True, False),
    (RegistryView(A, "test", "approved"), True, True),
    (RegistryView(A, "production", "deployed"), True, True),
    (RegistryView(A, "production", "retired"), False, False),
    (RegistryView(R, "test", "rejected"), False, False),
    (RegistryView(P, "development", "pending"), False, False),
    (RegistryView(A), False, False),  # approved outside governance: no lifecycle says for which stage
    (None, False, False),
])
def test_refusal(view, test, production) -> None:
    assert (refusal("test", view) is None, refusal("production", view) is None) == (test, production)


def test_a_describe_model_package_answer_is_read_with_or_without_a_lifecycle() -> None:
    assert view_of_package({"ModelApprovalStatus": A, "ModelLifeCycle": {"Stage": "test", "StageStatus": "approved"}}) == \
        RegistryView(A, "test", "approved")
    assert view_of_package({"ModelApprovalStatus": A}) == RegistryView(A)


def test_the_message_names_use_case_group_version_stage_and_the_registry() -> None:
    pin = Pin("credit-risk", "credit-risk-xgb", 2, "challenger")
    reason = refusal("production", RegistryView(A, "test", "pending"))
    assert message("prod", pin, reason) == (
        "mlgov:deployments[credit-risk-xgb v2 (challenger)]: use case credit-risk, group credit-risk-xgb, version 2 is not "
        "approved for production: the registry shows ModelApprovalStatus Approved, ModelLifeCycle test/pending; production "
        "needs test/approved or production/approved|deployed|pending")


def test_a_stack_deploys_in_the_hub_region_only() -> None:
    assert hub_region_refusal("eu-west-1", "eu-west-1") is None
    assert "set aws:region to eu-west-1" in hub_region_refusal("us-east-1", "eu-west-1")
