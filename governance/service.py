"""The governance operations: registry sync, decisions, metrics, queries and audit trails.

Each operation reads what it needs by key in one call (BatchGetItem), asks `rules` what may happen,
and writes the result as one TransactWriteItems: the changed records guarded by `rev` and their
from-status, the version's chain head guarded by its sequence number, and the audit entries. A write
that loses a race is re-read; if the record itself moved on, the caller is told (409), otherwise the
operation is planned again on the fresh state.
"""
from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from . import audit, rules, schema
from .domain import (
    STAGES,
    Action,
    Approvers,
    BadInput,
    Conflict,
    Forbidden,
    GroupConfig,
    ModelRisk,
    NotFound,
    RegistryStatus,
    RiskTier,
    Stage,
    StageRecord,
    Status,
    Threshold,
    UseCaseConfig,
    UseCaseStage,
    UseCaseState,
    check_endpoint,
    check_group,
    check_stage,
    check_use_case_id,
    check_version,
    principal_key,
)
from .events import (
    DEPLOYED,
    IGNORED_PACKAGE_STATUSES,
    VARIANT_RE,
    check_metrics,
    iso_millis,
    parse_member_event,
    parse_registry_event,
)
from .store import Key, Op, Store, TransactionConflict, decode_token, encode_token, put, update

log = logging.getLogger("governance")

MAX_ATTEMPTS = 5
MAX_REASON = 1024
MAX_BODY_BYTES = 64 * 1024
REGISTRY = "registry"


# --- keys ---

def uc_config_key(uc: str) -> Key:
    return schema.use_case_pk(uc), schema.CONFIG_SK


def uc_state_key(uc: str) -> Key:
    return schema.use_case_pk(uc), schema.STATE_SK


def group_config_key(group: str) -> Key:
    return schema.group_pk(group), schema.CONFIG_SK


def mirror_key(group: str) -> Key:
    return schema.group_pk(group), schema.USE_CASE_MIRROR_SK


def record_key(group: str, version: int, stage: Stage) -> Key:
    return schema.model_pk(group), schema.stage_record_sk(version, stage.value)


def version_keys(group: str, version: int) -> list[Key]:
    return [record_key(group, version, s) for s in STAGES]


# --- item → domain ---

def parse_use_case_config(item: Mapping[str, Any]) -> UseCaseConfig:
    return UseCaseConfig(
        use_case_id=item["useCaseId"],
        name=item.get("name", item["useCaseId"]),
        risk_tier=RiskTier(item.get("riskTier", "minimal")),
        owner=item.get("owner", ""),
        line_of_business=item.get("lineOfBusiness", ""),
        project=item.get("project", ""),
        groups=tuple(item.get("modelGroups", [])),
        thresholds=tuple(Threshold(t["metric"], t.get("min"), t.get("max")) for t in item.get("thresholds", [])),
    )


def parse_group_config(item: Mapping[str, Any]) -> GroupConfig:
    return GroupConfig(
        group=item["modelGroup"],
        use_case_id=item["useCaseId"],
        owner=item.get("owner", ""),
        line_of_business=item.get("lineOfBusiness", ""),
        project=item.get("project", ""),
        risk=ModelRisk(item.get("risk", "low")),
        use_case_name=item.get("useCaseName"),
    )


def parse_state(item: Mapping[str, Any] | None) -> UseCaseState:
    if item is None:
        return UseCaseState()
    return UseCaseState(
        stage=UseCaseStage(item["stage"]),
        rev=int(item.get(schema.REV, 0)),
        approved={k: tuple(v) for k, v in (item.get("approved") or {}).items()},
        chain_seq=int(item.get("chainSeq", 0)),
        chain_hash=item.get("chainHash"),
        exists=True,
    )


def _json(text: Any) -> Any:
    return json.loads(text) if isinstance(text, str) else None


def parse_record(item: Mapping[str, Any]) -> StageRecord:
    return StageRecord(
        stage=Stage(item[schema.MODEL_STAGE]),
        status=Status(item[schema.MODEL_STATUS]),
        rev=int(item.get(schema.REV, 0)),
        registered_by=item.get("registeredBy"),
        approvals=tuple(item.get("approvals") or ()),
        validation_metrics=_json(item.get(schema.VALIDATION_METRICS)),
        monitoring_reported_at=item.get("monitoringReportedAt"),
    )


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


# --- writes of one version ---

