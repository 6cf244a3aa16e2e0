"""Removing a use case from the shared stack's config deletes nothing of it: its groups, shares and CONFIG items leave
the stack with `retain_on_delete`, the hub item stops listing it (the runtime shows it retired), and the stores of
evidence (key, buckets, image repository, table) are protected."""
from __future__ import annotations

import json

import pytest

from mlgov import offline
from tests.infra import comparable, run_component, sample

REMOVED = "customer-churn"
KEPT_TYPES = {"aws:sagemaker/modelPackageGroup:ModelPackageGroup", "aws:ram/resourceShare:ResourceShare",
              "aws:ram/resourceAssociation:ResourceAssociation", "aws:ram/principalAssociation:PrincipalAssociation",
              "aws:dynamodb/tableItem:TableItem"}


@pytest.fixture(scope="module")
def plans() -> tuple[offline.Plan, offline.Plan]:
    config = sample("shared")
    config["mlgov:useCases"] = [u for u in config["mlgov:useCases"] if u["id"] != REMOVED]
    return offline.plan_stack("shared"), offline.plan_stack("shared", config)


def diff(before: offline.Plan, after: offline.Plan) -> dict[str, list[offline.DeclaredResource]]:
    """What `pulumi up` would do going from `before` to `after`, by custom resource (components hold no cloud state)."""
    now = {r.urn: r for r in after.custom_resources}
    gone = [r for r in before.custom_resources if r.urn not in now]
    return {
        "deleted": [r for r in gone if not r.retain_on_delete],
        "retained": [r for r in gone if r.retain_on_delete],
        "updated": [r for r in before.custom_resources if r.urn in now and comparable(r.inputs) != comparable(now[r.urn].inputs)],
        "created": [r for r in after.custom_resources if r.urn not in {b.urn for b in before.custom_resources}],
    }


def test_removing_a_use_case_from_config_deletes_nothing(plans) -> None:
    changes = diff(*plans)
    print("\nremoving", REMOVED, {k: len(v) for k, v in changes.items()})  # the figure: deleted, retained, updated
    assert changes["deleted"] == [] and changes["created"] == []
    retained = sorted(r.name for r in changes["retained"])
    assert retained == sorted([
        "customer-churn-model-group", "customer-churn-model-config", "usecase-customer-churn-config",
        "customer-churn-model-register-share", "customer-churn-model-register-group", "customer-churn-model-register-222222222222",
        "customer-churn-model-deploy-share", "customer-churn-model-deploy-group",
        "customer-churn-model-deploy-333333333333", "customer-churn-model-deploy-444444444444",
    ])
    assert {r.type for r in changes["retained"]} == KEPT_TYPES
    # In place: the handlers stop matching the group's events, the api and sync roles stop mirroring to it, the hub item drops it.
    assert sorted(r.name for r in changes["updated"]) == ["mlgov-api-policy", "mlgov-forwarded-registry-events",
                                                          "mlgov-hub-config", "mlgov-registry-events", "mlgov-sync-policy"]


def test_the_hub_item_lists_the_use_cases_still_in_config(plans) -> None:
    before, after = (json.loads(p.named("mlgov-hub-config").inputs["item"]) for p in plans)
    listed = lambda item: [v["S"] for v in item["useCases"]["L"]]  # noqa: E731
    assert listed(before) == ["credit-risk", REMOVED] and listed(after) == ["credit-risk"]
    assert after["artifactBucket"] == {"S": "mlgov-artifacts-111111111111-eu-west-1"}
    assert after["imageRepository"] == {"S": "111111111111.dkr.ecr.eu-west-1.amazonaws.com/mlgov-inference"}


def test_every_group_share_and_config_item_is_retained_and_the_evidence_stores_are_protected(plans) -> None:
    plan = plans[0]
    assert all(r.retain_on_delete for r in plan.custom_resources if r.type in KEPT_TYPES)
    protected = {r.type for r in plan.custom_resources if r.protect}
    assert {"aws:kms/key:Key", "aws:s3/bucket:Bucket", "aws:dynamodb/table:Table", "aws:ecr/repository:Repository"} <= protected
    assert {r.name for r in plan.by_type("aws:s3/bucket:Bucket") if r.protect} == {
        "mlgov-artifacts", "mlgov-access-logs", "mlgov-audit-checkpoints-bucket"}
    # The handlers, the bus and the API are not evidence: they stay deletable.
    assert not any(r.protect or r.retain_on_delete for r in plan.by_type("aws:lambda/function:Function"))


def test_the_caller_may_turn_both_off_for_a_stack_meant_to_be_destroyed() -> None:
    from components.central_registry import CentralRegistry
    from mlgov.compose import registry_args
    from mlgov.config import parse
    from tests.infra import namespace

    config = parse(namespace(sample("shared")))
    plan = run_component(lambda: CentralRegistry("mlgov", registry_args(
        config, "eu-west-1", protect_data=False, retain_removed_use_cases=False, table_deletion_protection=False)).exports())
    # The checkpoint bucket stays protected: under Object Lock in compliance mode its objects outlive any stack.
    kept = [r.name for r in plan.custom_resources if r.protect or r.retain_on_delete]
    assert "mlgov-audit-checkpoints-bucket" in kept and all(n.startswith("mlgov-audit-checkpoints-") for n in kept)
