"""MemberAccount on its own: accepters only without auto-accept, forwarding to the hub bus, the dev role's exact rights."""
from __future__ import annotations

import json

import hypothesis  # noqa: F401 - imported before Pulumi's threads run: hypothesis' pytest plugin otherwise imports it
import pytest     # at session end, where CPython 3.11.7's AST parser can fail with "recursion depth mismatch"

from components.hub_outputs import HubOutputs
from components.member_account import MemberAccount, MemberAccountArgs
from tests.infra import run_component

from .hub_sample import HUB, HUB_ACCOUNT, HUB_REGION, statements_by_sid, wildcard_actions

ACCOUNTS = {"dev": "222222222222", "test": "333333333333", "prod": "444444444444"}


def plan_for(role: str, auto_accept: bool = True):
    account = ACCOUNTS[role]
    return run_component(
        lambda: MemberAccount(f"m-{role}", MemberAccountArgs(
            account_id=account, role=role, region="eu-west-1", hub=HubOutputs.from_values(HUB), auto_accept_ram_shares=auto_accept,
        )),
        account_id=account,
    )


@pytest.mark.parametrize("role", ["dev", "test", "prod"])
def test_no_accepter_when_the_organization_auto_accepts(role) -> None:
    assert plan_for(role, auto_accept=True).by_type("aws:ram/resourceShareAccepter:ResourceShareAccepter") == []


def test_dev_accepts_the_register_shares_only() -> None:
    accepters = plan_for("dev", auto_accept=False).by_type("aws:ram/resourceShareAccepter:ResourceShareAccepter")
    assert sorted(a.inputs["shareArn"] for a in accepters) == sorted(HUB["registerShareArns"].values())


@pytest.mark.parametrize("role", ["test", "prod"])
def test_stage_accounts_accept_the_deploy_shares_only(role) -> None:
    plan = plan_for(role, auto_accept=False)
    accepters = plan.by_type("aws:ram/resourceShareAccepter:ResourceShareAccepter")
    assert sorted(a.inputs["shareArn"] for a in accepters) == sorted(HUB["deployShareArns"].values())
    assert {a.name for a in accepters} == {f"m-{role}-accept-credit-risk-xgb", f"m-{role}-accept-Churn-Model"}
    component = plan.named(f"m-{role}")
    assert all(a.parent == component.urn for a in accepters)


@pytest.mark.parametrize("role", ["dev", "test", "prod"])
def test_model_package_events_are_forwarded_to_the_hub_bus(role) -> None:
    plan = plan_for(role)
    rule = plan.named(f"m-{role}-forward")
    # only the hub's packages: the ARN names the hub's region and account
    assert json.loads(rule.inputs["eventPattern"]) == {
        "source": ["aws.sagemaker"], "detail-type": ["SageMaker Model Package State Change"],
        "detail": {"ModelPackageArn": [{"prefix": f"arn:aws:sagemaker:{HUB['region']}:{HUB['sharedAccountId']}:model-package/"}]}}
    (target,) = plan.by_type("aws:cloudwatch/eventTarget:EventTarget")
    assert target.inputs["arn"] == HUB["busArn"]
    role_resource = plan.named(f"m-{role}-forward-role")
    assert target.inputs["roleArn"] == f"arn:aws:iam::{ACCOUNTS[role]}:role/m-{role}-forward-role"
    trust = json.loads(role_resource.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNTS[role]}}
    assert target.inputs["retryPolicy"] == {"maximumEventAgeInSeconds": 86400, "maximumRetryAttempts": 185}
    queue = plan.named(f"m-{role}-forward-dead-letters")
    assert target.inputs["deadLetterConfig"] == {"arn": f"arn:aws:sqs:eu-west-1:{ACCOUNTS[role]}:m-{role}-forward-dead-letters"}
    assert queue.inputs["kmsMasterKeyId"].startswith(f"arn:aws:kms:eu-west-1:{ACCOUNTS[role]}:key/")
    (allow,) = json.loads(plan.named(f"m-{role}-forward-dead-letters-policy").inputs["policy"])["Statement"]
    assert allow["Principal"] == {"Service": "events.amazonaws.com"}
    assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": [f"arn:aws:events:eu-west-1:{ACCOUNTS[role]}:rule/m-{role}-forward"]}}
    assert statements_by_sid(plan.named(f"m-{role}-forward-policy")) == {
        "PutOnHubBus": {"Sid": "PutOnHubBus", "Effect": "Allow", "Action": "events:PutEvents", "Resource": HUB["busArn"]},
    }


