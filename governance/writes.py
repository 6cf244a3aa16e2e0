"""What an operation writes, as one TransactWriteItems, and how a write that loses a race is retried.

`VersionWrite` collects the changes to one version's stage records and their audit entries;
`UseCaseWrite` a use case STATE change, its audit and the group mirrors. Each guards what it read
(`rev`, the from-status, the chain head), so a concurrent change fails the transaction and
`with_retries` plans the operation again on fresh reads. Every entry records the state it leaves the
records in, so verification can hold a record to its trail; the store signs the entries when it writes
them (`signing.SigningStore`).
"""
from __future__ import annotations

import uuid
from typing import Any, Callable, Mapping, TypeVar

from . import audit, rules, schema
from .domain import STAGES, Stage, StageRecord, Status, UseCaseConfig, UseCaseStage, UseCaseState
from .records import copy_record, dump_json, mirror_key, record_key, uc_state_key
from .store import Op, Store, TransactionConflict, put, update

MAX_ATTEMPTS = 5

T = TypeVar("T")
# One attempt: the ops to write (None: nothing to write) and what the operation returns if they commit.
Attempt = Callable[[int], "tuple[list[Op] | None, T]"]


def with_retries(store: Store, attempt: Attempt, exhausted: Callable[[], Exception]) -> T:
    """Run `attempt(n)` (read, plan) and write its ops; on a transaction conflict read and plan again.

    An attempt that writes nothing returns its result at once; an attempt may raise to stop. After
    MAX_ATTEMPTS lost races, `exhausted()` is raised.
    """
    for n in range(MAX_ATTEMPTS):
        ops, result = attempt(n)
        if ops is None:
            return result
        try:
            store.transact(ops)
        except TransactionConflict:
            continue
        return result
    raise exhausted()


def stamp(at: str, actor: str) -> dict[str, Any]:
    """Who last changed an item, and when."""
    return {schema.AUDIT_TIMESTAMP: at, schema.AUDIT_USER: actor}


class VersionWrite:
    """The changes one operation makes to a version's records, and their audit entries, as transaction ops."""

    def __init__(self, group: str, version: int, items: Mapping[Stage, dict[str, Any] | None]):
        self.group, self.version = group, version
        self.items = dict(items)
        dev = self.items.get(Stage.development)
        self.seq0 = int(dev.get(schema.CHAIN_SEQ, 0)) if dev else 0
        self.seq = self.seq0
        self.hash = (dev.get(schema.CHAIN_HASH) if dev else None) or audit.GENESIS
        self.sets: dict[Stage, dict[str, Any]] = {}
        self.creates: dict[Stage, dict[str, Any]] = {}
        self.entries: list[dict[str, Any]] = []
        self.create_rev: dict[Stage, int] = {}

    def status(self, stage: Stage) -> Status | None:
        if stage in self.creates:
            return Status(self.creates[stage][schema.MODEL_STATUS])
        if stage in self.sets and schema.MODEL_STATUS in self.sets[stage]:
            return Status(self.sets[stage][schema.MODEL_STATUS])
        item = self.items.get(stage)
        return Status(item[schema.MODEL_STATUS]) if item else None

    def effective(self) -> dict[Stage, dict[str, Any] | None]:
        """Each stage's item as it will be once these changes are written."""
        out = {}
        for s in STAGES:
            item = self.creates.get(s) or self.items.get(s)
            if item is not None:
                item = {**item, **self.sets.get(s, {})}
                item.setdefault(schema.REV, 0)
            out[s] = item
        return out

    def create(self, stage: Stage, item: dict[str, Any]) -> None:
        self.creates[stage] = item

    def change(self, stage: Stage, **fields: Any) -> None:
        if stage in self.creates:
            self.creates[stage].update(fields)
        else:
            self.sets.setdefault(stage, {}).update(fields)

    def set_status(self, stage: Stage, status: Status, *, at: str, actor: str, **fields: Any) -> None:
        self.change(
            stage,
            **{
                schema.MODEL_STATUS: status.value,
                schema.BY_STAGE_STATUS.partition_key: schema.stage_status_key(stage.value, status.value),
                schema.BY_STAGE_STATUS.sort_key: schema.stage_record_gsi1sk(at, self.group, self.version),
            },
            **stamp(at, actor),
            **fields,
        )

    def apply(self, records: Mapping[Stage, StageRecord], tr: rules.Transition, *, at: str, actor: str,
              reason: str, stage: Stage, use_case_stage: str | None = None) -> None:
        """Write a transition's status changes: new records copy the version's attributes from development."""
        dev_item = self.creates.get(Stage.development) or self.items[Stage.development]
        for s, new in tr.changes.items():
            extra: dict[str, Any] = {}
            if new in (Status.pending, Status.rejected):
                extra[schema.APPROVALS] = []
            if use_case_stage is not None:
                extra[schema.USE_CASE_STAGE] = use_case_stage
            if s in records or s in self.creates:
                self.set_status(s, new, at=at, actor=actor, **extra)
            else:
                self.create(s, copy_record(dev_item, group=self.group, version=self.version, stage=s, status=new,
                                           at=at, actor=actor, use_case_stage=use_case_stage))
        if reason:
            touch = {} if Stage.development in tr.changes else stamp(at, actor)
            self.change(Stage.development, **{schema.LAST_REJECTION: dump_json(
                {"stage": stage.value, "reason": reason, "by": actor, "at": at})}, **touch)

    def audit(self, *, at: str, event_id: str, action: str, actor: str, source: str, stage: str = "",
              from_state: str = "", to_state: str = "", reason: str = "", detail: Mapping[str, Any] | None = None) -> None:
        self.seq += 1
        entry = audit.build_entry(
            pk=schema.model_pk(self.group), subject=audit.model_subject(self.group, self.version), seq=self.seq,
            prev_hash=self.hash, at=at, event_id=event_id, action=action, actor=actor, source=source, stage=stage,
            from_state=from_state, to_state=to_state, reason=reason, detail=detail,
            state=self._state(), extra={schema.MODEL_VERSION: self.version},
        )
        self.hash = entry[schema.ENTRY_HASH]
        self.entries.append(entry)

    def _state(self) -> dict[str, Any]:
        return audit.model_state({s.value: item for s, item in self.effective().items()})

    def _seal(self) -> None:
        """The last entry states what the records will be once everything of this write is applied."""
        if not self.entries:
            return
        last, final = self.entries[-1], audit.dump_state(self._state())
        if last[schema.ENTRY_STATE] != final:
            last[schema.ENTRY_STATE] = final
            last[schema.ENTRY_HASH] = self.hash = audit.entry_hash(last)

    def ops(self) -> list[Op]:
        self._seal()
        ops: list[Op] = []
        for stage in STAGES:
            key = record_key(self.group, self.version, stage)
            head = {schema.CHAIN_SEQ: self.seq, schema.CHAIN_HASH: self.hash} if stage is Stage.development else {}
            if stage in self.creates:
                item = {k: v for k, v in self.creates[stage].items() if v is not None}
                item.update(head)
                item[schema.REV] = self.create_rev.get(stage, 1)
                ops.append(put(item))
                continue
            item = self.items.get(stage)
            if item is None or (stage not in self.sets and not head):
                continue
            fields = dict(self.sets.get(stage, {}))
            conds: list[str] = []
            values: dict[str, Any] = {}
            names: dict[str, str] = {}
            if stage in self.sets:
                fields[schema.REV] = int(item[schema.REV]) + 1
                conds.append("#rev = :rev AND #st = :st")
                names.update({"#rev": schema.REV, "#st": schema.MODEL_STATUS})
                values.update({":rev": int(item[schema.REV]), ":st": item[schema.MODEL_STATUS]})
            if head:
                fields.update(head)
                names["#cs"] = schema.CHAIN_SEQ
                if self.seq0:
                    conds.append("#cs = :cs")
                    values[":cs"] = self.seq0
                else:
                    conds.append("attribute_not_exists(#cs)")
            ops.append(update(key, fields, condition=" AND ".join(conds), values=values, names=names))
        ops.extend(put(e) for e in self.entries)
        return ops


