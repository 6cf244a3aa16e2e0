"""GovernanceTable on its own: the table is built from the runtime's schema, with secure defaults."""
from __future__ import annotations

from components.governance_table import GovernanceTable, GovernanceTableArgs
from governance import schema
from tests.infra import run_component

KEY = "arn:aws:kms:eu-west-1:111111111111:key/abc"


def table_inputs(**overrides):
    plan = run_component(lambda: GovernanceTable("gov", GovernanceTableArgs(kms_key_arn=KEY, table_name="mlgov-governance", **overrides)))
    return plan.named("gov-table").inputs


def test_keys_and_indexes_come_from_the_runtime_schema() -> None:
    inputs = table_inputs()
    assert (inputs["hashKey"], inputs["rangeKey"]) == (schema.PK, schema.SK)
    assert {a["name"] for a in inputs["attributes"]} == {"pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"}
    assert all(a["type"] == "S" for a in inputs["attributes"])
    indexes = {i["name"]: i for i in inputs["globalSecondaryIndexes"]}
    assert set(indexes) == {index.name for index in schema.TABLE.indexes}
    for index in schema.TABLE.indexes:
        assert indexes[index.name]["keySchemas"] == [
            {"attributeName": index.partition_key, "keyType": "HASH"},
            {"attributeName": index.sort_key, "keyType": "RANGE"},
        ]
        assert indexes[index.name]["projectionType"] == "ALL"


def test_secure_defaults() -> None:
    inputs = table_inputs()
    assert inputs["name"] == "mlgov-governance"
    assert inputs["billingMode"] == "PAY_PER_REQUEST"
    assert inputs["pointInTimeRecovery"] == {"enabled": True}
    assert inputs["deletionProtectionEnabled"] is True
    assert inputs["serverSideEncryption"] == {"enabled": True, "kmsKeyArn": KEY}
    assert (inputs["streamEnabled"], inputs["streamViewType"]) == (True, "NEW_AND_OLD_IMAGES")


def test_caller_may_turn_deletion_protection_off_for_a_sandbox() -> None:
    assert table_inputs(deletion_protection=False)["deletionProtectionEnabled"] is False
