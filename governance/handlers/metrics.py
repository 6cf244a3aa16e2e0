"""`Model Deployed` / `Model Metrics` reports from member accounts (hub bus) → stage records.

Same contract as sync: bad reports are logged and dropped, storage failures raise for a retry.
"""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from governance import runtime
from governance.domain import BadInput

logger = Logger()


def handler(event: Any, context: Any) -> dict[str, str]:
    try:
        outcome = runtime.governance().member_report(event)
    except BadInput as exc:
        logger.warning("report rejected: malformed", reason=exc.message, event_id=_id(event))
        return {"result": "rejected", "message": exc.message}
    log = logger.warning if outcome.result == "rejected" else logger.info
    log(f"report {outcome.result}", reason=outcome.message, event_id=_id(event))
    return {"result": outcome.result, "message": outcome.message}


def _id(event: Any) -> Any:
    return event.get("id") if isinstance(event, dict) else None
