"""What each EU AI Act risk tier obliges the platform to enforce: one table, read by the rules, the dashboard,
the stack config, the policy check's settings and the evidence pack.

`unacceptable` has no row: such systems are refused at onboarding. A model whose own risk is `high` carries the
approval obligations of the high tier whatever its use case's tier. Pure Python, no boto3.
"""
from __future__ import annotations

from enum import Enum
from typing import Mapping

from .domain import Conflict, ModelRisk, RiskTier, Stage


class Obligation(str, Enum):
    thresholds = "validation-thresholds"
    officer = "officer-approval"
    four_eyes = "four-eyes"
    data_capture = "data-capture"
    model_card = "model-card"
    transparency = "transparency-statement"


DESCRIPTION: Mapping[Obligation, str] = {
    Obligation.thresholds: "validation metrics meet the use case's approvalThresholds before approval past development",
    Obligation.officer: "a governance officer is among the approvers past development",
    Obligation.four_eyes: "two distinct approvers for production",
    Obligation.data_capture: "endpoints capture every request and response (StageDeployment forces it; a policy rule checks it)",
    Obligation.model_card: "the version carries a model card (listed for the evidence pack; no approval checks it yet)",
    Obligation.transparency: "a transparency statement (transparencyStatement) is recorded before production approval",
}

TIER_OBLIGATIONS: Mapping[RiskTier, frozenset[Obligation]] = {
    RiskTier.high: frozenset({Obligation.thresholds, Obligation.officer, Obligation.four_eyes, Obligation.data_capture,
                              Obligation.model_card}),
    RiskTier.limited: frozenset({Obligation.transparency}),
    RiskTier.minimal: frozenset(),
}
# A high-risk model in a lower tier is approved as the high tier approves.
MODEL_RISK_OBLIGATIONS: Mapping[ModelRisk, frozenset[Obligation]] = {
    ModelRisk.high: frozenset({Obligation.thresholds, Obligation.officer, Obligation.four_eyes}),
    ModelRisk.medium: frozenset(),
    ModelRisk.low: frozenset(),
}


def of_tier(tier: RiskTier | str) -> frozenset[Obligation]:
    return TIER_OBLIGATIONS[RiskTier(tier)]


def of(tier: RiskTier | str, model_risk: ModelRisk | str | None = None) -> frozenset[Obligation]:
    """The obligations of a model of `model_risk` in a use case of `tier`."""
    extra = MODEL_RISK_OBLIGATIONS[ModelRisk(model_risk)] if model_risk is not None else frozenset()
    return of_tier(tier) | extra


def tiers_with(obligation: Obligation) -> tuple[str, ...]:
    return tuple(t.value for t, duties in TIER_OBLIGATIONS.items() if obligation in duties)


def as_table() -> dict[str, list[str]]:
    """The table as plain data (`{tier: [obligation, ...]}`), for views and the evidence pack."""
    return {t.value: sorted(o.value for o in duties) for t, duties in TIER_OBLIGATIONS.items()}


def check_transparency(*, stage: Stage, duties: frozenset[Obligation], statement: object) -> None:
    """A production approval of a use case obliged to transparency needs its statement recorded (Conflict otherwise)."""
    if stage is not Stage.production or Obligation.transparency not in duties:
        return
    if not isinstance(statement, str) or not statement.strip():
        raise Conflict(f"obligation {Obligation.transparency.value} is not met: {DESCRIPTION[Obligation.transparency]}; "
                       "add transparencyStatement to the use case in the shared stack's config and run pulumi up")
