"""`python -m mlgov.policy_config STACK`: the pack's config file from a stack's config, the one the offline check uses."""
from __future__ import annotations

import json
from typing import Any

import pytest
from pulumi_policy import PolicyConfigSchema, ResourceValidationPolicy

from mlgov import check, policy_config
from mlgov.offline import DeclaredResource
from policies.common import DEFAULTS, SCHEMAS
from policies.rules import ALL_POLICIES


def generated(stack: str, capsys) -> dict[str, dict[str, Any]]:
    assert policy_config.main([stack]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("stack", ["shared", "dev", "test", "prod"])
def test_each_rule_gets_only_the_keys_its_schema_declares(stack: str, capsys) -> None:
    config = generated(stack, capsys)
    schemas = {p.name: p.config_schema for p in ALL_POLICIES}
    assert config and set(config) <= set(schemas)
    for name, keys in config.items():
        assert set(keys) == set(schemas[name].properties), name


def test_a_member_stack_gets_its_organization_and_the_hubs_high_risk_use_cases(capsys) -> None:
    config = generated("dev", capsys)
    organization = config["ram-principals-in-organization"]
    assert organization["organizationId"] == "o-a1b2c3d4e5"
    assert organization["sharedAccount"] and organization["devAccounts"] and organization["prodAccounts"]
    assert config["ram-register-only-to-dev"]["devAccounts"] == organization["devAccounts"]
    assert config["high-risk-endpoint-data-capture"]["highRiskUseCases"] == ["credit-risk"]
    assert config["log-group-encrypted-and-retained"]["minLogRetentionDays"] == DEFAULTS["minLogRetentionDays"]


def config_seen(schema: PolicyConfigSchema | None) -> list[dict[str, Any]]:
    """The config a rule with `schema` receives when the offline check runs it on the dev stack's settings."""
    seen: list[dict[str, Any]] = []
    spy = ResourceValidationPolicy(name="spy", description="records its config", config_schema=schema,
                                   validate=lambda args, report: seen.append(dict(args.get_config())))
    resource = DeclaredResource(urn="urn:pulumi:dev::mlgov::aws:s3/bucket:Bucket::b", type="aws:s3/bucket:Bucket", name="b",
                                parent=None, inputs={}, custom=True)
    check.evaluate([resource], check.policy_settings("dev"), policies=[spy])
    return seen


def test_the_offline_check_feeds_a_rule_the_config_the_command_writes(capsys) -> None:
    """A rule declaring every key receives, in the offline check, each key's value from the generated file."""
    written = {key: value for rule in generated("dev", capsys).values() for key, value in rule.items()}
    assert config_seen(PolicyConfigSchema(properties=dict(SCHEMAS))) == [written]
    assert set(written) == set(SCHEMAS)


def test_a_rule_without_config_gets_none_in_the_offline_check() -> None:
    assert config_seen(None) == [{}]


def test_usage_and_unknown_stack(capsys) -> None:
    assert policy_config.main([]) == 2
    assert "usage: python -m mlgov.policy_config STACK" in capsys.readouterr().err
    assert policy_config.main(["nostack"]) == 1
    assert "no stack file Pulumi.nostack.yaml" in capsys.readouterr().err


def test_lambda_in_vpc_applies_where_the_stack_declares_a_network(capsys) -> None:
    assert generated("prod", capsys)["lambda-in-vpc"] == {"lambdaNetwork": True}
    assert generated("test", capsys)["lambda-in-vpc"] == {"lambdaNetwork": False}
