"""Monitoring history (bounded, replay-proof), staleness and limits, as the version view and the dashboard show them."""
from __future__ import annotations

import time

import pytest

from governance import dashboard, monitoring, runtime, schema

from .conftest import DEV_SESSION, TEST_SESSION
from .test_walkthrough import decide, register, vpath

UC = "credit-risk"
G = "credit-risk-xgb"
T0 = 1_724_904_700_000
LIMITS = [{"metric": "predictionPsi", "max": 0.2}, {"metric": "accuracy", "min": 0.7}]


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
    report(world, v, int(time.time() * 1000), accuracy=0.65, predictionPsi=0.31, invocations=100)
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
    report(world, v, int(time.time() * 1000), predictionPsi=0.4)
    data = dashboard.collect(runtime.governance())
    (flag,) = data["monitoringFlags"]
    assert flag["stale"] is False and [b["metric"] for b in flag["breaches"]] == ["predictionPsi"]
    page = dashboard.render(data)
    assert 'id="monitoring-flags" data-count="1"' in page
    assert 'data-flag="breach" data-metric="predictionPsi"' in page and "BEYOND LIMIT: predictionPsi 0.4" in page
    assert 'data-flag="stale"' not in page
