"""The pieces the rules share: the property walker, the customer-managed-key test, table-driven rules."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
from pulumi_policy import EnforcementLevel
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError

from policies import compute, data, sharing
from policies.common import LAMBDA_FUNCTION, SAGEMAKER_MODEL, TABLE, customer_key, field, missing_tags, setting_rule

from .harness import messages, res

ROOT = Path(__file__).resolve().parents[2]


def test_field_walks_nested_objects_and_reads_a_wrong_shape_as_not_set() -> None:
    props = {"tracingConfig": {"mode": "Active"}, "flat": "x"}
    assert field(props, "tracingConfig", "mode") == "Active"
    assert field(props, "tracingConfig") == {"mode": "Active"}
    assert field(props, "tracingConfig", "missing") is None
    assert field(props, "flat", "mode") is None
    assert field(None, "a") is None
    assert field(props) is props


@pytest.mark.parametrize("value, expected", [
    ("arn:aws:kms:eu-west-1:111111111111:key/1234", True),
    ("alias/mlgov", True),
    ("alias/aws/sqs", False),
    ("", False),
    (None, False),
    ({"arn": "x"}, False),
])
def test_a_customer_managed_key_is_any_key_named_but_an_aws_managed_alias(value, expected) -> None:
    assert customer_key(value) is expected


def test_missing_tags_counts_blank_values_as_missing() -> None:
    assert missing_tags({"tags": {"a": "1", "b": " "}}, ["a", "b", "c"]) == ["b", "c"]
    assert missing_tags({}, ["a"]) == ["a"]


def test_a_setting_rule_reports_its_message_with_the_resource_name_and_keeps_its_level() -> None:
    rule = setting_rule("unit-flag", "Flags are set.", TABLE, ("settings", "flag"), lambda v: v is True,
                        "table {name} has no flag: set settings.flag=True")
    assert rule.name == "unit-flag" and rule.enforcement_level == EnforcementLevel.MANDATORY
    assert rule.config_schema is None
    assert messages(rule, res(TABLE, "t", name="orders", settings={"flag": True})) == []
    assert messages(rule, res(TABLE, "t", name="orders", settings={"flag": 1})) == ["table orders has no flag: set settings.flag=True"]
    assert messages(rule, res(TABLE, "logical")) == ["table logical has no flag: set settings.flag=True"]
    assert messages(rule, res(LAMBDA_FUNCTION, "f")) == []


def test_a_setting_rule_reads_the_name_only_to_report_so_an_unknown_name_is_not_a_failure_to_run() -> None:
    assert messages(compute.lambda_tracing, res(LAMBDA_FUNCTION, "f", name=UNKNOWN_STRING_VALUE, tracingConfig={"mode": "Active"})) == []
    with pytest.raises(UnknownValueError):
        messages(compute.lambda_tracing, res(LAMBDA_FUNCTION, "f", name=UNKNOWN_STRING_VALUE))


def test_a_setting_rule_named_by_nothing_reports_the_logical_name() -> None:
    found = messages(compute.sagemaker_model_network_isolation, res(SAGEMAKER_MODEL, "m", name="model-name"))
    assert found and found[0].startswith("SageMaker model m can reach the network")


def test_table_driven_rules_keep_their_names_levels_and_messages() -> None:
    assert messages(data.dynamodb_deletion_protection, res(TABLE, "t", name="t")) == [
        "DynamoDB table t can be deleted: set deletion_protection_enabled=True"]
    assert messages(sharing.ram_no_external_principals, res("aws:ram/resourceShare:ResourceShare", "s", name="s")) == [
        "RAM share s admits principals outside the organization: set allow_external_principals=False"]
    assert data.sqs_customer_managed_key.name == "sqs-customer-managed-key"


def test_only_the_entry_point_builds_the_policy_pack() -> None:
    """Building a `PolicyPack` starts the analyzer's server and blocks, so a module that tests import must not."""
    builders = []
    for path in sorted((ROOT / "policies").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "PolicyPack":
                builders.append(path.name)
    assert builders == ["__main__.py"]
