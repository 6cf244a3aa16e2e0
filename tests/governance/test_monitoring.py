"""Monitoring history (bounded, replay-proof), staleness and limits, as the version view and the dashboard show them."""
from __future__ import annotations

import time

import pytest

from governance import dashboard, monitoring, runtime, schema
from governance.contract import reference_digest

from .conftest import DEV_SESSION, PROD_ACCOUNT, TEST_ACCOUNT, TEST_SESSION
from .test_walkthrough import decide, register, vpath

UC = "credit-risk"
G = "credit-risk-xgb"
T0 = 1_724_904_700_000
LIMITS = [{"metric": "predictionPsi", "max": 0.2}, {"metric": "accuracy", "min": 0.7}]
REFERENCE = {"edges": [0.0, 0.25, 0.5, 0.75, 1.0], "counts": [40, 30, 20, 10]}
DIGEST = reference_digest(REFERENCE)


def onboard(world, policy=None):
    """A minimal-risk use case with a monitoring policy on its CONFIG item (as Pulumi writes it)."""
    world.put_config(schema.use_case_config_item(
        use_case_id=UC, name="Credit risk", risk_tier="minimal", owner="o", line_of_business="l", project="p", groups=(G,),
        thresholds=(), monitoring=policy))
    world.put_config(schema.group_config_item(group=G, use_case_id=UC, owner="o", line_of_business="l", project="p", risk="low"))
    world.sm.create_model_package_group(ModelPackageGroupName=G)


def deployed_in_test(world, policy=None) -> int:
    onboard(world, policy)
    assert world.api("POST", f"/use-cases/{UC}/decision", {"action": "approve"}, caller=DEV_SESSION)[0] == 200
    version = register(world, G)
    assert decide(world, G, version, "development", "approve", DEV_SESSION)[0] == 200
    assert world.report(world.member_event("Model Deployed", G, version, "test", reported_ms=T0))["result"] == "written"
    return version


def report(world, version, ms, **metrics):
    return world.report(world.member_event("Model Metrics", G, version, "test", reported_ms=ms, metrics=metrics))["result"]


def slots(world):
    return [i for i in world.items() if i[schema.SK].startswith(schema.MONITORING_PREFIX)]


def test_every_report_is_kept_newest_first_and_replays_add_nothing(world):
    v = deployed_in_test(world)
    for n in range(3):
        assert report(world, v, T0 + 60_000 * (n + 1), accuracy=0.9 + n / 100) == "written"
    before = world.snapshot()
    assert report(world, v, T0 + 120_000, accuracy=0.5) == "stale"      # a replay of the second window
    assert report(world, v, T0 + 180_000, accuracy=0.5) == "stale"      # the latest, delivered twice
    assert world.snapshot() == before
    history = world.api("GET", vpath(G, v))[1]["monitoringHistory"]["test"]
    assert [h["metrics"]["accuracy"] for h in history] == [0.92, 0.91, 0.9]
    assert [h["reportedAt"] for h in history] == sorted((h["reportedAt"] for h in history), reverse=True)
    assert world.record(G, v, "test")[schema.MONITORING_SEQ] == 3


def test_api_monitoring_metrics_join_the_same_history(world):
    v = deployed_in_test(world)
    assert report(world, v, T0 + 60_000, accuracy=0.9) == "written"
    body = {"kind": "monitoring", "stage": "test", "metrics": {"accuracy": 0.8}, "endpointName": f"{G}-test"}
    assert world.api("POST", vpath(G, v, "/metrics"), body, caller=TEST_SESSION)[0] == 200
    history = world.api("GET", vpath(G, v))[1]["monitoringHistory"]["test"]
    assert [h["metrics"]["accuracy"] for h in history] == [0.8, 0.9]


def test_history_is_bounded_by_its_ring(world, monkeypatch):
    monkeypatch.setattr(monitoring, "HISTORY_SLOTS", 4)
    v = deployed_in_test(world)
    for n in range(1, 11):
        assert report(world, v, T0 + 60_000 * n, accuracy=n / 100) == "written"
    assert len(slots(world)) == 4
    history = world.api("GET", vpath(G, v))[1]["monitoringHistory"]["test"]
    assert [h["metrics"]["accuracy"] for h in history] == [0.1, 0.09, 0.08, 0.07]


def test_the_view_shows_at_most_the_last_reports(world):
    v = deployed_in_test(world)
    for n in range(1, monitoring.VIEW_REPORTS + 4):
        report(world, v, T0 + 60_000 * n, accuracy=n / 100)
    history = world.api("GET", vpath(G, v))[1]["monitoringHistory"]["test"]
    assert len(history) == monitoring.VIEW_REPORTS and history[0]["metrics"]["accuracy"] == (monitoring.VIEW_REPORTS + 3) / 100


