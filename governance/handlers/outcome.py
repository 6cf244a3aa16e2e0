"""The Lambda glue the hub handlers share: run an operation on an event, log what it did, refuse and log.

Event handlers (sync, metrics) follow one contract: a malformed event is logged and dropped (a retry
cannot fix it), an outcome is logged at info, or at warning when it was rejected, and a storage failure
raises so EventBridge retries and finally dead-letters the event.
"""
from __future__ import annotations

from typing import Any, Callable

from governance.domain import BadInput
from governance.service import Outcome

REJECTED = "rejected"


def event_id(event: Any) -> Any:
    return event.get("id") if isinstance(event, dict) else None


def refuse(logger: Any, what: str, status: int, message: str, **context: Any) -> None:
    """Log a refusal: a caller's or sender's fault (4xx) as a warning, anything else as an error."""
    (logger.warning if 400 <= status < 500 else logger.error)(what, status=status, reason=message, **context)


def run(logger: Any, noun: str, operation: Callable[[Any], Outcome], event: Any) -> dict[str, str]:
    """Apply `operation` to an EventBridge event and log its outcome; `{"result", "message"}` for the invocation."""
    try:
        outcome = operation(event)
    except BadInput as exc:
        refuse(logger, f"{noun} {REJECTED}: malformed", exc.status_code, exc.message, event_id=event_id(event))
        return {"result": REJECTED, "message": exc.message}
    log = logger.warning if outcome.result == REJECTED else logger.info
    log(f"{noun} {outcome.result}", reason=outcome.message, event_id=event_id(event))
    return {"result": outcome.result, "message": outcome.message}
