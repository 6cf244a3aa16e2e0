"""The source design's walkthrough (steps 1-10) end to end for `credit-risk`, and a rejection path."""
from __future__ import annotations

import time
import uuid
from datetime import timezone

from governance import schema
from governance.contract import MLFLOW_RUN_ID_KEY

from .conftest import DEV_SESSION, OFFICER_SESSION, PROD_SESSION, TEST_SESSION

UC = "credit-risk"
XGB, FRAUD = "credit-risk-xgb", "credit-risk-fraud"


def vpath(group: str, version: int, tail: str = "") -> str:
    return f"/use-cases/{UC}/models/{group}/versions/{version}{tail}"


def run_id(group: str, version: int) -> str:
    """The MLflow run `govctl register` registered a version from (written into its CustomerMetadataProperties)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"mlflow/{group}/{version}").hex


def register(world, group: str) -> int:
    """Steps 3-5: the data scientist registers an MLflow run into the shared group; the registry event is synced."""
    described = world.register_package(group)
    created_ms = int(described["CreationTime"].astimezone(timezone.utc).timestamp() * 1000)
    event = world.package_event(group, described["ModelPackageVersion"], arn=described["ModelPackageArn"], created_ms=created_ms)
    event["detail"]["CustomerMetadataProperties"] = {MLFLOW_RUN_ID_KEY: run_id(group, described["ModelPackageVersion"])}
    assert world.sync(event)["result"] == "written"
    return described["ModelPackageVersion"]


def decide(world, group, version, stage, action, caller, reason=None):
    body = {"stage": stage, "action": action, **({"reason": reason} if reason else {})}
    return world.api("POST", vpath(group, version, "/decision"), body, caller=caller)


def status(world, group, version, stage):
    record = world.record(group, version, stage)
    return record and record["modelStatus"]


def test_walkthrough_credit_risk_reaches_production(world):
    # Step 1: the use case is onboarded (Pulumi writes CONFIG) and starts as a POC; it is approved into development.
    world.onboard(UC, groups=(XGB, FRAUD), risk_tier="high", thresholds=({"metric": "auc", "min": 0.8},))
    code, body = world.api("GET", f"/use-cases/{UC}")
    assert code == 200 and body["stage"] == "POC" and body["riskTier"] == "high"
    code, body = world.api("POST", f"/use-cases/{UC}/decision", {"action": "approve", "reason": "feasible"}, caller=DEV_SESSION)
    assert (code, body["stage"]) == (200, "DEVELOPMENT")

    # Steps 2-5: versions registered in the shared groups become development/pending records with the 15 attributes.
    versions = {g: register(world, g) for g in (XGB, FRAUD)}
    record = world.record(XGB, versions[XGB], "development")
    assert set(schema.GOVERNANCE_ATTRIBUTES) - {"validationMetrics", "monitoringMetrics"} <= set(record)
    assert (record["modelStatus"], record["modelRisk"], record["useCaseName"], record["useCaseStage"]) == ("pending", "high", "Credit risk", "DEVELOPMENT")
    code, queue = world.api("GET", "/queue", query={"stage": "development", "status": "pending"})
    assert code == 200 and {(i["modelGroup"], i["modelVersion"]) for i in queue["items"]} == {(XGB, 1), (FRAUD, 1)}
    assert {i["modelGroup"]: i[schema.MLFLOW_RUN_ID] for i in queue["items"]} == {g: run_id(g, 1) for g in (XGB, FRAUD)}

    # Step 6: the model owner approves in development; the use case moves to QA once both models are approved there.
    assert decide(world, XGB, 1, "development", "approve", DEV_SESSION)[0] == 200
    assert world.state()["stage"] == "DEVELOPMENT"
    code, body = decide(world, FRAUD, 1, "development", "approve", DEV_SESSION)
    assert (code, body["useCaseStage"]) == (200, "QA")
    for g in (XGB, FRAUD):
        assert status(world, g, 1, "test") == "pending"
        assert world.report(world.member_event("Model Deployed", g, 1, "test"))["result"] == "written"
        assert status(world, g, 1, "test") == "deployed"

    # Step 7: integration tests in the test account; test metrics are recorded (monitoring from the endpoint, validation).
    assert world.report(world.member_event("Model Metrics", XGB, 1, "test", metrics={"latencyP99Ms": 41, "auc": 0.87}))["result"] == "written"
    for g, auc in ((XGB, 0.87), (FRAUD, 0.91)):
        code, _ = world.api("POST", vpath(g, 1, "/metrics"), {"kind": "validation", "stage": "test", "metrics": {"auc": auc, "ks": 0.4}},
                            caller=TEST_SESSION)
        assert code == 200

    # Step 8: the QA lead alone may not approve a high-risk version past development; the governance officer does.
    code, body = decide(world, XGB, 1, "test", "approve", TEST_SESSION)
    assert code == 403 and "officer" in body["message"]
    assert decide(world, XGB, 1, "test", "approve", OFFICER_SESSION)[0] == 200
    code, body = decide(world, FRAUD, 1, "test", "approve", OFFICER_SESSION)
    assert (code, body["useCaseStage"]) == (200, "PREPRODUCTION")
    for g in (XGB, FRAUD):
        assert status(world, g, 1, "production") == "pending"
        world.report(world.member_event("Model Deployed", g, 1, "production"))

    # Step 9: A/B test in production, metrics per variant; two distinct approvers (one an officer) for production.
    ab = world.report(world.member_event("Model Metrics", XGB, 1, "production", variant="challenger",
                                         metrics={"auc": 0.88, "invocations": 12000}))
    assert ab["result"] == "written"
    monitoring = world.api("GET", vpath(XGB, 1))[1]["records"][2]["monitoringMetrics"]
    assert monitoring["endpointName"] == f"mlgov-prod-credit-risk-{XGB}" and monitoring["variantName"] == "challenger"
    for g in (XGB, FRAUD):
        code, body = decide(world, g, 1, "production", "approve", PROD_SESSION)
        assert code == 200 and body["status"] == "deployed" and "1 more approval" in body["pending"]
        code, body = decide(world, g, 1, "production", "approve", OFFICER_SESSION)
        assert code == 200 and body["status"] == "approved" and body["registry"]["updated"] is True
        package = world.sm.describe_model_package(ModelPackageName=world.record(g, 1, "development")["modelPackageArn"])
        assert package["ModelApprovalStatus"] == "Approved"
        assert "GovernanceOfficer" in package["ApprovalDescription"]
    assert world.state()["stage"] == "PRODUCTION" and world.state()["stageStatus"] == "approved"

    # The registry's own event for that approval is recognised as already recorded.
    echo = world.package_event(XGB, 1, status="Approved", created_ms=1_724_904_598_000, modified_ms=int(time.time() * 1000),
                               lifecycle={"Stage": "production", "StageStatus": "approved"})
    before = world.snapshot()
    assert world.sync(echo)["result"] == "duplicate"
    assert world.snapshot() == before

    # Step 10: the officer's dashboard: approved production queue, audit trails that verify.
    code, queue = world.api("GET", "/queue", query={"stage": "production", "status": "approved"})
    assert {(i["modelGroup"], i["modelVersion"]) for i in queue["items"]} == {(XGB, 1), (FRAUD, 1)}
    code, uc = world.api("GET", f"/use-cases/{UC}")
    assert uc["stage"] == "PRODUCTION" and len(uc["models"]) == 6
    code, version = world.api("GET", vpath(XGB, 1))
    assert (code, version["currentStage"], version[schema.MLFLOW_RUN_ID]) == (200, "production", run_id(XGB, 1))
    for g in (XGB, FRAUD):
        code, verdict = world.api("GET", vpath(g, 1, "/audit/verify"))
        assert (code, verdict["ok"]) == (200, True) and verdict["entries"] >= 8
    assert {k: v for k, v in world.api("GET", f"/use-cases/{UC}/audit/verify")[1].items() if k in ("ok", "entries")} == {"ok": True, "entries": 4}
    code, trail = world.api("GET", vpath(XGB, 1, "/audit"), query={"limit": "100"})
    actions = [e["action"] for e in sorted(trail["entries"], key=lambda e: e["seq"])]
    assert actions[:2] == ["register", "approve"] and actions[-2:] == ["approve-partial", "approve"]


def test_rejection_sends_the_version_back_to_development(world):
    world.onboard(UC, groups=(XGB,), risk_tier="high", thresholds=({"metric": "auc", "min": 0.8},))
    world.approve_use_case(UC)
    version = register(world, XGB)
    assert decide(world, XGB, version, "development", "approve", DEV_SESSION)[0] == 200
    world.report(world.member_event("Model Deployed", XGB, version, "test"))
    world.api("POST", vpath(XGB, version, "/metrics"), {"kind": "validation", "stage": "test", "metrics": {"auc": 0.71}}, caller=TEST_SESSION)

    code, body = decide(world, XGB, version, "test", "approve", OFFICER_SESSION)
    assert code == 409 and "auc = 0.71 is below the minimum 0.8" in body["message"]
    code, body = decide(world, XGB, version, "test", "reject", OFFICER_SESSION, reason="AUC below the credit policy floor")
    assert code == 200 and body["registry"] == {"status": "Rejected", "lifecycle": {"Stage": "test", "StageStatus": "rejected"},
                                               "updated": True}

    assert status(world, XGB, version, "test") == "rejected"
    dev = world.record(XGB, version, "development")
    assert dev["modelStatus"] == "pending" and "credit policy floor" in dev["lastRejection"]
    assert world.sm.describe_model_package(ModelPackageName=dev["modelPackageArn"])["ModelApprovalStatus"] == "Rejected"
    code, queue = world.api("GET", "/queue", query={"stage": "development", "status": "pending"})
    assert [(i["modelGroup"], i["modelVersion"]) for i in queue["items"]] == [(XGB, version)]

    # Rework: re-approval in development reopens the test record as pending.
    assert decide(world, XGB, version, "development", "approve", DEV_SESSION)[0] == 200
    assert status(world, XGB, version, "test") == "pending"
    assert world.api("GET", vpath(XGB, version, "/audit/verify"))[1]["ok"] is True
