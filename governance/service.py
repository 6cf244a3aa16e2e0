"""The governance operations: registry sync, decisions, metrics, queries and audit trails.

Each operation reads what it needs by key in one call (BatchGetItem), asks `rules` what may happen,
and writes the result as one TransactWriteItems (`writes`): the changed records guarded by `rev` and
their from-status, the version's chain head guarded by its sequence number, and the audit entries. A
write that loses a race is re-read (`with_retries`); if the record itself moved on, the caller is told
(409), otherwise the operation is planned again on the fresh state.
"""
from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable

from . import mirror as registry
from . import compliance, lifecycle, monitoring, rules, schema, views
from .domain import Action, Approvers, Conflict, GroupConfig, RegistryStatus, Stage, Status, UseCaseStage
from .domain import check_group, check_use_case_id, check_version
from .events import METRICS, IGNORED_PACKAGE_STATUSES, Clock, iso_millis, parse_member_event, parse_registry_event
from .evidence import PROVENANCE, Evidence, report_refusal
from .records import dump_json, group_config_key, group_of_use_case, hub_key, mirror_key, new_record, parse_group_config
from .records import parse_record, parse_records, parse_state, parse_use_case_config, registered_items, uc_config_key
from .records import uc_state_key, use_case_config, version_items, version_keys
from .api_models import VALIDATION, MetricsReport, ModelDecision, UseCaseDecision
from .requests import require_caller
from .store import Store
from .writes import UseCaseWrite, VersionWrite, stamp, with_retries

log = logging.getLogger("governance")

REGISTRY = "registry"


@dataclass(frozen=True)
class Outcome:
    """What an event did: `written`, or why it wrote nothing (`duplicate`, `stale`, `ignored`, `rejected`).

    `fault` names a refusal operators are alerted to (`provenance`), beyond the event being malformed.
    """

    result: str
    message: str
    fault: str | None = None

    @property
    def wrote(self) -> bool:
        return self.result == "written"


def _now_ms() -> int:
    return int(time.time() * 1000)


def _registry_fields(ev: Any, shown: Any) -> dict[str, Any]:
    """The registry as the record last set it (`shown`), as of the event's change (later events are judged against it)."""
    return {schema.REGISTRY_STATUS: shown.approval, schema.REGISTRY_MODIFIED_AT: ev.modified_ms,
            schema.REGISTRY_LIFECYCLE: dump_json(shown.lifecycle())}


