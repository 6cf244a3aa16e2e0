"""Reading a chain whole, with what it must agree with, into an `audit.Trail`; and verifying it online.

The API (`GET …/audit/verify`), the dashboard and the checkpoint consumer all verify through here, with
the same `audit.verify_trail` an auditor runs offline on an exported trail.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from . import audit, schema
from .domain import STAGES, Stage
from .records import record_key, uc_state_key, version_keys
from .store import Store

# The latest checkpoint of a subject (from outside the table), or None when there is none yet.
CheckpointLookup = Callable[[str], "Mapping[str, Any] | None"]


def model_trail(store: Store, group: str, version: int, checkpoint: CheckpointLookup | None = None) -> audit.Trail:
    """A version's chain: the group's audit partition filtered to the version, its three stage records, its head."""
    items = store.batch_get(version_keys(group, version))
    records = {s.value: items.get(record_key(group, version, s)) for s in STAGES}
    dev = records[Stage.development.value] or {}
    entries = store.query_all(partition=(schema.PK, schema.model_pk(group)), sort_prefix=schema.AUDIT_PREFIX,
                              filter_eq={schema.MODEL_VERSION: version})
    subject = audit.model_subject(group, version)
    return audit.Trail(subject, tuple(entries), int(dev.get(schema.CHAIN_SEQ, 0)), dev.get(schema.CHAIN_HASH),
                       audit.model_state(records), checkpoint(subject) if checkpoint else None)


def use_case_trail(store: Store, use_case_id: str, checkpoint: CheckpointLookup | None = None) -> audit.Trail:
    """A use case's chain, held to its STATE item (its governed state, `audit.use_case_state`, and head)."""
    state = store.batch_get([uc_state_key(use_case_id)]).get(uc_state_key(use_case_id)) or {}
    entries = store.query_all(partition=(schema.PK, schema.use_case_pk(use_case_id)), sort_prefix=schema.AUDIT_PREFIX)
    subject = audit.use_case_subject(use_case_id)
    return audit.Trail(subject, tuple(entries), int(state.get(schema.CHAIN_SEQ, 0)), state.get(schema.CHAIN_HASH),
                       audit.use_case_state(state),
                       checkpoint(subject) if checkpoint else None)


def verdict(trail: audit.Trail, verifier: Any) -> dict[str, Any]:
    """What the API shows: the verification and what it was held to (head, record state, checkpoint)."""
    result = audit.verify_trail(trail, verifier).as_dict()
    result.update({"subject": trail.subject, "head": {schema.ENTRY_SEQ: trail.head_seq, schema.ENTRY_HASH: trail.head_hash},
                   "recordState": dict(trail.state), "checkpoint": dict(trail.checkpoint) if trail.checkpoint else None,
                   "publicKeyFingerprint": getattr(verifier, "fingerprint", None)})
    return result


def verify_online(store: Store, use_case_id: str, group: str | None = None, version: int | None = None) -> dict[str, Any]:
    """Verify with what the store carries (`signing.SigningStore`): the public key and the checkpoint reader."""
    verifier_of = getattr(store, "verifier", None)
    lookup = getattr(store, "checkpoints", None)
    latest = lookup.latest if lookup is not None else None
    trail = use_case_trail(store, use_case_id, latest) if group is None else model_trail(store, group, int(version or 0), latest)
    return verdict(trail, verifier_of() if callable(verifier_of) else None)
