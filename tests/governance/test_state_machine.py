"""Hypothesis state machine over both lifecycles: registrations, model decisions (retirement from anywhere), use case
decisions (approve one stage, reject back to DEVELOPMENT, retire with its versions), deployments replacing each other on
an endpoint, metrics and duplicate events.

A reference model (plain Python, beside the machine) predicts the use case's stage, whether it was sent back, the groups
approved per model stage, which versions are retired and which version is live on each endpoint; after every step the
table must agree with it, every version's records form a legal state, every deployed record is live on an endpoint,
the group mirrors agree and every audit chain verifies. A refused call writes nothing.
"""
from __future__ import annotations

import json
import os
import time
from collections import defaultdict

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from governance import audit, rules, schema
from governance.domain import STAGES, Stage, Status
from governance.contract import ACCOUNT_ROLE_OF_STAGE, endpoint_name

from .conftest import (DEV_SESSION, DS_SESSION, OFFICER2_SESSION, OFFICER_SESSION, PROD_SESSION, TABLE, TEST_SESSION)

UC = "credit-risk"
GROUPS = ("credit-risk-xgb", "credit-risk-fraud")
CALLERS = (DEV_SESSION, TEST_SESSION, PROD_SESSION, OFFICER_SESSION, OFFICER2_SESSION, DS_SESSION)
# Mostly the principal who may decide at the stage (so runs get deep), sometimes anyone.
RIGHT = {"development": (DEV_SESSION,), "test": (OFFICER_SESSION, TEST_SESSION), "production": (PROD_SESSION, OFFICER_SESSION)}
ORDER = ("POC", "DEVELOPMENT", "QA", "PREPRODUCTION", "PRODUCTION", "RETIRED")
GATE = {"development": "DEVELOPMENT", "test": "QA", "production": "PREPRODUCTION"}
LEAVES_ON = {"DEVELOPMENT": "development", "QA": "test", "PREPRODUCTION": "production"}
# Who moves the use case into a stage (the approvers of its model stage; officers always may).
INTO = {"DEVELOPMENT": DEV_SESSION, "QA": TEST_SESSION, "PREPRODUCTION": PROD_SESSION, "PRODUCTION": PROD_SESSION}


