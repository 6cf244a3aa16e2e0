"""The registry's copy of a version's governance state: approval status, lifecycle and model card.

The record is the source of truth. What the registry must show is a function of the record (`desired`), so
any write of it repairs every write before it: each decision, each registration and each set-back sends the
whole state in one `UpdateModelPackage` (moto drops the fields it is not given). SageMaker's own retries
(standard mode, `runtime.CLIENT_CONFIG`) absorb transient failures; a write that still fails leaves a marker
item, shown as the version's `registryMirror`, until a later write (the next decision or registry event of
the package) succeeds.

Registry changes not made by governance's handler roles (`GovernanceSettings.REGISTRY_WRITERS`) are outside
changes: recorded, never applied, and the registry is set back.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from . import model_cards, schema
from .contract import MLFLOW_RUN_ID_KEY, MODEL_STAGES, lifecycle
from .domain import RegistryStatus, Stage, Status, UseCaseConfig, principal_key
from .records import dump_json, load_json, parse_use_case_config, uc_config_key, version_items, version_keys
from .store import Key, Store, put

log = logging.getLogger("governance")

MARKER_PREFIX = "MIRROR#"
FAILED_PARTITION = "MIRROR#FAILED"
FAILED, OK, QUEUED = "failed", "ok", "queued"
# A registry write waiting for the repair pass (failed, or queued by the sync handler, which keeps its own call
# budget: read, sign, write) is listed under FAILED_PARTITION until a write succeeds.
WAITING = frozenset({FAILED, QUEUED})
REPAIR_BATCH = 20  # versions per repair pass: 4 keys each, their use cases' CONFIG items, within BatchGetItem's 100 keys
MAX_DECISIONS = 20  # decisions kept on the record for the card and the lifecycle's description
MAX_ERROR = 300
STATE = "registryMirror"  # the marker's attribute, and the version view's field
# StageDescription (and ApprovalDescription): at most 1024 characters matching `.` (one line):
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ModelLifeCycle.html
MAX_STAGE_DESCRIPTION = 1024


def marker_key(group: str, version: int) -> Key:
    """Where the outcome of the version's last failed (or since repaired) registry write is kept."""
    return schema.model_pk(group), f"{MARKER_PREFIX}{version:06d}"


@dataclass(frozen=True)
class Mirrored:
    """What the registry shows of a version: `ModelApprovalStatus` and the lifecycle of the last decided record."""

    approval: str
    stage: Stage
    status: Status

    def lifecycle(self) -> dict[str, str]:
        """`ModelLifeCycle` as `contract.lifecycle` names it: Stage the model stage, StageStatus the record's status."""
        return lifecycle(self.stage.value, self.status.value)

    def shown_by(self, approval: str, lifecycle: Mapping[str, Any] | None) -> bool:
        """Whether a registry event shows this state (an event without a lifecycle shows only a fresh registration)."""
        if approval != self.approval:
            return False
        if lifecycle is None:
            return (self.stage, self.status) == (Stage.development, Status.pending)
        want = self.lifecycle()
        return (lifecycle.get("Stage"), lifecycle.get("StageStatus")) == (want["Stage"], want["StageStatus"])

    def as_dict(self) -> dict[str, Any]:
        return {"ModelApprovalStatus": self.approval, "ModelLifeCycle": self.lifecycle()}


def desired(items: Mapping[Stage, Mapping[str, Any] | None]) -> Mirrored:
    """The registry state a version's records call for.

    Registered: PendingManualApproval, development/pending. Approved in development: Approved (deployable to
    test), and so on. Rejected anywhere: Rejected, until development approves the rework. Retired: Rejected
    (never deployed again), production/retired.
    """
    dev = items[Stage.development] or {}
    dev_status = Status(dev.get(schema.MODEL_STATUS, Status.pending.value))
    retired = [s for s in (Stage.production, Stage.test, Stage.development)
               if (items.get(s) or {}).get(schema.MODEL_STATUS) == Status.retired.value]
    if retired:  # retired from any stage: never deployed again; the lifecycle names the last stage it reached
        return Mirrored(RegistryStatus.rejected.value, retired[0], Status.retired)
    if dev_status is Status.pending:
        rejection = load_json(dev.get(schema.LAST_REJECTION))
        if isinstance(rejection, Mapping) and rejection.get("stage") in MODEL_STAGES:
            return Mirrored(RegistryStatus.rejected.value, Stage(rejection["stage"]), Status.rejected)
        return Mirrored(RegistryStatus.pending.value, Stage.development, Status.pending)
    test, prod = items.get(Stage.test), items.get(Stage.production)
    prod_status = Status(prod[schema.MODEL_STATUS]) if prod else None
    if prod_status is Status.approved:
        return Mirrored(RegistryStatus.approved.value, Stage.production, Status.approved)
    if test and test.get(schema.MODEL_STATUS) == Status.approved.value:
        return Mirrored(RegistryStatus.approved.value, Stage.test, Status.approved)
    return Mirrored(RegistryStatus.approved.value, Stage.development, Status.approved)


