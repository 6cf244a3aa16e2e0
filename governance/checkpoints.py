"""Chain heads kept outside the table, and the watch on the table's stream that keeps them.

The governance table's stream delivers every change. For each chain a batch touches, the consumer reads
the chain whole and verifies it (signatures, links, head, record state, latest checkpoint). A chain that
holds gets its head written as `checkpoints/<subject>/<seq>.json` to a bucket under S3 Object Lock in
compliance mode, where no one, the table's writers included, can change or delete it until its retention
ends; a chain that does not hold is reported as an unsigned change (a metric the hub alarms on) and is
never checkpointed. Verification then requires the trail to reach the latest checkpoint, so truncating a
chain and moving its head back is detected.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from botocore.exceptions import ClientError

from . import audit, contract, schema, trails
from .contract import MAX_MODEL_VERSION
from .store import Store, from_ddb

log = logging.getLogger("governance.checkpoints")

MODEL = "model"
USE_CASE = "use-case"
Subject = tuple  # ("model", group, version) | ("use-case", id)


class CheckpointReader:
    """The latest checkpoint of a chain (ListObjectsV2 on its prefix, GetObject of the last key)."""

    def __init__(self, s3: Any, bucket: str):
        self.s3, self.bucket = s3, bucket

    def latest(self, subject: str) -> dict[str, Any] | None:
        prefix, last, token = contract.checkpoint_prefix(subject), None, None
        while True:
            page = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix, **({"ContinuationToken": token} if token else {}))
            keys = [o["Key"] for o in page.get("Contents", []) if o["Key"].endswith(".json")]
            last = max([*keys, *([last] if last else [])], default=None)
            token = page.get("NextContinuationToken")
            if not token:
                break
        if last is None:
            return None
        body = self.s3.get_object(Bucket=self.bucket, Key=last)["Body"].read()
        try:
            data = json.loads(body)
        except ValueError:
            return {"key": last, "malformed": True}
        return {**(data if isinstance(data, dict) else {}), "key": last}


def body(entry: Mapping[str, Any]) -> bytes:
    """A checkpoint object: the head entry's subject, seq, hash and signature (verifiable on its own)."""
    doc = {schema.ENTRY_SUBJECT: entry.get(schema.ENTRY_SUBJECT), schema.ENTRY_SEQ: entry.get(schema.ENTRY_SEQ),
           schema.ENTRY_HASH: entry.get(schema.ENTRY_HASH), schema.ENTRY_AT: entry.get(schema.ENTRY_AT),
           **{k: entry.get(k) for k in schema.ENTRY_SIGNATURE_FIELDS}}
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


@dataclass
class Report:
    """What one batch of stream records did: checkpoints written, unsigned changes found, records refused."""

    checkpoints: list[str] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def _image(record: Mapping[str, Any], name: str) -> dict[str, Any]:
    raw = (record.get("dynamodb") or {}).get(name)
    return from_ddb(raw) if isinstance(raw, dict) else {}


def subject_of(pk: str, sk: str, image: Mapping[str, Any]) -> Subject | None:
    """Which chain an item belongs to (None: config and mirror items, which no chain governs)."""
    if pk.startswith("MODEL#"):
        group = pk[len("MODEL#"):]
        if sk.startswith("V#") and sk[2:8].isdigit():
            return (MODEL, group, int(sk[2:8]))
        if not sk.startswith(schema.AUDIT_PREFIX):
            return None  # the registry-write marker and monitoring history: display only, no decision reads them
        version = image.get(schema.MODEL_VERSION)
        if isinstance(version, int) and 1 <= version <= MAX_MODEL_VERSION:
            return (MODEL, group, version)
        return (MODEL, group, 0)
    if pk.startswith("USECASE#") and sk != schema.CONFIG_SK:
        return (USE_CASE, pk[len("USECASE#"):])
    return None


def changed_subjects(records: Iterable[Any], report: Report) -> dict[Subject, str]:
    """The chains a batch touches (each with a record id for the log); deletions are faults by themselves."""
    subjects: dict[Subject, str] = {}
    for record in records:
        try:
            name = record["eventName"]
            keys = from_ddb(record["dynamodb"]["Keys"])
            pk, sk = str(keys[schema.PK]), str(keys[schema.SK])
        except (KeyError, TypeError, ValueError, AttributeError):
            report.refused.append(f"malformed stream record {str(record)[:200]!r}")
            continue
        image = _image(record, "NewImage") or _image(record, "OldImage")
        subject = subject_of(pk, sk, image)
        if subject is None:
            continue
        if name == "REMOVE" and (sk.startswith(schema.AUDIT_PREFIX) or sk == schema.STATE_SK or sk.startswith("V#")):
            report.faults.append(f"{pk}/{sk}: deleted; governance items are never deleted")
        if subject[0] == MODEL and subject[2] == 0:
            report.faults.append(f"{pk}/{sk}: an audit entry that names no valid model version")
            continue
        subjects.setdefault(subject, f"{pk}/{sk}")
    return subjects


def _trail(store: Store, subject: Subject, reader: CheckpointReader) -> audit.Trail:
    if subject[0] == MODEL:
        return trails.model_trail(store, subject[1], subject[2], reader.latest)
    return trails.use_case_trail(store, subject[1], reader.latest)


def process(records: Iterable[Any], store: Store, verifier: Any, reader: CheckpointReader) -> Report:
    """Verify every chain a batch touches; checkpoint the heads that hold, report the ones that do not.

    A chain is read twice before it is reported, so a write that lands between the reads of one
    verification (entries, then records) is not mistaken for tampering.
    """
    report = Report()
    for subject, where in changed_subjects(records, report).items():
        trail = _trail(store, subject, reader)
        verification = audit.verify_trail(trail, verifier)
        if not verification.ok:
            trail = _trail(store, subject, reader)
            verification = audit.verify_trail(trail, verifier)
        if not verification.ok:
            report.faults += [f"{trail.subject}: {p.line()} (after a change to {where})" for p in verification.problems]
            continue
        checkpointed = (trail.checkpoint or {}).get(schema.ENTRY_SEQ)
        head = next((e for e in trail.entries if e.get(schema.ENTRY_SEQ) == trail.head_seq), None)
        if head is None or (isinstance(checkpointed, int) and checkpointed >= trail.head_seq):
            continue
        key = contract.checkpoint_key(trail.subject, trail.head_seq)
        try:
            reader.s3.put_object(Bucket=reader.bucket, Key=key, Body=body(head), ContentType="application/json")
        except ClientError as exc:
            log.error("checkpoint %s not written: %s", key, exc)
            raise
        report.checkpoints.append(key)
    return report
