"""The pure rules: transitions, separation of duties, high-risk gates, use case advance."""
from __future__ import annotations

import pytest

from governance import rules
from governance.domain import (Action, Approvers, BadInput, Conflict, Forbidden, ModelRisk, RiskTier, Stage, StageRecord, Status,
                               Threshold, UseCaseStage)

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
    (dict(development="pending"), Stage.development, Action.retire),
    (dict(development="approved", test="approved", production="retired"), Stage.production, Action.reject),
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


def test_use_case_advances_past_every_stage_its_models_cleared():
    groups = ("a", "b")
    assert rules.advance_use_case(UseCaseStage.DEVELOPMENT, {"development": ["a"]}, groups) is UseCaseStage.DEVELOPMENT
    approved = {"development": ["a", "b"], "test": ["a", "b"], "production": ["b"]}
    assert rules.advance_use_case(UseCaseStage.DEVELOPMENT, approved, groups) is UseCaseStage.PREPRODUCTION
    assert rules.advance_use_case(UseCaseStage.POC, approved, groups) is UseCaseStage.POC  # POC leaves only by decision
    assert rules.use_case_decision(UseCaseStage.POC, "approve") is UseCaseStage.DEVELOPMENT
    with pytest.raises(Conflict):
        rules.use_case_decision(UseCaseStage.QA, "approve")
    with pytest.raises(BadInput):
        rules.use_case_decision(UseCaseStage.QA, "skip")
