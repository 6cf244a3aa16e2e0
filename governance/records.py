"""The table's items as the runtime sees them: their keys, their parsing into domain records, new records.

Every key the runtime reads or writes is built here from `schema`, so a read and the write that guards
it cannot disagree on where an item lives.
"""
from __future__ import annotations

import json
from typing import Any, Mapping

from . import schema
from .domain import (
    STAGES,
    GroupConfig,
    ModelRisk,
    NotFound,
    RiskTier,
    Stage,
    StageRecord,
    Status,
    Threshold,
    UseCaseConfig,
    UseCaseStage,
    UseCaseState,
)
from .store import Key

Items = Mapping[Key, dict[str, Any]]


# --- keys ---

def uc_config_key(uc: str) -> Key:
    return schema.use_case_pk(uc), schema.CONFIG_SK


def uc_state_key(uc: str) -> Key:
    return schema.use_case_pk(uc), schema.STATE_SK


def group_config_key(group: str) -> Key:
    return schema.group_pk(group), schema.CONFIG_SK


def hub_key() -> Key:
    return schema.HUB_PK, schema.CONFIG_SK


def mirror_key(group: str) -> Key:
    return schema.group_pk(group), schema.USE_CASE_MIRROR_SK


def record_key(group: str, version: int, stage: Stage) -> Key:
    return schema.model_pk(group), schema.stage_record_sk(version, stage.value)


def version_keys(group: str, version: int) -> list[Key]:
    return [record_key(group, version, s) for s in STAGES]


# --- JSON-valued attributes ---

def load_json(text: Any) -> Any:
    return json.loads(text) if isinstance(text, str) else None


def dump_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


# --- item → domain ---

def parse_use_case_config(item: Mapping[str, Any]) -> UseCaseConfig:
    uc = item[schema.USE_CASE_ID]
    return UseCaseConfig(
        use_case_id=uc,
        name=item.get(schema.CONFIG_NAME, uc),
        risk_tier=RiskTier(item.get(schema.CONFIG_RISK_TIER, RiskTier.minimal.value)),
        owner=item.get(schema.CONFIG_OWNER, ""),
        line_of_business=item.get(schema.CONFIG_LINE_OF_BUSINESS, ""),
        project=item.get(schema.CONFIG_PROJECT, ""),
        groups=tuple(item.get(schema.CONFIG_MODEL_GROUPS, [])),
        thresholds=tuple(Threshold(t[schema.THRESHOLD_METRIC], t.get(schema.THRESHOLD_MIN), t.get(schema.THRESHOLD_MAX))
                         for t in item.get(schema.CONFIG_THRESHOLDS, [])),
    )


def parse_group_config(item: Mapping[str, Any]) -> GroupConfig:
    return GroupConfig(
        group=item[schema.MODEL_GROUP],
        use_case_id=item[schema.USE_CASE_ID],
        owner=item.get(schema.CONFIG_OWNER, ""),
        line_of_business=item.get(schema.CONFIG_LINE_OF_BUSINESS, ""),
        project=item.get(schema.CONFIG_PROJECT, ""),
        risk=ModelRisk(item.get(schema.CONFIG_RISK, ModelRisk.low.value)),
        use_case_name=item.get(schema.USE_CASE_NAME),
    )


def parse_state(item: Mapping[str, Any] | None) -> UseCaseState:
    if item is None:
        return UseCaseState()
    return UseCaseState(
        stage=UseCaseStage(item[schema.STATE_STAGE]),
        rev=int(item.get(schema.REV, 0)),
        approved={k: tuple(v) for k, v in (item.get(schema.STATE_APPROVED) or {}).items()},
        chain_seq=int(item.get(schema.CHAIN_SEQ, 0)),
        chain_hash=item.get(schema.CHAIN_HASH),
        exists=True,
        sent_back=load_json(item.get(schema.STATE_SENT_BACK)),
    )


def parse_record(item: Mapping[str, Any]) -> StageRecord:
    return StageRecord(
        stage=Stage(item[schema.MODEL_STAGE]),
        status=Status(item[schema.MODEL_STATUS]),
        rev=int(item.get(schema.REV, 0)),
        registered_by=item.get(schema.REGISTERED_BY),
        approvals=tuple(item.get(schema.APPROVALS) or ()),
        validation_metrics=load_json(item.get(schema.VALIDATION_METRICS)),
        monitoring_reported_at=item.get(schema.MONITORING_REPORTED_AT),
    )