def decision_log(dev: Mapping[str, Any], *, stage: Stage, action: str, by: str, at: str, reason: str) -> str:
    """The development record's decision log with one more decision (the last MAX_DECISIONS are kept)."""
    entries = load_json(dev.get(schema.DECISION_LOG)) or []
    entries.append({"stage": stage.value, "action": action, "by": by, "at": at, **({"reason": reason} if reason else {})})
    return dump_json(entries[-MAX_DECISIONS:])


def description(items: Mapping[Stage, Mapping[str, Any] | None], want: Mirrored) -> str:
    """`StageDescription` / `ApprovalDescription`: the decision behind the state, its reason and approvers (≤ 1024)."""
    dev = items[Stage.development] or {}
    if want.status is Status.rejected:
        r = load_json(dev.get(schema.LAST_REJECTION)) or {}
        text = f"rejected at {want.stage.value} by {r.get('by')} at {r.get('at')}: {r.get('reason')}"
    elif want.status is Status.pending:
        text = f"registered by {dev.get(schema.REGISTERED_BY) or 'an unidentified principal'}; awaiting the development decision"
    else:
        record = items.get(want.stage) or {}
        approvers = ", ".join(record.get(schema.APPROVALS) or []) or "-"
        last = next((d for d in reversed(load_json(dev.get(schema.DECISION_LOG)) or [])
                     if d.get("stage") == want.stage.value), None)
        text = f"{want.status.value} at {want.stage.value}; approvers: {approvers}"
        if last:
            text += f"; {last.get('action')} by {last.get('by')} at {last.get('at')}" + (f": {last['reason']}" if last.get("reason") else "")
    return model_cards.clip(f"mlgov: {text}", MAX_STAGE_DESCRIPTION)


def request(arn: str, items: Mapping[Stage, Mapping[str, Any] | None], want: Mirrored,
            card: Mapping[str, str] | None) -> dict[str, Any]:
    """The one `UpdateModelPackage` call that makes the registry show `want` (and the card, when given)."""
    text = description(items, want)
    kwargs: dict[str, Any] = {"ModelPackageArn": arn, "ModelApprovalStatus": want.approval, "ApprovalDescription": text,
                              "ModelLifeCycle": {**want.lifecycle(), "StageDescription": text}}
    run_id = (items[Stage.development] or {}).get(schema.MLFLOW_RUN_ID)
    if run_id:
        kwargs["CustomerMetadataProperties"] = {MLFLOW_RUN_ID_KEY: run_id}
    if card is not None:
        kwargs["ModelCard"] = dict(card)
    return kwargs


def card_for(items: Mapping[Stage, Mapping[str, Any] | None], use_case: UseCaseConfig | None, want: Mirrored) -> dict[str, str]:
    return model_cards.model_card(items, use_case, approval=want.approval, stage=want.stage, status=want.status)


def is_governance(arn: str | None, writers: Iterable[str]) -> bool:
    """Whether a registry change was made by one of governance's handler roles (any session of them)."""
    key = principal_key(arn) if arn else None
    return key is not None and key in {principal_key(w) for w in writers}