class VersionWrite:
    """The changes one operation makes to a version's records, and their audit entries, as transaction ops."""

    def __init__(self, group: str, version: int, items: Mapping[Stage, dict[str, Any] | None]):
        self.group, self.version = group, version
        self.items = dict(items)
        dev = self.items.get(Stage.development)
        self.seq0 = int(dev.get("chainSeq", 0)) if dev else 0
        self.seq = self.seq0
        self.hash = (dev.get("chainHash") if dev else None) or audit.GENESIS
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
                schema.AUDIT_TIMESTAMP: at,
                schema.AUDIT_USER: actor,
            },
            **fields,
        )

    def audit(self, *, at: str, event_id: str, action: str, actor: str, source: str, stage: str = "",
              from_state: str = "", to_state: str = "", reason: str = "", detail: Mapping[str, Any] | None = None) -> None:
        self.seq += 1
        entry = audit.build_entry(
            pk=schema.model_pk(self.group), subject=audit.model_subject(self.group, self.version), seq=self.seq,
            prev_hash=self.hash, at=at, event_id=event_id, action=action, actor=actor, source=source, stage=stage,
            from_state=from_state, to_state=to_state, reason=reason, detail=detail,
            extra={schema.MODEL_VERSION: self.version},
        )
        self.hash = entry["hash"]
        self.entries.append(entry)

    def ops(self) -> list[Op]:
        ops: list[Op] = []
        for stage in STAGES:
            key = record_key(self.group, self.version, stage)
            head = {"chainSeq": self.seq, "chainHash": self.hash} if stage is Stage.development else {}
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
                names["#cs"] = "chainSeq"
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
        )
        self.hash = entry["hash"]
        self.entries.append(entry)
        self.stage = new
        self.dirty = True

    def changed(self) -> bool:
        return self.dirty

    def ops(self, *, at: str, actor: str) -> list[Op]:
        uc = self.config.use_case_id
        fields = {
            "useCaseId": uc,
            "stage": self.stage.value,
            "stageStatus": rules.stage_status(self.stage),
            "approved": {k: sorted(v) for k, v in sorted(self.approved.items()) if v},
            schema.REV: self.state.rev + 1,
            schema.AUDIT_TIMESTAMP: at,
            schema.AUDIT_USER: actor,
            "chainSeq": self.seq,
            "chainHash": self.hash,
            schema.BY_USE_CASE.partition_key: schema.use_case_pk(uc),
            schema.BY_USE_CASE.sort_key: schema.STATE_SK,
        }
        if self.state.exists:
            op = update(uc_state_key(uc), fields, condition="#rev = :rev", values={":rev": self.state.rev}, names={"#rev": schema.REV})
        else:
            op = update(uc_state_key(uc), fields, condition="attribute_not_exists(pk)")
        ops = [op, *(put(e) for e in self.entries)]
        if self.stage is not self.state.stage:
            for group in self.config.groups:
                ops.append(update(mirror_key(group), {
                    "useCaseId": uc, "useCaseName": self.config.name, "useCaseStage": self.stage.value,
                    schema.AUDIT_TIMESTAMP: at,
                }))
        return ops


@dataclass(frozen=True)
class Outcome:
    """What an event did: `written`, or why it wrote nothing (`duplicate`, `stale`, `ignored`, `rejected`)."""

    result: str
    message: str

    @property
    def wrote(self) -> bool:
        return self.result == "written"


def _now_ms() -> int:
    return int(time.time() * 1000)


