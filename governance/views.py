"""What the API shows of the table's items (use cases, stage records, versions, audit entries) and the reads behind it."""
from __future__ import annotations

from typing import Any, Mapping

from . import audit, compliance, mirror, monitoring, obligations, rules, schema, trails
from .domain import Stage, UseCaseStage, UseCaseState, check_group, check_stage, check_status, check_use_case_id, check_version
from .records import group_config_key, group_of_use_case, hub_key, load_json, parse_records, parse_state, record_key, registered_items
from .records import uc_config_key, uc_state_key, use_case_config, version_keys
from .requests import limit as parse_limit
from .store import Store, decode_token, encode_token

USE_CASE_FIELDS = (
    schema.USE_CASE_ID, schema.CONFIG_NAME, schema.CONFIG_RISK_TIER, schema.CONFIG_OWNER, schema.CONFIG_LINE_OF_BUSINESS,
    schema.CONFIG_PROJECT, schema.CONFIG_MODEL_GROUPS, schema.CONFIG_THRESHOLDS,
)

REGISTRY_VIEW = "registryView"


def use_case_view(item: Mapping[str, Any], state: UseCaseState, hub: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A use case CONFIG item with its current stage (and the rejection that sent it back, while it holds); one removed
    from the hub's config shows as retired (offboarded), with the stage its record had reached."""
    stage = state.stage
    gone = compliance.offboarded(hub, item[schema.USE_CASE_ID])
    view = {**{k: item.get(k) for k in USE_CASE_FIELDS}, schema.STATE_STAGE: UseCaseStage.RETIRED.value if gone else stage.value,
            schema.STATE_STAGE_STATUS: rules.stage_status(UseCaseStage.RETIRED if gone else stage, held=state.sent_back is not None),
            "offboarded": gone,
            "obligations": sorted(o.value for o in obligations.of_tier(item.get(schema.CONFIG_RISK_TIER) or "minimal"))}
    if gone:
        view["stageWhenOffboarded"] = stage.value
    if item.get(schema.CONFIG_TRANSPARENCY_STATEMENT):
        view[schema.CONFIG_TRANSPARENCY_STATEMENT] = item[schema.CONFIG_TRANSPARENCY_STATEMENT]
    if state.sent_back:
        view[schema.STATE_SENT_BACK] = dict(state.sent_back)
    return view


def live_on(item: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The endpoints a stage record's version is live on (deployments not ended)."""
    deployments = load_json(item.get(schema.DEPLOYMENTS)) or []
    return [{"stage": item.get(schema.MODEL_STAGE), **d} for d in deployments if not d.get("until")]


def record_view(item: Mapping[str, Any], use_case_stage: str | None = None,
                policy: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A stage record as the API shows it: the 15 governance attributes (metrics as JSON), ARN, rev; with the
    use case's monitoring `policy`, whether a deployed record's reports are stale or beyond limits."""
    out: dict[str, Any] = {k: item.get(k) for k in schema.GOVERNANCE_ATTRIBUTES}
    out[schema.VALIDATION_METRICS] = load_json(item.get(schema.VALIDATION_METRICS))
    out[schema.MONITORING_METRICS] = load_json(item.get(schema.MONITORING_METRICS))
    if use_case_stage is not None:
        out[schema.USE_CASE_STAGE] = use_case_stage
    out[schema.MODEL_PACKAGE_ARN] = item.get(schema.MODEL_PACKAGE_ARN)
    out[schema.REV] = item.get(schema.REV)
    out[schema.APPROVALS] = item.get(schema.APPROVALS) or []
    if item.get(schema.LAST_REJECTION):
        out[schema.LAST_REJECTION] = load_json(item[schema.LAST_REJECTION])
    if item.get(schema.MLFLOW_RUN_ID):
        out[schema.MLFLOW_RUN_ID] = item[schema.MLFLOW_RUN_ID]
    if item.get(schema.DEPLOYMENTS):
        out[schema.DEPLOYMENTS] = load_json(item[schema.DEPLOYMENTS])
        out["liveOn"] = [d[schema.ENDPOINT_NAME] for d in live_on(item)]
    if item.get(schema.COMPLIANCE):
        out[schema.COMPLIANCE] = load_json(item[schema.COMPLIANCE])
    if policy is not None and (flags := monitoring.assess(item, policy)) is not None:
        out["monitoring"] = flags
    return out


def version_view(use_case_id: str, group: str, version: int, state: UseCaseState,
                 items: Mapping[Stage, Mapping[str, Any] | None], marker: Mapping[str, Any] | None = None,
                 policy: Mapping[str, Any] | None = None, reports: Mapping[str, list[dict[str, Any]]] | None = None) -> dict[str, Any]:
    """A registered version with every stage record it has, the stage it is at, the MLflow run it came from (or None),
    its monitoring history, `registryView` (what governance writes to the registry for it, which the deploy-time gate
    reads) and `registryMirror`: None while the registry shows the record, else the waiting write."""
    present = [i for i in items.values() if i is not None]
    records = parse_records(items)
    return {
        schema.MODEL_GROUP: group, schema.MODEL_VERSION: version, schema.USE_CASE_ID: use_case_id,
        schema.USE_CASE_STAGE: state.stage.value, "currentStage": rules.current_stage(records).value,
        "retired": rules.is_retired(records), "liveOn": [d for i in present for d in live_on(i)],
        schema.REGISTRY_STATUS: items[Stage.development].get(schema.REGISTRY_STATUS),
        schema.MLFLOW_RUN_ID: items[Stage.development].get(schema.MLFLOW_RUN_ID),
        mirror.STATE: mirror.view(marker),
        REGISTRY_VIEW: mirror.desired(items).as_dict(),
        "records": [record_view(i, state.stage.value, policy) for i in present],
        "monitoringHistory": dict(reports or {}),
    }


def audit_view(item: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: item.get(k) for k in audit.HASHED_FIELDS}
    out[schema.ENTRY_DETAIL] = load_json(item.get(schema.ENTRY_DETAIL))
    out[schema.ENTRY_HASH] = item.get(schema.ENTRY_HASH)
    out.update({k: item.get(k) for k in schema.ENTRY_SIGNATURE_FIELDS})
    out[schema.SK] = item.get(schema.SK)
    return out


# --- the API's reads: index queries and key reads, shown as above ---

def _page(store: Store, partition: tuple[str, str], limit: Any, token: str | None, **query: Any) -> tuple[list[dict[str, Any]], str | None]:
    """One page of a query, continuing from a `next` token that must belong to the same partition."""
    items, last = store.query(partition=partition, limit=parse_limit(limit), start=decode_token(token, partition=partition), **query)
    return items, encode_token(last)


def list_use_cases(store: Store, *, limit: Any = None, token: str | None = None) -> dict[str, Any]:
    items, nxt = _page(store, (schema.BY_STAGE_STATUS.partition_key, schema.USE_CASE_CATALOG), limit, token,
                       index=schema.BY_STAGE_STATUS)
    ids = [i[schema.USE_CASE_ID] for i in items]
    states = store.batch_get([hub_key(), *(uc_state_key(u) for u in ids)]) if ids else {}
    return {"useCases": [use_case_view(i, parse_state(states.get(uc_state_key(u))), states.get(hub_key())) for i, u in zip(items, ids)],
            "next": nxt}


def get_use_case(store: Store, use_case_id: str, *, limit: Any = None, token: str | None = None) -> dict[str, Any]:
    use_case_id = check_use_case_id(use_case_id)
    raw = store.batch_get([uc_config_key(use_case_id), uc_state_key(use_case_id), hub_key()])
    uc_item = use_case_config(raw, use_case_id)
    state = parse_state(raw.get(uc_state_key(use_case_id)))
    items, nxt = _page(store, (schema.BY_USE_CASE.partition_key, schema.use_case_pk(use_case_id)), limit, token,
                       index=schema.BY_USE_CASE, sort_prefix=schema.model_pk(""))
    policy = monitoring.policy_of(uc_item)
    return {**use_case_view(uc_item, state, raw.get(hub_key())), schema.STATE_APPROVED: {k: list(v) for k, v in state.approved.items()},
            "models": [record_view(i, state.stage.value, policy) for i in items], "next": nxt}


def queue(store: Store, *, stage: Any, status: Any, limit: Any = None, token: str | None = None) -> dict[str, Any]:
    stage, status = check_stage(stage), check_status(status)
    items, nxt = _page(store, (schema.BY_STAGE_STATUS.partition_key, schema.stage_status_key(stage.value, status.value)),
                       limit, token, index=schema.BY_STAGE_STATUS)
    return {"stage": stage.value, "status": status.value, "items": [record_view(i) for i in items], "next": nxt}


def get_version(store: Store, use_case_id: str, group: str, version: Any) -> dict[str, Any]:
    use_case_id, group, version = check_use_case_id(use_case_id), check_group(group), check_version(version)
    raw = store.batch_get([group_config_key(group), uc_state_key(use_case_id), uc_config_key(use_case_id),
                           *version_keys(group, version), mirror.marker_key(group, version)])
    group_of_use_case(raw, use_case_id, group)
    items = registered_items(raw, group, version)
    return version_view(use_case_id, group, version, parse_state(raw.get(uc_state_key(use_case_id))), items,
                        raw.get(mirror.marker_key(group, version)), monitoring.policy_of(raw.get(uc_config_key(use_case_id))),
                        monitoring.history(store, group, version, items))


def audit_page(store: Store, use_case_id: str, group: str | None = None, version: Any = None, *, limit: Any = None,
               token: str | None = None) -> dict[str, Any]:
    query = _audit_query(store, use_case_id, group, version)
    items, nxt = _page(store, query.pop("partition"), limit, token, **query)
    return {"entries": [audit_view(i) for i in items], "next": nxt}


def verify_trail(store: Store, use_case_id: str, group: str | None = None, version: Any = None) -> dict[str, Any]:
    """Check a trail (links, signatures, head, record state, checkpoint) after the same id checks as its audit page."""
    _audit_query(store, use_case_id, group, version)
    return trails.verify_online(store, use_case_id, group, None if version is None else check_version(version))


def _audit_query(store: Store, use_case_id: str, group: str | None, version: Any) -> dict[str, Any]:
    use_case_id = check_use_case_id(use_case_id)
    if group is None:
        use_case_config(store.batch_get([uc_config_key(use_case_id)]), use_case_id)
        return {"partition": (schema.PK, schema.use_case_pk(use_case_id)), "sort_prefix": schema.AUDIT_PREFIX}
    group, version = check_group(group), check_version(version)
    raw = store.batch_get([group_config_key(group), record_key(group, version, Stage.development)])
    group_of_use_case(raw, use_case_id, group)
    registered_items(raw, group, version)
    return {"partition": (schema.PK, schema.model_pk(group)), "sort_prefix": schema.AUDIT_PREFIX,
            "filter_eq": {schema.MODEL_VERSION: version}}