def parse_records(items: Mapping[Stage, Mapping[str, Any] | None]) -> dict[Stage, StageRecord]:
    return {s: parse_record(i) for s, i in items.items() if i is not None}


# --- lookups shared by the operations ---

def use_case_config(raw: Items, use_case_id: str) -> dict[str, Any]:
    """The use case's CONFIG item from a batch read, or NotFound."""
    item = raw.get(uc_config_key(use_case_id))
    if item is None:
        raise NotFound(f"use case {use_case_id!r} is not onboarded")
    return item


def group_of_use_case(raw: Items, use_case_id: str, group: str) -> dict[str, Any]:
    """The group's CONFIG item from a batch read, or NotFound unless the group belongs to the use case."""
    item = raw.get(group_config_key(group))
    if item is None or item.get(schema.USE_CASE_ID) != use_case_id:
        raise NotFound(f"model group {group!r} is not part of use case {use_case_id!r}")
    return item


def version_items(raw: Items, group: str, version: int) -> dict[Stage, dict[str, Any] | None]:
    """A version's stage records by stage (None where absent), from a batch read."""
    return {s: raw.get(record_key(group, version, s)) for s in STAGES}


def registered_items(raw: Items, group: str, version: int) -> dict[Stage, dict[str, Any] | None]:
    """`version_items`, or NotFound when the version has no development record (never registered)."""
    items = version_items(raw, group, version)
    if items[Stage.development] is None:
        raise NotFound(f"model version {group}/{version} is not registered")
    return items


# --- new items ---

def new_record(*, group: str, version: int, stage: Stage, status: Status, at: str, actor: str, use_case_id: str,
               use_case_name: str, use_case_stage: str, owner: str, lob: str, project: str, risk: str, arn: str,
               registered_by: str | None) -> dict[str, Any]:
    """A stage record as first written, with both index keys."""
    pk, sk = record_key(group, version, stage)
    return {
        schema.PK: pk, schema.SK: sk,
        schema.USE_CASE_ID: use_case_id, schema.USE_CASE_NAME: use_case_name, schema.USE_CASE_STAGE: use_case_stage,
        schema.MODEL_GROUP: group, schema.MODEL_VERSION: version, schema.MODEL_OWNER: owner,
        schema.MODEL_LINE_OF_BUSINESS: lob, schema.MODEL_PROJECT: project, schema.MODEL_STAGE: stage.value,
        schema.MODEL_STATUS: status.value, schema.MODEL_RISK: risk,
        schema.AUDIT_TIMESTAMP: at, schema.AUDIT_USER: actor, schema.MODEL_PACKAGE_ARN: arn,
        schema.REGISTERED_BY: registered_by, schema.APPROVALS: [],
        schema.BY_STAGE_STATUS.partition_key: schema.stage_status_key(stage.value, status.value),
        schema.BY_STAGE_STATUS.sort_key: schema.stage_record_gsi1sk(at, group, version),
        schema.BY_USE_CASE.partition_key: schema.use_case_pk(use_case_id),
        schema.BY_USE_CASE.sort_key: schema.stage_record_gsi2sk(group, version, stage.value),
    }


def copy_record(dev_item: Mapping[str, Any], *, group: str, version: int, stage: Stage, status: Status, at: str,
                actor: str, use_case_stage: str | None) -> dict[str, Any]:
    """A new record at another stage of the version, copying the version's attributes from development."""
    return new_record(
        group=group, version=version, stage=stage, status=status, at=at, actor=actor,
        use_case_id=dev_item[schema.USE_CASE_ID], use_case_name=dev_item[schema.USE_CASE_NAME],
        use_case_stage=use_case_stage or dev_item[schema.USE_CASE_STAGE], owner=dev_item[schema.MODEL_OWNER],
        lob=dev_item[schema.MODEL_LINE_OF_BUSINESS], project=dev_item[schema.MODEL_PROJECT],
        risk=dev_item[schema.MODEL_RISK], arn=dev_item[schema.MODEL_PACKAGE_ARN],
        registered_by=dev_item.get(schema.REGISTERED_BY),
    )