def publish(store: Store, sagemaker: Any, *, group: str, version: int, arn: str, items: Mapping[Stage, Mapping[str, Any] | None],
            card: Mapping[str, str] | None, at: str, marker: Mapping[str, Any] | None) -> dict[str, Any]:
    """Write the record's state to the registry; the outcome as the API shows it. Never raises: the record stands."""
    want = desired(items)
    shown: dict[str, Any] = {"status": want.approval, "lifecycle": want.lifecycle()}
    if sagemaker is None:
        error = "no SageMaker client configured"
    else:
        try:
            sagemaker.update_model_package(**request(arn, items, want, card))
            error = None
        except Exception as exc:  # the decision is committed; the failure is logged, kept and repaired later
            error = str(exc)[:MAX_ERROR]
            log.error("registry mirror of %s failed: %s", arn, error)
    if error is None and view(marker) is None:
        return {**shown, "updated": True}
    state = {"state": OK, "at": at} if error is None else {"state": FAILED, "error": error, "at": at}
    _keep(store, group, version, (items[Stage.development] or {}).get(schema.USE_CASE_ID), state)
    return {**shown, "updated": error is None, **({"error": error} if error else {})}


def _marker(group: str, version: int, use_case_id: Any, state: Mapping[str, Any]) -> dict[str, Any]:
    pk, sk = marker_key(group, version)
    item: dict[str, Any] = {schema.PK: pk, schema.SK: sk, schema.MODEL_GROUP: group, schema.MODEL_VERSION: version,
                            schema.USE_CASE_ID: use_case_id, STATE: dump_json(dict(state))}
    if state["state"] in WAITING:
        item[schema.BY_STAGE_STATUS.partition_key] = FAILED_PARTITION
        item[schema.BY_STAGE_STATUS.sort_key] = f"{state['at']}#{group}#{version:06d}"
    return item


def queue(group: str, version: int, use_case_id: Any, *, at: str, why: str) -> Any:
    """The op that hands the registry write to the repair pass, inside the caller's own transaction."""
    return put(_marker(group, version, use_case_id, {"state": QUEUED, "at": at, "why": why}), condition=None)


def settle(group: str, version: int, use_case_id: Any, *, at: str) -> Any:
    """The op that clears a waiting registry write when the caller's own write supersedes it."""
    return put(_marker(group, version, use_case_id, {"state": OK, "at": at}), condition=None)


def _keep(store: Store, group: str, version: int, use_case_id: Any, state: Mapping[str, Any]) -> None:
    """Record a write's outcome; a failure is also listed under FAILED_PARTITION (the by-stage-status index)."""
    try:
        store.transact([put(_marker(group, version, use_case_id, state), condition=None)])
    except Exception as exc:  # the registry write's outcome is in the log either way
        log.error("could not record the registry mirror state of %s/%s: %s", group, version, exc)


def view(marker: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """`registryMirror` as the API shows it: None when every write succeeded."""
    state = load_json((marker or {}).get(STATE))
    return state if isinstance(state, Mapping) and state.get("state") in WAITING else None


def repair(store: Store, sagemaker: Any, *, at: str) -> dict[str, int]:
    """The scheduled pass: rewrite the registry, card included, of the versions whose last registry write failed."""
    failed, _ = store.query(partition=(schema.BY_STAGE_STATUS.partition_key, FAILED_PARTITION), index=schema.BY_STAGE_STATUS,
                            limit=REPAIR_BATCH)
    versions = [(m[schema.MODEL_GROUP], int(m[schema.MODEL_VERSION]), m.get(schema.USE_CASE_ID)) for m in failed]
    if not versions:
        return {"failed": 0, "repaired": 0}
    raw = store.batch_get([*(k for g, v, _ in versions for k in (*version_keys(g, v), marker_key(g, v))),
                           *(uc_config_key(u) for u in {u for _, _, u in versions if u})])
    repaired = 0
    for group, version, use_case_id in versions:
        items = version_items(raw, group, version)
        if items[Stage.development] is None:
            continue
        config = raw.get(uc_config_key(use_case_id)) if use_case_id else None
        card = card_for(items, parse_use_case_config(config) if config else None, desired(items))
        result = publish(store, sagemaker, group=group, version=version, arn=items[Stage.development][schema.MODEL_PACKAGE_ARN],
                         items=items, card=card, at=at, marker=raw.get(marker_key(group, version)))
        repaired += bool(result["updated"])
    return {"failed": len(versions), "repaired": repaired}

