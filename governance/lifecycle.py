"""The lifecycle operations beyond one version's decision: use case decisions, the retirement cascade, and what
member accounts report about their endpoints (which versions are live where, and endpoints taken down).

Like `service`, each operation reads by key, asks `rules`, and writes one guarded TransactWriteItems
(`writes.with_retries` plans again on a lost race). The retirement cascade is the one operation that may not
fit one transaction; see `retire_use_case_versions`.
"""
from __future__ import annotations

import uuid
from typing import Any, Callable, Iterable, Mapping

from . import mirror, rules, schema
from .domain import Action, Approvers, Conflict, Stage, StageRecord, Status, UseCaseAction, UseCaseStage
from .events import DECOMMISSIONED, MemberEvent, iso_millis
from .evidence import report_refusal
from .records import dump_json, load_json, parse_records, parse_state, parse_use_case_config, uc_config_key, uc_state_key
from .records import use_case_config, version_items, version_keys
from .store import Key, Op, Store, TransactionConflict, put, update
from .writes import UseCaseWrite, VersionWrite, stamp, with_retries

# TransactWriteItems takes at most 100 actions:
# https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html
MAX_TRANSACTION_ITEMS = 100
# BatchGetItem reads at most 100 keys: 33 versions of 3 stage records each.
VERSIONS_PER_READ = 33
MAX_CASCADE_ROUNDS = 10
# Deployments kept on a stage record (the audit trail keeps every one).
MAX_DEPLOYMENTS = 20

REPLACED, DECOMMISSIONED_END = "replaced", "decommissioned"


# ------------------------------------------------------------------ use case decisions

def decide_use_case(store: Store, approvers: Approvers, use_case_id: str, action: Any, reason: str, caller: str,
                    now: Callable[[], str]) -> dict[str, Any]:
    """Approve (one stage forward), reject (QA or PREPRODUCTION back to DEVELOPMENT) or retire a use case.

    Retiring retires every version of its models: in the same transaction when everything fits in one,
    otherwise the use case first and its versions in bounded batches (`retire_use_case_versions`); a repeated
    `retire` of a retired use case resumes an interrupted cascade and is refused once nothing is left.
    """
    act = rules.check_use_case_action(action)
    rules.check_reason(act, reason)

    def attempt(_: int) -> tuple[list[Op] | None, dict[str, Any]]:
        raw = store.batch_get([uc_config_key(use_case_id), uc_state_key(use_case_id)])
        uc = parse_use_case_config(use_case_config(raw, use_case_id))
        state = parse_state(raw.get(uc_state_key(use_case_id)))
        rules.check_use_case_decider(approvers, state.stage, act, caller)
        at = now()
        result: dict[str, Any] = {schema.USE_CASE_ID: use_case_id, "action": act.value, "at": at, "actor": caller}
        if act is UseCaseAction.retire and state.stage is UseCaseStage.RETIRED:
            if not plan_retirements(store, use_case_id, at=at, actor=caller, reason=reason):
                rules.use_case_decision(state.stage, act, reason=reason)  # raises: already retired, nothing left
            return None, {**result, schema.STATE_STAGE: state.stage.value,
                          schema.STATE_STAGE_STATUS: rules.stage_status(state.stage), "cascade": "resumed"}
        new = rules.use_case_decision(state.stage, act, reason=reason, approved=state.approved, groups=uc.groups)
        ucw = UseCaseWrite(uc, state)
        ucw.move(new, at=at, actor=caller, source="api", reason=reason, action=act.value)
        if act is UseCaseAction.reject:
            ucw.sent_back = {"from": state.stage.value, "reason": reason, "by": caller, "at": at}
        elif act is UseCaseAction.approve:
            ucw.sent_back = None
        ops = ucw.ops(at=at, actor=caller)
        result.update({schema.STATE_STAGE: new.value, schema.STATE_STAGE_STATUS: rules.stage_status(new, ucw.sent_back is not None)})
        if act is UseCaseAction.retire:
            plans = plan_retirements(store, use_case_id, at=at, actor=caller, reason=reason)
            if len(ops) + sum(len(p) for p in plans) <= MAX_TRANSACTION_ITEMS:
                ops += [op for p in plans for op in p]
                result.update(cascade="one transaction", versionsRetired=len(plans))
            else:
                result["cascade"] = "batches"
        return ops, result

    result = with_retries(store, attempt, lambda: Conflict("the use case kept changing while this decision was being made; retry"))
    if result.get("cascade") in ("batches", "resumed"):
        result["versionsRetired"] = retire_use_case_versions(store, use_case_id, at=result["at"], actor=caller, reason=reason)
    return result


