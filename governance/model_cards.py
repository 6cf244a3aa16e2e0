"""The SageMaker Model Card of a version, built from its governance record.

The card travels with the package (`UpdateModelPackage`'s `ModelCard`, in the same call as the lifecycle), so
Studio shows what governance knows: the use case and its risk, the validation metrics against the use case's
thresholds, and who decided what, when and why. A package's card follows the model package model card schema:
the model card JSON schema without `model_package_details`, and `model_overview` limited to `model_creator`
and `model_artifact` (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ModelPackageModelCard.html).
"""
from __future__ import annotations

import json
import math
from typing import Any, Mapping, Sequence

from . import rules, schema
from .domain import STAGES, ModelRisk, Stage, Status, Threshold, UseCaseConfig
from .records import load_json

# `intended_uses.risk_rating` takes High | Medium | Low | Unknown (model card JSON schema, definitions.risk_rating).
RISK_RATING = {"high": "High", "medium": "Medium", "low": "Low"}
MAX_CONTENT = 100_000  # ModelPackageModelCard.ModelCardContent
MAX_TEXT = 2048  # intended_uses.* and additional_information.* strings
MAX_CUSTOM = 1024  # additional_information.custom_details values, model_creator
MAX_OBSERVATION = 2096  # evaluation_details[].evaluation_observation
MAX_METRIC_TEXT = 63  # a string metric value
MAX_METRICS = 50


def clip(text: str, limit: int) -> str:
    """One line of at most `limit` characters: control characters become spaces (AWS patterns use `.`)."""
    flat = "".join(c if c.isprintable() else " " for c in text)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def status_of(approval: str, stage: Stage, status: Status) -> str:
    """`ModelCardStatus`: Draft until development approves, PendingReview on the way, Approved once production approves.

    `Archived` is never used: an archived card refuses every later content update, and a rejected version
    goes back to development for rework.
    """
    if status in (Status.approved, Status.retired) and stage is Stage.production:
        return "Approved"
    if approval == "Approved":
        return "PendingReview"
    return "Draft"


def _metric(name: str, value: Any, thresholds: Mapping[str, Threshold]) -> dict[str, Any] | None:
    if isinstance(value, bool):
        entry: dict[str, Any] = {"name": clip(name, 255), "type": "boolean", "value": value}
    elif isinstance(value, (int, float)) and math.isfinite(value):
        entry = {"name": clip(name, 255), "type": "number", "value": value}
    elif isinstance(value, str):
        entry = {"name": clip(name, 255), "type": "string", "value": clip(value, MAX_METRIC_TEXT)}
    else:
        return None
    t = thresholds.get(name)
    if t is not None:
        bounds = " and ".join(p for p in (f"min {t.min}" if t.min is not None else "", f"max {t.max}" if t.max is not None else "") if p)
        verdict = "meets" if not rules.threshold_problems([t], {name: value}) else "does not meet"
        entry["notes"] = clip(f"threshold {bounds}: {verdict} it", MAX_CUSTOM)
    return entry


def evaluation(stage: Stage, metrics: Any, thresholds: Sequence[Threshold]) -> dict[str, Any] | None:
    """One `evaluation_details` entry: a stage's validation metrics, each against the use case's threshold."""
    if not isinstance(metrics, Mapping) or not metrics:
        return None
    by_name = {t.metric: t for t in thresholds}
    data = [m for m in (_metric(k, v, by_name) for k, v in sorted(metrics.items())) if m is not None][:MAX_METRICS]
    problems = rules.threshold_problems(thresholds, metrics)
    if not thresholds:
        observation = "no thresholds are configured for the use case"
    elif problems:
        observation = "below the use case's thresholds: " + "; ".join(problems)
    else:
        observation = "meets every threshold of the use case"
    entry: dict[str, Any] = {"name": f"{stage.value} validation", "evaluation_observation": clip(observation, MAX_OBSERVATION),
                             "metadata": {"stage": stage.value, "source": "governance validation metrics"}}
    if data:
        entry["metric_groups"] = [{"name": "validation metrics", "metric_data": data}]
    return entry


def _model_risk(risk: str) -> ModelRisk:
    try:
        return ModelRisk(risk)
    except ValueError:
        return ModelRisk.high


