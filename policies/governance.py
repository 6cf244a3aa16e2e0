"""Governance: what the EU AI Act tiers and the governance record need from the infrastructure."""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Iterator, Optional

from . import sharing
from .common import (
    ADVISORY,
    ENDPOINT,
    ENDPOINT_CONFIG,
    MODEL_PACKAGE_GROUP,
    PROHIBITED_RISK_TIER,
    RESOURCE_ASSOCIATION,
    RISK_TIER_TAG,
    RISK_TIERS,
    SAGEMAKER_MODEL,
    STAGE_TAG,
    TABLE_ITEM,
    USE_CASE_TAG,
    as_list,
    by_type,
    join_key,
    missing_tags,
    parent_urn,
    prop,
    resource_rule,
    stack_rule,
    tags,
)


def _item_attr(item: Mapping[str, Any], key: str) -> Optional[str]:
    value = item.get(key)
    return value.get("S") if isinstance(value, Mapping) else None


@resource_rule("no-unacceptable-risk-tier",
               "No use case of EU AI Act risk tier 'unacceptable' is onboarded (groups, shares, governance CONFIG items).",
               (MODEL_PACKAGE_GROUP, TABLE_ITEM, *sharing.SHARE_TYPES, ENDPOINT_CONFIG, ENDPOINT, SAGEMAKER_MODEL))
def no_unacceptable_risk_tier(props, cfg, args) -> Iterator[str]:
    tier = str(tags(props).get(RISK_TIER_TAG, "")).lower()
    if tier == PROHIBITED_RISK_TIER:
        yield (f"{args.name} is tagged {RISK_TIER_TAG}={PROHIBITED_RISK_TIER}: the EU AI Act prohibits such AI systems; "
               "remove the use case from mlgov:useCases instead of onboarding it")
    if args.resource_type == TABLE_ITEM:
        try:
            item = json.loads(props.get("item") or "{}")
        except ValueError:
            return
        if isinstance(item, Mapping) and str(_item_attr(item, "riskTier") or "").lower() == PROHIBITED_RISK_TIER:
            yield (f"use case {(_item_attr(item, 'pk') or '?').removeprefix('USECASE#')} is recorded with risk tier "
                   f"'{PROHIBITED_RISK_TIER}': such use cases may not be onboarded; remove it from mlgov:useCases")


@resource_rule("model-group-governance-tags", "Every model package group carries its use case, risk tier and owner tags.",
               MODEL_PACKAGE_GROUP, config=("requiredGroupTags",))
def model_group_governance_tags(props, cfg, args) -> Iterator[str]:
    missing = missing_tags(props, cfg["requiredGroupTags"])
    if missing:
        yield (f"model package group {props.get('modelPackageGroupName', args.name)} lacks the governance tag(s) "
               f"{', '.join(missing)}: tag it with its use case, risk tier and owner (SharedModelGroup sets them from mlgov:useCases)")
    tier = str(tags(props).get(RISK_TIER_TAG, "")).strip()
    if tier and tier.lower() != PROHIBITED_RISK_TIER and tier not in RISK_TIERS:
        yield f"model package group tag {RISK_TIER_TAG}={tier!r} is not a risk tier; use one of {', '.join(RISK_TIERS)}"


@stack_rule("model-group-register-and-deploy-shares",
            "Every model package group is in a register share (dev accounts) and a deploy share (test/prod accounts).")
def model_group_register_and_deploy_shares(resources, cfg) -> Iterator[tuple[str, Optional[str]]]:
    shares = sharing.share_index(resources)
    associations = by_type(resources, RESOURCE_ASSOCIATION)
    for group in by_type(resources, MODEL_PACKAGE_GROUP):
        arn = join_key(group, "arn")
        kinds: set[str] = set()
        for association in associations:
            share = shares.share_of(association)
            if share is None:
                continue
            linked = join_key(association, "resourceArn")
            if (arn and linked == arn) or (not (arn and linked) and parent_urn(share) == parent_urn(group)):
                kinds |= shares.kinds(share)
        name = prop(group, "modelPackageGroupName", group.name)
        for kind, who in (("register", "dev"), ("deploy", "test and prod")):
            if kind not in kinds:
                yield (f"model package group {name} has no {kind} share: {who} accounts cannot use it; associate it with a RAM "
                       f"share granting {sharing.MANAGED[kind]} to the {who} accounts (SharedModelGroup creates both)", group.urn)


def _risk(props, cfg) -> Optional[str]:
    t = tags(props)
    tier = t.get(RISK_TIER_TAG)
    if tier:
        return str(tier)
    use_case = t.get(USE_CASE_TAG)
    return "high" if use_case and use_case in as_list(cfg["highRiskUseCases"]) else None


@resource_rule("high-risk-endpoint-data-capture", "Endpoints of a high-risk use case capture every request and response.",
               ENDPOINT_CONFIG, config=("highRiskUseCases",))