def test_dev_data_scientist_role_may_register_write_its_prefix_and_encrypt_and_nothing_else() -> None:
    plan = plan_for("dev")
    role = plan.named("m-dev-data-scientist")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    sids = statements_by_sid(plan.named("m-dev-data-scientist-policy"))
    assert set(sids) == {"RegisterIntoHubGroupsAsPending", "ReadHubGroups", "WriteOwnArtifacts", "ListOwnArtifacts", "EncryptWithHubKey",
                         "RegisterOnlyAsPending", "RegisterNoLaterStage", "RegisterNoLaterStageStatus", "OnlyGovernanceDecides",
                         "DiscoverSharedGroups"}
    # Listing the groups shared with the account has no resource-level permission: "*", and that action only.
    assert sids["DiscoverSharedGroups"] == {"Sid": "DiscoverSharedGroups", "Effect": "Allow", "Action": "sagemaker:ListModelPackageGroups",
                                            "Resource": "*"}
    register = sids["RegisterIntoHubGroupsAsPending"]
    assert register["Action"] == "sagemaker:CreateModelPackage"
    assert register["Condition"] == {"StringEquals": {"sagemaker:ModelApprovalStatus": "PendingManualApproval"}}
    assert sids["ReadHubGroups"]["Resource"] == register["Resource"]
    assert sids["ReadHubGroups"]["Action"] == ["sagemaker:DescribeModelPackage", "sagemaker:DescribeModelPackageGroup",
                                               "sagemaker:ListModelPackages"]
    assert sids["OnlyGovernanceDecides"] == {"Sid": "OnlyGovernanceDecides", "Effect": "Deny", "Action": "sagemaker:UpdateModelPackage",
                                             "Resource": "*"}
    assert {sid: s["Condition"] for sid, s in sids.items() if sid.startswith("RegisterNo") or sid == "RegisterOnlyAsPending"} == {
        "RegisterOnlyAsPending": {"StringNotEquals": {"sagemaker:ModelApprovalStatus": "PendingManualApproval"},
                                  "Null": {"sagemaker:ModelApprovalStatus": "false"}},
        "RegisterNoLaterStage": {"StringNotEquals": {"sagemaker:ModelLifeCycle:stage": "development"},
                                 "Null": {"sagemaker:ModelLifeCycle:stage": "false"}},
        "RegisterNoLaterStageStatus": {"StringNotEquals": {"sagemaker:ModelLifeCycle:stageStatus": "pending"},
                                       "Null": {"sagemaker:ModelLifeCycle:stageStatus": "false"}},
    }
    assert sorted(register["Resource"]) == sorted([
        f"arn:aws:sagemaker:{HUB_REGION}:{HUB_ACCOUNT}:model-package-group/credit-risk-xgb",
        f"arn:aws:sagemaker:{HUB_REGION}:{HUB_ACCOUNT}:model-package-group/churn-model",
        f"arn:aws:sagemaker:{HUB_REGION}:{HUB_ACCOUNT}:model-package/credit-risk-xgb/*",
        f"arn:aws:sagemaker:{HUB_REGION}:{HUB_ACCOUNT}:model-package/churn-model/*",
    ])
    assert sids["WriteOwnArtifacts"]["Action"] == "s3:PutObject"
    assert sids["WriteOwnArtifacts"]["Resource"] == "arn:aws:s3:::hub-artifacts/models/222222222222/*"
    assert sids["ListOwnArtifacts"]["Condition"] == {"StringLike": {"s3:prefix": ["models/222222222222/*"]}}
    assert sids["EncryptWithHubKey"] == {"Sid": "EncryptWithHubKey", "Effect": "Allow", "Resource": HUB["keyArn"],
                                         "Action": ["kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]}
    assert len(plan.by_type("aws:kms/key:Key")) == 1  # the local key, for the forwarding dead-letter queue


@pytest.mark.parametrize("role", ["test", "prod"])
def test_stage_accounts_get_a_local_key_for_logs_and_no_data_scientist_role(role) -> None:  # the key: every member
    plan = plan_for(role)
    assert [r for r in plan.resources if "data-scientist" in r.name] == []
    key = plan.named(f"m-{role}-key")
    assert key.inputs["enableKeyRotation"] is True
    logs = statements_by_sid(key)["CloudWatchLogsEncrypts"]
    assert logs["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}
    assert logs["Condition"] == {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:eu-west-1:{ACCOUNTS[role]}:log-group:*"}}


@pytest.mark.parametrize("role,auto", [("dev", False), ("test", False), ("prod", True)])
def test_no_wildcard_action_in_any_policy(role, auto) -> None:
    assert wildcard_actions(plan_for(role, auto)) == []


def test_refuses_an_unknown_role() -> None:
    with pytest.raises(ValueError, match="dev, test or prod"):
        plan_for_role = lambda: MemberAccount("m", MemberAccountArgs(account_id="1", role="shared", region="eu-west-1", hub=HubOutputs.from_values(HUB)))  # noqa: E731
        run_component(plan_for_role)