def _decision_line(d: Mapping[str, Any]) -> str:
    why = f": {d['reason']}" if d.get("reason") else ""
    return f"{d.get('action')} at {d.get('stage')} by {d.get('by')} at {d.get('at')}{why}"


def content(items: Mapping[Stage, Mapping[str, Any] | None], use_case: UseCaseConfig | None, *,
            approval: str, stage: Stage, status: Status) -> dict[str, Any]:
    """The card's content for a version whose stage records are `items` (development first)."""
    dev = items[Stage.development] or {}
    risk = str(dev.get(schema.MODEL_RISK) or "")
    tier = use_case.risk_tier if use_case else None
    explanation = f"model risk {risk or 'unknown'}"
    if tier is not None:
        explanation += f"; use case risk tier {tier.value} (EU AI Act)"
        if rules.is_high_risk(tier, _model_risk(risk)):
            explanation += ("; high risk: validation metrics must meet the thresholds, a governance officer approves past "
                            "development and production needs two distinct approvers")
    name = dev.get(schema.USE_CASE_NAME) or dev.get(schema.USE_CASE_ID)
    intended = {
        "purpose_of_model": clip(f"{name} ({dev.get(schema.USE_CASE_ID)}): model group {dev.get(schema.MODEL_GROUP)}, "
                                 f"version {dev.get(schema.MODEL_VERSION)}", MAX_TEXT),
        "intended_uses": clip(f"Use case {name} of line of business {dev.get(schema.MODEL_LINE_OF_BUSINESS) or '-'}, project "
                              f"{dev.get(schema.MODEL_PROJECT) or '-'}, owned by {dev.get(schema.MODEL_OWNER) or '-'}. Deployable "
                              f"only where governance approved it; now {stage.value} {status.value}.", MAX_TEXT),
        "risk_rating": RISK_RATING.get(risk, "Unknown"),
        "explanations_for_risk_rating": clip(explanation, MAX_TEXT),
    }
    thresholds = use_case.thresholds if use_case else ()
    evaluations = [e for e in (evaluation(s, load_json((items.get(s) or {}).get(schema.VALIDATION_METRICS)), thresholds)
                               for s in STAGES) if e]
    custom: dict[str, str] = {"governance.approvalStatus": approval, "governance.state": f"{stage.value} {status.value}"}
    for s in STAGES:
        record = items.get(s)
        if record:
            who = ", ".join(record.get(schema.APPROVALS) or []) or "-"
            custom[f"governance.{s.value}"] = clip(f"{record.get(schema.MODEL_STATUS)}; approvals: {who}", MAX_CUSTOM)
    log = load_json(dev.get(schema.DECISION_LOG)) or []
    for i, d in enumerate(log[-20:]):
        custom[f"governance.decision.{i + 1:02d}"] = clip(_decision_line(d), MAX_CUSTOM)
    rejection = load_json(dev.get(schema.LAST_REJECTION))
    if rejection:
        custom["governance.lastRejection"] = clip(_decision_line({**rejection, "action": "reject"}), MAX_CUSTOM)
    card: dict[str, Any] = {"intended_uses": intended, "additional_information": {"custom_details": custom}}
    creator = dev.get(schema.REGISTERED_BY) or dev.get(schema.MODEL_OWNER)
    if creator:
        card["model_overview"] = {"model_creator": clip(str(creator), MAX_CUSTOM)}
    if evaluations:
        card["evaluation_details"] = evaluations
    return card


def model_card(items: Mapping[Stage, Mapping[str, Any] | None], use_case: UseCaseConfig | None, *,
               approval: str, stage: Stage, status: Status) -> dict[str, str]:
    """`UpdateModelPackage`'s `ModelCard`: the content as JSON (within 100,000 characters) and its status."""
    card = content(items, use_case, approval=approval, stage=stage, status=status)
    text = json.dumps(card, sort_keys=True, separators=(",", ":"))
    while len(text) > MAX_CONTENT and card.get("evaluation_details"):
        card["evaluation_details"] = card["evaluation_details"][:-1]
        text = json.dumps(card, sort_keys=True, separators=(",", ":"))
    return {"ModelCardContent": text, "ModelCardStatus": status_of(approval, stage, status)}
