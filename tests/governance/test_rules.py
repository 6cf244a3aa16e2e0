"""The pure rules: transitions, retirement, stage gates, separation of duties, high-risk gates, use case decisions."""
from __future__ import annotations

import pytest

from governance import rules
from governance.domain import (Action, Approvers, BadInput, Conflict, Forbidden, ModelRisk, RiskTier, Stage, StageRecord, Status,
                               Threshold, UseCaseAction, UseCaseStage)

DEV = "arn:aws:iam::111111111111:role/Dev"
OFF = "arn:aws:iam::111111111111:role/Officer"
PROD = "arn:aws:iam::111111111111:role/Prod"
APPROVERS = Approvers.from_mapping({"development": [DEV], "test": [], "production": [PROD], "officers": [OFF]})


def recs(**statuses):
    return {Stage(k): StageRecord(Stage(k), Status(v), 1) for k, v in statuses.items()}


def test_approving_development_opens_test():
    tr = rules.transition(recs(development="pending"), Stage.development, Action.approve)
    assert tr.changes == {Stage.development: Status.approved, Stage.test: Status.pending} and tr.approved_stage is Stage.development


def test_rejecting_in_production_sends_the_version_back_to_development():
    tr = rules.transition(recs(development="approved", test="approved", production="deployed"), Stage.production, Action.reject)
    assert tr.changes == {Stage.test: Status.rejected, Stage.production: Status.rejected, Stage.development: Status.pending}
    assert rules.is_legal_version({**{s: v for s, v in tr.changes.items()}})


@pytest.mark.parametrize("records,stage,action", [
    (dict(development="pending"), Stage.test, Action.approve),             # no test record yet
    (dict(development="approved", test="pending"), Stage.test, Action.approve),  # not deployed
    (dict(development="approved", test="pending"), Stage.development, Action.approve),  # already moved on
    (dict(development="retired"), Stage.development, Action.retire),
    (dict(development="retired", test="retired"), Stage.test, Action.approve),
    (dict(development="approved", test="pending"), Stage.development, Action.retire),  # retired where it is
    (dict(development="approved", test="pending"), Stage.test, Action.undeploy),  # not deployed
])
def test_illegal_transitions_conflict(records, stage, action):
    with pytest.raises(Conflict):
        rules.transition(recs(**records), stage, action)


def test_every_transition_from_a_legal_state_is_legal():
    """Exhaustive over the reachable states: no action leads out of the legal set."""
    frontier = [recs(development="pending")]
    seen = set()
    while frontier:
        state = frontier.pop()
        key = tuple(sorted((s.value, r.status.value) for s, r in state.items()))
        if key in seen:
            continue
        seen.add(key)
        assert rules.is_legal_version({s: r.status for s, r in state.items()}), key
        for stage in Stage:
            for action in Action:
                try:
                    tr = rules.transition(state, stage, action)
                except Conflict:
                    continue
                nxt = dict(state)
                for s, status in tr.changes.items():
                    nxt[s] = StageRecord(s, status, 1)
                frontier.append(nxt)
    assert len(seen) >= 10


def test_separation_of_duties_matches_sessions_to_roles():
    with pytest.raises(Forbidden, match="separation of duties"):
        rules.check_decider(approvers=APPROVERS, stage=Stage.development, action=Action.approve,
                            caller="arn:aws:sts::111111111111:assumed-role/Dev/s1", registered_by=DEV, high_risk=False)


def test_high_risk_production_needs_two_distinct_approvers_including_an_officer():
    kwargs = dict(approvers=APPROVERS, stage=Stage.production, action=Action.approve, registered_by=None, high_risk=True)
    rules.check_decider(caller=PROD, prior_approvals=(), **kwargs)  # first of two: allowed
    with pytest.raises(Forbidden, match="already approved"):
        rules.check_decider(caller="arn:aws:sts::111111111111:assumed-role/Prod/other", prior_approvals=(PROD,), **kwargs)
    rules.check_decider(caller=OFF, prior_approvals=(PROD,), **kwargs)
    assert rules.required_approvers(Stage.production, True) == 2 and rules.required_approvers(Stage.production, False) == 1


def test_high_risk_test_approval_needs_an_officer():
    with pytest.raises(Forbidden, match="officer"):
        rules.check_decider(approvers=Approvers.from_mapping({"test": [PROD]}), stage=Stage.test, action=Action.approve,
                            caller=PROD, registered_by=DEV, high_risk=True)


def test_thresholds():
    t = (Threshold("auc", min=0.8), Threshold("bias", max=0.1))
    assert rules.threshold_problems(t, {"auc": 0.9, "bias": 0.05}) == []
    assert len(rules.threshold_problems(t, {"auc": 0.7, "bias": "low"})) == 2
    with pytest.raises(Conflict, match="needs validation metrics"):
        rules.check_high_risk_metrics(stage=Stage.test, high_risk=True, thresholds=t, metrics=None)
    rules.check_high_risk_metrics(stage=Stage.test, high_risk=False, thresholds=t, metrics=None)
    assert rules.is_high_risk(RiskTier.minimal, ModelRisk.high) and not rules.is_high_risk(RiskTier.limited, ModelRisk.medium)


