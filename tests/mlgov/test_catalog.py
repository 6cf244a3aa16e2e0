"""The use cases of the shared stack as `CONFIG` items: one per use case, one per group, what the handlers read."""
from __future__ import annotations

from mlgov import catalog
from mlgov.config import parse
from tests.infra import namespace, sample


def items() -> dict[tuple[str, str], dict]:
    return {(pk, sk): item for pk, sk, item in catalog.config_items(parse(namespace(sample("shared"))))}


def test_one_item_per_use_case_and_one_per_group_keyed_by_pk_and_sk() -> None:
    keys = set(items())
    assert keys == {
        ("USECASE#credit-risk", "CONFIG"), ("USECASE#customer-churn", "CONFIG"),
        ("GROUP#credit-risk-xgb", "CONFIG"), ("GROUP#fraud-detection", "CONFIG"), ("GROUP#customer-churn-model", "CONFIG"),
    }


def test_group_item_carries_what_the_sync_handler_reads() -> None:
    item = items()[("GROUP#credit-risk-xgb", "CONFIG")]
    assert {k: item[k] for k in ("modelGroup", "useCaseId", "useCaseName", "owner", "lineOfBusiness", "project", "risk")} == {
        "modelGroup": "credit-risk-xgb",
        "useCaseId": "credit-risk",
        "useCaseName": "Credit risk assessment",
        "owner": "ds-team-lead@example.com",
        "lineOfBusiness": "retail-lending",
        "project": "credit-decisioning",
        "risk": "high",
    }


def test_use_case_item_lists_its_groups_and_thresholds() -> None:
    item = items()[("USECASE#credit-risk", "CONFIG")]
    assert item["modelGroups"] == ["credit-risk-xgb", "fraud-detection"] and item["riskTier"] == "high"
    assert item["thresholds"] == [{"metric": "validation-auc", "min": 0.75}]
