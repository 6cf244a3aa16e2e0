"""EventBridge `SageMaker Model Package State Change` → model stage records.

Malformed events and unknown groups are logged and dropped (a retry cannot fix them); DynamoDB
failures raise, so EventBridge retries and finally dead-letters the event. Registrations, outside changes and
disagreements queue a registry write from the record (`governance.mirror`); on a schedule, queued and failed
registry writes are made. An event about a package that is not the hub's (or naming another ARN than the one
recorded) is a provenance fault: refused, logged as an error and counted as the `ProvenanceFault` metric
(embedded metric format), which the hub alarms on.
"""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from governance import runtime
from governance.contract import METRICS_NAMESPACE, PROVENANCE_FAULT_METRIC
from governance.handlers import outcome
from governance.service import Outcome

logger = Logger()


# The schedule's events (EventBridge puts them; no one else may use the `aws.events` source).
SCHEDULE_SOURCE, SCHEDULE_DETAIL_TYPE = "aws.events", "Scheduled Event"


def _sync(event: Any) -> Outcome:
    result = runtime.governance(with_registry=True).sync_registry_event(event)
    if result.fault is not None:
        logger.error(f"{result.fault} fault", fault=result.fault, reason=result.message, event_id=outcome.event_id(event))
        with single_metric(name=PROVENANCE_FAULT_METRIC, unit=MetricUnit.Count, value=1, namespace=METRICS_NAMESPACE):
            pass
    return result


def handler(event: Any, context: Any) -> dict[str, str]:
    if isinstance(event, dict) and (event.get("source"), event.get("detail-type")) == (SCHEDULE_SOURCE, SCHEDULE_DETAIL_TYPE):
        return outcome.run(logger, "registry repair", runtime.governance(with_registry=True).repair_registry, event)
    return outcome.run(logger, "event", _sync, event)
