"""The reporter against moto: CloudWatch metric data in, events on the hub bus out (read back through SQS)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.stub import Stubber

from governance import events as hub_events
from governance.contract import ReporterSettings as Settings
from governance.contract import ReporterVariant as Variant
from govctl.fakeaws import events as fake
from serving import collector, events

from .conftest import ACCOUNT, REGION

ENDPOINT = "mlgov-prod-credit-risk-xgb-v1"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)


def settings(bus_arn: str) -> Settings:
    return Settings(
        endpoint_name=ENDPOINT, bus_arn=bus_arn, model_group="credit-risk-xgb", use_case_id="credit-risk",
        stage="production", account_id="444444444444",
        variants=(Variant("v1", 1, "champion"), Variant("v2", 2, "challenger")),
        window_minutes=15,
    )


def scheduled() -> dict:
    return fake.scheduled_event(account=ACCOUNT, region=REGION, time=NOW.isoformat(), event_id="e1")


def state_change(endpoint: str = ENDPOINT, status: str = "IN_SERVICE") -> dict:
    return fake.endpoint_state_change(endpoint, status, account=ACCOUNT, region=REGION, time="2026-03-02T11:58:00Z",
                                        event_id="e2")


def put_metrics(variant: str, **values: list[float]) -> None:
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    data = []
    for metric, points in values.items():
        for i, value in enumerate(points):
            data.append({
                "MetricName": metric, "Value": value, "Timestamp": NOW - timedelta(minutes=2 + i),
                "Dimensions": [{"Name": "EndpointName", "Value": ENDPOINT}, {"Name": "VariantName", "Value": variant}],
            })
    cloudwatch.put_metric_data(Namespace="AWS/SageMaker", MetricData=data)


def clients():
    return boto3.client("cloudwatch", region_name=REGION), boto3.client("events", region_name=REGION)


def test_metrics_of_each_variant_go_to_the_hub_bus(hub_bus) -> None:
    put_metrics("v1", Invocations=[40.0, 60.0], Invocation5XXErrors=[1.0], ModelLatency=[12000.0, 18000.0])
    put_metrics("v2", Invocations=[7.0], ModelLatency=[30000.0])
    # Another endpoint's data must not leak into this report.
    boto3.client("cloudwatch", region_name=REGION).put_metric_data(Namespace="AWS/SageMaker", MetricData=[{
        "MetricName": "Invocations", "Value": 999.0, "Timestamp": NOW - timedelta(minutes=1),
        "Dimensions": [{"Name": "EndpointName", "Value": "other"}, {"Name": "VariantName", "Value": "v1"}]}])

    result = collector.handle(scheduled(), settings(hub_bus.arn), *clients(), now=NOW)

    assert result == {"kind": "Scheduled Event", "published": 2}
    received = {e["detail"]["variantName"]: e for e in hub_bus.received()}
    assert set(received) == {"v1", "v2"}
    v1 = received["v1"]
    assert (v1["source"], v1["detail-type"]) == ("mlgov.member", "Model Metrics")
    assert {k: v1["detail"][k] for k in ("modelGroup", "modelVersion", "stage", "endpointName", "accountId", "variantRole")} == {
        "modelGroup": "credit-risk-xgb", "modelVersion": 1, "stage": "production", "endpointName": ENDPOINT,
        "accountId": "444444444444", "variantRole": "champion"}
    metrics = v1["detail"]["metrics"]
    assert metrics["invocations"] == 100.0
    assert metrics["invocation5xxErrors"] == 1.0
    assert metrics["modelLatencyMs"] == 15.0  # microseconds averaged, then in milliseconds
    assert "invocation4xxErrors" not in metrics  # never reported, so not claimed to be zero
    assert received["v2"]["detail"]["modelVersion"] == 2 and received["v2"]["detail"]["metrics"]["invocations"] == 7.0


def test_metrics_outside_the_window_are_not_reported(hub_bus) -> None:
    boto3.client("cloudwatch", region_name=REGION).put_metric_data(Namespace="AWS/SageMaker", MetricData=[{
        "MetricName": "Invocations", "Value": 5.0, "Timestamp": NOW - timedelta(hours=2),
        "Dimensions": [{"Name": "EndpointName", "Value": ENDPOINT}, {"Name": "VariantName", "Value": "v1"}]}])
    assert collector.handle(scheduled(), settings(hub_bus.arn), *clients(), now=NOW)["published"] == 0
    assert hub_bus.received() == []


def test_no_metrics_yet_puts_nothing(hub_bus) -> None:
    assert collector.handle(scheduled(), settings(hub_bus.arn), *clients(), now=NOW) == {"kind": "Scheduled Event", "published": 0}
    assert hub_bus.received() == []


def test_endpoint_in_service_reports_each_variant_deployed(hub_bus) -> None:
    result = collector.handle(state_change(), settings(hub_bus.arn), *clients())
    assert result["published"] == 2
    received = sorted(hub_bus.received(), key=lambda e: e["detail"]["modelVersion"])
    assert [e["detail-type"] for e in received] == ["Model Deployed", "Model Deployed"]
    assert [(e["detail"]["modelVersion"], e["detail"]["variantRole"]) for e in received] == [(1, "champion"), (2, "challenger")]
    assert all(e["detail"]["reportedAt"] == "2026-03-02T11:58:00Z" and e["detail"]["endpointName"] == ENDPOINT for e in received)
    assert all("metrics" not in e["detail"] for e in received)
    assert all(e["detail"]["endpointVersions"] == [1, 2] for e in received)  # what the endpoint serves after the rollout


def test_endpoint_deleting_reports_each_variant_decommissioned(hub_bus) -> None:
    assert collector.handle(state_change(status="DELETING"), settings(hub_bus.arn), *clients())["published"] == 2
    received = hub_bus.received()
    assert [e["detail-type"] for e in received] == ["Model Decommissioned", "Model Decommissioned"]
    parsed = [hub_events.parse_member_event({**e, "account": ACCOUNT}) for e in received]
    assert {(p.kind, p.endpoint, p.version) for p in parsed} == {("Model Decommissioned", ENDPOINT, 1), ("Model Decommissioned", ENDPOINT, 2)}


@pytest.mark.parametrize("endpoint,status", [("someone-elses-endpoint", "IN_SERVICE"), (ENDPOINT, "CREATING"), (ENDPOINT, "FAILED")])
def test_other_endpoint_states_report_nothing(hub_bus, endpoint, status) -> None:
    assert collector.handle(state_change(endpoint, status), settings(hub_bus.arn), *clients())["published"] == 0
    assert hub_bus.received() == []


def test_unknown_event_is_ignored(hub_bus) -> None:
    assert collector.handle({"detail-type": "Something Else"}, settings(hub_bus.arn), *clients())["published"] == 0
    assert collector.handle("not an event", settings(hub_bus.arn), *clients())["published"] == 0
    assert hub_bus.received() == []


def test_what_the_reporter_puts_is_what_the_hub_accepts(hub_bus) -> None:
    """Contract with `governance.events`: the hub's parser reads both kinds, as delivered by EventBridge."""
    put_metrics("v1", Invocations=[3.0], ModelLatency=[1000.0])
    collector.handle(state_change(), settings(hub_bus.arn), *clients())
    collector.handle(scheduled(), settings(hub_bus.arn), *clients(), now=NOW)
    delivered = hub_bus.received()
    assert sorted(e["detail-type"] for e in delivered) == ["Model Deployed", "Model Deployed", "Model Metrics"]
    for event in delivered:
        # EventBridge sets `account` to the sender's account; moto's delivery leaves it out.
        assert event.get("account", ACCOUNT) == ACCOUNT
        parsed = hub_events.parse_member_event({**event, "account": ACCOUNT})
        assert (parsed.group, parsed.endpoint, parsed.stage.value) == ("credit-risk-xgb", ENDPOINT, "production")
    assert (events.SOURCE, events.MODEL_DEPLOYED, events.MODEL_METRICS) == (
        hub_events.SOURCE_MEMBER, hub_events.DEPLOYED, hub_events.METRICS)


