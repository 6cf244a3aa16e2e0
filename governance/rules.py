"""Governance rules as pure functions: legal transitions, stage gates, who may decide, high-risk gates, use case decisions.

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
    GATE,
    STAGES,
    USE_CASE_STAGES,
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
    UseCaseAction,
    UseCaseStage,
    principal_key,
)

NEXT_STAGE: dict[Stage, Stage | None] = {Stage.development: Stage.test, Stage.test: Stage.production, Stage.production: None}

NOT_RETIRED = frozenset(Status) - {Status.retired}

# Statuses a record may be in for an action on it, by stage. Development is never "deployed": it is
# where versions are registered, and a rejection there leaves it pending (back for rework). A version
# can be retired from wherever it is; `undeploy` is a member account taking it off an endpoint.
LEGAL_FROM: dict[Stage, dict[Action, frozenset[Status]]] = {
    Stage.development: {
        Action.approve: frozenset({Status.pending}),
        Action.reject: frozenset({Status.pending}),
        Action.retire: NOT_RETIRED,
    },
    Stage.test: {
        Action.deploy: frozenset({Status.pending}),
        Action.undeploy: frozenset({Status.deployed}),
        Action.approve: frozenset({Status.deployed}),
        Action.reject: frozenset({Status.pending, Status.deployed}),
        Action.retire: NOT_RETIRED,
    },
    Stage.production: {
        Action.deploy: frozenset({Status.pending}),
        Action.undeploy: frozenset({Status.deployed}),
        Action.approve: frozenset({Status.deployed}),
        Action.reject: frozenset({Status.pending, Status.deployed, Status.approved}),
        Action.retire: NOT_RETIRED,
    },
}

ACTIVE = frozenset({Status.pending, Status.deployed})


def is_retired(records: Mapping[Stage, StageRecord]) -> bool:
    """A retired version: retirement marks every record of the version, so one retired record says it."""
    return any(r.status is Status.retired for r in records.values())


def current_stage(records: Mapping[Stage, StageRecord]) -> Stage:
    """The stage a version is at: the one whose record awaits a decision (or holds the final state)."""
    if is_retired(records):
        return next(s for s in reversed(STAGES) if s in records)
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
    present = [s for s in (dev, test, prod) if s is not None]
    if Status.retired in present:
        return all(s is Status.retired for s in present)
    if dev is Status.pending:
        return test in (None, Status.rejected) and prod in (None, Status.rejected)
    if dev is not Status.approved:
        return False
    if test in ACTIVE:
        return prod in (None, Status.rejected)
    if test is Status.approved:
        return prod in (Status.pending, Status.deployed, Status.approved)
    return False


@dataclass(frozen=True)
class Transition:
    """The status changes one action makes to a version's records (only records that change)."""

    changes: Mapping[Stage, Status]
    approved_stage: Stage | None = None  # the stage this action approved (use case advance input)


def transition(records: Mapping[Stage, StageRecord], stage: Stage, action: Action) -> Transition:
    """What `action` at `stage` does to the version, or Conflict when the lifecycle does not allow it.

    Approving creates (or reopens) the next stage's record as pending; a rejection anywhere marks the
    rejected records and sends the version back to development/pending for rework; retiring marks every
    record of the version retired (it then admits no decision); undeploy puts a deployed record back to pending.
    """
    allowed = LEGAL_FROM[stage].get(action)
    if allowed is None:
        raise Conflict(f"{action.value} is not a decision at the {stage.value} stage")
    if is_retired(records):
        raise Conflict(f"cannot {action.value}: the version is retired, and a retired version admits no decision")
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
    if action is Action.undeploy:
        changes[stage] = Status.pending
        return Transition(changes)
    if action is Action.retire:
        return Transition({s: Status.retired for s, r in records.items() if r.status is not Status.retired})
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


def check_reason(action: Action | UseCaseAction, reason: str | None) -> None:
    """Every decision but an approval says why (kept in the audit trail); BadInput otherwise."""
    if action.value != "approve" and not (reason or "").strip():
        raise BadInput(f"a reason is required to {action.value}")


def _at_least(stage: UseCaseStage, floor: UseCaseStage) -> bool:
    return USE_CASE_STAGES.index(stage) >= USE_CASE_STAGES.index(floor)


def check_model_gate(use_case_stage: UseCaseStage, stage: Stage, action: Action) -> None:
    """The stage gates between the two lifecycles: Conflict naming the rule a model decision breaks."""
    if use_case_stage is UseCaseStage.RETIRED and action is not Action.retire:
        raise Conflict(f"stage gate: the use case is RETIRED and admits no model decision but retirement (not {action.value})")
    if action is Action.approve and not _at_least(use_case_stage, GATE[stage]):
        raise Conflict(f"stage gate: a {stage.value} approval needs the use case at {GATE[stage].value} or later; "
                       f"it is at {use_case_stage.value}")


def is_high_risk(risk_tier: RiskTier, model_risk: ModelRisk) -> bool:
    """Approved as the obligations table says the high tier is: an officer among the approvers, four eyes for production."""
    return {Obligation.officer, Obligation.four_eyes} <= obligations.of(risk_tier, model_risk)


UNIDENTIFIED_REGISTRANT = ("the registry event named no IAM identity for whoever registered this version, so separation "
                           "of duties cannot be checked: every stage needs two distinct approvers")


