"""Governance rules as pure functions: legal transitions, who may decide, high-risk gates, use case advance.

Every write path (API, registry sync, member reports) asks these functions first, so the table can only
ever hold what they allow; the hypothesis state machine in the tests checks exactly that.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from . import obligations
from .obligations import Obligation
from .domain import (
    ADVANCES_ON,
    STAGES,
    Action,
    Approvers,
    BadInput,
    Conflict,
    Forbidden,
    ModelRisk,
    RiskTier,
    Stage,
    StageRecord,
    Status,
    Threshold,
    UseCaseStage,
    principal_key,
)

NEXT_STAGE: dict[Stage, Stage | None] = {Stage.development: Stage.test, Stage.test: Stage.production, Stage.production: None}

# Statuses a record may be in for an action on it, by stage. Development is never "deployed": it is
# where versions are registered, and a rejection there leaves it pending (back for rework).
LEGAL_FROM: dict[Stage, dict[Action, frozenset[Status]]] = {
    Stage.development: {
        Action.approve: frozenset({Status.pending}),
        Action.reject: frozenset({Status.pending}),
    },
    Stage.test: {
        Action.deploy: frozenset({Status.pending}),
        Action.approve: frozenset({Status.deployed}),
        Action.reject: frozenset({Status.pending, Status.deployed}),
    },
    Stage.production: {
        Action.deploy: frozenset({Status.pending}),
        Action.approve: frozenset({Status.deployed}),
        Action.reject: frozenset({Status.pending, Status.deployed, Status.approved}),
        Action.retire: frozenset({Status.approved}),
    },
}

ACTIVE = frozenset({Status.pending, Status.deployed})


def current_stage(records: Mapping[Stage, StageRecord]) -> Stage:
    """The stage a version is at: the one whose record awaits a decision (or holds the final state)."""
    dev = records.get(Stage.development)
    if dev is None or dev.status is Status.pending:
        return Stage.development
    test = records.get(Stage.test)
    if test is not None and test.status in ACTIVE:
        return Stage.test
    return Stage.production


def is_legal_version(statuses: Mapping[Stage, Status | None]) -> bool:
    """Whether the statuses of one version's stage records (None = no record) form a reachable state."""
    dev, test, prod = (statuses.get(s) for s in STAGES)
    if dev is None:
        return test is None and prod is None
    if prod is not None and test is None:
        return False
    if dev is Status.pending:
        return test in (None, Status.rejected) and prod in (None, Status.rejected)
    if dev is not Status.approved:
        return False
    if test in ACTIVE:
        return prod in (None, Status.rejected)
    if test is Status.approved:
        return prod in (Status.pending, Status.deployed, Status.approved, Status.retired)
    return False


@dataclass(frozen=True)
class Transition:
    """The status changes one action makes to a version's records (only records that change)."""

    changes: Mapping[Stage, Status]
    approved_stage: Stage | None = None  # the stage this action approved (use case advance input)


def transition(records: Mapping[Stage, StageRecord], stage: Stage, action: Action) -> Transition:
    """What `action` at `stage` does to the version, or Conflict when the lifecycle does not allow it.

    Approving creates (or reopens) the next stage's record as pending; a rejection anywhere marks the
    rejected records and sends the version back to development/pending for rework.
    """
    allowed = LEGAL_FROM[stage].get(action)
    if allowed is None:
        raise Conflict(f"{action.value} is not a decision at the {stage.value} stage")
    at = current_stage(records)
    record = records.get(stage)
    if record is None:
        raise Conflict(f"this version has no {stage.value} record; it is at the {at.value} stage")
    if record.status not in allowed:
        raise Conflict(
            f"cannot {action.value} at {stage.value}: the record is {record.status.value} "
            f"(allowed from {', '.join(sorted(s.value for s in allowed))}); the version is at the {at.value} stage"
        )
    if stage is not at:
        raise Conflict(f"the version is at the {at.value} stage, not {stage.value}")
    changes: dict[Stage, Status] = {}
    if action is Action.deploy:
        changes[stage] = Status.deployed
        return Transition(changes)
    if action is Action.retire:
        changes[stage] = Status.retired
        return Transition(changes)
    if action is Action.approve:
        changes[stage] = Status.approved
        nxt = NEXT_STAGE[stage]
        if nxt is not None:
            changes[nxt] = Status.pending
        return Transition(changes, approved_stage=stage)
    # reject: the rejected record and every record after development up to it; development back to pending
    for s in STAGES[1:]:
        if s is stage or (s is Stage.test and stage is Stage.production):
            if records.get(s) is not None:
                changes[s] = Status.rejected
    if records[Stage.development].status is not Status.pending:
        changes[Stage.development] = Status.pending
    return Transition(changes)