class Reference:
    """What the table should say, predicted from the calls that succeeded."""

    def __init__(self) -> None:
        self.stage = "POC"
        self.held = False
        self.approved: dict[str, set[str]] = defaultdict(set)
        self.retired: set[tuple[str, int]] = set()
        self.live: dict[tuple[str, str], int] = {}  # (group, stage) endpoint -> version live on it

    def next(self) -> str:
        return ORDER[ORDER.index(self.stage) + 1]

    def use_case_decision(self, action: str, versions: list[tuple[str, int]]) -> str | None:
        """The stage an explicit decision leads to, or None when it must be refused."""
        if self.stage == "RETIRED":  # retiring again retires what was registered since (or finishes a cascade)
            return "RETIRED" if action == "retire" and not set(versions) <= self.retired else None
        if action == "retire":
            return "RETIRED"
        if action == "reject":
            return "DEVELOPMENT" if self.stage in ("QA", "PREPRODUCTION") else None
        if self.stage == "PRODUCTION":
            return None
        if self.stage in LEAVES_ON and not set(GROUPS) <= self.approved[LEAVES_ON[self.stage]]:
            return None
        return self.next()

    def gate_refuses(self, stage: str, action: str) -> bool:
        if self.stage == "RETIRED":
            return action != "retire"
        return action == "approve" and ORDER.index(self.stage) < ORDER.index(GATE[stage])

    def model_approved(self, stage: str, group: str) -> None:
        self.approved[stage].add(group)
        if not self.held and LEAVES_ON.get(self.stage) == stage and set(GROUPS) <= self.approved[stage]:
            self.stage = self.next()


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
        self.ref = Reference()

    def tick(self) -> int:
        self.clock += 1_000
        return self.clock

    def pick(self, index: int) -> tuple[str, int]:
        return self.versions[index % len(self.versions)]

    def refused_unchanged(self, call) -> tuple[int, dict]:
        before = self.world.snapshot()
        code, body = call()
        if code != 200:
            assert self.world.snapshot() == before, body
        return code, body

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
        code, response = self.refused_unchanged(lambda: self.world.api(
            "POST", f"/use-cases/{UC}/models/{group}/versions/{version}/decision", body, caller=caller))
        assert code in (200, 403, 409), response
        if self.ref.gate_refuses(stage, action) or (group, version) in self.ref.retired:
            assert code != 200, (self.ref.stage, stage, action, response)
        if code == 200 and action == "approve" and response["status"] == "approved":
            self.ref.model_approved(stage, group)
        if code == 200 and action == "retire":
            self.ref.retired.add((group, version))

    @precondition(lambda self: self.versions)
    @rule(index=st.integers(0, 50), stage=st.sampled_from(["test", "production"]))
    def deployed(self, index, stage):
        group, version = self.pick(index)
        result = self.world.report(self.world.member_event("Model Deployed", group, version, stage, reported_ms=self.tick()))
        assert result["result"] in ("written", "duplicate", "rejected"), result
        if result["result"] == "written":
            self.ref.live[(group, stage)] = version
        if result["result"] == "rejected":
            assert self.world.record(group, version, stage) is None

    @precondition(lambda self: self.ref.live)
    @rule(index=st.integers(0, 50))
    def decommissioned(self, index):
        endpoints = sorted(self.ref.live)
        group, stage = endpoints[index % len(endpoints)]
        version = self.ref.live.pop((group, stage))
        result = self.world.report(self.world.member_event("Model Decommissioned", group, version, stage, reported_ms=self.tick()))
        assert result["result"] == "written", result

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

    @rule(action=st.sampled_from(["approve", "approve", "approve", "reject", "retire"]), officer=st.booleans())
    def use_case_decision(self, action, officer):
        expected = self.ref.use_case_decision(action, self.versions)
        if action == "retire" or officer:
            caller = OFFICER_SESSION
        else:
            caller = INTO.get(self.ref.next() if action == "approve" and self.ref.stage not in ("PRODUCTION", "RETIRED") else self.ref.stage,
                              OFFICER_SESSION)
        body = {"action": action, **({"reason": "hypothesis"} if action != "approve" else {})}
        code, response = self.refused_unchanged(lambda: self.world.api("POST", f"/use-cases/{UC}/decision", body, caller=caller))
        if expected is None:
            assert code == 409, (self.ref.stage, action, response)
            return
        assert code == 200 and response["stage"] == expected, (self.ref.stage, action, response)
        if action == "retire":
            self.ref.retired |= set(self.versions)
        self.ref.held = action == "reject" or (self.ref.held and action == "retire")
        self.ref.stage = expected

    # --- invariants ---

    @invariant()
    def table_is_consistent(self):
        items = self.world.items()
        self.records_hold_legal_states(items)
        self.use_case_matches_the_reference(items)
        self.endpoints_match_the_records(items)
        self.audit_chains_verify(items)

    def records_hold_legal_states(self, items):
        statuses = defaultdict(dict)
        for item in items:
            if item["pk"].startswith("MODEL#") and item["sk"].startswith("V#"):
                statuses[(item["modelGroup"], item["modelVersion"])][Stage(item["modelStage"])] = Status(item["modelStatus"])
        assert set(statuses) == set(self.versions)
        for key, by_stage in statuses.items():
            assert rules.is_legal_version(by_stage), (key, by_stage)
            assert (Status.retired in by_stage.values()) == (key in self.ref.retired), (key, by_stage)

    def use_case_matches_the_reference(self, items):
        by_key = {(i["pk"], i["sk"]): i for i in items}
        state = by_key.get((schema.use_case_pk(UC), schema.STATE_SK))
        assert (state["stage"] if state else "POC") == self.ref.stage
        if state:
            assert {k: set(v) for k, v in state["approved"].items()} == {k: v for k, v in self.ref.approved.items() if v}
            assert (json.loads(state.get(schema.STATE_SENT_BACK) or "null") is not None) == self.ref.held
        for group in GROUPS:
            mirror = by_key.get((schema.group_pk(group), schema.USE_CASE_MIRROR_SK))
            if self.ref.stage != "POC":
                assert mirror["useCaseStage"] == self.ref.stage

    def endpoints_match_the_records(self, items):
        """The endpoint items and the records' live deployments tell the same story; deployed means live somewhere."""
        from_endpoints = set()
        for item in items:
            if item["pk"].startswith("ENDPOINT#"):
                for e in json.loads(item[schema.ENDPOINT_LIVE]):
                    from_endpoints.add((item[schema.ENDPOINT_NAME], e["modelGroup"], e["modelVersion"], e["stage"]))
        from_records = set()
        for item in items:
            if item["pk"].startswith("MODEL#") and item["sk"].startswith("V#"):
                live = [d for d in json.loads(item.get(schema.DEPLOYMENTS) or "[]") if not d.get("until")]
                from_records |= {(d["endpointName"], item["modelGroup"], item["modelVersion"], item["modelStage"]) for d in live}
                if item["modelStatus"] == "deployed":
                    assert live, item
        assert from_endpoints == from_records
        assert from_endpoints == {(endpoint_name(ACCOUNT_ROLE_OF_STAGE[s], UC, g), g, v, s) for (g, s), v in self.ref.live.items()}

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
        settings=settings(max_examples=int(os.environ.get("SM_EXAMPLES", "200")), deadline=None, stateful_step_count=10,
                          derandomize=True, suppress_health_check=list(HealthCheck)),
    )