def high_risk_endpoint_data_capture(props, cfg, args) -> Iterator[str]:
    if _risk(props, cfg) != "high":
        return
    use_case = tags(props).get(USE_CASE_TAG)
    capture = props.get("dataCaptureConfig")
    fix = "set data_capture_config with enable_capture, 100% sampling, Input and Output capture to the hub bucket"
    if not isinstance(capture, Mapping) or capture.get("enableCapture") is not True:
        yield f"endpoint config of high-risk use case {use_case} does not capture data: {fix}"
        return
    modes = {str(o.get("captureMode")) for o in as_list(capture.get("captureOptions")) if isinstance(o, Mapping)}
    if not {"Input", "Output"} <= modes:
        yield f"endpoint config of high-risk use case {use_case} captures {sorted(modes) or 'nothing'}: capture both Input and Output"
    if capture.get("initialSamplingPercentage") != 100:
        yield (f"endpoint config of high-risk use case {use_case} samples {capture.get('initialSamplingPercentage')}% of requests: "
               "set initial_sampling_percentage to 100")
    if not capture.get("destinationS3Uri"):
        yield f"endpoint config of high-risk use case {use_case} has no capture destination: set destination_s3_uri"


@resource_rule("high-risk-production-ab-or-shadow",
               "Production endpoints of a high-risk use case run an A/B or shadow test before full rollout.",
               ENDPOINT_CONFIG, enforcement=ADVISORY, config=("highRiskUseCases",))
def high_risk_production_ab_or_shadow(props, cfg, args) -> Iterator[str]:
    if _risk(props, cfg) != "high" or str(tags(props).get(STAGE_TAG, "")) not in ("production", "prod"):
        return
    production = [v for v in as_list(props.get("productionVariants")) if isinstance(v, Mapping)]
    shadows = [v for v in as_list(props.get("shadowProductionVariants")) if isinstance(v, Mapping)]
    if len(production) < 2 and not shadows:
        yield (f"production endpoint of high-risk use case {tags(props).get(USE_CASE_TAG)} serves one variant with full traffic: "
               "run an A/B test (challenger) or a shadow test before the full rollout (mlgov:deployments in Pulumi.prod.yaml)")


@resource_rule("deployment-governance-tags",
               "SageMaker models, endpoint configs and endpoints name the use case, group, version and stage they serve.",
               (SAGEMAKER_MODEL, ENDPOINT_CONFIG, ENDPOINT), config=("requiredDeploymentTags",))
def deployment_governance_tags(props, cfg, args) -> Iterator[str]:
    missing = missing_tags(props, cfg["requiredDeploymentTags"])
    if missing:
        yield (f"{args.name} lacks the tag(s) {', '.join(missing)}: tag SageMaker models, endpoint configs and endpoints with "
               "the use case, model group, version and stage they serve, so the governance record can find them")


@resource_rule("endpoint-rollout-auto-rollback",
               "Endpoints roll out a new configuration blue/green and roll back by themselves when one of their alarms fires.",
               ENDPOINT)
def endpoint_rollout_auto_rollback(props, cfg, args) -> Iterator[str]:
    deployment = props.get("deploymentConfig")
    name = props.get("name", args.name)
    if not isinstance(deployment, Mapping) or not isinstance(deployment.get("blueGreenUpdatePolicy"), Mapping):
        yield (f"endpoint {name} has no blue/green update policy: set deployment_config.blue_green_update_policy, so a new "
               "version takes traffic on a new fleet while the old one still serves")
    rollback = deployment.get("autoRollbackConfiguration") if isinstance(deployment, Mapping) else None
    alarms = [a for a in as_list(rollback.get("alarms") if isinstance(rollback, Mapping) else None) if isinstance(a, Mapping) and a.get("alarmName")]
    if not alarms:
        yield (f"endpoint {name} does not roll back by itself: set deployment_config.auto_rollback_configuration.alarms "
               "to the endpoint's error and latency alarms")


@resource_rule("model-from-hub-registry",
               "Every SageMaker model is built from a model package version in the hub registry, never from a copied artifact.",
               SAGEMAKER_MODEL, config=("sharedAccount",))
def model_from_hub_registry(props, cfg, args) -> Iterator[str]:
    containers = [c for c in [props.get("primaryContainer"), *as_list(props.get("containers"))] if isinstance(c, Mapping)]
    if not containers:
        yield f"model {args.name} has no container: build it from a model package of the hub registry (model_package_name)"
    hub = str(cfg.get("sharedAccount") or "")
    for container in containers:
        package = str(container.get("modelPackageName") or "")
        if not package:
            yield (f"model {args.name} is built from an image/artifact instead of a registry version: set "
                   "primary_container.model_package_name to the hub's model package ARN (no copied artifacts)")
        elif hub and f":{hub}:model-package/" not in package:
            yield f"model {args.name} uses {package}, not a version in the hub registry (account {hub}): deploy from the hub's groups"


POLICIES = [
    no_unacceptable_risk_tier,
    model_group_governance_tags,
    model_group_register_and_deploy_shares,
    high_risk_endpoint_data_capture,
    high_risk_production_ab_or_shadow,
    deployment_governance_tags,
    endpoint_rollout_auto_rollback,
    model_from_hub_registry,
]