def unidentified_registrant(registered_by: str | None) -> str:
    """Why a version's approvals need two people (the registrant is not an identified IAM principal), or ""."""
    return UNIDENTIFIED_REGISTRANT if registered_by is None or principal_key(registered_by) is None else ""


def required_approvers(stage: Stage, high_risk: bool, *, registered_by: str | None = "") -> int:
    """Distinct approvers a stage needs: two for high risk in production, and at every stage when the registrant is unknown.

    `registered_by=""` (the default) means "not asked": callers that know the version pass its registrant.
    """
    if registered_by != "" and unidentified_registrant(registered_by):
        return 2
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
        why = unidentified_registrant(registered_by)
        raise Forbidden(f"{caller} has already approved this version at {stage.value}; a second, different approver is needed"
                        + (f" ({why})" if why else ""))
    if high_risk and stage is not Stage.development:
        need = required_approvers(stage, high_risk, registered_by=registered_by)
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


def next_use_case_stage(stage: UseCaseStage) -> UseCaseStage:
    return USE_CASE_STAGES[USE_CASE_STAGES.index(stage) + 1]


def auto_advance(stage: UseCaseStage, approved_at: Stage, approved: Mapping[str, Iterable[str]], groups: Iterable[str],
                 *, held: bool = False) -> UseCaseStage:
    """The stage a use case reaches by itself after a model approval at `approved_at`: one stage at most.

    It leaves DEVELOPMENT, QA or PREPRODUCTION when every model is approved in that stage's model stage,
    unless a rejection sent it back (`held`): then it must be approved forward explicitly.
    """
    groups = frozenset(groups)
    if held or not groups or ADVANCES_ON.get(stage) is not approved_at:
        return stage
    return next_use_case_stage(stage) if groups <= frozenset(approved.get(approved_at.value, ())) else stage


def check_use_case_action(action: object) -> UseCaseAction:
    try:
        return UseCaseAction(action)
    except (ValueError, TypeError):
        raise BadInput(f"use case action {action!r} is invalid; allowed: approve, reject, retire") from None


def use_case_decision(stage: UseCaseStage, action: object, *, reason: str | None = None,
                      approved: Mapping[str, Iterable[str]] | None = None, groups: Iterable[str] = ()) -> UseCaseStage:
    """An explicit use case decision: the stage it leads to, or the error naming the rule it breaks.

    approve: exactly one stage forward (out of DEVELOPMENT, QA, PREPRODUCTION only once every model is
    approved in that stage's model stage); reject: from QA or PREPRODUCTION back to DEVELOPMENT; retire.
    """
    act = check_use_case_action(action)
    check_reason(act, reason)
    if stage is UseCaseStage.RETIRED:
        raise Conflict(f"cannot {act.value}: the use case is retired, and a retired use case admits no decision")
    if act is UseCaseAction.retire:
        return UseCaseStage.RETIRED
    if act is UseCaseAction.reject:
        if stage not in (UseCaseStage.QA, UseCaseStage.PREPRODUCTION):
            raise Conflict(f"a use case is rejected from QA or PREPRODUCTION back to DEVELOPMENT; this one is in {stage.value}")
        return UseCaseStage.DEVELOPMENT
    if stage is UseCaseStage.PRODUCTION:
        raise Conflict("the use case is in PRODUCTION, the last stage; approval advances one stage")
    model_stage = ADVANCES_ON.get(stage)
    if model_stage is not None:
        missing = sorted(frozenset(groups) - frozenset((approved or {}).get(model_stage.value, ())))
        if missing:
            raise Conflict(f"approving a use case out of {stage.value} needs every model approved in {model_stage.value}; "
                           f"not yet: {', '.join(missing)}")
    return next_use_case_stage(stage)


# Whose approval moves a use case into a stage (or sends it back from one): the approvers of its model stage.
USE_CASE_DECIDERS: dict[UseCaseStage, Stage] = {
    UseCaseStage.DEVELOPMENT: Stage.development, UseCaseStage.QA: Stage.test,
    UseCaseStage.PREPRODUCTION: Stage.production, UseCaseStage.PRODUCTION: Stage.production,
}


def check_use_case_decider(approvers: Approvers, stage: UseCaseStage, action: UseCaseAction, caller: str) -> None:
    """Forbidden unless `caller` may take `action` on a use case in `stage` (officers retire; approvers move it)."""
    if action is UseCaseAction.retire:
        if not approvers.is_officer(caller):
            raise Forbidden("only a governance officer retires a use case")
        return
    if stage is UseCaseStage.RETIRED or (action is UseCaseAction.approve and stage is UseCaseStage.PRODUCTION) or (
            action is UseCaseAction.reject and stage not in (UseCaseStage.QA, UseCaseStage.PREPRODUCTION)):
        return  # the decision itself is refused with the rule it breaks
    target = next_use_case_stage(stage) if action is UseCaseAction.approve else stage
    model_stage = USE_CASE_DECIDERS.get(target, Stage.development)
    if not approvers.may_decide(model_stage, caller):
        raise Forbidden(f"{caller} is not an approver for {model_stage.value}, who may {action.value} a use case in {stage.value}")


def stage_status(stage: UseCaseStage, held: bool = False) -> str:
    """The use case's stage status: pending while it waits on its models, rejected when sent back, approved in production."""
    if stage is UseCaseStage.RETIRED:
        return "retired"
    if stage is UseCaseStage.PRODUCTION:
        return "approved"
    return "rejected" if held else "pending"
