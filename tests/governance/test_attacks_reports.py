"""An outsider's attacks on the evidence: member reports and validation metrics from the wrong sender.

Member reports count only from the account configured for their stage and about an endpoint that stage's
stacks create for the group; validation metrics only from the stage's validators, never from the registrant.
Every case is refused with its reason and the table is unchanged, item by item.
"""
from __future__ import annotations

import time

import pytest

from governance.contract import endpoint_name

from .conftest import ACCOUNT, DEV_SESSION, DS_SESSION, OFFICER_SESSION, PROD_ACCOUNT, PROD_SESSION, STRANGER_SESSION
from .conftest import TEST_ACCOUNT, TEST_SESSION

G = "credit-risk-xgb"
UC = "credit-risk"
DEV_ACCOUNT, OUTSIDER = "444444444444", "999999999999"
KINDS = ["Model Deployed", "Model Metrics"]
V1 = f"/use-cases/{UC}/models/{G}/versions/1"


@pytest.fixture
def in_test(world):
    """v1 approved in development, pending in test."""
    world.onboard(groups=(G,), risk_tier="minimal", thresholds=())
    world.approve_use_case()
    world.sync(world.package_event(G, 1))
    code, _ = world.api("POST", f"{V1}/decision", {"stage": "development", "action": "approve"}, caller=DEV_SESSION)
    assert code == 200
    return world


def refused(world, event, reason: str) -> None:
    before = world.snapshot()
    outcome = world.report(event)
    assert outcome["result"] == "rejected", outcome
    assert reason in outcome["message"], outcome["message"]
    assert world.snapshot() == before


def _event(world, kind: str, stage: str, **kw):
    return world.member_event(kind, G, 1, stage, metrics={"auc": 0.9} if kind == "Model Metrics" else None, **kw)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("stage,account", [
    ("test", PROD_ACCOUNT), ("test", DEV_ACCOUNT), ("test", ACCOUNT), ("test", OUTSIDER),
    ("production", TEST_ACCOUNT), ("production", DEV_ACCOUNT), ("production", ACCOUNT), ("production", OUTSIDER),
])
def test_reports_from_another_account_than_the_stages_are_refused(in_test, stage, account, kind):
    refused(in_test, _event(in_test, kind, stage, account=account), f"account {account} is not a {stage} account")


ENDPOINTS = {
    "free-name": "credit-risk-xgb-test",
    "other-group": endpoint_name("test", UC, "fraud-detection"),
    "other-use-case": endpoint_name("test", "customer-churn", G),
    "other-stage": endpoint_name("prod", UC, G),
    "versioned-name": f"mlgov-test-{UC}-{G}-v1",
    "case-changed": endpoint_name("test", UC, G).upper(),
    "prefix-of-the-real-one": endpoint_name("test", UC, G)[:-1],
    "forged-hash": endpoint_name("test", UC, G)[:40] + "-deadbeef",
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("endpoint", ENDPOINTS.values(), ids=ENDPOINTS.keys())
def test_reports_about_an_endpoint_the_stage_does_not_declare_are_refused(in_test, endpoint, kind):
    if kind == "Model Metrics":
        in_test.report(_event(in_test, "Model Deployed", "test"))
    refused(in_test, _event(in_test, kind, "test", endpoint=endpoint), "is not one the test stage declares")


NOW_MS = int(time.time() * 1000)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("reported,reason", [
    (NOW_MS + 86_400_000, "in the future"), (32_503_680_000_000, "in the future"), (10 ** 30, "out of range"), (-5, "out of range"),
], ids=["a-day-ahead", "year-3000", "1e30-ms", "negative"])
def test_reports_dated_in_the_future_or_out_of_range_are_refused(in_test, kind, reported, reason):
    event = _event(in_test, kind, "test")
    event["detail"]["reportedAt"] = reported
    refused(in_test, event, reason)


def _deep(depth: int) -> dict:
    value: dict = {"v": 1}
    for _ in range(depth - 1):
        value = {"k": value}
    return value


METRICS = {
    "five-levels": (_deep(5), "nests deeper than 4"),
    "ten-thousand-levels": (_deep(10_000), "nests deeper than 4"),
    "control-in-name": ({"auc\x00": 0.9}, "control character"),
    "newline-in-value": ({"note": "ok\nforged"}, "control character U+000A"),
    "surrogate-in-name": ({"\udc00": 0.9}, "lone surrogate"),
    "surrogate-in-value": ({"note": "\ud800"}, "lone surrogate"),
    "nan": ({"auc": float("nan")}, "numbers must be finite"),
    "infinity": ({"auc": float("-inf")}, "numbers must be finite"),
}


@pytest.mark.parametrize("metrics,reason", METRICS.values(), ids=METRICS.keys())
def test_monitoring_metrics_that_are_not_plain_bounded_text_are_refused(in_test, metrics, reason):
    in_test.report(_event(in_test, "Model Deployed", "test"))
    event = in_test.member_event("Model Metrics", G, 1, "test", metrics={"auc": 0.9})
    event["detail"]["metrics"] = metrics
    refused(in_test, event, reason)


# --- validation metrics through the API: validators only, never the registrant ---

def _validation(world, stage: str, caller: str | None) -> tuple[int, dict]:
    before = world.snapshot()
    code, body = world.api("POST", f"{V1}/metrics", {"kind": "validation", "stage": stage, "metrics": {"auc": 0.99}}, caller=caller)
    assert world.snapshot() == before
    return code, body


@pytest.mark.parametrize("stage", ["development", "test"])
@pytest.mark.parametrize("caller", [DS_SESSION, DEV_SESSION, PROD_SESSION, OFFICER_SESSION, STRANGER_SESSION,
                                    "arn:aws:sts::999999999999:assumed-role/QaLead/carol",
                                    "arn:aws:iam::123456789012:user/QaLead"],
                         ids=["registrant", "dev-approver", "prod-approver", "officer", "stranger", "validator-name-other-account",
                              "user-named-like-the-validator-role"])
def test_validation_metrics_from_anyone_but_the_stages_validators_are_forbidden(in_test, caller, stage):
    code, body = _validation(in_test, stage, caller)
    assert code == 403 and f"is not a validator for the {stage} stage" in body["message"]


def test_a_validator_who_registered_the_version_cannot_record_its_validation_metrics(world):
    world.onboard(groups=(G,), risk_tier="minimal", thresholds=())
    world.approve_use_case()
    world.sync(world.package_event(G, 1, created_by=TEST_SESSION))
    code, body = _validation(world, "development", TEST_SESSION)
    assert code == 403 and "whoever registered a version cannot record its validation metrics" in body["message"]


def test_a_validator_records_validation_metrics(in_test):
    code, body = in_test.api("POST", f"{V1}/metrics", {"kind": "validation", "stage": "test", "metrics": {"auc": 0.99}},
                             caller=TEST_SESSION)
    assert code == 200 and body["recorded"] is True


def test_the_stages_own_account_and_endpoint_are_accepted(in_test):
    assert in_test.report(_event(in_test, "Model Deployed", "test"))["result"] == "written"
    assert in_test.record(G, 1, "test")["endpointName"] == endpoint_name("test", UC, G)
