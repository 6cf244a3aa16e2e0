"""`Model Deployed` / `Model Metrics` reports from member accounts (hub bus) → stage records.

Same contract as sync: bad reports are logged and dropped, storage failures raise for a retry.
"""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from governance import runtime
from governance.handlers import outcome

logger = Logger()


def handler(event: Any, context: Any) -> dict[str, str]:
    return outcome.run(logger, "report", runtime.governance().member_report, event)
