"""The events member accounts put on the hub's governance bus: the contract is `governance.events` (metrics handler).

Defined here rather than imported from `governance.events` because this package is deployed alone; a
test keeps the two in step.
"""
from __future__ import annotations

import json
from typing import Any, Mapping

SOURCE = "mlgov.member"
MODEL_DEPLOYED = "Model Deployed"
MODEL_METRICS = "Model Metrics"
STAGES = ("test", "production")


def entry(bus_arn: str, detail_type: str, detail: Mapping[str, Any]) -> dict[str, Any]:
    """One `PutEvents` entry for the hub bus."""
    if detail_type not in (MODEL_DEPLOYED, MODEL_METRICS):
        raise ValueError(f"unknown detail-type {detail_type!r}")
    return {"EventBusName": bus_arn, "Source": SOURCE, "DetailType": detail_type, "Detail": json.dumps(dict(detail), sort_keys=True)}


class PublishError(RuntimeError):
    """EventBridge refused some entries; raised so Lambda retries the invocation."""


def put(client: Any, entries: list[dict[str, Any]]) -> int:
    """Put entries (at most 10 per call, EventBridge's limit); raise if any was refused."""
    for start in range(0, len(entries), 10):
        batch = entries[start:start + 10]
        response = client.put_events(Entries=batch)
        if response.get("FailedEntryCount"):
            errors = sorted({e.get("ErrorCode", "?") for e in response.get("Entries", []) if e.get("ErrorCode")})
            raise PublishError(f"{response['FailedEntryCount']} of {len(batch)} events refused by the hub bus: {', '.join(errors)}")
    return len(entries)
