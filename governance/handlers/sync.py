"""EventBridge `SageMaker Model Package State Change` → model stage records.

Malformed events and unknown groups are logged and dropped (a retry cannot fix them); DynamoDB
failures raise, so EventBridge retries and finally dead-letters the event. Registrations, outside changes and
disagreements are written back to the registry from the record (`governance.mirror`); on a schedule, the
versions whose registry write failed are rewritten.
"""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from governance import runtime
from governance.handlers import outcome

logger = Logger()


# The schedule's events (EventBridge puts them; no one else may use the `aws.events` source).
SCHEDULE_SOURCE, SCHEDULE_DETAIL_TYPE = "aws.events", "Scheduled Event"


def handler(event: Any, context: Any) -> dict[str, str]:
    governance = runtime.governance(with_registry=True)
    if isinstance(event, dict) and (event.get("source"), event.get("detail-type")) == (SCHEDULE_SOURCE, SCHEDULE_DETAIL_TYPE):
        return outcome.run(logger, "registry repair", governance.repair_registry, event)
    return outcome.run(logger, "event", governance.sync_registry_event, event)