class Governance:
    def __init__(self, store: Store, sagemaker: Any = None, approvers: Callable[[], Approvers] | Approvers = Approvers(),
                 clock: Callable[[], int] = _now_ms):
        self.store = store
        self.sagemaker = sagemaker
        self._approvers = approvers
        self.clock = clock

    @property
    def approvers(self) -> Approvers:
        return self._approvers() if callable(self._approvers) else self._approvers

    def _now(self) -> str:
        return iso_millis(self.clock())

    # ------------------------------------------------------------------ registry sync

    def sync_registry_event(self, event: Any) -> Outcome:
        """Apply one `SageMaker Model Package State Change`; BadInput for a malformed event (nothing read or written)."""
        ev = parse_registry_event(event)
        if ev.package_status in IGNORED_PACKAGE_STATUSES:
            return Outcome("ignored", f"{ev.group}/{ev.version}: package status {ev.package_status} is not a registered version")
        for _ in range(MAX_ATTEMPTS):
            raw = self.store.batch_get([group_config_key(ev.group), mirror_key(ev.group), *version_keys(ev.group, ev.version)])
            gc_item = raw.get(group_config_key(ev.group))
            if gc_item is None:
                return Outcome("rejected", f"model group {ev.group!r} is not onboarded (no GROUP#{ev.group}/CONFIG item)")
            gc = parse_group_config(gc_item)
            mirror = raw.get(mirror_key(ev.group)) or {}
            items = {s: raw.get(record_key(ev.group, ev.version, s)) for s in STAGES}
            vw = VersionWrite(ev.group, ev.version, items)
            dev = items[Stage.development]
            if dev is None:
                self._register(vw, ev, gc, mirror)
                if ev.status is not RegistryStatus.pending:
                    self._registry_effect(vw, ev)
                    vw.create_rev[Stage.development] = 2  # as if registered, then changed: order-independent revs
                vw.change(Stage.development, registryStatus=ev.status.value, registryModifiedAt=ev.modified_ms,
                          registryLifeCycle=_dump(ev.lifecycle))
                outcome = Outcome("written", f"{ev.group}/{ev.version} registered in development (registry: {ev.status.value})")
            else:
                stored_ms = int(dev.get("registryModifiedAt", 0))
                if ev.status.value == dev.get("registryStatus"):
                    return Outcome("duplicate", f"{ev.group}/{ev.version}: registry status {ev.status.value} is already recorded")
                if ev.modified_ms <= stored_ms:
                    return Outcome("stale", f"{ev.group}/{ev.version}: event from {iso_millis(ev.modified_ms)} is older than the "
                                            f"recorded registry change of {iso_millis(stored_ms)}")
                self._registry_effect(vw, ev)
                vw.change(Stage.development, registryStatus=ev.status.value, registryModifiedAt=ev.modified_ms,
                          registryLifeCycle=_dump(ev.lifecycle))
                outcome = Outcome("written", f"{ev.group}/{ev.version}: registry status {ev.status.value} applied")
            try:
                self.store.transact(vw.ops())
                return outcome
            except TransactionConflict:
                continue
        raise RuntimeError(f"{ev.group}/{ev.version}: kept losing write races; EventBridge will retry")

    def _register(self, vw: VersionWrite, ev: Any, gc: GroupConfig, mirror: Mapping[str, Any]) -> None:
        at = iso_millis(ev.created_ms)
        actor = ev.created_by or REGISTRY
        item = self._new_record(
            group=ev.group, version=ev.version, stage=Stage.development, status=Status.pending, at=at, actor=actor,
            use_case_id=gc.use_case_id, use_case_name=gc.use_case_name or mirror.get("useCaseName") or gc.use_case_id,
            use_case_stage=mirror.get("useCaseStage", UseCaseStage.POC.value), owner=gc.owner, lob=gc.line_of_business,
            project=gc.project, risk=gc.risk.value, arn=ev.arn, registered_by=ev.created_by,
        )
        vw.create(Stage.development, item)
        vw.audit(at=at, event_id=f"registered-v{ev.version:06d}", action="register", actor=actor, source=REGISTRY,
                 stage=Stage.development.value, from_state="", to_state=Status.pending.value, detail={"modelPackageArn": ev.arn})

    def _registry_effect(self, vw: VersionWrite, ev: Any) -> None:
        """A registry approval-status change: rejections are honoured, approvals made outside governance are not."""
        at = iso_millis(ev.modified_ms)
        actor = ev.modified_by or REGISTRY
        records = {s: parse_record(i) for s, i in self._effective(vw).items() if i is not None}
        stage = rules.current_stage(records)
        if ev.status is RegistryStatus.rejected:
            try:
                tr = rules.transition(records, stage, Action.reject)
            except Conflict as exc:
                vw.audit(at=at, event_id=ev.event_id, action="registry-rejected-noted", actor=actor, source=REGISTRY,
                         stage=stage.value, reason=f"rejected in the model registry; not applicable: {exc.message}")
                return
            self._apply(vw, records, tr, at=at, actor=actor, reason="rejected in the model registry", stage=stage)
            vw.audit(at=at, event_id=ev.event_id, action="reject", actor=actor, source=REGISTRY, stage=stage.value,
                     from_state=records[stage].status.value, to_state=Status.rejected.value if stage is not Stage.development else Status.pending.value,
                     reason="rejected in the model registry", detail={"changes": {s.value: v.value for s, v in tr.changes.items()}})
        elif ev.status is RegistryStatus.approved:
            prod = records.get(Stage.production)
            if prod is not None and prod.status is Status.approved:
                vw.audit(at=at, event_id=ev.event_id, action="registry-approved", actor=actor, source=REGISTRY,
                         stage=Stage.production.value, reason="the registry shows the governance approval")
            else:
                log.warning("registry approval of %s/%s made outside governance is not honoured", vw.group, vw.version)
                vw.audit(at=at, event_id=ev.event_id, action="registry-approval-ignored", actor=actor, source=REGISTRY,
                         stage=stage.value, reason="approved in the model registry outside governance; governance status unchanged")
        else:
            vw.audit(at=at, event_id=ev.event_id, action="registry-pending", actor=actor, source=REGISTRY, stage=stage.value,
                     reason="the registry status went back to PendingManualApproval; governance status unchanged")

    @staticmethod
    def _effective(vw: VersionWrite) -> dict[Stage, dict[str, Any] | None]:
        out = {}
        for s in STAGES:
            item = vw.creates.get(s) or vw.items.get(s)
            if item is not None:
                item = {**item, **vw.sets.get(s, {})}
                item.setdefault(schema.REV, 0)
            out[s] = item
        return out

    def _new_record(self, *, group: str, version: int, stage: Stage, status: Status, at: str, actor: str, use_case_id: str,
                    use_case_name: str, use_case_stage: str, owner: str, lob: str, project: str, risk: str, arn: str,
                    registered_by: str | None) -> dict[str, Any]:
        pk, sk = record_key(group, version, stage)
        return {
            schema.PK: pk, schema.SK: sk,
            schema.USE_CASE_ID: use_case_id, schema.USE_CASE_NAME: use_case_name, schema.USE_CASE_STAGE: use_case_stage,
            schema.MODEL_GROUP: group, schema.MODEL_VERSION: version, schema.MODEL_OWNER: owner,
            schema.MODEL_LINE_OF_BUSINESS: lob, schema.MODEL_PROJECT: project, schema.MODEL_STAGE: stage.value,
            schema.MODEL_STATUS: status.value, schema.MODEL_RISK: risk,
            schema.AUDIT_TIMESTAMP: at, schema.AUDIT_USER: actor, schema.MODEL_PACKAGE_ARN: arn,
            "registeredBy": registered_by, "approvals": [],
            schema.BY_STAGE_STATUS.partition_key: schema.stage_status_key(stage.value, status.value),
            schema.BY_STAGE_STATUS.sort_key: schema.stage_record_gsi1sk(at, group, version),
            schema.BY_USE_CASE.partition_key: schema.use_case_pk(use_case_id),
            schema.BY_USE_CASE.sort_key: schema.stage_record_gsi2sk(group, version, stage.value),
        }

    def _apply(self, vw: VersionWrite, records: Mapping[Stage, StageRecord], tr: rules.Transition, *, at: str, actor: str,
               reason: str, stage: Stage, use_case_stage: str | None = None) -> None:
        """Write a transition's status changes: new records copy the version's attributes from development."""
        dev_item = vw.creates.get(Stage.development) or vw.items[Stage.development]
        for s, new in tr.changes.items():
            extra: dict[str, Any] = {}
            if new in (Status.pending, Status.rejected):
                extra["approvals"] = []
            if use_case_stage is not None:
                extra[schema.USE_CASE_STAGE] = use_case_stage
            if s in records or s in vw.creates:
                vw.set_status(s, new, at=at, actor=actor, **extra)
            else:
                item = self._new_record(
                    group=vw.group, version=vw.version, stage=s, status=new, at=at, actor=actor,
                    use_case_id=dev_item[schema.USE_CASE_ID], use_case_name=dev_item[schema.USE_CASE_NAME],
                    use_case_stage=use_case_stage or dev_item[schema.USE_CASE_STAGE], owner=dev_item[schema.MODEL_OWNER],
                    lob=dev_item[schema.MODEL_LINE_OF_BUSINESS], project=dev_item[schema.MODEL_PROJECT],
                    risk=dev_item[schema.MODEL_RISK], arn=dev_item[schema.MODEL_PACKAGE_ARN], registered_by=dev_item.get("registeredBy"),
                )
                vw.create(s, item)
        if reason:
            touch = {} if Stage.development in tr.changes else _touch(vw, at, actor)
            vw.change(Stage.development, lastRejection=_dump({"stage": stage.value, "reason": reason, "by": actor, "at": at}), **touch)

    # ------------------------------------------------------------------ member reports

    def member_report(self, event: Any) -> Outcome:
        """Apply a `Model Deployed` / `Model Metrics` report from a member account; BadInput if malformed."""
        ev = parse_member_event(event)
        for _ in range(MAX_ATTEMPTS):
            raw = self.store.batch_get(version_keys(ev.group, ev.version))
            items = {s: raw.get(record_key(ev.group, ev.version, s)) for s in STAGES}
            item = items[ev.stage]
            if item is None:
                return Outcome("rejected", f"{ev.group}/{ev.version} has no {ev.stage.value} record to report on")
            records = {s: parse_record(i) for s, i in items.items() if i is not None}
            record = records[ev.stage]
            vw = VersionWrite(ev.group, ev.version, items)
            at = iso_millis(ev.reported_ms)
            actor = f"account:{ev.account}"
            where = {"endpointName": ev.endpoint, "account": ev.account, **({"variantName": ev.variant} if ev.variant else {})}
            if ev.kind == DEPLOYED:
                if record.status in (Status.deployed, Status.approved, Status.retired):
                    return Outcome("duplicate", f"{ev.group}/{ev.version} is already {record.status.value} in {ev.stage.value}")
                try:
                    tr = rules.transition(records, ev.stage, Action.deploy)
                except Conflict as exc:
                    return Outcome("rejected", f"{ev.group}/{ev.version}: deployment report refused: {exc.message}")
                vw.set_status(ev.stage, tr.changes[ev.stage], at=at, actor=actor, endpointName=ev.endpoint)
                vw.audit(at=at, event_id=ev.event_id, action="deploy", actor=actor, source="member", stage=ev.stage.value,
                         from_state=record.status.value, to_state=Status.deployed.value, detail=where)
            else:
                if record.status not in (Status.deployed, Status.approved):
                    return Outcome("rejected", f"{ev.group}/{ev.version} is {record.status.value} in {ev.stage.value}; "
                                               "monitoring metrics are for deployed versions")
                if record.monitoring_reported_at is not None and ev.reported_ms <= int(record.monitoring_reported_at):
                    return Outcome("stale", f"{ev.group}/{ev.version}: metrics of {at} are not newer than the ones recorded")
                monitoring = {**where, "metrics": ev.metrics, "reportedAt": at}
                vw.change(ev.stage, **{schema.MONITORING_METRICS: _dump(monitoring), "monitoringReportedAt": ev.reported_ms,
                                       schema.AUDIT_TIMESTAMP: at, schema.AUDIT_USER: actor})
                vw.audit(at=at, event_id=ev.event_id, action="monitoring-metrics", actor=actor, source="member",
                         stage=ev.stage.value, from_state=record.status.value, to_state=record.status.value, detail=where)
            try:
                self.store.transact(vw.ops())
                return Outcome("written", f"{ev.group}/{ev.version} {ev.stage.value}: {ev.kind} recorded")
            except TransactionConflict:
                continue
        raise RuntimeError(f"{ev.group}/{ev.version}: kept losing write races; EventBridge will retry")

    # ------------------------------------------------------------------ decisions

    def decide(self, use_case_id: str, group: str, version: Any, body: Any, caller: str | None) -> dict[str, Any]:
        """Approve, reject or retire a version at a stage (API); raises the GovernanceError the caller gets."""
        use_case_id, group, version = check_use_case_id(use_case_id), check_group(group), check_version(version)
        stage, action, reason, expected_rev = parse_decision(body)
        caller = require_caller(caller)
        base_rev: int | None = None
        for attempt in range(MAX_ATTEMPTS):
            raw = self.store.batch_get([uc_config_key(use_case_id), uc_state_key(use_case_id), group_config_key(group),
                                        *version_keys(group, version)])
            uc, gc = self._use_case_and_group(raw, use_case_id, group)
            state = parse_state(raw.get(uc_state_key(use_case_id)))
            items = {s: raw.get(record_key(group, version, s)) for s in STAGES}
            if items[Stage.development] is None:
                raise NotFound(f"model version {group}/{version} is not registered")
            records = {s: parse_record(i) for s, i in items.items() if i is not None}
            record = records.get(stage)
            rev = record.rev if record else None
            if attempt == 0:
                base_rev = rev
                if expected_rev is not None and rev != expected_rev:
                    raise Conflict(f"stale: the {stage.value} record is at rev {rev}, not {expected_rev}")
            elif rev != base_rev:
                raise Conflict(f"stale: the {stage.value} record changed while this decision was being made")
            high = rules.is_high_risk(uc.risk_tier, gc.risk)
            rules.check_decider(approvers=self.approvers, stage=stage, action=action, caller=caller,
                                registered_by=records[Stage.development].registered_by, high_risk=high,
                                prior_approvals=record.approvals if record else ())
            tr = rules.transition(records, stage, action)
            if action is Action.approve:
                metrics = record.validation_metrics
                if metrics is None and stage is Stage.production and Stage.test in records:
                    metrics = records[Stage.test].validation_metrics
                rules.check_high_risk_metrics(stage=stage, high_risk=high, thresholds=uc.thresholds, metrics=metrics)
            at = self._now()
            vw = VersionWrite(group, version, items)
            ucw = UseCaseWrite(uc, state)
            approvals = [*record.approvals, caller] if record else [caller]
            partial = action is Action.approve and len(approvals) < rules.required_approvers(stage, high)
            mirror: str | None = None
            if partial:
                vw.change(stage, approvals=approvals, **{schema.AUDIT_TIMESTAMP: at, schema.AUDIT_USER: caller})
                vw.audit(at=at, event_id=uuid.uuid4().hex, action="approve-partial", actor=caller, source="api", stage=stage.value,
                         from_state=record.status.value, to_state=record.status.value, reason=reason,
                         detail={"approvals": len(approvals), "required": rules.required_approvers(stage, high)})
            else:
                if tr.approved_stage is not None and state.stage is not UseCaseStage.RETIRED:
                    ucw.approve_group(tr.approved_stage, group)
                    new_stage = rules.advance_use_case(state.stage, ucw.approved, uc.groups)
                    ucw.move(new_stage, at=at, actor=caller, source="api", action="advance",
                             reason=f"every model of the use case is approved in the stage before ({group}/{version} at {stage.value})")
                self._apply(vw, records, tr, at=at, actor=caller, reason=reason if action is Action.reject else "", stage=stage,
                            use_case_stage=ucw.stage.value)
                if action is Action.approve:
                    vw.change(stage, approvals=approvals)
                if action is Action.approve and stage is Stage.production:
                    mirror = RegistryStatus.approved.value
                elif action is Action.reject:
                    mirror = RegistryStatus.rejected.value
                if mirror:
                    # after every registry change seen so far, even if the registry's clock runs ahead of ours
                    seen = int(items[Stage.development].get("registryModifiedAt", 0))
                    vw.change(Stage.development, registryStatus=mirror, registryModifiedAt=max(self.clock(), seen + 1),
                              **({} if Stage.development in tr.changes else _touch(vw, at, caller)))
                vw.audit(at=at, event_id=uuid.uuid4().hex, action=action.value, actor=caller, source="api", stage=stage.value,
                         from_state=record.status.value, to_state=tr.changes.get(stage, record.status).value, reason=reason,
                         detail={"changes": {s.value: v.value for s, v in tr.changes.items()}, "approvals": approvals if action is Action.approve else []})
            ops = vw.ops()
            if ucw.changed():
                ops += ucw.ops(at=at, actor=caller)
            try:
                self.store.transact(ops)
            except TransactionConflict:
                continue
            result: dict[str, Any] = {
                "modelGroup": group, "modelVersion": version, "stage": stage.value, "action": action.value,
                "status": vw.status(stage).value, "approvals": len(approvals) if action is Action.approve else 0,
                "useCaseStage": ucw.stage.value,
            }
            if partial:
                result["pending"] = f"{rules.required_approvers(stage, high) - len(approvals)} more approval(s) needed"
            if mirror:
                result["registry"] = self._mirror(items[Stage.development][schema.MODEL_PACKAGE_ARN], mirror, caller, action, reason)
            return result
        raise Conflict("the version kept changing while this decision was being made; read it again and retry")

    def _mirror(self, arn: str, status: str, caller: str, action: Action, reason: str) -> dict[str, Any]:
        """Mirror the decision to the registry; the decision stands even if this fails (logged as an error)."""
        description = f"{action.value}d by {caller} through mlgov" + (f": {reason}" if reason else "")
        if self.sagemaker is None:
            return {"status": status, "updated": False, "error": "no SageMaker client configured"}
        try:
            self.sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus=status,
                                                ApprovalDescription=description[:1024])
            return {"status": status, "updated": True}
        except Exception as exc:  # the governance decision is committed; surface the mirror failure loudly
            log.error("registry mirror of %s to %s failed: %s", arn, status, exc)
            return {"status": status, "updated": False, "error": str(exc)[:300]}

    def _use_case_and_group(self, raw: Mapping[Key, dict[str, Any]], use_case_id: str, group: str) -> tuple[UseCaseConfig, GroupConfig]:
        uc_item = raw.get(uc_config_key(use_case_id))
        if uc_item is None:
            raise NotFound(f"use case {use_case_id!r} is not onboarded")
        gc_item = raw.get(group_config_key(group))
        if gc_item is None or gc_item.get("useCaseId") != use_case_id:
            raise NotFound(f"model group {group!r} is not part of use case {use_case_id!r}")
        return parse_use_case_config(uc_item), parse_group_config(gc_item)

    def decide_use_case(self, use_case_id: str, body: Any, caller: str | None) -> dict[str, Any]:
        """The explicit use case decisions: approve a POC into DEVELOPMENT (approvers), retire (officers)."""
        use_case_id = check_use_case_id(use_case_id)
        if not isinstance(body, Mapping):
            raise BadInput("the body must be a JSON object")
        _only(body, {"action", "reason"})
        action = body.get("action")
        if action not in ("approve", "retire"):
            raise BadInput(f"use case action {action!r} is invalid; allowed: approve, retire")
        reason = _reason(body.get("reason"), required=action == "retire")
        caller = require_caller(caller)
        for _ in range(MAX_ATTEMPTS):
            raw = self.store.batch_get([uc_config_key(use_case_id), uc_state_key(use_case_id)])
            uc_item = raw.get(uc_config_key(use_case_id))
            if uc_item is None:
                raise NotFound(f"use case {use_case_id!r} is not onboarded")
            uc = parse_use_case_config(uc_item)
            state = parse_state(raw.get(uc_state_key(use_case_id)))
            approvers = self.approvers
            if action == "retire" and not approvers.is_officer(caller):
                raise Forbidden("only a governance officer retires a use case")
            if action == "approve" and not approvers.may_decide(Stage.development, caller):
                raise Forbidden(f"{caller} is not an approver for development")
            new = rules.use_case_decision(state.stage, action)
            at = self._now()
            ucw = UseCaseWrite(uc, state)
            ucw.move(new, at=at, actor=caller, source="api", reason=reason, action=action)
            if new is UseCaseStage.DEVELOPMENT:
                ucw.move(rules.advance_use_case(new, ucw.approved, uc.groups), at=at, actor=caller, source="api", action="advance",
                         reason="every model of the use case is already approved in the stage before")
            try:
                self.store.transact(ucw.ops(at=at, actor=caller))
            except TransactionConflict:
                continue
            return {"useCaseId": use_case_id, "stage": ucw.stage.value, "stageStatus": rules.stage_status(ucw.stage)}
        raise Conflict("the use case kept changing while this decision was being made; retry")

    # ------------------------------------------------------------------ metrics through the API

    def record_metrics(self, use_case_id: str, group: str, version: Any, body: Any, caller: str | None) -> dict[str, Any]:
        """Validation metrics (approval evidence) or monitoring metrics (with their endpoint) for a stage record."""
        use_case_id, group, version = check_use_case_id(use_case_id), check_group(group), check_version(version)
        if not isinstance(body, Mapping):
            raise BadInput("the body must be a JSON object")
        _only(body, {"kind", "stage", "metrics", "endpointName", "variantName"})
        kind = body.get("kind")
        if kind not in ("validation", "monitoring"):
            raise BadInput(f"kind {kind!r} is invalid; allowed: validation, monitoring")
        stage = check_stage(body.get("stage"))
        metrics = check_metrics(body.get("metrics"))
        endpoint = variant = None
        if kind == "monitoring":
            if body.get("endpointName") is None:
                raise BadInput("endpointName is required for monitoring metrics")
            endpoint = check_endpoint(body.get("endpointName"))
            variant = body.get("variantName")
            if variant is not None and (not isinstance(variant, str) or not VARIANT_RE.match(variant)):
                raise BadInput(f"variantName {variant!r} is invalid")
        elif body.get("endpointName") is not None or body.get("variantName") is not None:
            raise BadInput("endpointName and variantName belong to monitoring metrics")
        caller = require_caller(caller)
        for _ in range(MAX_ATTEMPTS):
            raw = self.store.batch_get([group_config_key(group), *version_keys(group, version)])
            gc_item = raw.get(group_config_key(group))
            if gc_item is None or gc_item.get("useCaseId") != use_case_id:
                raise NotFound(f"model group {group!r} is not part of use case {use_case_id!r}")
            items = {s: raw.get(record_key(group, version, s)) for s in STAGES}
            if items[Stage.development] is None:
                raise NotFound(f"model version {group}/{version} is not registered")
            if items[stage] is None:
                raise Conflict(f"{group}/{version} has no {stage.value} record yet")
            record = parse_record(items[stage])
            allowed = (Status.pending, Status.deployed) if kind == "validation" else (Status.deployed, Status.approved)
            if record.status not in allowed:
                raise Conflict(f"{kind} metrics are recorded while the record is {' or '.join(s.value for s in allowed)}; "
                               f"it is {record.status.value}")
            at = self._now()
            vw = VersionWrite(group, version, items)
            if kind == "validation":
                vw.change(stage, **{schema.VALIDATION_METRICS: _dump(metrics), schema.AUDIT_TIMESTAMP: at, schema.AUDIT_USER: caller})
                detail: dict[str, Any] = {"metrics": sorted(metrics)}
            else:
                ms = self.clock()
                monitoring = {"endpointName": endpoint, "metrics": metrics, "reportedAt": at, **({"variantName": variant} if variant else {})}
                vw.change(stage, **{schema.MONITORING_METRICS: _dump(monitoring), "monitoringReportedAt": ms,
                                    schema.AUDIT_TIMESTAMP: at, schema.AUDIT_USER: caller})
                detail = {"endpointName": endpoint, "metrics": sorted(metrics)}
            vw.audit(at=at, event_id=uuid.uuid4().hex, action=f"{kind}-metrics", actor=caller, source="api", stage=stage.value,
                     from_state=record.status.value, to_state=record.status.value, detail=detail)
            try:
                self.store.transact(vw.ops())
            except TransactionConflict:
                continue
            return {"modelGroup": group, "modelVersion": version, "stage": stage.value, "kind": kind, "recorded": True}
        raise Conflict("the version kept changing; retry")

    # ------------------------------------------------------------------ reads

    def list_use_cases(self, *, limit: Any = None, token: str | None = None) -> dict[str, Any]:
        partition = (schema.BY_STAGE_STATUS.partition_key, schema.USE_CASE_CATALOG)
        items, last = self.store.query(partition=partition, index=schema.BY_STAGE_STATUS, limit=_limit(limit),
                                       start=decode_token(token, partition=partition))
        ids = [i["useCaseId"] for i in items]
        states = self.store.batch_get([uc_state_key(u) for u in ids]) if ids else {}
        out = []
        for item in items:
            state = parse_state(states.get(uc_state_key(item["useCaseId"])))
            out.append({**_use_case_view(item), "stage": state.stage.value, "stageStatus": rules.stage_status(state.stage)})
        return {"useCases": out, "next": encode_token(last)}

    def get_use_case(self, use_case_id: str, *, limit: Any = None, token: str | None = None) -> dict[str, Any]:
        use_case_id = check_use_case_id(use_case_id)
        raw = self.store.batch_get([uc_config_key(use_case_id), uc_state_key(use_case_id)])
        uc_item = raw.get(uc_config_key(use_case_id))
        if uc_item is None:
            raise NotFound(f"use case {use_case_id!r} is not onboarded")
        state = parse_state(raw.get(uc_state_key(use_case_id)))
        partition = (schema.BY_USE_CASE.partition_key, schema.use_case_pk(use_case_id))
        items, last = self.store.query(partition=partition, index=schema.BY_USE_CASE, sort_prefix="MODEL#", limit=_limit(limit),
                                       start=decode_token(token, partition=partition))
        return {
            **_use_case_view(uc_item), "stage": state.stage.value, "stageStatus": rules.stage_status(state.stage),
            "approved": {k: list(v) for k, v in state.approved.items()},
            "models": [record_view(i, state.stage.value) for i in items], "next": encode_token(last),
        }

    def queue(self, *, stage: Any, status: Any, limit: Any = None, token: str | None = None) -> dict[str, Any]:
        stage = check_stage(stage)
        try:
            status = Status(status)
        except ValueError:
            raise BadInput(f"status {status!r} is invalid; allowed: {', '.join(s.value for s in Status)}") from None
        partition = (schema.BY_STAGE_STATUS.partition_key, schema.stage_status_key(stage.value, status.value))
        items, last = self.store.query(partition=partition, index=schema.BY_STAGE_STATUS, limit=_limit(limit),
                                       start=decode_token(token, partition=partition))
        return {"stage": stage.value, "status": status.value, "items": [record_view(i) for i in items], "next": encode_token(last)}

    def get_version(self, use_case_id: str, group: str, version: Any) -> dict[str, Any]:
        use_case_id, group, version = check_use_case_id(use_case_id), check_group(group), check_version(version)
        raw = self.store.batch_get([group_config_key(group), uc_state_key(use_case_id), *version_keys(group, version)])
        gc_item = raw.get(group_config_key(group))
        if gc_item is None or gc_item.get("useCaseId") != use_case_id:
            raise NotFound(f"model group {group!r} is not part of use case {use_case_id!r}")
        items = {s: raw.get(record_key(group, version, s)) for s in STAGES}
        if items[Stage.development] is None:
            raise NotFound(f"model version {group}/{version} is not registered")
        state = parse_state(raw.get(uc_state_key(use_case_id)))
        records = {s: parse_record(i) for s, i in items.items() if i is not None}
        return {
            "modelGroup": group, "modelVersion": version, "useCaseId": use_case_id, "useCaseStage": state.stage.value,
            "currentStage": rules.current_stage(records).value,
            "registryStatus": items[Stage.development].get("registryStatus"),
            "records": [record_view(i, state.stage.value) for s, i in items.items() if i is not None],
        }

    def audit_page(self, use_case_id: str, group: str | None = None, version: Any = None, *, limit: Any = None,
                   token: str | None = None) -> dict[str, Any]:
        query = self._audit_query(use_case_id, group, version)
        partition = (schema.PK, query["partition"][1])
        items, last = self.store.query(limit=_limit(limit), start=decode_token(token, partition=partition), **query)
        return {"entries": [audit_view(i) for i in items], "next": encode_token(last)}

    def verify_trail(self, use_case_id: str, group: str | None = None, version: Any = None) -> dict[str, Any]:
        query = self._audit_query(use_case_id, group, version)
        entries = self.store.query_all(**query)
        if group is None:
            head = parse_state(self.store.batch_get([uc_state_key(use_case_id)]).get(uc_state_key(use_case_id)))
            result = audit.verify(entries, head_seq=head.chain_seq, head_hash=head.chain_hash)
        else:
            dev = self.store.batch_get([record_key(group, int(version), Stage.development)]).get(record_key(group, int(version), Stage.development))
            result = audit.verify(entries, head_seq=int(dev.get("chainSeq", 0)) if dev else 0, head_hash=dev.get("chainHash") if dev else None)
        return result.as_dict()

    def _audit_query(self, use_case_id: str, group: str | None, version: Any) -> dict[str, Any]:
        use_case_id = check_use_case_id(use_case_id)
        if group is None:
            raw = self.store.batch_get([uc_config_key(use_case_id)])
            if not raw:
                raise NotFound(f"use case {use_case_id!r} is not onboarded")
            return {"partition": (schema.PK, schema.use_case_pk(use_case_id)), "sort_prefix": schema.AUDIT_PREFIX}
        group, version = check_group(group), check_version(version)
        raw = self.store.batch_get([group_config_key(group), record_key(group, version, Stage.development)])
        gc_item = raw.get(group_config_key(group))
        if gc_item is None or gc_item.get("useCaseId") != use_case_id:
            raise NotFound(f"model group {group!r} is not part of use case {use_case_id!r}")
        if record_key(group, version, Stage.development) not in raw:
            raise NotFound(f"model version {group}/{version} is not registered")
        return {"partition": (schema.PK, schema.model_pk(group)), "sort_prefix": schema.AUDIT_PREFIX,
                "filter_eq": {schema.MODEL_VERSION: version}}


