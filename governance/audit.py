"""The audit trail: hash-chained, signed entries, one chain per model version and one per use case.

Each entry's `hash` covers its content, the previous entry's hash and the state of the record(s) it
leaves behind (`recordState`); the head of each chain (`chainSeq`, `chainHash`) lives on the item the
chain belongs to (the version's development record, the use case's STATE), so appending is guarded by
the same transaction as the state change. Entries are signed with a KMS key (`signing`), so hashes
that anyone with table write could recompute are not enough to forge one. `verify_trail` checks a
`Trail` (entries, head, the records' current state, the latest checkpoint outside the table) and
names every problem: it runs on the API, in govctl, and offline on an exported trail.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from . import schema
from .domain import UseCaseStage

GENESIS = "0" * 64

# The fields a hash covers, in the entry as stored.
HASHED_FIELDS = schema.ENTRY_HASHED_FIELDS


def model_subject(group: str, version: int) -> str:
    return f"{schema.model_pk(group)}#{schema.version_prefix(version).rstrip('#')}"


def use_case_subject(use_case_id: str) -> str:
    return schema.use_case_pk(use_case_id)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def dump_state(state: Mapping[str, Any]) -> str:
    """A record state as an entry stores it."""
    return _json(state)


# --- what a record looks like to its trail: the fields a decision depends on ---

def _digest(text: Any) -> str | None:
    return None if text in (None, "") else hashlib.sha256(str(text).encode()).hexdigest()[:32]


def stage_state(item: Mapping[str, Any]) -> dict[str, Any]:
    """A stage record's governed fields: status, approvals, validation evidence (digest), and the package (development)."""
    out: dict[str, Any] = {"status": item.get(schema.MODEL_STATUS), "approvals": list(item.get(schema.APPROVALS) or []),
                           "validation": _digest(item.get(schema.VALIDATION_METRICS))}
    if item.get(schema.MODEL_STAGE) == "development":
        out["arn"] = item.get(schema.MODEL_PACKAGE_ARN)
    return out


def model_state(items: Mapping[str, Mapping[str, Any] | None]) -> dict[str, Any]:
    """A version's state by stage (stage name → `stage_state`), for the stages that have a record."""
    return {stage: stage_state(item) for stage, item in sorted(items.items()) if item is not None}


def use_case_state(item: Mapping[str, Any]) -> dict[str, Any]:
    """A use case's governed state, from its STATE item or the fields a write gives it: the stage, the groups
    approved per model stage and the rejection that sent it back (what auto-advance and the stage gates decide
    on). An absent item is a POC with nothing approved. Total: a malformed value (a direct table write) is kept
    as text, so it differs from what any entry says.
    """
    approved = item.get(schema.STATE_APPROVED) or {}
    if isinstance(approved, Mapping):
        approved = {str(k): sorted(map(str, v)) if isinstance(v, (list, tuple, set)) else repr(v)
                    for k, v in sorted(approved.items(), key=lambda kv: str(kv[0])) if v}
    else:
        approved = repr(approved)
    sent_back = item.get(schema.STATE_SENT_BACK)
    try:
        sent_back = json.loads(sent_back) if isinstance(sent_back, str) else (None if sent_back is None else repr(sent_back))
    except ValueError:
        sent_back = repr(sent_back)
    return {"stage": str(item.get(schema.STATE_STAGE) or UseCaseStage.POC.value), "approved": approved, "sentBack": sent_back}


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
    state: Mapping[str, Any] | None = None,
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
        schema.ENTRY_STATE: dump_state(state) if state is not None else "",
    }
    entry[schema.ENTRY_HASH] = entry_hash(entry)
    if extra:
        entry.update(extra)
    return entry


