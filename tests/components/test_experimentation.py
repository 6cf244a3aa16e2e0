"""ExperimentTracking on its own: the server's inputs, its role confined to its hub prefix, data scientists confined to it."""
from __future__ import annotations

import json

import hypothesis  # noqa: F401 - imported before Pulumi's threads run (see test_member_account.py)
import pytest

from components.experimentation import (
    MLFLOW_API_ACTIONS,
    SERVER_UI_ACTIONS,
    ExperimentTracking,
    ExperimentTrackingArgs,
)
from tests.infra import run_component

from .hub_sample import HUB, HUB_REGION, statements_by_sid, wildcard_actions

DEV = "222222222222"
SERVER_ARN = f"arn:aws:sagemaker:eu-west-1:{DEV}:mlflow-tracking-server/mlgov-dev"  # the offline mock names it after trackingServerName, as AWS does


def plan_for(**overrides):
    args = dict(name="mlgov-dev", hub_bucket_name=HUB["bucketName"], hub_key_arn=HUB["keyArn"], dev_account_id=DEV,
                data_scientist_role_name="m-dev-data-scientist", tags={"team": "ds"})
    args.update(overrides)
    return run_component(lambda: ExperimentTracking("m-dev-mlflow", ExperimentTrackingArgs(**args)), account_id=DEV)


def test_the_server_stores_artifacts_under_the_dev_accounts_mlflow_prefix_of_the_hub_bucket() -> None:
    plan = plan_for(size="Medium", mlflow_version="2.16", maintenance_window="Tue:03:30")
    (server,) = plan.by_type("aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer")
    role = plan.named("m-dev-mlflow-server-role")
    assert server.inputs["trackingServerName"] == "mlgov-dev"
    assert server.inputs["artifactStoreUri"] == f"s3://hub-artifacts/models/{DEV}/mlflow/"
    assert server.inputs["roleArn"] == f"arn:aws:iam::{DEV}:role/{role.name}"
    assert server.inputs["trackingServerSize"] == "Medium"
    assert server.inputs["mlflowVersion"] == "2.16"
    assert server.inputs["weeklyMaintenanceWindowStart"] == "Tue:03:30"
    assert server.inputs["automaticModelRegistration"] is False
    assert server.inputs["tags"] == {"mlgov:component": "experiment-tracking", "team": "ds"}
    assert server.parent == plan.named("m-dev-mlflow").urn


def test_defaults_are_a_small_server_on_mlflow_3_maintained_sunday_night() -> None:
    (server,) = plan_for().by_type("aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer")
    assert (server.inputs["trackingServerSize"], server.inputs["mlflowVersion"], server.inputs["weeklyMaintenanceWindowStart"]) == (
        "Small", "3.0", "Sun:02:00")


def test_sagemaker_assumes_the_server_role_for_the_dev_account_only() -> None:
    trust = json.loads(plan_for().named("m-dev-mlflow-server-role").inputs["assumeRolePolicy"])["Statement"]
    assert trust == [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole",
                      "Condition": {"StringEquals": {"aws:SourceAccount": DEV}}}]


READ_BACK = {
    "ReadMlflowArtifacts": {"Sid": "ReadMlflowArtifacts", "Effect": "Allow", "Action": "s3:GetObject",
                            "Resource": f"arn:aws:s3:::hub-artifacts/models/{DEV}/mlflow/*"},
    # Multipart uploads with SSE-KMS need kms:Decrypt; the bucket's S3 Bucket Key makes its ARN the encryption context.
    "DecryptMlflowArtifactsThroughS3": {"Sid": "DecryptMlflowArtifactsThroughS3", "Effect": "Allow", "Action": "kms:Decrypt",
                                        "Resource": HUB["keyArn"],
                                        "Condition": {"StringEquals": {"kms:ViaService": f"s3.{HUB_REGION}.amazonaws.com",
                                                                       "kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::hub-artifacts"}}},
}


def test_the_server_role_writes_and_reads_only_its_prefix_and_uses_the_hub_key_only_through_s3() -> None:
    sids = statements_by_sid(plan_for().named("m-dev-mlflow-server-role-policy"))
    assert sids == {**READ_BACK,
        "WriteMlflowArtifacts": {"Sid": "WriteMlflowArtifacts", "Effect": "Allow", "Action": "s3:PutObject",
                                 "Resource": f"arn:aws:s3:::hub-artifacts/models/{DEV}/mlflow/*"},
        "ListMlflowArtifacts": {"Sid": "ListMlflowArtifacts", "Effect": "Allow", "Action": "s3:ListBucket",
                                "Resource": "arn:aws:s3:::hub-artifacts",
                                "Condition": {"StringLike": {"s3:prefix": [f"models/{DEV}/mlflow/*"]}}},
        "EncryptWithHubKeyThroughS3": {"Sid": "EncryptWithHubKeyThroughS3", "Effect": "Allow", "Resource": HUB["keyArn"],
                                       "Action": ["kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"],
                                       "Condition": {"StringEquals": {"kms:ViaService": f"s3.{HUB_REGION}.amazonaws.com"}}},
    }


def test_data_scientists_may_use_this_server_and_read_back_its_artifacts_and_nothing_else() -> None:
    plan = plan_for()
    policy = plan.named("m-dev-mlflow-data-scientist-mlflow")
    assert policy.inputs["role"] == "m-dev-data-scientist"
    sids = statements_by_sid(policy)
    assert set(sids) == {"UseThisTrackingServer", "OpenThisTrackingServerUi", *READ_BACK}
    assert {sid: sids[sid] for sid in READ_BACK} == READ_BACK
    for sid, actions in (("UseThisTrackingServer", MLFLOW_API_ACTIONS), ("OpenThisTrackingServerUi", SERVER_UI_ACTIONS)):
        assert sids[sid]["Resource"] == SERVER_ARN
        assert sids[sid]["Action"] == sorted(actions)
    assert all(a.startswith("sagemaker-mlflow:") for a in sids["UseThisTrackingServer"]["Action"])
    assert {"sagemaker-mlflow:GetRun", "sagemaker-mlflow:LogBatch", "sagemaker-mlflow:GetLoggedModel"} <= set(MLFLOW_API_ACTIONS)
    assert "sagemaker-mlflow:AccessUI" not in MLFLOW_API_ACTIONS  # no resource type: it could only be granted on "*"


def test_no_wildcard_action_and_no_unscoped_resource() -> None:
    plan = plan_for()
    assert wildcard_actions(plan) == []
    for name in ("m-dev-mlflow-server-role-policy", "m-dev-mlflow-data-scientist-mlflow"):
        assert all(s["Resource"] != "*" for s in statements_by_sid(plan.named(name)).values())


def test_what_the_component_adds() -> None:
    plan = plan_for()
    assert sorted(r.type for r in plan.custom_resources) == [
        "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy", "aws:iam/rolePolicy:RolePolicy",
        "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer",
    ]


@pytest.mark.parametrize("field,value,allowed", [
    ("size", "Huge", "Small, Medium, Large"),
    ("mlflow_version", "2.9", "2.13, 2.16, 3.0"),
])
def test_refuses_what_aws_does_not_offer(field, value, allowed) -> None:
    with pytest.raises(ValueError, match=f"{value!r} is not offered; allowed: {allowed}"):
        plan_for(**{field: value})


def test_the_policy_pack_finds_nothing_in_it() -> None:
    from mlgov import check

    violations = check.check_plan(plan_for(), check.policy_settings("dev"), account_id=DEV)
    assert [f"{v.policy} on {v.resource_name}: {v.message}" for v in violations] == []