def test_state_machine_reaches_production_and_retirement(world):
    """The machine's rules drive versions to production, the use case back and forth, and into retirement."""
    m = GovernanceMachine(world)
    m.use_case_decision("approve", False)
    for group in GROUPS:
        m.register(group, "iso")
    for i in range(len(GROUPS)):
        m.decide(i, "development", "approve", 0)
        m.deployed(i, "test")
        m.validation_metrics(i, "test", 0.95)
    for i in range(len(GROUPS)):
        m.decide(i, "test", "approve", 0)
        m.deployed(i, "production")
        m.table_is_consistent()
    assert world.state(UC)["stage"] == "PREPRODUCTION"
    m.use_case_decision("reject", False)
    assert world.state(UC)["stage"] == "DEVELOPMENT"
    m.decide(0, "production", "approve", 0)  # refused by the stage gate: the use case was sent back
    assert world.record(GROUPS[0], 1, "production")["approvals"] == []
    m.use_case_decision("approve", False)
    m.use_case_decision("approve", False)
    assert world.state(UC)["stage"] == "PREPRODUCTION"
    for i in range(len(GROUPS)):
        m.decide(i, "production", "approve", 0)
        m.decide(i, "production", "approve", 1)
        m.table_is_consistent()
    assert world.state(UC)["stage"] == "PRODUCTION"
    m.registry_rejects(0)  # made outside governance: recorded, not applied
    m.table_is_consistent()
    assert world.record(GROUPS[0], 1, "production")["modelStatus"] == "approved"
    m.register(GROUPS[0], "iso")
    m.decide(2, "development", "approve", 0)
    m.deployed(2, "test")
    m.table_is_consistent()
    m.decommissioned(0)
    m.use_case_decision("retire", True)
    m.table_is_consistent()
    assert world.state(UC)["stage"] == "RETIRED"
    assert {world.record(g, v, "development")["modelStatus"] for g, v in m.versions} == {"retired"}
