"""The audit trail: hash-chained entries, one chain per model version and one per use case.

Each entry's `hash` covers its content and the previous entry's hash, and the head of each chain
(`chainSeq`, `chainHash`) lives on the item the chain belongs to (the version's development record,
the use case's STATE), so appending is guarded by the same transaction as the state change and a
missing, edited or reordered entry breaks the chain at a point `verify` names.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from . import schema

GENESIS = "0" * 64

# The fields a hash covers, in the entry as stored.
HASHED_FIELDS = schema.ENTRY_HASHED_FIELDS


def model_subject(group: str, version: int) -> str:
    return f"{schema.model_pk(group)}#{schema.version_prefix(version).rstrip('#')}"


def use_case_subject(use_case_id: str) -> str:
    return schema.use_case_pk(use_case_id)


def entry_hash(entry: Mapping[str, Any]) -> str:
    body = {k: _plain(entry.get(k)) for k in HASHED_FIELDS}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _plain(value: Any) -> Any:
    """DynamoDB hands numbers back as Decimal; the hash is over plain ints/strings."""
    if value is None or isinstance(value, (str, bool)):
        return value
    try:
        as_int = int(value)
    except (TypeError, ValueError):
        return str(value)
    return as_int if as_int == value else str(value)


def build_entry(
    *,
    pk: str,
    subject: str,
    seq: int,
    prev_hash: str,
    at: str,
    event_id: str,
    action: str,
    actor: str,
    source: str,
    stage: str = "",
    from_state: str = "",
    to_state: str = "",
    reason: str = "",
    detail: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One audit item, hashed; `extra` holds unhashed index fields (e.g. modelVersion for queries)."""
    entry: dict[str, Any] = {
        schema.PK: pk,
        schema.SK: schema.audit_sk(at, event_id),
        schema.ENTRY_SUBJECT: subject,
        schema.ENTRY_SEQ: seq,
        schema.ENTRY_AT: at,
        schema.ENTRY_ACTION: action,
        schema.ENTRY_STAGE: stage,
        schema.ENTRY_FROM: from_state,
        schema.ENTRY_TO: to_state,
        schema.ENTRY_ACTOR: actor,
        schema.ENTRY_REASON: reason,
        schema.ENTRY_SOURCE: source,
        schema.ENTRY_DETAIL: json.dumps(dict(detail or {}), sort_keys=True, separators=(",", ":")),
        schema.ENTRY_PREV_HASH: prev_hash,
    }
    entry[schema.ENTRY_HASH] = entry_hash(entry)
    if extra:
        entry.update(extra)
    return entry


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    broken_at: int | None = None  # seq of the first entry that does not link
    sort_key: str | None = None
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.ok, "entries": self.entries}
        if not self.ok:
            out["firstBroken"] = {schema.ENTRY_SEQ: self.broken_at, schema.SK: self.sort_key, "problem": self.problem}
        return out


def verify(entries: Iterable[Mapping[str, Any]], *, head_seq: int | None = None, head_hash: str | None = None) -> Verification:
    """Walk a trail in chain order and report the first broken link.

    The head (from the record the chain belongs to) also catches a trail cut short at its end.
    """
    items = sorted(entries, key=lambda e: (_plain(e.get(schema.ENTRY_SEQ)) if isinstance(_plain(e.get(schema.ENTRY_SEQ)), int) else -1,
                                           str(e.get(schema.SK))))
    prev = GENESIS
    expected_seq = 1
    for item in items:
        seq = _plain(item.get(schema.ENTRY_SEQ))
        sk = item.get(schema.SK)
        if seq != expected_seq:
            what = "a duplicate" if isinstance(seq, int) and seq < expected_seq else "missing entries before it"
            return Verification(False, len(items), expected_seq, sk, f"expected seq {expected_seq}, found {seq} ({what})")
        if item.get(schema.ENTRY_PREV_HASH) != prev:
            return Verification(False, len(items), seq, sk, "prevHash does not match the previous entry's hash")
        if entry_hash(item) != item.get(schema.ENTRY_HASH):
            return Verification(False, len(items), seq, sk, "hash does not match the entry's content (edited)")
        prev = str(item.get(schema.ENTRY_HASH))
        expected_seq += 1
    if head_seq is not None and head_seq != expected_seq - 1:
        return Verification(False, len(items), expected_seq, None, f"the record's chain head is at seq {head_seq} but the trail ends at {expected_seq - 1}")
    if head_hash is not None and head_seq and head_hash != prev:
        return Verification(False, len(items), expected_seq - 1, None, "the record's chain head hash does not match the last entry")
    return Verification(True, len(items))