def test_refused_entries_raise_so_lambda_retries() -> None:
    eventbridge = boto3.client("events", region_name=REGION)
    with Stubber(eventbridge) as stub:
        stub.add_response("put_events", {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "AccessDeniedException", "ErrorMessage": "no"}, {"EventId": "x"}]})
        with pytest.raises(events.PublishError, match="AccessDeniedException"):
            collector.handle(state_change(), settings("arn:aws:events:eu-west-1:111111111111:event-bus/mlgov-governance"), None, eventbridge)


def test_more_than_ten_entries_are_put_in_batches() -> None:
    calls = []

    class Bus:
        def put_events(self, Entries):  # noqa: N803 - boto3's parameter name
            calls.append(len(Entries))
            return {"FailedEntryCount": 0, "Entries": [{"EventId": str(i)} for i in range(len(Entries))]}

    entries = [events.entry("arn:bus", events.MODEL_METRICS, {"i": i}) for i in range(23)]
    assert events.put(Bus(), entries) == 23 and calls == [10, 10, 3]


def test_handler_reads_its_settings_from_the_environment(hub_bus, monkeypatch, context) -> None:
    for key, value in {"ENDPOINT_NAME": ENDPOINT, "HUB_BUS_ARN": hub_bus.arn, "MODEL_GROUP": "credit-risk-xgb",
                       "USE_CASE_ID": "credit-risk", "STAGE": "test", "ACCOUNT_ID": "333333333333",
                       "VARIANTS": json.dumps([{"name": "v1", "version": 1, "role": "champion"}])}.items():
        monkeypatch.setenv(key, value)
    collector._clients.cache_clear()
    try:
        assert collector.handler(state_change(), context)["published"] == 1
    finally:
        collector._clients.cache_clear()
    (event,) = hub_bus.received()
    assert (event["detail"]["stage"], event["detail"]["accountId"]) == ("test", "333333333333")


def test_settings_refuse_an_unknown_stage() -> None:
    with pytest.raises(ValueError, match="STAGE"):
        Settings.from_env({"ENDPOINT_NAME": "e", "HUB_BUS_ARN": "b", "MODEL_GROUP": "g", "USE_CASE_ID": "u",
                           "STAGE": "development", "ACCOUNT_ID": "1", "VARIANTS": "[]"})