@dataclass(frozen=True)
class Problem:
    seq: int | None
    sort_key: str | None
    problem: str

    def as_dict(self) -> dict[str, Any]:
        return {schema.ENTRY_SEQ: self.seq, schema.SK: self.sort_key, "problem": self.problem}

    def line(self) -> str:
        where = f"seq {self.seq}" if self.seq is not None else "trail"
        return f"{where}: {self.problem}" + (f" ({self.sort_key})" if self.sort_key else "")


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    broken_at: int | None = None  # seq of the first entry that does not hold
    sort_key: str | None = None
    problem: str | None = None
    problems: tuple[Problem, ...] = ()

    @classmethod
    def of(cls, entries: int, problems: Sequence[Problem]) -> "Verification":
        if not problems:
            return cls(True, entries)
        first = problems[0]
        return cls(False, entries, first.seq, first.sort_key, first.problem, tuple(problems))

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.ok, "entries": self.entries}
        if not self.ok:
            out["firstBroken"] = {schema.ENTRY_SEQ: self.broken_at, schema.SK: self.sort_key, "problem": self.problem}
            out["problems"] = [p.as_dict() for p in self.problems]
        return out


def _seq(entry: Mapping[str, Any]) -> int:
    seq = _plain(entry.get(schema.ENTRY_SEQ))
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else -1