def is_high_risk(risk_tier: RiskTier, model_risk: ModelRisk) -> bool:
    """Approved as the obligations table says the high tier is: an officer among the approvers, four eyes for production."""
    return {Obligation.officer, Obligation.four_eyes} <= obligations.of(risk_tier, model_risk)


def required_approvers(stage: Stage, high_risk: bool) -> int:
    return 2 if high_risk and stage is Stage.production else 1


def check_decider(
    *,
    approvers: Approvers,
    stage: Stage,
    action: Action,
    caller: str,
    registered_by: str | None,
    high_risk: bool,
    prior_approvals: Iterable[str] = (),
) -> None:
    """Raise Forbidden unless `caller` may take `action` at `stage` (separation of duties, officers, two approvers)."""
    key = principal_key(caller)
    if key is None:
        raise Forbidden(f"caller {caller!r} is not an IAM role or user; decisions need an identified principal")
    if not approvers.may_decide(stage, caller):
        raise Forbidden(f"{caller} is not an approver for the {stage.value} stage")
    if action is not Action.approve:
        return
    if registered_by is not None and principal_key(registered_by) == key:
        raise Forbidden("separation of duties: whoever registered a version cannot approve it")
    prior = [principal_key(a) for a in prior_approvals]
    if key in prior:
        raise Forbidden(f"{caller} has already approved this version at {stage.value}; a second, different approver is needed")
    if high_risk and stage is not Stage.development:
        need = required_approvers(stage, high_risk)
        if len(prior) + 1 >= need and not any(k in approvers.officers for k in [*prior, key]):
            raise Forbidden(f"a high-risk approval at {stage.value} needs a governance officer among its approvers")


def threshold_problems(thresholds: Iterable[Threshold], metrics: Mapping[str, Any] | None) -> list[str]:
    """Every way `metrics` fails the use case's thresholds (empty list: they pass)."""
    thresholds = list(thresholds)
    if metrics is None:
        return ["no validation metrics are recorded for this version"] if thresholds else []
    problems = []
    for t in thresholds:
        value = metrics.get(t.metric)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            problems.append(f"validation metric {t.metric!r} is missing or not a number")
            continue
        if t.min is not None and value < t.min:
            problems.append(f"{t.metric} = {value} is below the minimum {t.min}")
        if t.max is not None and value > t.max:
            problems.append(f"{t.metric} = {value} is above the maximum {t.max}")
    return problems


def check_high_risk_metrics(
    *, stage: Stage, high_risk: bool, thresholds: Iterable[Threshold], metrics: Mapping[str, Any] | None
) -> None:
    """High risk past development: validation metrics must be present and meet every threshold."""
    if not high_risk or stage is Stage.development:
        return
    thresholds = list(thresholds)
    if metrics is None:
        raise Conflict("a high-risk version needs validation metrics before approval past development")
    problems = threshold_problems(thresholds, metrics)
    if problems:
        raise Conflict("validation metrics do not meet the use case's thresholds: " + "; ".join(problems))


def advance_use_case(stage: UseCaseStage, approved: Mapping[str, Iterable[str]], groups: Iterable[str]) -> UseCaseStage:
    """The stage a use case reaches by itself: past every stage whose models are all approved."""
    groups = frozenset(groups)
    if not groups:
        return stage
    order = list(UseCaseStage)
    while stage in ADVANCES_ON and groups <= frozenset(approved.get(ADVANCES_ON[stage].value, ())):
        stage = order[order.index(stage) + 1]
    return stage


def use_case_decision(stage: UseCaseStage, action: str) -> UseCaseStage:
    """The explicit use case decisions: approve a POC into development, or retire."""
    if action == "approve":
        if stage is not UseCaseStage.POC:
            raise Conflict(f"only a POC use case is approved explicitly; this one is in {stage.value} and advances with its models")
        return UseCaseStage.DEVELOPMENT
    if action == "retire":
        if stage is UseCaseStage.RETIRED:
            raise Conflict("the use case is already retired")
        return UseCaseStage.RETIRED
    raise BadInput(f"use case action {action!r} is invalid; allowed: approve, retire")


def stage_status(stage: UseCaseStage) -> str:
    """The use case's stage status: pending while it waits on its models, approved in production."""
    if stage is UseCaseStage.RETIRED:
        return "retired"
    if stage is UseCaseStage.PRODUCTION:
        return "approved"
    return "pending"
