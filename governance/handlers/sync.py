"""EventBridge `SageMaker Model Package State Change` → model stage records.

Malformed events and unknown groups are logged and dropped (a retry cannot fix them); DynamoDB
failures raise, so EventBridge retries and finally dead-letters the event.
"""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from governance import runtime
from governance.domain import BadInput

logger = Logger()


def handler(event: Any, context: Any) -> dict[str, str]:
    try:
        outcome = runtime.governance().sync_registry_event(event)
    except BadInput as exc:
        logger.warning("event rejected: malformed", reason=exc.message, event_id=_id(event))
        return {"result": "rejected", "message": exc.message}
    log = logger.info if outcome.result in ("written", "duplicate", "stale", "ignored") else logger.warning
    log(f"event {outcome.result}", reason=outcome.message, event_id=_id(event))
    return {"result": outcome.result, "message": outcome.message}


def _id(event: Any) -> Any:
    return event.get("id") if isinstance(event, dict) else None
