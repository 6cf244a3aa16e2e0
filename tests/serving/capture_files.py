"""SageMaker data-capture lines and files as an endpoint writes them, for the reporter's tests."""
from __future__ import annotations

import base64
import json
from datetime import datetime, timezone

import boto3

BUCKET = "hub-artifacts"


def capture_line(output: str, content_type: str = "text/csv", encoding: str = "CSV", event_id: str = "e") -> str:
    """One record of SageMaker's data-capture JSON Lines (input and output captured)."""
    return json.dumps({
        "captureData": {
            "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": "1,2,3", "encoding": "CSV"},
            "endpointOutput": {"observedContentType": content_type, "mode": "OUTPUT", "data": output, "encoding": encoding},
        },
        "eventMetadata": {"eventId": event_id, "inferenceTime": "2026-03-02T10:00:00Z"},
        "eventVersion": "0",
    })


def json_line(value: float) -> str:
    return capture_line(json.dumps({"predictions": [value]}), "application/json", "JSON")


def base64_line(value: float) -> str:
    return capture_line(base64.b64encode(str(value).encode()).decode(), "text/csv", "BASE64")


MALFORMED = [
    "{not json",
    "[1, 2]",
    json.dumps({"eventVersion": "0"}),
    json.dumps({"captureData": "x"}),
    json.dumps({"captureData": {"endpointOutput": {"data": 0.5}}}),
    capture_line("!!not base64!!", encoding="BASE64"),
    capture_line("cat"),
    capture_line("{\"predictions\": [", "application/json", "JSON"),
    capture_line("1e999999"),
]
"""Lines a capture file may hold that give no prediction: each is skipped and counted."""


def hub_bucket(region: str) -> str:
    boto3.client("s3", region_name=region).create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": region})
    return BUCKET


def hour_prefix(prefix: str, when: datetime | None = None) -> str:
    return f"{prefix}{(when or datetime.now(timezone.utc)):%Y/%m/%d/%H}/"


def write_capture(region: str, prefix: str, name: str, lines: list[str]) -> str:
    """A capture file written now, under the current hour's prefix of `prefix` (a variant's)."""
    key = f"{hour_prefix(prefix)}{name}.jsonl"
    boto3.client("s3", region_name=region).put_object(Bucket=BUCKET, Key=key, Body="\n".join(lines).encode())
    return key