def _test_record(world, v):
    return next(r for r in world.api("GET", vpath(G, v))[1]["records"] if r["modelStage"] == "test")


def test_a_deployed_version_with_no_recent_report_is_stale(world):
    v = deployed_in_test(world)
    flags = _test_record(world, v)["monitoring"]
    assert flags["stale"] is True and flags["lastReportAt"] is None          # deployed in 2024, never reported
    report(world, v, int(time.time() * 1000), accuracy=0.9)
    flags = _test_record(world, v)["monitoring"]
    assert flags["stale"] is False and flags["breaches"] == [] and flags["staleAfterHours"] == 24
    dev = next(r for r in world.api("GET", vpath(G, v))[1]["records"] if r["modelStage"] == "development")
    assert "monitoring" not in dev                                              # not deployed: nothing to watch


def test_metrics_beyond_the_configured_limits_are_breaches(world):
    v = deployed_in_test(world, {"staleAfterHours": 1, "limits": LIMITS})
    report(world, v, T0 + 1, predictionReference=REFERENCE)
    report(world, v, int(time.time() * 1000), accuracy=0.65, predictionPsi=0.31, predictionReferenceDigest=DIGEST, invocations=100)
    flags = _test_record(world, v)["monitoring"]
    assert flags["stale"] is False and flags["staleAfterHours"] == 1
    assert flags["breaches"] == [{"metric": "predictionPsi", "value": 0.31, "max": 0.2},
                                 {"metric": "accuracy", "value": 0.65, "min": 0.7}]


def test_default_policy_flags_prediction_drift_above_0_2():
    item = {schema.MODEL_STATUS: "deployed", schema.ENDPOINT_NAME: "ep", schema.MONITORING_REPORTED_AT: 1000,
            schema.MONITORING_METRICS: '{"metrics": {"predictionPsi": 0.25}, "reportedAt": "x"}'}
    flags = monitoring.assess(item, monitoring.policy_of(None), now_ms=2000)
    assert flags["breaches"] == [{"metric": "predictionPsi", "value": 0.25, "max": 0.2}] and flags["stale"] is False
    assert monitoring.assess({**item, schema.MODEL_STATUS: "pending"}, monitoring.policy_of(None)) is None


@pytest.mark.parametrize("value, broken", [(0.7, False), (0.69, True), (float("nan"), False), ("n/a", False), (True, False)])
def test_limits_are_inclusive_and_ignore_non_numbers(value, broken):
    assert bool(monitoring.breaches({"accuracy": value}, LIMITS)) is broken


def test_the_dashboard_flags_stale_and_beyond_limit_versions(world):
    v = deployed_in_test(world, {"staleAfterHours": 24, "limits": LIMITS})
    data = dashboard.collect(runtime.governance())
    assert [(f[schema.MODEL_GROUP], f["stage"], f["stale"]) for f in data["monitoringFlags"]] == [(G, "test", True)]
    report(world, v, T0 + 1, predictionReference=REFERENCE)
    report(world, v, int(time.time() * 1000), predictionPsi=0.4, predictionReferenceDigest=DIGEST)
    data = dashboard.collect(runtime.governance())
    (flag,) = data["monitoringFlags"]
    assert flag["stale"] is False and [b["metric"] for b in flag["breaches"]] == ["predictionPsi"]
    page = dashboard.render(data)
    assert 'id="monitoring-flags" data-count="1"' in page
    assert 'data-flag="breach" data-metric="predictionPsi"' in page and "BEYOND LIMIT: predictionPsi 0.4" in page
    assert 'data-flag="stale"' not in page


# -- prediction drift: the reference recorded at test, and the PSI against it ------------------------------------

def test_the_first_test_report_with_a_reference_records_it_with_who_and_when(world):
    v = deployed_in_test(world)
    assert report(world, v, T0 + 60_000, predictionReference=REFERENCE, predictionPsi=0.0, predictionReferenceDigest=DIGEST) == "written"
    other = {"edges": [0.0, 1.0], "counts": [5]}
    assert report(world, v, T0 + 120_000, predictionReference=other, predictionPsi=0.05, predictionReferenceDigest=DIGEST) == "written"
    record = world.record(G, v, "test")
    assert monitoring.reference_of(record) == {"histogram": REFERENCE, "digest": DIGEST, "reportedBy": f"account:{TEST_ACCOUNT}",
                                               "reportedAt": "2024-08-29T04:12:40.000Z"}
    history = world.api("GET", vpath(G, v))[1]["monitoringHistory"]["test"]
    assert [h["metrics"]["predictionPsi"] for h in history] == [0.05, 0.0]
    assert all("predictionReference" not in h["metrics"] for h in history)   # kept once, on the record


