"""Model cards: built from the record, checked against AWS's model card JSON schema.

`fixtures/model_card_schema.json` is AWS's "Model card JSON schema" (version 0.1.0), copied unchanged from
https://docs.aws.amazon.com/sagemaker/latest/dg/model-cards.html#model-cards-json-schema as published in
https://github.com/awsdocs/amazon-sagemaker-developer-guide/blob/7a4c2e79a3a768dc743f49212fe6a029c7283473/doc_source/model-cards.md
"""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from governance import mirror, model_cards, schema
from governance.domain import RiskTier, Stage, Threshold, UseCaseConfig
from governance.records import dump_json

from .conftest import DEV_SESSION, OFFICER_SESSION, PROD_SESSION, TEST_SESSION
from .test_walkthrough import UC, XGB, decide, register, vpath

SCHEMA = json.loads((Path(__file__).parent / "fixtures" / "model_card_schema.json").read_text())
VALIDATOR = jsonschema.Draft7Validator(SCHEMA)
# A package's card: no model_package_details, model_overview only model_creator and model_artifact (API_ModelPackageModelCard).
PACKAGE_OVERVIEW = {"model_creator", "model_artifact"}

USE_CASE = UseCaseConfig(use_case_id=UC, name="Credit risk", risk_tier=RiskTier.high, owner="ds-lead@example.com",
                         line_of_business="retail-lending", project="credit-decisioning", groups=(XGB,),
                         thresholds=(Threshold("auc", min=0.8), Threshold("latencyMs", max=50)))


def record(stage: str, status: str, **extra):
    return {schema.USE_CASE_ID: UC, schema.USE_CASE_NAME: "Credit risk", schema.MODEL_GROUP: XGB, schema.MODEL_VERSION: 1,
            schema.MODEL_STAGE: stage, schema.MODEL_STATUS: status, schema.MODEL_RISK: "high", schema.MODEL_OWNER: "ds-lead@example.com",
            schema.MODEL_LINE_OF_BUSINESS: "retail-lending", schema.MODEL_PROJECT: "credit-decisioning",
            schema.REGISTERED_BY: "arn:aws:sts::123456789012:assumed-role/DataScientist/alice", schema.APPROVALS: [], **extra}


LOG = dump_json([{"stage": "development", "action": "approve", "by": DEV_SESSION, "at": "2024-09-01T10:00:00.000Z", "reason": "ok"},
                 {"stage": "test", "action": "approve", "by": OFFICER_SESSION, "at": "2024-09-02T10:00:00.000Z", "reason": "AUC fine"}])
STATES = {
    "registered": {Stage.development: record("development", "pending")},
    "approved-in-development": {Stage.development: record("development", "approved", approvals=[DEV_SESSION]),
                                Stage.test: record("test", "pending")},
    "test-metrics-below-threshold": {
        Stage.development: record("development", "approved"),
        Stage.test: record("test", "deployed", **{schema.VALIDATION_METRICS: dump_json({"auc": 0.71, "latencyMs": 80, "ok": True,
                                                                                         "note": "x" * 500, "nested": {"a": 1}})})},
    "in-production": {
        Stage.development: record("development", "approved", **{schema.DECISION_LOG: LOG}),
        Stage.test: record("test", "approved", approvals=[OFFICER_SESSION], **{schema.VALIDATION_METRICS: dump_json({"auc": 0.87, "latencyMs": 41})}),
        Stage.production: record("production", "approved", approvals=[PROD_SESSION, OFFICER_SESSION])},
    "rejected-at-test": {
        Stage.development: record("development", "pending", **{schema.LAST_REJECTION: dump_json(
            {"stage": "test", "reason": "leaky\nfeatures " + "!" * 5000, "by": OFFICER_SESSION, "at": "2024-09-03T10:00:00.000Z"})}),
        Stage.test: record("test", "rejected")},
    "retired": {Stage.development: record("development", "approved"), Stage.test: record("test", "approved"),
                Stage.production: record("production", "retired")},
    "retired-in-development": {Stage.development: record("development", "retired")},
}


def card_of(items, use_case=USE_CASE):
    want = mirror.desired(items)
    card = mirror.card_for(items, use_case, want)
    return card, json.loads(card["ModelCardContent"])


@pytest.mark.parametrize("state", sorted(STATES))
@pytest.mark.parametrize("with_use_case", [True, False])
def test_every_card_follows_the_model_card_schema_of_a_package(state, with_use_case):
    card, content = card_of(STATES[state], USE_CASE if with_use_case else None)
    errors = sorted(VALIDATOR.iter_errors(content), key=str)
    assert not errors, [e.message for e in errors]
    assert set(content.get("model_overview", {})) <= PACKAGE_OVERVIEW and "model_package_details" not in content
    assert len(card["ModelCardContent"]) <= 100_000 and card["ModelCardStatus"] in ("Draft", "PendingReview", "Approved", "Archived")