# ------------------------------------------------------------------ the retirement cascade

def use_case_versions(store: Store, use_case_id: str) -> list[tuple[str, int]]:
    """Every (group, version) with a stage record of the use case, through the by-use-case index (no scan)."""
    items = store.query_all(partition=(schema.BY_USE_CASE.partition_key, schema.use_case_pk(use_case_id)),
                            index=schema.BY_USE_CASE, sort_prefix=schema.model_pk(""))
    return sorted({(i[schema.MODEL_GROUP], int(i[schema.MODEL_VERSION])) for i in items if schema.MODEL_VERSION in i})


def plan_retirements(store: Store, use_case_id: str, *, at: str, actor: str, reason: str) -> list[list[Op]]:
    """The ops that retire each not yet retired version of the use case (one list per version, guarded by rev),
    each with its registry write queued for the repair pass (the registry shows it rejected).

    The index only says which versions exist; their records are read by key (consistently), so the guards hold
    what a retry would see.
    """
    refs = use_case_versions(store, use_case_id)
    plans: list[list[Op]] = []
    for start in range(0, len(refs), VERSIONS_PER_READ):
        chunk = refs[start:start + VERSIONS_PER_READ]
        raw = store.batch_get([k for g, v in chunk for k in version_keys(g, v)])
        for group, version in chunk:
            items = version_items(raw, group, version)
            if items[Stage.development] is None:
                continue
            records = parse_records(items)
            if rules.is_retired(records):
                continue
            at_stage = rules.current_stage(records)
            tr = rules.transition(records, at_stage, Action.retire)
            vw = VersionWrite(group, version, items)
            vw.apply(records, tr, at=at, actor=actor, reason="", stage=at_stage, use_case_stage=UseCaseStage.RETIRED.value)
            vw.audit(at=at, event_id=uuid.uuid4().hex, action=Action.retire.value, actor=actor, source="api", stage=at_stage.value,
                     from_state=records[at_stage].status.value, to_state=Status.retired.value,
                     reason=f"use case {use_case_id} retired: {reason}",
                     detail={"changes": {s.value: v.value for s, v in tr.changes.items()}, "cascade": use_case_id})
            plans.append([*vw.ops(), mirror.queue(group, version, use_case_id, at=at, why=f"use case {use_case_id} retired")])
    return plans


def batches(plans: Iterable[list[Op]], limit: int | None = None) -> list[list[Op]]:
    """Whole versions packed into transactions of at most `limit` actions (a version is never split)."""
    limit = limit or MAX_TRANSACTION_ITEMS
    out: list[list[Op]] = []
    for plan in plans:
        if not out or len(out[-1]) + len(plan) > limit:
            out.append([])
        out[-1].extend(plan)
    return out


def retire_use_case_versions(store: Store, use_case_id: str, *, at: str, actor: str, reason: str) -> int:
    """Retire the use case's remaining versions in bounded batches; returns how many were retired.

    Idempotent and resumable: each batch is guarded per record (rev and status), so a batch that lost a race or
    was already applied changes nothing and the next round plans again from fresh reads; an interrupted cascade
    is finished by retiring the (already retired) use case again.
    """
    done = 0
    for _ in range(MAX_CASCADE_ROUNDS):
        plans = plan_retirements(store, use_case_id, at=at, actor=actor, reason=reason)
        if not plans:
            return done
        for batch in batches(plans):
            try:
                store.transact(batch)
            except TransactionConflict:
                continue
            done += sum(1 for op in batch if op.kind == "Put" and op.item and op.item[schema.SK].startswith(schema.AUDIT_PREFIX))
    raise Conflict(f"use case {use_case_id}: its versions kept changing during retirement; retire it again to finish")


# ------------------------------------------------------------------ endpoints: what is live where

def endpoint_key(account: str, endpoint: str) -> Key:
    return schema.endpoint_pk(account, endpoint), schema.ENDPOINT_LIVE_SK


def _same(entry: Mapping[str, Any], group: str, version: int) -> bool:
    return entry["modelGroup"] == group and int(entry["modelVersion"]) == version


