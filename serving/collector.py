"""The reporter of one stage deployment: tells the hub what was deployed and how it behaves.

- On the endpoint's `SageMaker Endpoint State Change` to `IN_SERVICE`: one "Model Deployed" event per
  variant (champion, challenger, shadow) on the hub bus, each listing every version the endpoint now serves
  (so the hub knows which versions the rollout took off it) — SageMaker's own event knows the endpoint but
  not which registry version serves it, so this Lambda, configured with the variants, translates.
- On `DELETING`: one "Model Decommissioned" event per variant (the endpoint is going away).
- On its schedule: reads the endpoint's CloudWatch metrics per variant over the last window and puts
  one "Model Metrics" event per variant that has data. No data yet (a new or idle endpoint) puts
  nothing: an empty report would read as "zero errors" in the governance record.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Mapping

import boto3
from aws_lambda_powertools import Logger
from botocore.config import Config

from governance.contract import DETAIL_TYPE_ENDPOINT
from governance.contract import ReporterSettings, ReporterVariant
from serving import events

logger = Logger(service="mlgov-collector")

ENDPOINT_STATE_CHANGE = DETAIL_TYPE_ENDPOINT
SCHEDULED = "Scheduled Event"
NAMESPACE = "AWS/SageMaker"
# (name in the event, CloudWatch metric, statistic, scale): SageMaker reports latencies in microseconds.
METRICS = (
    ("invocations", "Invocations", "Sum", 1.0),
    ("invocation4xxErrors", "Invocation4XXErrors", "Sum", 1.0),
    ("invocation5xxErrors", "Invocation5XXErrors", "Sum", 1.0),
    ("modelLatencyMs", "ModelLatency", "Average", 0.001),
    ("overheadLatencyMs", "OverheadLatency", "Average", 0.001),
)


def _detail(settings: ReporterSettings, variant: ReporterVariant) -> dict[str, Any]:
    return {
        "modelGroup": settings.model_group,
        "modelVersion": variant.version,
        "stage": settings.stage,
        "endpointName": settings.endpoint_name,
        "accountId": settings.account_id,
        "useCaseId": settings.use_case_id,
        "variantName": variant.name,
        "variantRole": variant.role,
    }


def _reported(time: Any) -> dict[str, Any]:
    """When SageMaker saw the endpoint in service (the event's time), so the hub can order late deliveries."""
    return {"reportedAt": time} if isinstance(time, str) and time else {}


# Endpoint states reported to the hub, and as what.
REPORTED_STATES = {"IN_SERVICE": events.MODEL_DEPLOYED, "DELETING": events.MODEL_DECOMMISSIONED}


def deployed_entries(event: Mapping[str, Any], settings: ReporterSettings) -> list[dict[str, Any]]:
    """"Model Deployed" (in service) or "Model Decommissioned" (deleting) entries for an endpoint state change,
    or none when it is not ours or in another state."""
    detail = event.get("detail") or {}
    kind = REPORTED_STATES.get(detail.get("EndpointStatus"))
    if detail.get("EndpointName") != settings.endpoint_name or kind is None:
        logger.info("endpoint event ignored", extra={"endpoint": detail.get("EndpointName"), "status": detail.get("EndpointStatus")})
        return []
    serving = {"endpointVersions": sorted({v.version for v in settings.variants})} if kind == events.MODEL_DEPLOYED else {}
    return [
        events.entry(settings.bus_arn, kind, {**_detail(settings, v), **_reported(event.get("time")), **serving})
        for v in settings.variants
    ]


def collect(cloudwatch: Any, settings: ReporterSettings, now: datetime) -> dict[str, dict[str, float]]:
    """Metrics per variant name over the last window; variants without data are left out."""
    start = now - timedelta(minutes=settings.window_minutes)
    queries, keys = [], {}
    for i, variant in enumerate(settings.variants):
        for j, (key, metric, stat, _scale) in enumerate(METRICS):
            qid = f"v{i}m{j}"
            keys[qid] = (variant.name, j)
            queries.append({
                "Id": qid,
                "MetricStat": {
                    "Metric": {
                        "Namespace": NAMESPACE,
                        "MetricName": metric,
                        "Dimensions": [
                            {"Name": "EndpointName", "Value": settings.endpoint_name},
                            {"Name": "VariantName", "Value": variant.name},
                        ],
                    },
                    "Period": settings.window_minutes * 60,
                    "Stat": stat,
                },
                "ReturnData": True,
            })
    values: dict[str, list[float]] = {}
    params: dict[str, Any] = {"MetricDataQueries": queries, "StartTime": start, "EndTime": now}
    while True:
        page = cloudwatch.get_metric_data(**params)
        for result in page.get("MetricDataResults", []):
            values.setdefault(result["Id"], []).extend(result.get("Values") or [])
        if not page.get("NextToken"):
            break
        params["NextToken"] = page["NextToken"]
    out: dict[str, dict[str, float]] = {}
    for qid, points in values.items():
        if not points:
            continue
        variant_name, j = keys[qid]
        key, _metric, stat, scale = METRICS[j]
        value = sum(points) if stat == "Sum" else sum(points) / len(points)
        out.setdefault(variant_name, {})[key] = round(value * scale, 6)
    return out


def metrics_entries(settings: ReporterSettings, collected: Mapping[str, Mapping[str, float]], now: datetime) -> list[dict[str, Any]]:
    start = now - timedelta(minutes=settings.window_minutes)
    return [
        events.entry(settings.bus_arn, events.MODEL_METRICS, {
            **_detail(settings, v),
            "reportedAt": now.isoformat(),
            "metrics": {**collected[v.name], "windowStart": start.isoformat(), "windowEnd": now.isoformat()},
        })
        for v in settings.variants
        if v.name in collected
    ]


def handle(event: Mapping[str, Any], settings: ReporterSettings, cloudwatch: Any, eventbridge: Any, now: datetime | None = None) -> dict[str, Any]:
    kind = event.get("detail-type") if isinstance(event, Mapping) else None
    if kind == ENDPOINT_STATE_CHANGE:
        entries = deployed_entries(event, settings)
    elif kind == SCHEDULED:
        now = now or datetime.now(timezone.utc)
        collected = collect(cloudwatch, settings, now)
        if not collected:
            logger.info("no metrics yet", extra={"endpoint": settings.endpoint_name})
        entries = metrics_entries(settings, collected, now)
    else:
        logger.warning("event ignored: not an endpoint state change or a schedule", extra={"detailType": kind})
        return {"kind": kind, "published": 0}
    published = events.put(eventbridge, entries) if entries else 0
    logger.info("reported", extra={"kind": kind, "published": published})
    return {"kind": kind, "published": published}


@lru_cache(maxsize=1)
def _clients() -> tuple[Any, Any]:
    config = Config(retries={"mode": "standard", "max_attempts": 5})
    return boto3.client("cloudwatch", config=config), boto3.client("events", config=config)


@logger.inject_lambda_context
def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    cloudwatch, eventbridge = _clients()
    return handle(event, ReporterSettings.from_env(), cloudwatch, eventbridge)