class UseCaseWrite:
    """A use case STATE change (stage and/or the groups approved per model stage), its audit and the group mirrors."""

    def __init__(self, config: UseCaseConfig, state: UseCaseState):
        self.config, self.state = config, state
        self.stage = state.stage
        self.approved = {k: set(v) for k, v in state.approved.items()}
        self.seq = state.chain_seq
        self.hash = state.chain_hash or audit.GENESIS
        self.entries: list[dict[str, Any]] = []
        self.dirty = False

    def approve_group(self, stage: Stage, group: str) -> None:
        groups = self.approved.setdefault(stage.value, set())
        if group not in groups:
            groups.add(group)
            self.dirty = True

    def move(self, new: UseCaseStage, *, at: str, actor: str, source: str, reason: str, action: str) -> None:
        if new is self.stage:
            return
        self.seq += 1
        entry = audit.build_entry(
            pk=schema.use_case_pk(self.config.use_case_id), subject=audit.use_case_subject(self.config.use_case_id),
            seq=self.seq, prev_hash=self.hash, at=at, event_id=uuid.uuid4().hex, action=action, actor=actor,
            source=source, stage="", from_state=self.stage.value, to_state=new.value, reason=reason,
            state=audit.use_case_state(new.value),
        )
        self.hash = entry[schema.ENTRY_HASH]
        self.entries.append(entry)
        self.stage = new
        self.dirty = True

    def changed(self) -> bool:
        return self.dirty

    def ops(self, *, at: str, actor: str) -> list[Op]:
        uc = self.config.use_case_id
        fields = {
            schema.USE_CASE_ID: uc,
            schema.STATE_STAGE: self.stage.value,
            schema.STATE_STAGE_STATUS: rules.stage_status(self.stage, held=self.state.sent_back is not None),
            schema.STATE_APPROVED: {k: sorted(v) for k, v in sorted(self.approved.items()) if v},
            schema.REV: self.state.rev + 1,
            **stamp(at, actor),
            schema.CHAIN_SEQ: self.seq,
            schema.CHAIN_HASH: self.hash,
            schema.BY_USE_CASE.partition_key: schema.use_case_pk(uc),
            schema.BY_USE_CASE.sort_key: schema.STATE_SK,
        }
        if self.state.exists:
            op = update(uc_state_key(uc), fields, condition="#rev = :rev", values={":rev": self.state.rev}, names={"#rev": schema.REV})
        else:
            op = update(uc_state_key(uc), fields, condition=f"attribute_not_exists({schema.PK})")
        ops = [op, *(put(e) for e in self.entries)]
        if self.stage is not self.state.stage:
            for group in self.config.groups:
                ops.append(update(mirror_key(group), {
                    schema.USE_CASE_ID: uc, schema.USE_CASE_NAME: self.config.name, schema.USE_CASE_STAGE: self.stage.value,
                    schema.AUDIT_TIMESTAMP: at,
                }))
        return ops