def test_a_psi_before_any_reference_or_against_another_is_kept_as_refused_and_breaks_no_limit(world):
    v = deployed_in_test(world, {"staleAfterHours": 24, "limits": LIMITS})
    now = int(time.time() * 1000)
    assert report(world, v, now - 2_000, predictionPsi=0.9) == "written"
    assert world.api("GET", vpath(G, v))[1]["monitoringHistory"]["test"][0]["metrics"]["predictionPsiRefused"] == {
        "value": 0.9, "reason": "no drift reference is recorded for this version yet"}
    report(world, v, now - 1_000, predictionReference=REFERENCE)
    assert report(world, v, now, predictionPsi=0.9, predictionReferenceDigest="0" * 64) == "written"
    latest = world.api("GET", vpath(G, v))[1]["monitoringHistory"]["test"][0]["metrics"]
    assert "predictionPsi" not in latest and latest["predictionPsiRefused"]["value"] == 0.9
    assert _test_record(world, v)["monitoring"]["breaches"] == []


@pytest.mark.parametrize("broken", [{"edges": [1.0, 0.0], "counts": [3]}, {"edges": [0.0, 1.0], "counts": [0]}, [1, 2],
                                    {"edges": [0.0, 1.0], "counts": [1.5]}, {"edges": [0.0] * 60, "counts": [1] * 59}])
def test_a_reference_that_is_not_a_histogram_is_refused(world, broken):
    v = deployed_in_test(world)
    assert report(world, v, T0 + 60_000, predictionReference=broken) == "written"
    assert schema.PREDICTION_REFERENCE_DIGEST not in world.record(G, v, "test")
    assert "not a histogram" in world.api("GET", vpath(G, v))[1]["monitoringHistory"]["test"][0]["metrics"]["predictionReferenceRefused"]


def test_a_forged_drift_report_from_the_production_account_changes_nothing(world):
    v = deployed_in_test(world)
    before = world.snapshot()
    forged = world.member_event("Model Metrics", G, v, "test", reported_ms=T0 + 60_000, account=PROD_ACCOUNT,
                                metrics={"predictionReference": REFERENCE, "predictionPsi": 0.01, "predictionReferenceDigest": DIGEST})
    assert world.report(forged)["result"] == "rejected"
    assert world.snapshot() == before


def test_a_reference_through_the_api_is_refused_and_a_psi_counts_only_against_the_recorded_one(world):
    v = deployed_in_test(world)
    body = {"kind": "monitoring", "stage": "test", "endpointName": f"{G}-test",
            "metrics": {"predictionReference": REFERENCE, "predictionPsi": 0.1, "predictionReferenceDigest": DIGEST}}
    assert world.api("POST", vpath(G, v, "/metrics"), body, caller=TEST_SESSION)[0] == 200
    assert schema.PREDICTION_REFERENCE_DIGEST not in world.record(G, v, "test")
    latest = world.api("GET", vpath(G, v))[1]["monitoringHistory"]["test"][0]["metrics"]
    assert "test account" in latest["predictionReferenceRefused"] and "predictionPsi" not in latest


def test_production_drift_is_recorded_against_the_reference_recorded_at_test(world):
    v = deployed_in_test(world, {"staleAfterHours": 24, "limits": LIMITS})
    report(world, v, T0 + 60_000, predictionReference=REFERENCE)
    assert decide(world, G, v, "test", "approve", TEST_SESSION)[0] == 200
    assert world.report(world.member_event("Model Deployed", G, v, "production", reported_ms=T0 + 120_000))["result"] == "written"
    offered = {"edges": [0.0, 1.0], "counts": [9]}
    prod = world.member_event("Model Metrics", G, v, "production", reported_ms=int(time.time() * 1000),
                              metrics={"predictionPsi": 0.35, "predictionReferenceDigest": DIGEST, "predictionReference": offered})
    assert world.report(prod)["result"] == "written"
    record = next(r for r in world.api("GET", vpath(G, v))[1]["records"] if r["modelStage"] == "production")
    assert record["monitoring"]["breaches"] == [{"metric": "predictionPsi", "value": 0.35, "max": 0.2}]
    assert world.record(G, v, "test")[schema.PREDICTION_REFERENCE_DIGEST] == DIGEST            # production cannot replace it
    forged = world.member_event("Model Metrics", G, v, "production", reported_ms=int(time.time() * 1000) + 1, account=TEST_ACCOUNT,
                                metrics={"predictionPsi": 0.01, "predictionReferenceDigest": DIGEST})
    assert world.report(forged)["result"] == "rejected"
