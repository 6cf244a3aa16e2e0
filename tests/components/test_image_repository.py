"""The hub's image repository: immutable tags, scanned, KMS-encrypted, dev pushes and test/prod SageMaker pulls inside the
organization, tagged images never expire."""
from __future__ import annotations

import json

import pytest

from components.image_repository import PULL_ACTIONS, PUSH_ACTIONS, ImageRepository, ImageRepositoryArgs
from tests.infra import policy_statements, run_component

KEY = "arn:aws:kms:eu-west-1:111111111111:key/hub"
ORG = "o-a1b2c3d4e5"


def args(**overrides) -> ImageRepositoryArgs:
    return ImageRepositoryArgs(**{"repository_name": "mlgov-inference", "kms_key_arn": KEY, "organization_id": ORG,
                                  "push_accounts": ["222222222222"], "pull_accounts": ["333333333333", "444444444444"], **overrides})


def plan_of(a: ImageRepositoryArgs):
    return run_component(lambda: ImageRepository("mlgov-images", a).repository_url)


def test_tags_are_immutable_pushes_scanned_and_images_encrypted_with_the_hub_key() -> None:
    repo = plan_of(args()).named("mlgov-images")
    assert repo.type == "aws:ecr/repository:Repository"
    assert repo.inputs["imageTagMutability"] == "IMMUTABLE"
    assert repo.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repo.inputs["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": KEY}]
    assert repo.inputs["forceDelete"] is False


def test_dev_pushes_and_stage_execution_roles_pull_by_role_arn_inside_the_organization() -> None:
    statements = {s["Sid"]: s for s in policy_statements(plan_of(args()).named("mlgov-images-policy"))}
    assert set(statements) == {"DevDataScientistsPush", "StageExecutionRolesPull"}
    push, pull = statements["DevDataScientistsPush"], statements["StageExecutionRolesPull"]
    assert push["Principal"] == {"AWS": ["arn:aws:iam::222222222222:root"]}
    assert sorted(push["Action"]) == sorted(PUSH_ACTIONS)
    assert push["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": ORG},
                                 "ArnLike": {"aws:PrincipalArn": ["arn:aws:iam::222222222222:role/mlgov-dev-data-scientist-*"]}}
    assert pull["Principal"] == {"AWS": ["arn:aws:iam::333333333333:root", "arn:aws:iam::444444444444:root"]}
    assert sorted(pull["Action"]) == sorted(PULL_ACTIONS)
    assert not set(pull["Action"]) & {"ecr:PutImage", "ecr:InitiateLayerUpload"}
    assert pull["Condition"]["ArnLike"]["aws:PrincipalArn"] == [
        "arn:aws:iam::333333333333:role/*-execution-*", "arn:aws:iam::444444444444:role/*-execution-*"]
    for s in statements.values():
        assert s["Effect"] == "Allow" and "Resource" not in s and not any("*" in a for a in s["Action"])


def test_the_caller_may_name_the_roles_exactly() -> None:
    roles = ["arn:aws:iam::222222222222:role/ml-builder"]
    statements = {s["Sid"]: s for s in policy_statements(plan_of(args(push_role_patterns=roles)).named("mlgov-images-policy"))}
    assert statements["DevDataScientistsPush"]["Condition"]["ArnLike"]["aws:PrincipalArn"] == roles


def test_only_untagged_images_expire() -> None:
    rules = json.loads(plan_of(args(keep_untagged_images=5)).named("mlgov-images-lifecycle").inputs["policy"])["rules"]
    assert [r["selection"] for r in rules] == [{"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 5}]
    assert rules[0]["action"] == {"type": "expire"}


@pytest.mark.parametrize("overrides, message", [
    ({"push_accounts": []}, "at least one push and one pull account"),
    ({"pull_accounts": []}, "at least one push and one pull account"),
    ({"keep_untagged_images": 0}, "keep_untagged_images must be at least 1"),
])
def test_a_repository_nobody_can_use_or_that_keeps_nothing_is_refused(overrides, message) -> None:
    with pytest.raises(ValueError, match=message):
        ImageRepository("x", args(**overrides))


def test_the_hub_composes_it_with_its_key_and_accounts_and_exports_its_url() -> None:
    from mlgov import offline

    plan = offline.plan_stack("shared")
    repo = plan.named("mlgov-images")
    key = plan.named("mlgov-key")
    assert repo.parent.endswith("mlgov:index:ImageRepository::mlgov-images") and repo.protect
    assert repo.inputs["encryptionConfigurations"][0]["kmsKey"].startswith("arn:aws:kms:eu-west-1:111111111111:key/")
    assert key.type == "aws:kms/key:Key"
    assert plan.outputs["imageRepositoryUrl"] == "111111111111.dkr.ecr.eu-west-1.amazonaws.com/mlgov-inference"
