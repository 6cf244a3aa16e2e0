"""The events member accounts put on the hub's governance bus, as the hub's metrics handler reads them.

The names come from `governance.contract` (pure Python, shipped in this package's Lambda archive), so
the sender and the receiver cannot disagree.
"""
from __future__ import annotations

import json
from typing import Any, Mapping

from governance.contract import (DEPLOYMENT_STAGES, DETAIL_TYPE_DECOMMISSIONED, DETAIL_TYPE_DEPLOYED, DETAIL_TYPE_METRICS,
                                 MEMBER_DETAIL_TYPES, SOURCE_MEMBER)

# The contract's names under the ones this package has always used.
SOURCE = SOURCE_MEMBER
MODEL_DEPLOYED = DETAIL_TYPE_DEPLOYED
MODEL_METRICS = DETAIL_TYPE_METRICS
MODEL_DECOMMISSIONED = DETAIL_TYPE_DECOMMISSIONED
STAGES = DEPLOYMENT_STAGES


def entry(bus_arn: str, detail_type: str, detail: Mapping[str, Any]) -> dict[str, Any]:
    """One `PutEvents` entry for the hub bus."""
    if detail_type not in MEMBER_DETAIL_TYPES:
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