def _replaced_by(ev: MemberEvent, entry: Mapping[str, Any]) -> bool:
    """Whether a deployment report takes `entry` off its endpoint: it is not among the versions the endpoint now
    serves (`endpointVersions`), or, when the report does not list them, it served the same variant."""
    if _same(entry, ev.group, ev.version):
        return False
    if ev.endpoint_versions is not None:
        return entry["modelGroup"] != ev.group or int(entry["modelVersion"]) not in ev.endpoint_versions
    return entry.get("variantName") == ev.variant


def live_deployments(item: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The deployments of a stage record that are live (no end)."""
    return [d for d in (load_json((item or {}).get(schema.DEPLOYMENTS)) or []) if not d.get("until")]


def _bounded(deployments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    while len(deployments) > MAX_DEPLOYMENTS:
        ended = next((i for i, d in enumerate(deployments) if d.get("until")), 0)
        deployments.pop(ended)
    return deployments


def report_endpoint(store: Store, ev: MemberEvent) -> tuple[str, str]:
    """Apply a `Model Deployed` or `Model Decommissioned` report: (result, message) as `service.Outcome` takes them.

    The endpoint's item lists the versions live on it. A deployment adds the reported version (pending → deployed)
    and takes off the versions it replaced; a decommission takes off every version deployed before it. A version
    taken off is no longer deployed there: its deployment ends (when, where, why), a `deployed` record with no
    other live endpoint goes back to pending, and its trail says so. A report older than what it would undo is
    stale and changes nothing.
    """
    def attempt(_: int) -> tuple[list[Op] | None, tuple[str, str]]:
        ekey = endpoint_key(ev.account, ev.endpoint)
        raw = store.batch_get([ekey, *version_keys(ev.group, ev.version)])
        endpoint_item = raw.get(ekey)
        live: list[dict[str, Any]] = load_json((endpoint_item or {}).get(schema.ENDPOINT_LIVE)) or []
        at, actor = iso_millis(ev.reported_ms), f"account:{ev.account}"
        where = {schema.ENDPOINT_NAME: ev.endpoint, "account": ev.account, **({"variantName": ev.variant} if ev.variant else {})}
        writes: list[VersionWrite] = []
        items = version_items(raw, ev.group, ev.version)
        if refusal := report_refusal(ev, items[ev.stage]):
            return None, ("rejected", refusal)
        if ev.kind == DECOMMISSIONED:
            gone = [e for e in live if int(e["sinceMs"]) <= ev.reported_ms]
            if not gone:
                return None, ("duplicate", f"{ev.endpoint}: nothing deployed before {at} is live on it")
            writes += _take_off(store, gone, ev, at=at, actor=actor, how=DECOMMISSIONED_END)
            live = [e for e in live if e not in gone]
            message = f"{ev.endpoint} decommissioned: " + ", ".join(f"{e['modelGroup']}/{e['modelVersion']}" for e in gone)
        else:
            replaced = [e for e in live if _replaced_by(ev, e)]
            newer = [e for e in replaced if int(e["sinceMs"]) > ev.reported_ms]
            if newer:
                return None, ("stale", f"{ev.group}/{ev.version} on {ev.endpoint} at {at}: {newer[0]['modelGroup']}/"
                                       f"{newer[0]['modelVersion']} was deployed there later, at {newer[0]['since']}")
            already = any(_same(e, ev.group, ev.version) for e in live)
            pending = items[ev.stage][schema.MODEL_STATUS] == Status.pending.value  # e.g. reopened after a rework
            if already and not replaced and not pending:
                return None, ("duplicate", f"{ev.group}/{ev.version} is already live on {ev.endpoint}")
            if not already or pending:
                try:
                    writes.append(_deploy(items, ev, at=at, actor=actor, where=where, new=not already))
                except Conflict as exc:
                    return None, ("rejected", f"{ev.group}/{ev.version}: deployment report refused: {exc.message}")
            if not already:
                live.append({"modelGroup": ev.group, "modelVersion": ev.version, "stage": ev.stage.value, "since": at,
                             "sinceMs": ev.reported_ms, **({"variantName": ev.variant} if ev.variant else {})})
            writes += _take_off(store, replaced, ev, at=at, actor=actor, how=REPLACED)
            live = [e for e in live if e not in replaced]
            message = f"{ev.group}/{ev.version} {ev.stage.value}: live on {ev.endpoint}" + (
                f", replacing {', '.join(str(e['modelVersion']) for e in replaced)}" if replaced else "")
        ops = [op for vw in writes for op in vw.ops()]
        ops.append(_endpoint_op(endpoint_item, ekey, live, ev, at))
        return ops, ("written", message)

    return with_retries(store, attempt, lambda: RuntimeError(f"{ev.endpoint}: kept losing write races; EventBridge will retry"))


def _deploy(items: Mapping[Stage, dict[str, Any] | None], ev: MemberEvent, *, at: str, actor: str,
            where: Mapping[str, Any], new: bool) -> VersionWrite:
    """The reported version live on the endpoint (a `new` deployment unless it already was): pending → deployed."""
    records = parse_records(items)
    record = records[ev.stage]
    vw = VersionWrite(ev.group, ev.version, items)
    deployments = load_json(items[ev.stage].get(schema.DEPLOYMENTS)) or []
    if new:
        deployments.append({**where, "since": at})
    fields = {schema.ENDPOINT_NAME: ev.endpoint, schema.DEPLOYMENTS: dump_json(_bounded(deployments))}
    status = record.status
    if status is Status.pending:
        status = rules.transition(records, ev.stage, Action.deploy).changes[ev.stage]
        vw.set_status(ev.stage, status, at=at, actor=actor, **fields)
    else:  # an approved, rejected or retired version reported serving: recorded as a fact, its status unchanged
        vw.change(ev.stage, **fields, **stamp(at, actor))
    vw.audit(at=at, event_id=ev.event_id, action=Action.deploy.value, actor=actor, source="member", stage=ev.stage.value,
             from_state=record.status.value, to_state=status.value, detail=dict(where))
    return vw


def _take_off(store: Store, entries: list[dict[str, Any]], ev: MemberEvent, *, at: str, actor: str, how: str) -> list[VersionWrite]:
    """End the deployments of `entries` on the reported endpoint; a deployed record left on no endpoint is pending again."""
    if not entries:
        return []
    refs = sorted({(e["modelGroup"], int(e["modelVersion"])) for e in entries})
    raw = store.batch_get([k for g, v in refs for k in version_keys(g, v)])
    out = []
    for group, version in refs:
        items = version_items(raw, group, version)
        if items[Stage.development] is None:
            continue
        vw = VersionWrite(group, version, items)
        records = parse_records(items)
        for entry in (e for e in entries if _same(e, group, version)):
            stage = Stage(entry["stage"])
            if items[stage] is None:
                continue
            deployments = load_json(items[stage].get(schema.DEPLOYMENTS)) or []
            ending = {"until": at, "ended": how, **({"replacedBy": ev.version} if how == REPLACED else {})}
            for d in deployments:
                if d.get(schema.ENDPOINT_NAME) == ev.endpoint and d.get("account") == ev.account and not d.get("until"):
                    d.update(ending)
            still_live = [d for d in deployments if not d.get("until")]
            record: StageRecord = records[stage]
            fields = {schema.DEPLOYMENTS: dump_json(_bounded(deployments))}
            status = record.status
            if record.status is Status.deployed and not still_live:
                status = rules.transition(records, stage, Action.undeploy).changes[stage]
                vw.set_status(stage, status, at=at, actor=actor, **fields)
            else:
                vw.change(stage, **fields, **stamp(at, actor))
            vw.audit(at=at, event_id=uuid.uuid4().hex,
                     action="undeploy", actor=actor, source="member", stage=stage.value, from_state=record.status.value,
                     to_state=status.value, reason=f"{how} on {ev.endpoint}" + (f" by version {ev.version}" if how == REPLACED else ""),
                     detail={schema.ENDPOINT_NAME: ev.endpoint, "account": ev.account, **ending})
        out.append(vw)
    return out


def _endpoint_op(item: Mapping[str, Any] | None, key: Key, live: list[dict[str, Any]], ev: MemberEvent, at: str) -> Op:
    fields = {schema.ENDPOINT_LIVE: dump_json(live), schema.ENDPOINT_NAME: ev.endpoint, schema.ENDPOINT_ACCOUNT: ev.account,
              schema.MODEL_STAGE: ev.stage.value, schema.AUDIT_TIMESTAMP: at}
    if item is None:
        return put({schema.PK: key[0], schema.SK: key[1], **fields, schema.REV: 1})
    rev = int(item.get(schema.REV, 0))
    return update(key, {**fields, schema.REV: rev + 1}, condition="#rev = :rev", values={":rev": rev}, names={"#rev": schema.REV})
