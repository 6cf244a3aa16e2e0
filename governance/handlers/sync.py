"""EventBridge `SageMaker Model Package State Change` → model stage records.

Malformed events and unknown groups are logged and dropped (a retry cannot fix them); DynamoDB
failures raise, so EventBridge retries and finally dead-letters the event. Registrations, outside changes and
disagreements are written back to the registry from the record (`governance.mirror`).
"""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from governance import runtime
from governance.handlers import outcome

logger = Logger()


def handler(event: Any, context: Any) -> dict[str, str]:
    return outcome.run(logger, "event", runtime.governance(with_registry=True).sync_registry_event, event)
