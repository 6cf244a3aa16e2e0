"""An endpoint's data capture, read from S3 for one reporting window: bounded per run, total on what it parses.

SageMaker writes capture as JSON Lines, one inference per line, under
`<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl`, each record holding `captureData.endpointInput` and
`captureData.endpointOutput` (`observedContentType`, `mode`, `data`, `encoding` CSV | JSON | BASE64) and
`eventMetadata` (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html, "View
captured data"). The reporter reads the hour prefixes its window covers and the files written in the window
(`LastModified`), so consecutive windows read each file once without keeping state.

Bounds: at most `MAX_OBJECTS` files and `MAX_BYTES` bytes per variant and run (the rest of a larger file is not
fetched; the read says it was truncated), so a busy endpoint cannot run the reporter past its timeout or memory.
Parsing is total: a line that is not a capture record with a numeric prediction (malformed JSON, a partial line,
a wrong shape, bad base64, a non-numeric output) is skipped and counted, never raised.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from serving import drift

MAX_OBJECTS = 100
"""Capture files read per variant and run."""
MAX_BYTES = 8 * 1024 * 1024
"""Capture bytes read per variant and run (the reporter has 256 MB and 60 s)."""
MAX_HOURS = 48
"""Hour prefixes listed per run: a window longer than two days is read from its last two days."""


@dataclass
class CaptureRead:
    """What one run read of a variant's capture."""

    values: list[float] = field(default_factory=list)
    objects: int = 0
    bytes: int = 0
    records: int = 0
    """Lines that gave at least one prediction."""
    skipped: int = 0
    """Lines that gave none (malformed, wrong shape, non-numeric output)."""
    truncated: bool = False
    """The caps stopped the read: files written in the window were left unread."""

    def summary(self) -> dict[str, Any]:
        """The read as monitoring metrics, so the hub's history shows what a drift figure rests on."""
        return {"captureObjects": self.objects, "captureBytes": self.bytes, "captureRecords": self.records,
                "captureSkipped": self.skipped, "predictionCount": len(self.values), "captureTruncated": self.truncated}


def parse_line(line: str) -> list[float] | None:
    """The predictions of one capture line, or None when it holds none."""
    try:
        record = json.loads(line)
        if not isinstance(record, dict) or not isinstance(record.get("captureData"), dict):
            return None
        output = record["captureData"].get("endpointOutput")
        if not isinstance(output, dict) or not isinstance(output.get("data"), str):
            return None
        values = drift.predictions(record)
    except (ValueError, TypeError, AttributeError, ArithmeticError, RecursionError, csv.Error):
        return None
    return values or None


def hour_prefixes(prefix: str, start: datetime, end: datetime) -> list[str]:
    """The `yyyy/mm/dd/hh/` prefixes (UTC) a window touches, oldest first, at most MAX_HOURS."""
    start, end = start.astimezone(timezone.utc), end.astimezone(timezone.utc)
    hour = max(start, end - timedelta(hours=MAX_HOURS - 1)).replace(minute=0, second=0, microsecond=0)
    out = []
    while hour <= end:
        out.append(f"{prefix}{hour:%Y/%m/%d/%H}/")
        hour += timedelta(hours=1)
    return out


def read_window(s3: Any, bucket: str, prefix: str, start: datetime, end: datetime,
                max_objects: int = MAX_OBJECTS, max_bytes: int = MAX_BYTES) -> CaptureRead:
    """The predictions in the capture files under `prefix` (a variant's) written in (start, end]."""
    read = CaptureRead()
    for hour in hour_prefixes(prefix, start, end):
        params: dict[str, Any] = {"Bucket": bucket, "Prefix": hour}
        while True:
            page = s3.list_objects_v2(**params)
            for obj in page.get("Contents") or []:
                if not start < obj["LastModified"] <= end:
                    continue
                if read.objects >= max_objects or read.bytes >= max_bytes:
                    read.truncated = True
                    return read
                _read_object(s3, bucket, obj, read, max_bytes - read.bytes)
            if not page.get("IsTruncated"):
                break
            params["ContinuationToken"] = page["NextContinuationToken"]
    return read


def _read_object(s3: Any, bucket: str, obj: dict[str, Any], read: CaptureRead, budget: int) -> None:
    size = int(obj.get("Size", 0))
    partial = size > budget
    ranged = {"Range": f"bytes=0-{budget - 1}"} if partial else {}
    body = s3.get_object(Bucket=bucket, Key=obj["Key"], **ranged)["Body"].read(budget)
    read.objects += 1
    read.bytes += len(body)
    if partial:
        read.truncated = True
        body = body[:body.rfind(b"\n") + 1]  # the cut line is not counted as malformed: it was not read
    for line in body.decode("utf-8", "replace").splitlines():
        if not line.strip():
            continue
        values = parse_line(line)
        if values is None:
            read.skipped += 1
        else:
            read.records += 1
            read.values.extend(values)