def test_the_schema_refuses_what_a_card_must_not_say():
    """The vendored schema is strict, so the test above can fail: a wrong rating or an unknown section is refused."""
    _, content = card_of(STATES["registered"])
    assert not VALIDATOR.is_valid({**content, "intended_uses": {**content["intended_uses"], "risk_rating": "Critical"}})
    assert not VALIDATOR.is_valid({**content, "governance": {}})


@pytest.mark.parametrize("risk, rating", [("high", "High"), ("medium", "Medium"), ("low", "Low"), ("", "Unknown")])
def test_risk_rating_comes_from_the_models_risk_and_the_use_cases_tier_explains_it(risk, rating):
    items = {Stage.development: {**record("development", "pending"), schema.MODEL_RISK: risk}}
    _, content = card_of(items)
    uses = content["intended_uses"]
    assert uses["risk_rating"] == rating
    assert "use case risk tier high (EU AI Act)" in uses["explanations_for_risk_rating"]
    assert "Credit risk" in uses["purpose_of_model"] and "retail-lending" in uses["intended_uses"]


def test_evaluation_shows_each_metric_against_its_threshold():
    _, content = card_of(STATES["test-metrics-below-threshold"])
    [evaluation] = content["evaluation_details"]
    assert evaluation["name"] == "test validation" and "below the use case's thresholds" in evaluation["evaluation_observation"]
    metrics = {m["name"]: m for m in evaluation["metric_groups"][0]["metric_data"]}
    assert metrics["auc"]["notes"] == "threshold min 0.8: does not meet it"
    assert metrics["latencyMs"]["notes"] == "threshold max 50: does not meet it"
    assert metrics["ok"] == {"name": "ok", "type": "boolean", "value": True}
    assert len(metrics["note"]["value"]) <= 63 and "nested" not in metrics  # only what the schema's simple metric holds
    _, passing = card_of(STATES["in-production"])
    assert passing["evaluation_details"][0]["evaluation_observation"] == "meets every threshold of the use case"


def test_the_card_names_who_decided_when_and_why():
    card, content = card_of(STATES["in-production"])
    custom = content["additional_information"]["custom_details"]
    assert custom["governance.production"] == f"approved; approvals: {PROD_SESSION}, {OFFICER_SESSION}"
    assert custom["governance.decision.02"] == f"approve at test by {OFFICER_SESSION} at 2024-09-02T10:00:00.000Z: AUC fine"
    assert card["ModelCardStatus"] == "Approved"
    rejected, content = card_of(STATES["rejected-at-test"])
    assert content["additional_information"]["custom_details"]["governance.lastRejection"].startswith(
        f"reject at test by {OFFICER_SESSION} at 2024-09-03T10:00:00.000Z: leaky features")
    assert rejected["ModelCardStatus"] == "Draft"


@pytest.mark.parametrize("state, status", [("registered", "Draft"), ("approved-in-development", "PendingReview"),
                                           ("in-production", "Approved"), ("retired", "Approved"), ("rejected-at-test", "Draft")])
def test_card_status_follows_the_version(state, status):
    assert card_of(STATES[state])[0]["ModelCardStatus"] == status


def test_clip_keeps_one_line_within_the_limit():
    assert model_cards.clip("a\nb\tc", 10) == "a b c"
    assert len(model_cards.clip("x" * 5000, 1024)) == 1024


def test_each_decision_sends_a_valid_card_with_the_decision_in_it(world):
    world.onboard(UC, groups=(XGB,), risk_tier="high", thresholds=({"metric": "auc", "min": 0.8},))
    world.approve_use_case(UC)
    version = register(world, XGB)
    world.calls.clear()
    world.sync({"id": "repair-1", "source": "aws.events", "detail-type": "Scheduled Event", "time": "2024-09-02T10:00:00Z", "detail": {}})
    cards = [json.loads(p["ModelCard"]["ModelCardContent"]) for _, op, p in world.calls.records if op == "UpdateModelPackage"]
    assert len(cards) == 1 and cards[0]["intended_uses"]["risk_rating"] == "High"  # the registration's card
    world.calls.clear()
    assert decide(world, XGB, version, "development", "approve", DEV_SESSION, reason="features reviewed")[0] == 200
    world.report(world.member_event("Model Deployed", XGB, version, "test"))
    code, _ = world.api("POST", vpath(XGB, version, "/metrics"), {"kind": "validation", "stage": "test", "metrics": {"auc": 0.91}},
                        caller=TEST_SESSION)
    assert code == 200
    assert decide(world, XGB, version, "test", "approve", OFFICER_SESSION)[0] == 200
    sent = [p["ModelCard"] for _, op, p in world.calls.records if op == "UpdateModelPackage"]
    assert len(sent) == 2
    last = json.loads(sent[-1]["ModelCardContent"])
    assert not list(VALIDATOR.iter_errors(last))
    assert "features reviewed" in last["additional_information"]["custom_details"]["governance.decision.01"]
    assert last["evaluation_details"][0]["metric_groups"][0]["metric_data"][0]["notes"] == "threshold min 0.8: meets it"
    assert sent[-1]["ModelCardStatus"] == "PendingReview"