def test_a_version_is_retired_from_wherever_it_is_and_then_admits_nothing():
    """Every reachable state retires at its current stage: every record becomes retired, and no action applies after."""
    frontier, seen, retired = [recs(development="pending")], set(), 0
    while frontier:
        state = frontier.pop()
        key = tuple(sorted((s.value, r.status.value) for s, r in state.items()))
        if key in seen or rules.is_retired(state):
            continue
        seen.add(key)
        tr = rules.transition(state, rules.current_stage(state), Action.retire)
        after = {s: StageRecord(s, tr.changes.get(s, r.status), 1) for s, r in state.items()}
        assert all(r.status is Status.retired for r in after.values()) and rules.is_legal_version({s: r.status for s, r in after.items()})
        retired += 1
        for stage in Stage:
            for action in Action:
                with pytest.raises(Conflict):
                    rules.transition(after, stage, action)
                try:
                    tr = rules.transition(state, stage, action)
                except Conflict:
                    continue
                frontier.append({**state, **{s: StageRecord(s, v, 1) for s, v in tr.changes.items()}})
    assert retired >= 10


def test_undeploy_puts_a_deployed_record_back_to_pending():
    tr = rules.transition(recs(development="approved", test="approved", production="deployed"), Stage.production, Action.undeploy)
    assert tr.changes == {Stage.production: Status.pending}


@pytest.mark.parametrize("use_case,stage,allowed", [
    (UseCaseStage.POC, Stage.development, False), (UseCaseStage.DEVELOPMENT, Stage.development, True),
    (UseCaseStage.DEVELOPMENT, Stage.test, False), (UseCaseStage.QA, Stage.test, True),
    (UseCaseStage.QA, Stage.production, False), (UseCaseStage.PREPRODUCTION, Stage.production, True),
    (UseCaseStage.PRODUCTION, Stage.production, True), (UseCaseStage.RETIRED, Stage.development, False),
])
def test_stage_gates_between_the_lifecycles(use_case, stage, allowed):
    if allowed:
        rules.check_model_gate(use_case, stage, Action.approve)
    else:
        with pytest.raises(Conflict, match="stage gate"):
            rules.check_model_gate(use_case, stage, Action.approve)
    rules.check_model_gate(use_case, stage, Action.retire)  # retirement passes every gate
    if use_case is UseCaseStage.RETIRED:
        with pytest.raises(Conflict, match="no model decision but retirement"):
            rules.check_model_gate(use_case, stage, Action.reject)


def test_use_case_auto_advances_one_stage_and_not_when_sent_back():
    groups = ("a", "b")
    approved = {"development": ["a", "b"], "test": ["a", "b"], "production": ["b"]}
    assert rules.auto_advance(UseCaseStage.DEVELOPMENT, Stage.development, {"development": ["a"]}, groups) is UseCaseStage.DEVELOPMENT
    assert rules.auto_advance(UseCaseStage.DEVELOPMENT, Stage.development, approved, groups) is UseCaseStage.QA  # one stage only
    assert rules.auto_advance(UseCaseStage.DEVELOPMENT, Stage.test, approved, groups) is UseCaseStage.DEVELOPMENT
    assert rules.auto_advance(UseCaseStage.POC, Stage.development, approved, groups) is UseCaseStage.POC  # POC leaves by decision
    assert rules.auto_advance(UseCaseStage.DEVELOPMENT, Stage.development, approved, groups, held=True) is UseCaseStage.DEVELOPMENT


def test_use_case_decisions():
    groups, approved = ("a", "b"), {"development": ["a", "b"]}
    assert rules.use_case_decision(UseCaseStage.POC, "approve", approved=approved, groups=groups) is UseCaseStage.DEVELOPMENT
    assert rules.use_case_decision(UseCaseStage.DEVELOPMENT, "approve", approved=approved, groups=groups) is UseCaseStage.QA
    with pytest.raises(Conflict, match="every model approved in test; not yet: a, b"):
        rules.use_case_decision(UseCaseStage.QA, "approve", approved=approved, groups=groups)
    with pytest.raises(Conflict, match="last stage"):
        rules.use_case_decision(UseCaseStage.PRODUCTION, "approve", groups=groups)
    for stage in (UseCaseStage.QA, UseCaseStage.PREPRODUCTION):
        assert rules.use_case_decision(stage, "reject", reason="rework") is UseCaseStage.DEVELOPMENT
    for stage in (UseCaseStage.POC, UseCaseStage.DEVELOPMENT, UseCaseStage.PRODUCTION):
        with pytest.raises(Conflict, match="from QA or PREPRODUCTION"):
            rules.use_case_decision(stage, "reject", reason="rework")
    with pytest.raises(BadInput, match="reason"):
        rules.use_case_decision(UseCaseStage.QA, "reject")
    assert rules.use_case_decision(UseCaseStage.POC, "retire", reason="dropped") is UseCaseStage.RETIRED
    for action in ("approve", "reject", "retire"):
        with pytest.raises(Conflict, match="retired"):
            rules.use_case_decision(UseCaseStage.RETIRED, action, reason="x")
    with pytest.raises(BadInput):
        rules.use_case_decision(UseCaseStage.QA, "skip")
    assert rules.stage_status(UseCaseStage.DEVELOPMENT, held=True) == "rejected"


def test_who_decides_on_a_use_case():
    rules.check_use_case_decider(APPROVERS, UseCaseStage.POC, UseCaseAction.approve, DEV)
    with pytest.raises(Forbidden, match="not an approver for production"):
        rules.check_use_case_decider(APPROVERS, UseCaseStage.QA, UseCaseAction.approve, DEV)
    rules.check_use_case_decider(APPROVERS, UseCaseStage.PREPRODUCTION, UseCaseAction.reject, PROD)
    with pytest.raises(Forbidden, match="officer"):
        rules.check_use_case_decider(APPROVERS, UseCaseStage.QA, UseCaseAction.retire, PROD)
    rules.check_use_case_decider(APPROVERS, UseCaseStage.QA, UseCaseAction.retire, OFF)