class Governance:
    def __init__(self, store: Store, sagemaker: Any = None, approvers: Callable[[], Approvers] | Approvers = Approvers(),
                 clock: Callable[[], int] = _now_ms, registry_writers: tuple[str, ...] = (),
                 evidence: Callable[[], Evidence] | Evidence = Evidence()):
        self.store = store
        self.sagemaker = sagemaker
        self._approvers = approvers
        self.clock = clock
        self.registry_writers = registry_writers
        self._evidence = evidence

    @property
    def evidence(self) -> Evidence:
        return self._evidence() if callable(self._evidence) else self._evidence

    def _event_clock(self) -> Clock:
        return Clock(self.clock(), self.evidence.max_skew_ms)

    @property
    def approvers(self) -> Approvers:
        return self._approvers() if callable(self._approvers) else self._approvers

    def _now(self) -> str:
        return iso_millis(self.clock())

    # ------------------------------------------------------------------ registry sync

    def sync_registry_event(self, event: Any) -> Outcome:
        """Apply one `SageMaker Model Package State Change`; BadInput for a malformed event (nothing read or written)."""
        ev = parse_registry_event(event, self._event_clock())
        hub = self.evidence.hub
        if fault := hub.provenance_fault(ev, None):
            return Outcome("rejected", f"provenance fault: {fault}", PROVENANCE)
        if ev.package_status in IGNORED_PACKAGE_STATUSES:
            return Outcome("ignored", f"{ev.group}/{ev.version}: package status {ev.package_status} is not a registered version")

        def attempt(_: int) -> tuple[list | None, Outcome]:
            raw = self.store.batch_get([group_config_key(ev.group), mirror_key(ev.group), hub_key(), *version_keys(ev.group, ev.version),
                                        registry.marker_key(ev.group, ev.version)])
            gc_item = raw.get(group_config_key(ev.group))
            if gc_item is None:
                return None, Outcome("rejected", f"model group {ev.group!r} is not onboarded (no {schema.group_pk(ev.group)}/"
                                                 f"{schema.CONFIG_SK} item)")
            items = version_items(raw, ev.group, ev.version)
            vw = VersionWrite(ev.group, ev.version, items)
            dev = items[Stage.development]
            if dev is not None and (fault := hub.provenance_fault(ev, dev.get(schema.MODEL_PACKAGE_ARN))):
                return None, Outcome("rejected", f"provenance fault: {fault}", PROVENANCE)

            # The registry write (lifecycle, card, or setting an outside change back) is queued in the same transaction
            # for the repair pass: a sync event stays at one read, one signature and one write.
            def queued(why: str) -> Any:
                use_case_id = (vw.effective()[Stage.development] or {}).get(schema.USE_CASE_ID)
                return registry.queue(ev.group, ev.version, use_case_id, at=self._now(), why=why)

            if dev is None:
                self._register(vw, ev, parse_group_config(gc_item), raw.get(mirror_key(ev.group)) or {},
                               compliance.assess(event, created_by=ev.created_by, hub=raw.get(hub_key())))
                want = registry.desired(vw.effective())
                if ev.status is not RegistryStatus.pending or (ev.lifecycle is not None and not want.shown_by(ev.status.value, ev.lifecycle)):
                    self._registry_effect(vw, ev, want)
                    vw.create_rev[Stage.development] = 2  # as if registered, then changed: order-independent revs
                vw.change(Stage.development, **_registry_fields(ev, want))
                return vw.ops() + [queued("registered: lifecycle and model card")], Outcome(
                    "written", f"{ev.group}/{ev.version} registered in development (registry: {ev.status.value})")
            want = registry.desired(items)
            if want.shown_by(ev.status.value, ev.lifecycle):
                return None, Outcome("duplicate", f"{ev.group}/{ev.version}: the registry shows the record's state "
                                                  f"({ev.status.value}); nothing to do")
            stored_ms = int(dev.get(schema.REGISTRY_MODIFIED_AT, 0))
            if ev.modified_ms <= stored_ms:
                return None, Outcome("stale", f"{ev.group}/{ev.version}: event from {iso_millis(ev.modified_ms)} is older than the "
                                              f"recorded registry change of {iso_millis(stored_ms)}")
            if registry.is_governance(ev.modified_by, self.registry_writers):
                return [queued("an earlier registry write of governance's")], Outcome(
                    "duplicate", f"{ev.group}/{ev.version}: an earlier registry write of governance's; the registry is rewritten "
                                 "from the record")
            self._registry_effect(vw, ev, want)
            vw.change(Stage.development, **_registry_fields(ev, want))
            return vw.ops() + [queued("set back after an outside change")], Outcome(
                "written", f"{ev.group}/{ev.version}: registry change to {ev.status.value} made outside governance recorded, "
                           "not applied; the registry is set back to the record by the repair pass")

        return with_retries(self.store, attempt,
                            lambda: RuntimeError(f"{ev.group}/{ev.version}: kept losing write races; EventBridge will retry"))

    def repair_registry(self, event: Any = None) -> Outcome:
        """The scheduled pass over failed registry writes (`mirror.repair`); `event` is the schedule's, unused."""
        done = registry.repair(self.store, self.sagemaker, at=self._now())
        if not done["failed"]:
            return Outcome("ignored", "no failed registry write to repair")
        return Outcome("written", f"registry rewritten from the record for {done['repaired']} of {done['failed']} version(s)")

    def _register(self, vw: VersionWrite, ev: Any, gc: GroupConfig, mirror: dict[str, Any], found: dict[str, Any] | None = None) -> None:
        at = iso_millis(ev.created_ms)
        actor = ev.created_by or REGISTRY
        item = new_record(
            group=ev.group, version=ev.version, stage=Stage.development, status=Status.pending, at=at, actor=actor,
            use_case_id=gc.use_case_id, use_case_name=gc.use_case_name or mirror.get(schema.USE_CASE_NAME) or gc.use_case_id,
            use_case_stage=mirror.get(schema.USE_CASE_STAGE, UseCaseStage.POC.value), owner=gc.owner, lob=gc.line_of_business,
            project=gc.project, risk=gc.risk.value, arn=ev.arn, registered_by=ev.created_by,
        )
        detail = {schema.MODEL_PACKAGE_ARN: ev.arn}
        if ev.mlflow_run_id is not None:
            item[schema.MLFLOW_RUN_ID] = detail[schema.MLFLOW_RUN_ID] = ev.mlflow_run_id
        if found is not None:
            item[schema.COMPLIANCE], detail[schema.COMPLIANCE] = dump_json(found), found
            if not found["compliant"]:
                log.warning("%s/%s registered non-compliant: %s", ev.group, ev.version, "; ".join(found["problems"]))
        why = rules.unidentified_registrant(ev.created_by)
        if why:
            item[schema.APPROVAL_RULE] = detail[schema.APPROVAL_RULE] = why
        vw.create(Stage.development, item)
        vw.audit(at=at, event_id=f"registered-v{ev.version:06d}", action="register", actor=actor, source=REGISTRY,
                 stage=Stage.development.value, from_state="", to_state=Status.pending.value, detail=detail, reason=why)

    def _registry_effect(self, vw: VersionWrite, ev: Any, want: Any) -> None:
        """A registry approval-status or lifecycle change not made by governance: recorded, never applied."""
        at = iso_millis(ev.modified_ms)
        actor = ev.modified_by or REGISTRY
        log.warning("registry change of %s/%s by %s made outside governance is not applied", vw.group, vw.version, actor)
        vw.audit(at=at, event_id=ev.event_id, action="registry-outside-change", actor=actor, source=REGISTRY,
                 stage=want.stage.value,
                 reason="changed in the model registry outside governance; not applied, the registry is set back to the record",
                 detail={"by": ev.modified_by, "registry": {"ModelApprovalStatus": ev.status.value, "ModelLifeCycle": ev.lifecycle},
                         "record": want.as_dict()})

    # ------------------------------------------------------------------ member reports

    def member_report(self, event: Any) -> Outcome:
        """Apply a `Model Deployed` / `Model Decommissioned` / `Model Metrics` report from a member account; BadInput if malformed."""
        ev = parse_member_event(event, self._event_clock())
        if refusal := self.evidence.stage_accounts.refusal(ev):
            return Outcome("rejected", f"{ev.group}/{ev.version} {ev.stage.value}: report refused: {refusal}")
        if ev.kind != METRICS:
            return Outcome(*lifecycle.report_endpoint(self.store, ev))

        def attempt(_: int) -> tuple[list | None, Outcome]:
            items = version_items(self.store.batch_get(version_keys(ev.group, ev.version)), ev.group, ev.version)
            if refusal := report_refusal(ev, items[ev.stage]):
                return None, Outcome("rejected", refusal)
            records = parse_records(items)
            record = records[ev.stage]
            vw = VersionWrite(ev.group, ev.version, items)
            at = iso_millis(ev.reported_ms)
            actor = f"account:{ev.account}"
            where = {schema.ENDPOINT_NAME: ev.endpoint, "account": ev.account, **({"variantName": ev.variant} if ev.variant else {})}
            if record.status not in (Status.deployed, Status.approved):
                return None, Outcome("rejected", f"{ev.group}/{ev.version} is {record.status.value} in {ev.stage.value}; "
                                                 "monitoring metrics are for deployed versions")
            if record.monitoring_reported_at is not None and ev.reported_ms <= int(record.monitoring_reported_at):
                return None, Outcome("stale", f"{ev.group}/{ev.version}: metrics of {at} are not newer than the ones recorded")
            metrics = monitoring.drift_evidence(vw, ev.stage, ev.metrics or {}, ev.account, at)
            kept = monitoring.record_report(vw, ev.stage, {**where, "metrics": metrics, "reportedAt": at}, ev.reported_ms,
                                            **stamp(at, actor))
            vw.audit(at=at, event_id=ev.event_id, action="monitoring-metrics", actor=actor, source="member",
                     stage=ev.stage.value, from_state=record.status.value, to_state=record.status.value, detail=where)
            return [*vw.ops(), *kept], Outcome("written", f"{ev.group}/{ev.version} {ev.stage.value}: {ev.kind} recorded")

        return with_retries(self.store, attempt,
                            lambda: RuntimeError(f"{ev.group}/{ev.version}: kept losing write races; EventBridge will retry"))

    # ------------------------------------------------------------------ decisions

    def decide(self, use_case_id: str, group: str, version: Any, decision: ModelDecision, caller: str | None) -> dict[str, Any]:
        """Approve, reject or retire a version at a stage (API); raises the GovernanceError the caller gets."""
        use_case_id, group, version = check_use_case_id(use_case_id), check_group(group), check_version(version)
        stage, action, reason, expected_rev = decision.stage, Action(decision.action), decision.reason or "", decision.expected_rev
        caller = require_caller(caller)
        base_rev: int | None = None

        def attempt(n: int) -> tuple[list, tuple[dict[str, Any], str | None, str]]:
            nonlocal base_rev
            raw = self.store.batch_get([uc_config_key(use_case_id), uc_state_key(use_case_id), group_config_key(group), hub_key(),
                                        *version_keys(group, version), registry.marker_key(group, version)])
            uc = parse_use_case_config(use_case_config(raw, use_case_id))
            gc = parse_group_config(group_of_use_case(raw, use_case_id, group))
            state = parse_state(raw.get(uc_state_key(use_case_id)))
            items = registered_items(raw, group, version)
            records = parse_records(items)
            record = records.get(stage)
            rev = record.rev if record else None
            if n == 0:
                base_rev = rev
                if expected_rev is not None and rev != expected_rev:
                    raise Conflict(f"stale: the {stage.value} record is at rev {rev}, not {expected_rev}")
            elif rev != base_rev:
                raise Conflict(f"stale: the {stage.value} record changed while this decision was being made")
            high = rules.is_high_risk(uc.risk_tier, gc.risk)
            registered_by = records[Stage.development].registered_by
            rules.check_decider(approvers=self.approvers, stage=stage, action=action, caller=caller,
                                registered_by=registered_by, high_risk=high,
                                prior_approvals=record.approvals if record else ())
            rules.check_reason(action, reason)
            tr = rules.transition(records, stage, action)
            rules.check_model_gate(state.stage, stage, action)
            compliance.check_approval(action=action, stage=stage, use_case_id=use_case_id, use_case_item=use_case_config(raw, use_case_id),
                                      model_risk=gc.risk, hub=raw.get(hub_key()), dev_item=items[Stage.development])
            if action is Action.approve:
                metrics = record.validation_metrics
                if metrics is None and stage is Stage.production and Stage.test in records:
                    metrics = records[Stage.test].validation_metrics
                rules.check_high_risk_metrics(stage=stage, high_risk=high, thresholds=uc.thresholds, metrics=metrics)
            at = self._now()
            vw = VersionWrite(group, version, items)
            ucw = UseCaseWrite(uc, state)
            approvals = [*record.approvals, caller] if record else [caller]
            required = rules.required_approvers(stage, high, registered_by=registered_by)
            partial = action is Action.approve and len(approvals) < required
            if partial:
                vw.change(stage, **{schema.APPROVALS: approvals}, **stamp(at, caller))
                vw.audit(at=at, event_id=uuid.uuid4().hex, action="approve-partial", actor=caller, source="api", stage=stage.value,
                         from_state=record.status.value, to_state=record.status.value, reason=reason,
                         detail={"approvals": len(approvals), "required": required})
            else:
                if tr.approved_stage is not None and state.stage is not UseCaseStage.RETIRED:
                    ucw.approve_group(tr.approved_stage, group)
                    new_stage = rules.auto_advance(state.stage, tr.approved_stage, ucw.approved, uc.groups,
                                                   held=state.sent_back is not None)
                    ucw.move(new_stage, at=at, actor=caller, source="api", action="advance",
                             reason=f"every model of the use case is approved in the stage before ({group}/{version} at {stage.value})")
                vw.apply(records, tr, at=at, actor=caller, reason=reason if action is Action.reject else "", stage=stage,
                         use_case_stage=ucw.stage.value)
                if action is Action.approve:
                    vw.change(stage, **{schema.APPROVALS: approvals})
                vw.audit(at=at, event_id=uuid.uuid4().hex, action=action.value, actor=caller, source="api", stage=stage.value,
                         from_state=record.status.value, to_state=tr.changes.get(stage, record.status).value, reason=reason,
                         detail={"changes": {s.value: v.value for s, v in tr.changes.items()}, "approvals": approvals if action is Action.approve else []})
            vw.change(Stage.development, **{schema.DECISION_LOG: registry.decision_log(
                vw.effective()[Stage.development], stage=stage, action="approve-partial" if partial else action.value, by=caller,
                at=at, reason=reason)})
            shown = vw.effective()
            vw.change(Stage.development, **{schema.REGISTRY_STATUS: registry.desired(shown).approval})
            card = registry.card_for(shown, uc, registry.desired(shown))
            ops = vw.ops()
            if ucw.changed():
                ops += ucw.ops(at=at, actor=caller)
            result: dict[str, Any] = {
                schema.MODEL_GROUP: group, schema.MODEL_VERSION: version, "stage": stage.value, "action": action.value,
                "status": vw.status(stage).value, "approvals": len(approvals) if action is Action.approve else 0,
                schema.USE_CASE_STAGE: ucw.stage.value,
            }
            if partial:
                result["pending"] = f"{required - len(approvals)} more approval(s) needed"
            marker = raw.get(registry.marker_key(group, version))
            if registry.view(marker) is not None:  # this decision's registry write supersedes a queued or failed one
                ops.append(registry.settle(group, version, use_case_id, at=at))
            return ops, (result, (vw.effective(), None, card))

        result, (shown, marker, card) = with_retries(self.store, attempt, lambda: Conflict(
            "the version kept changing while this decision was being made; read it again and retry"))
        result["registry"] = self._mirror(group, version, shown, marker, card)
        return result

    def _mirror(self, group: str, version: int, items: Any, marker: Any, card: Any) -> dict[str, Any]:
        """Show the decision in the registry (`mirror.publish`); the decision stands even if this fails."""
        return registry.publish(self.store, self.sagemaker, group=group, version=version, items=items, card=card, at=self._now(),
                                arn=items[Stage.development][schema.MODEL_PACKAGE_ARN], marker=marker)

    def decide_use_case(self, use_case_id: str, decision: UseCaseDecision, caller: str | None) -> dict[str, Any]:
        """Approve (one stage forward), reject (back to DEVELOPMENT) or retire a use case; retiring retires its versions."""
        use_case_id = check_use_case_id(use_case_id)
        action, reason = decision.action, decision.reason or ""
        caller = require_caller(caller)
        return lifecycle.decide_use_case(self.store, self.approvers, use_case_id, action, reason, caller, self._now)

    # ------------------------------------------------------------------ metrics through the API

    def record_metrics(self, use_case_id: str, group: str, version: Any, report: MetricsReport, caller: str | None) -> dict[str, Any]:
        """Validation metrics (approval evidence) or monitoring metrics (with their endpoint) for a stage record."""
        use_case_id, group, version = check_use_case_id(use_case_id), check_group(group), check_version(version)
        caller = require_caller(caller)
        stage, kind = report.stage, report.kind

        def attempt(_: int) -> tuple[list, dict[str, Any]]:
            raw = self.store.batch_get([group_config_key(group), *version_keys(group, version)])
            group_of_use_case(raw, use_case_id, group)
            items = registered_items(raw, group, version)
            if kind == VALIDATION:
                self.evidence.validators.check(stage, caller, items[Stage.development].get(schema.REGISTERED_BY))
            if items[stage] is None:
                raise Conflict(f"{group}/{version} has no {stage.value} record yet")
            record = parse_record(items[stage])
            allowed = (Status.pending, Status.deployed) if kind == VALIDATION else (Status.deployed, Status.approved)
            if record.status not in allowed:
                raise Conflict(f"{kind} metrics are recorded while the record is {' or '.join(s.value for s in allowed)}; "
                               f"it is {record.status.value}")
            at = self._now()
            vw = VersionWrite(group, version, items)
            kept: list = []
            if kind == VALIDATION:
                vw.change(stage, **{schema.VALIDATION_METRICS: dump_json(report.metrics)}, **stamp(at, caller))
                detail: dict[str, Any] = {"metrics": sorted(report.metrics)}
            else:
                metrics = monitoring.drift_evidence(vw, stage, report.metrics, None, at)
                kept = monitoring.record_report(vw, stage, {schema.ENDPOINT_NAME: report.endpoint, "metrics": metrics,
                                                            "reportedAt": at, **({"variantName": report.variant} if report.variant else {})},
                                                self.clock(), **stamp(at, caller))
                detail = {schema.ENDPOINT_NAME: report.endpoint, "metrics": sorted(report.metrics)}
            vw.audit(at=at, event_id=uuid.uuid4().hex, action=f"{kind}-metrics", actor=caller, source="api", stage=stage.value,
                     from_state=record.status.value, to_state=record.status.value, detail=detail)
            return [*vw.ops(), *kept], {schema.MODEL_GROUP: group, schema.MODEL_VERSION: version, "stage": stage.value, "kind": kind,
                              "recorded": True}

        return with_retries(self.store, attempt, lambda: Conflict("the version kept changing; retry"))

    # ------------------------------------------------------------------ reads (views)

    def list_use_cases(self, *, limit: int | None = None, token: str | None = None) -> dict[str, Any]:
        return views.list_use_cases(self.store, limit=limit, token=token)

    def get_use_case(self, use_case_id: str, *, limit: int | None = None, token: str | None = None) -> dict[str, Any]:
        return views.get_use_case(self.store, use_case_id, limit=limit, token=token)

    def queue(self, *, stage: Any, status: Any, limit: int | None = None, token: str | None = None) -> dict[str, Any]:
        return views.queue(self.store, stage=stage, status=status, limit=limit, token=token)

    def get_version(self, use_case_id: str, group: str, version: Any) -> dict[str, Any]:
        return views.get_version(self.store, use_case_id, group, version)

    def audit_page(self, use_case_id: str, group: str | None = None, version: Any = None, *, limit: int | None = None,
                   token: str | None = None) -> dict[str, Any]:
        return views.audit_page(self.store, use_case_id, group, version, limit=limit, token=token)

    def verify_trail(self, use_case_id: str, group: str | None = None, version: Any = None) -> dict[str, Any]:
        return views.verify_trail(self.store, use_case_id, group, version)
