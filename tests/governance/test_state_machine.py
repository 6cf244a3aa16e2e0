"""Hypothesis state machine over registrations, decisions, metrics and duplicate events.

After every step: every version's records form a legal state, the use case's stage is the one its
models' approvals imply, the group mirrors agree with it, and every audit chain verifies.
"""
from __future__ import annotations

import time
from collections import defaultdict

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from governance import audit, rules, schema
from governance.domain import STAGES, Stage, Status, UseCaseStage

from .conftest import (DEV_SESSION, DS_SESSION, OFFICER2_SESSION, OFFICER_SESSION, PROD_SESSION, TABLE, TEST_SESSION)

UC = "credit-risk"
GROUPS = ("credit-risk-xgb", "credit-risk-fraud")
CALLERS = (DEV_SESSION, TEST_SESSION, PROD_SESSION, OFFICER_SESSION, OFFICER2_SESSION, DS_SESSION)
# Mostly the principal who may decide at the stage (so runs get deep), sometimes anyone.
RIGHT = {"development": (DEV_SESSION,), "test": (OFFICER_SESSION, TEST_SESSION), "production": (PROD_SESSION, OFFICER_SESSION)}


class GovernanceMachine(RuleBasedStateMachine):
    def __init__(self, world):
        super().__init__()
        self.world = world
        world.ddb.delete_table(TableName=TABLE)
        world._create_table()
        world.onboard(UC, groups=GROUPS, risk_tier="high", thresholds=({"metric": "auc", "min": 0.8},))
        self.versions: list[tuple[str, int]] = []
        self.next_version = defaultdict(int)
        self.sent: list[dict] = []
        self.clock = int(time.time() * 1000)  # registry times after our own clock, as in AWS
        self.explicit_development = False
        self.approved: dict[str, set[str]] = defaultdict(set)

    def tick(self) -> int:
        self.clock += 1_000
        return self.clock

    def pick(self, index: int) -> tuple[str, int]:
        return self.versions[index % len(self.versions)]

    @rule(group=st.sampled_from(GROUPS), encoding=st.sampled_from(["iso", "epoch", "lifecycle"]))
    def register(self, group, encoding):
        self.next_version[group] += 1
        version = self.next_version[group]
        event = self.world.package_event(group, version, created_ms=self.tick(), epoch=encoding == "epoch",
                                         lifecycle={"Stage": "development", "StageStatus": "pending"} if encoding == "lifecycle" else None)
        assert self.world.sync(event)["result"] == "written"
        self.sent.append(event)
        self.versions.append((group, version))

    @precondition(lambda self: self.sent)
    @rule(index=st.integers(0, 50))
    def replay(self, index):
        before = self.world.snapshot()
        result = self.world.sync(self.sent[index % len(self.sent)])
        assert result["result"] in ("duplicate", "stale"), result
        assert self.world.snapshot() == before

    @precondition(lambda self: self.versions)
    @rule(index=st.integers(0, 50))
    def registry_rejects(self, index):
        group, version = self.pick(index)
        t = self.tick()
        event = self.world.package_event(group, version, status="Rejected", created_ms=t - 500_000, modified_ms=t, modified_by=OFFICER_SESSION)
        assert self.world.sync(event)["result"] in ("written", "duplicate", "stale")
        self.sent.append(event)

    @precondition(lambda self: self.versions)
    @rule(index=st.integers(0, 50), stage=st.sampled_from([s.value for s in STAGES]),
          action=st.sampled_from(["approve", "approve", "approve", "reject", "retire"]), who=st.integers(0, 7))
    def decide(self, index, stage, action, who):
        group, version = self.pick(index)
        caller = RIGHT[stage][who % len(RIGHT[stage])] if who < 6 else CALLERS[who % len(CALLERS)]
        body = {"stage": stage, "action": action, **({"reason": "hypothesis"} if action != "approve" else {})}
        code, response = self.world.api("POST", f"/use-cases/{UC}/models/{group}/versions/{version}/decision", body, caller=caller)
        assert code in (200, 403, 409), response
        if code == 200 and action == "approve" and response["status"] == "approved":
            self.approved[stage].add(group)

    @precondition(lambda self: self.versions)
    @rule(index=st.integers(0, 50), stage=st.sampled_from(["test", "production"]))
    def deployed(self, index, stage):
        group, version = self.pick(index)
        result = self.world.report(self.world.member_event("Model Deployed", group, version, stage, reported_ms=self.tick()))
        assert result["result"] in ("written", "duplicate", "rejected")

    @precondition(lambda self: self.versions)
    @rule(index=st.integers(0, 50), stage=st.sampled_from(["test", "production"]), auc=st.sampled_from([0.6, 0.85, 0.95]))
    def validation_metrics(self, index, stage, auc):
        group, version = self.pick(index)
        code, response = self.world.api("POST", f"/use-cases/{UC}/models/{group}/versions/{version}/metrics",
                                        {"kind": "validation", "stage": stage, "metrics": {"auc": auc}}, caller=TEST_SESSION)
        assert code in (200, 409), response

    @precondition(lambda self: self.versions)
    @rule(index=st.integers(0, 50), stage=st.sampled_from(["test", "production"]))
    def monitoring_metrics(self, index, stage):
        group, version = self.pick(index)
        result = self.world.report(self.world.member_event("Model Metrics", group, version, stage, metrics={"auc": 0.9},
                                                           reported_ms=self.tick()))
        assert result["result"] in ("written", "rejected")

    @rule()
    def approve_use_case(self):
        code, _ = self.world.api("POST", f"/use-cases/{UC}/decision", {"action": "approve"}, caller=DEV_SESSION)
        assert code == (409 if self.explicit_development else 200)
        self.explicit_development = True

    # --- invariants ---

    @invariant()
    def table_is_consistent(self):
        items = self.world.items()
        self.records_hold_legal_states(items)
        self.use_case_stage_matches_its_models(items)
        self.audit_chains_verify(items)

    def records_hold_legal_states(self, items):
        statuses = defaultdict(dict)
        for item in items:
            if item["pk"].startswith("MODEL#") and item["sk"].startswith("V#"):
                statuses[(item["modelGroup"], item["modelVersion"])][Stage(item["modelStage"])] = Status(item["modelStatus"])
        assert set(statuses) == set(self.versions)
        for key, by_stage in statuses.items():
            assert rules.is_legal_version(by_stage), (key, by_stage)

    def use_case_stage_matches_its_models(self, items):
        by_key = {(i["pk"], i["sk"]): i for i in items}
        state = by_key.get((schema.use_case_pk(UC), schema.STATE_SK))
        if not self.explicit_development:
            expected = UseCaseStage.POC
        else:
            expected = rules.advance_use_case(UseCaseStage.DEVELOPMENT, self.approved, GROUPS)
        assert (state["stage"] if state else "POC") == expected.value
        if state:
            assert {k: set(v) for k, v in state["approved"].items()} == {k: v for k, v in self.approved.items() if v}
        for group in GROUPS:
            mirror = by_key.get((schema.group_pk(group), schema.USE_CASE_MIRROR_SK))
            if expected is not UseCaseStage.POC:
                assert mirror["useCaseStage"] == expected.value

    def audit_chains_verify(self, items):
        for group, version in self.versions:
            entries = [i for i in items if i["pk"] == schema.model_pk(group) and i["sk"].startswith("AUDIT#") and i["modelVersion"] == version]
            dev = next(i for i in items if i["pk"] == schema.model_pk(group) and i["sk"] == schema.stage_record_sk(version, "development"))
            assert audit.verify(entries, head_seq=dev["chainSeq"], head_hash=dev["chainHash"]).ok
        state = next((i for i in items if i["pk"] == schema.use_case_pk(UC) and i["sk"] == schema.STATE_SK), None)
        if state:
            entries = [i for i in items if i["pk"] == schema.use_case_pk(UC) and i["sk"].startswith("AUDIT#")]
            assert audit.verify(entries, head_seq=state["chainSeq"], head_hash=state["chainHash"]).ok


def test_governance_state_machine(world):
    run_state_machine_as_test(
        lambda: GovernanceMachine(world),
        settings=settings(max_examples=int(__import__("os").environ.get("SM_EXAMPLES", "200")), deadline=None, stateful_step_count=8, derandomize=True,
                          suppress_health_check=list(HealthCheck)),
    )


def test_state_machine_reaches_production(world):
    """The machine's rules can drive a version all the way to production (so the invariants see deep states)."""
    m = GovernanceMachine(world)
    m.approve_use_case()
    for group in GROUPS:
        m.register(group, "iso")
    for i, group in enumerate(GROUPS):
        m.decide(i, "development", "approve", 0)
        m.deployed(i, "test")
        m.validation_metrics(i, "test", 0.95)
        m.decide(i, "test", "approve", 0)
        m.deployed(i, "production")
        m.decide(i, "production", "approve", 0)
        m.decide(i, "production", "approve", 1)
        m.table_is_consistent()
    assert world.state(UC)["stage"] == "PRODUCTION"
    m.registry_rejects(0)  # made outside governance: recorded, not applied
    m.table_is_consistent()
    assert world.record(GROUPS[0], 1, "production")["modelStatus"] == "approved"
