"""The whole shared stack from `Pulumi.shared.yaml`: what it declares, exports, and how onboarding changes it."""
from __future__ import annotations

import re
from collections import Counter

import pytest

from mlgov import offline
from mlgov.config import ConfigError
from tests.infra import comparable, policy_statements, sample

NEW_USE_CASE = {
    "id": "claims-triage",
    "name": "Insurance claims triage",
    "riskTier": "limited",
    "owner": "claims-ds@example.com",
    "lineOfBusiness": "insurance",
    "project": "claims",
    "models": [{"group": "claims-triage-bert"}],
}


@pytest.fixture(scope="module")
def plan() -> offline.Plan:
    return offline.plan_stack("shared")


def test_declares_the_hub_for_the_sample_config(plan) -> None:
    counts = Counter(r.type for r in plan.custom_resources)
    assert counts["aws:sagemaker/modelPackageGroup:ModelPackageGroup"] == 3
    assert counts["aws:ram/resourceShare:ResourceShare"] == 6
    assert counts["aws:ram/principalAssociation:PrincipalAssociation"] == 9
    assert counts["aws:dynamodb/table:Table"] == 1
    assert counts["aws:dynamodb/tableItem:TableItem"] == 6  # 2 use cases, 3 groups, the hub's own item
    assert counts["aws:ecr/repository:Repository"] == 1
    assert counts["aws:kms/key:Key"] == 2 and counts["aws:cloudwatch/eventBus:EventBus"] == 1
    assert sorted(r.name for r in plan.resources if r.parent is None or r.parent.endswith("pulumi:pulumi:Stack::mlgov-shared")) == ["mlgov", "mlgov-alarms"]


def test_exports_what_member_stacks_read(plan) -> None:
    outputs = plan.outputs
    assert outputs["groupArns"] == {
        g: f"arn:aws:sagemaker:eu-west-1:111111111111:model-package-group/{g}"
        for g in ("credit-risk-xgb", "fraud-detection", "customer-churn-model")
    }
    assert outputs["tableName"] == "mlgov-governance"
    assert outputs["tableArn"] == "arn:aws:dynamodb:eu-west-1:111111111111:table/mlgov-governance"
    assert outputs["busArn"] == "arn:aws:events:eu-west-1:111111111111:event-bus/mlgov-governance"
    assert outputs["keyArn"].startswith("arn:aws:kms:eu-west-1:111111111111:key/")
    assert outputs["bucketName"] == "mlgov-artifacts-111111111111-eu-west-1"
    assert (outputs["sharedAccountId"], outputs["region"]) == ("111111111111", "eu-west-1")


def test_resource_names_are_stable_and_readable(plan) -> None:
    names = [r.name for r in plan.resources]
    custom = [r.name for r in plan.custom_resources]
    assert len(custom) == len(set(custom))  # a component may share its name with the one resource it wraps
    for name in names:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name), name
    for expected in ("credit-risk-xgb-register-share", "credit-risk-xgb-deploy-share", "credit-risk-xgb-group",
                     "fraud-detection-register-222222222222", "customer-churn-model-deploy-444444444444",
                     "usecase-credit-risk-config", "mlgov-governance-table"):
        assert expected in names
    assert sorted(r.urn for r in offline.plan_stack("shared").resources) == sorted(r.urn for r in plan.resources)


def test_onboarding_a_use_case_adds_exactly_its_resources_and_replaces_nothing(plan) -> None:
    """Same URNs for everything that exists (no replacement); only three documents widen to the new group."""
    config = sample("shared")
    config["mlgov:useCases"].append(NEW_USE_CASE)
    after = offline.plan_stack("shared", config)
    before = {r.urn: r for r in plan.resources}
    now = {r.urn: r for r in after.resources}
    assert set(before) <= set(now)
    updated = {r.name: sorted(k for k in r.inputs if comparable(now[u].inputs.get(k)) != comparable(r.inputs[k]))
               for u, r in before.items() if comparable(now[u].inputs) != comparable(r.inputs)}
    # In-place updates only: the sync rules now match the new group, the api and sync roles may mirror its decisions, and
    # the hub's item lists the new use case.
    assert updated == {"mlgov-registry-events": ["eventPattern"], "mlgov-forwarded-registry-events": ["eventPattern"],
                       "mlgov-api-policy": ["policy"], "mlgov-sync-policy": ["policy"], "mlgov-hub-config": ["item"]}
    added = sorted(now[u].name for u in set(now) - set(before))
    assert added == sorted([
        "claims-triage-bert", "claims-triage-bert-group", "claims-triage-bert-config",
        "claims-triage-bert-register-share", "claims-triage-bert-register-group", "claims-triage-bert-register-222222222222",
        "claims-triage-bert-deploy-share", "claims-triage-bert-deploy-group",
        "claims-triage-bert-deploy-333333333333", "claims-triage-bert-deploy-444444444444",
        "usecase-claims-triage-config",
    ])
    assert "claims-triage-bert" in after.outputs["groupArns"]


def test_a_bad_config_stops_the_program_before_any_resource_is_declared(monkeypatch) -> None:
    config = sample("shared")
    config["mlgov:useCases"][1]["riskTier"] = "unacceptable"
    declared: list[str] = []
    original = offline.OfflineMocks.new_resource

    def spy(self, args):
        declared.append(args.name)
        return original(self, args)

    monkeypatch.setattr(offline.OfflineMocks, "new_resource", spy)
    with pytest.raises(ConfigError, match="unacceptable"):
        offline.plan_stack("shared", config)
    assert declared == []
    offline.plan_stack("shared")
    assert "credit-risk-xgb-group" in declared


def test_missing_region_is_a_config_error() -> None:
    config = sample("shared")
    del config["aws:region"]
    with pytest.raises(ConfigError, match="aws:region"):
        offline.plan_stack("shared", config)


def test_governance_api_endpoint_is_the_rest_stage_url_open_to_the_configured_organization_only(plan) -> None:
    """govctl reads GOVCTL_ENDPOINT from this output; the resource policy names the organization of mlgov:organization."""
    stage = plan.named("mlgov-governance-api-stage").inputs
    assert plan.outputs["governanceApiEndpoint"] == f"https://{stage['restApi']}.execute-api.eu-west-1.amazonaws.com/{stage['stageName']}"
    organization = sample("shared")["mlgov:organization"]["id"]
    statements = {s["Effect"]: s for s in policy_statements(plan.named("mlgov-governance-api-policy"))}
    assert statements["Allow"]["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": organization}}
    assert statements["Deny"]["Condition"] == {"StringNotEquals": {"aws:PrincipalOrgID": organization}}
    assert statements["Deny"]["Principal"] == statements["Allow"]["Principal"] == "*"