def _touch(vw: VersionWrite, at: str, actor: str) -> dict[str, Any]:
    return {schema.AUDIT_TIMESTAMP: at, schema.AUDIT_USER: actor}


# --- request parsing and views ---

def require_caller(caller: Any) -> str:
    if not isinstance(caller, str) or principal_key(caller) is None:
        raise Forbidden("no IAM caller identity on the request; the API requires IAM authorization")
    return caller


def _only(body: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise BadInput(f"unknown field(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(sorted(allowed))}")


def _reason(value: Any, *, required: bool) -> str:
    if value is None:
        if required:
            raise BadInput("a reason is required")
        return ""
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > MAX_REASON:
        raise BadInput(f"reason must be a non-empty string of at most {MAX_REASON} characters")
    return value.strip()


def parse_decision(body: Any) -> tuple[Stage, Action, str, int | None]:
    if not isinstance(body, Mapping):
        raise BadInput("the body must be a JSON object")
    _only(body, {"stage", "action", "reason", "expectedRev"})
    stage = check_stage(body.get("stage"))
    action_raw = body.get("action")
    if action_raw not in ("approve", "reject", "retire"):
        raise BadInput(f"action {action_raw!r} is invalid; allowed: approve, reject, retire")
    action = Action(action_raw)
    reason = _reason(body.get("reason"), required=action is not Action.approve)
    expected = body.get("expectedRev")
    if expected is not None and (isinstance(expected, bool) or not isinstance(expected, int) or expected < 0):
        raise BadInput("expectedRev must be a non-negative integer")
    return stage, action, reason, expected


def _limit(value: Any) -> int:
    if value is None or value == "":
        return 50
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 3:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
        raise BadInput("limit must be a whole number from 1 to 100")
    return value


def _use_case_view(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: item.get(k) for k in ("useCaseId", "name", "riskTier", "owner", "lineOfBusiness", "project", "modelGroups", "thresholds")}


def record_view(item: Mapping[str, Any], use_case_stage: str | None = None) -> dict[str, Any]:
    """A stage record as the API shows it: the 15 governance attributes (metrics as JSON), ARN, rev."""
    out: dict[str, Any] = {k: item.get(k) for k in schema.GOVERNANCE_ATTRIBUTES}
    out[schema.VALIDATION_METRICS] = _json(item.get(schema.VALIDATION_METRICS))
    out[schema.MONITORING_METRICS] = _json(item.get(schema.MONITORING_METRICS))
    if use_case_stage is not None:
        out[schema.USE_CASE_STAGE] = use_case_stage
    out[schema.MODEL_PACKAGE_ARN] = item.get(schema.MODEL_PACKAGE_ARN)
    out[schema.REV] = item.get(schema.REV)
    out["approvals"] = item.get("approvals") or []
    if item.get("lastRejection"):
        out["lastRejection"] = _json(item["lastRejection"])
    return out


def audit_view(item: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: item.get(k) for k in audit.HASHED_FIELDS}
    out["detail"] = _json(item.get("detail"))
    out["hash"] = item.get("hash")
    return out