def _in_order(entries: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(entries, key=lambda e: (_seq(e), str(e.get(schema.SK))))


def _chain(items: Sequence[Mapping[str, Any]], *, first_only: bool) -> tuple[list[Problem], str, int]:
    """Sequence, links and hashes; returns the problems, the last hash and the last seq of the unbroken prefix."""
    problems: list[Problem] = []
    prev, expected = GENESIS, 1
    for item in items:
        seq, sk = _plain(item.get(schema.ENTRY_SEQ)), item.get(schema.SK)
        if seq != expected:
            what = "a duplicate or replayed entry" if isinstance(seq, int) and seq < expected else "missing entries before it"
            problems.append(Problem(expected if first_only else _seq(item), sk, f"expected seq {expected}, found {seq} ({what})"))
            if first_only:
                break
            if isinstance(seq, int) and seq < expected:
                continue
        if item.get(schema.ENTRY_PREV_HASH) != prev:
            problems.append(Problem(seq, sk, "prevHash does not match the previous entry's hash (inserted, reordered or relinked)"))
        if entry_hash(item) != item.get(schema.ENTRY_HASH):
            problems.append(Problem(seq, sk, "hash does not match the entry's content (edited)"))
        if problems and first_only:
            break
        prev = str(item.get(schema.ENTRY_HASH))
        expected = (seq if isinstance(seq, int) else expected) + 1
    return problems, prev, expected - 1


def verify(entries: Iterable[Mapping[str, Any]], *, head_seq: int | None = None, head_hash: str | None = None) -> Verification:
    """The hash chain alone, in chain order, up to the first broken link (signatures: `verify_trail`).

    The head (from the record the chain belongs to) also catches a trail cut short at its end.
    """
    items = _in_order(entries)
    problems, last_hash, last_seq = _chain(items, first_only=True)
    if problems:
        return Verification.of(len(items), problems)
    if head_seq is not None and head_seq != last_seq:
        problems.append(Problem(last_seq + 1, None, f"the record's chain head is at seq {head_seq} but the trail ends at {last_seq}"))
    elif head_hash is not None and head_seq and head_hash != last_hash:
        problems.append(Problem(last_seq, None, "the record's chain head hash does not match the last entry"))
    return Verification.of(len(items), problems)


# --- the whole trail: what the API checks, and what an auditor checks offline on an export ---

@dataclass(frozen=True)
class Trail:
    """A chain and what it must agree with: the head on its record, the records' state, the latest checkpoint."""

    subject: str
    entries: tuple[Mapping[str, Any], ...]
    head_seq: int
    head_hash: str | None
    state: Mapping[str, Any]
    checkpoint: Mapping[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "head": {schema.ENTRY_SEQ: self.head_seq, schema.ENTRY_HASH: self.head_hash},
                "recordState": dict(self.state), "checkpoint": dict(self.checkpoint) if self.checkpoint else None,
                "entries": [dict(e) for e in self.entries]}

    @classmethod
    def from_dict(cls, data: Any) -> "Trail":
        """An exported trail; ValueError naming what is malformed."""
        if not isinstance(data, dict):
            raise ValueError("an exported trail is a JSON object")
        head, entries, state = data.get("head"), data.get("entries"), data.get("recordState")
        checkpoint = data.get("checkpoint")
        if not isinstance(data.get("subject"), str):
            raise ValueError("the trail names no subject")
        if not isinstance(head, dict) or not isinstance(head.get(schema.ENTRY_SEQ), int):
            raise ValueError("the trail has no head {seq, hash}")
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise ValueError("the trail's entries are not a list of objects")
        if not isinstance(state, dict) or not (checkpoint is None or isinstance(checkpoint, dict)):
            raise ValueError("the trail's recordState or checkpoint is malformed")
        return cls(data["subject"], tuple(entries), head[schema.ENTRY_SEQ], head.get(schema.ENTRY_HASH), state, checkpoint)


def verify_trail(trail: Trail, verifier: Any) -> Verification:
    """Every problem of a trail, each naming its entry: chain, signatures, head, record state, checkpoint.

    `verifier` is a `signing.Verifier` (the public key) or None, which is itself a problem: a trail
    whose signatures cannot be checked is not verified.
    """
    items = _in_order(trail.entries)
    problems, last_hash, last_seq = _chain(items, first_only=False)
    for item in items:
        seq, sk = _plain(item.get(schema.ENTRY_SEQ)), item.get(schema.SK)
        if item.get(schema.ENTRY_SUBJECT) != trail.subject:
            problems.append(Problem(seq, sk, f"the entry belongs to {item.get(schema.ENTRY_SUBJECT)!r}, not to this trail"))
        why = verifier.problem(item) if verifier is not None else "no public key to check the signature with"
        if why:
            problems.append(Problem(seq, sk, why))
    last = items[-1] if items else None
    if last is not None and (_seq(last) != last_seq or last.get(schema.ENTRY_HASH) != last_hash):
        last_seq, last_hash = _seq(last), str(last.get(schema.ENTRY_HASH))
    if trail.head_seq != last_seq:
        problems.append(Problem(trail.head_seq, None, f"the record's chain head is at seq {trail.head_seq} but the trail ends at {last_seq}"))
    elif last_seq and trail.head_hash != last_hash:
        problems.append(Problem(last_seq, None, "the record's chain head hash does not match the last entry"))
    problems += _state_problems(trail, last)
    problems += _checkpoint_problems(trail, items, last_seq)
    return Verification.of(len(items), problems)


def _state_problems(trail: Trail, last: Mapping[str, Any] | None) -> list[Problem]:
    if last is None:
        said: Any = {}
    else:
        try:
            said = json.loads(str(last.get(schema.ENTRY_STATE) or "null"))
        except ValueError:
            said = None
    expected = dict(trail.state)
    if last is None and expected in ({}, use_case_state({})):
        return []
    if said != expected:
        seq = _seq(last) if last is not None else None
        differing = sorted(k for k in set(expected) | set(said or {}) if (said or {}).get(k) != expected.get(k))
        return [Problem(seq, last.get(schema.SK) if last else None,
                        f"the record's state differs from its trail at {', '.join(differing) or 'every field'}: "
                        f"changed without a signed entry (record {_json({k: expected.get(k) for k in differing})}, "
                        f"trail {_json({k: (said or {}).get(k) for k in differing})})")]
    return []


def _checkpoint_problems(trail: Trail, items: Sequence[Mapping[str, Any]], last_seq: int) -> list[Problem]:
    cp = trail.checkpoint
    if not cp:
        return []
    cp_seq, cp_hash = cp.get(schema.ENTRY_SEQ), cp.get(schema.ENTRY_HASH)
    if not isinstance(cp_seq, int):
        return [Problem(None, None, "the checkpoint is malformed (no seq)")]
    if last_seq < cp_seq:
        return [Problem(cp_seq, None, f"truncated: the trail ends at seq {last_seq}, below the checkpoint at seq {cp_seq}")]
    match = [i for i in items if _seq(i) == cp_seq]
    if not any(i.get(schema.ENTRY_HASH) == cp_hash for i in match):
        return [Problem(cp_seq, match[0].get(schema.SK) if match else None,
                        f"rewritten: entry seq {cp_seq} does not have the hash checkpointed outside the table")]
    return []
