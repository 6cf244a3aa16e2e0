"""The use cases of a stack config as the governance table's `CONFIG` items: written by Pulumi, read by the handlers.

One mapping for the hub stack (`CentralRegistry` writes each item) and the local sandbox (which puts them).
"""
from __future__ import annotations

from typing import Any

from governance import schema
from governance.contract import ecr_repository_uri, hub_bucket_name, hub_image_repository_name
from mlgov.config import StackConfig, UseCase


def use_case_items(use_case: UseCase, monitoring: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The use case's `USECASE#<id>/CONFIG` item (with its monitoring policy), then one `GROUP#<group>/CONFIG` item per model."""
    items = [schema.use_case_config_item(
        use_case_id=use_case.id, name=use_case.name, risk_tier=use_case.risk_tier.value, owner=use_case.owner,
        line_of_business=use_case.line_of_business, project=use_case.project, groups=[m.group for m in use_case.models],
        thresholds=[t.as_item() for t in use_case.approval_thresholds],
        transparency_statement=use_case.transparency_statement, monitoring=monitoring,
    )]
    items += [schema.group_config_item(
        group=model.group, use_case_id=use_case.id, use_case_name=use_case.name, owner=use_case.owner,
        line_of_business=use_case.line_of_business, project=use_case.project, risk=use_case.model_risk(model).value,
    ) for model in use_case.models]
    return items


def config_items(config: StackConfig) -> list[tuple[str, str, dict[str, Any]]]:
    """Every `CONFIG` item of the stack's use cases as `(pk, sk, item)`, in config order."""
    return [(item[schema.PK], item[schema.SK], item) for use_case in config.use_cases
            for item in use_case_items(use_case, config.monitoring_policy(use_case.id))]


def hub_item(config: StackConfig, region: str, registry_name: str = "mlgov") -> dict[str, Any]:
    """The `HUB/CONFIG` item `CentralRegistry(registry_name)` writes: the use cases in config, the bucket, the image repository."""
    shared = config.organization.accounts.shared
    return schema.hub_config_item(
        use_case_ids=[u.id for u in config.use_cases], artifact_bucket=hub_bucket_name(registry_name, shared, region),
        image_repository=ecr_repository_uri(shared, region, hub_image_repository_name(registry_name)),
    )


def validators(config: StackConfig) -> dict[str, list[str]]:
    """Who may record validation metrics, by stage: what the handlers read from their environment (`VALIDATORS`)."""
    v = config.validators
    return {"development": list(v.development), "test": list(v.test), "production": list(v.production)}


def stage_accounts(config: StackConfig) -> dict[str, list[str]]:
    """Which member accounts report deployments and monitoring metrics for each stage (`STAGE_ACCOUNTS`)."""
    accounts = config.organization.accounts
    return {"test": list(accounts.test), "production": list(accounts.prod)}


def approvers(config: StackConfig) -> dict[str, list[str]]:
    """Who may decide, by stage and `officers`: what the handlers read from their environment."""
    a = config.approvers
    return {"development": list(a.development), "test": list(a.test), "production": list(a.production), "officers": list(a.officers)}
