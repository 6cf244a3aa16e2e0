"""metrics handler: deployments and monitoring reports from member accounts."""
from __future__ import annotations

import json

from ..conftest import DEV_SESSION

G = "credit-risk-xgb"


def in_test(world):
    world.onboard(groups=(G,), risk_tier="minimal", thresholds=())
    world.approve_use_case()
    world.sync(world.package_event(G, 1))
    world.api("POST", f"/use-cases/credit-risk/models/{G}/versions/1/decision", {"stage": "development", "action": "approve"}, caller=DEV_SESSION)


def test_deployment_then_duplicate(world):
    in_test(world)
    assert world.report(world.member_event("Model Deployed", G, 1, "test"))["result"] == "written"
    record = world.record(G, 1, "test")
    assert record["modelStatus"] == "deployed" and record["endpointName"] == f"mlgov-test-credit-risk-{G}" and record["auditUser"] == "account:222222222222"
    before = world.snapshot()
    assert world.report(world.member_event("Model Deployed", G, 1, "test"))["result"] == "duplicate"
    assert world.snapshot() == before


def test_monitoring_metrics_keep_their_endpoint_and_refuse_stale_reports(world):
    in_test(world)
    assert world.report(world.member_event("Model Metrics", G, 1, "test", metrics={"auc": 0.9}))["result"] == "rejected"  # not deployed
    world.report(world.member_event("Model Deployed", G, 1, "test"))
    newer = world.member_event("Model Metrics", G, 1, "test", metrics={"auc": 0.91}, reported_ms=1_725_000_000_000)
    older = world.member_event("Model Metrics", G, 1, "test", metrics={"auc": 0.5}, reported_ms=1_724_000_000_000)
    assert world.report(newer)["result"] == "written"
    before = world.snapshot()
    assert world.report(older)["result"] == "stale" and world.snapshot() == before
    monitoring = json.loads(world.record(G, 1, "test")["monitoringMetrics"])
    assert monitoring == {"endpointName": f"mlgov-test-credit-risk-{G}", "account": "222222222222", "metrics": {"auc": 0.91},
                          "reportedAt": "2024-08-30T06:40:00.000Z"}
