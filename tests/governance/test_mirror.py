"""The registry mirrors every decision; outside changes are recorded and set back; failed mirrors show and get repaired."""
from __future__ import annotations

import json
import time

import pytest

from governance import contract, mirror, runtime, schema
from governance.domain import Stage, Status

from .conftest import ACCOUNT, DEV_SESSION, DS_SESSION, OFFICER_SESSION, PROD_SESSION, REGION
from .test_model_cards import STATES
from .test_walkthrough import UC, XGB, decide, register, vpath

API_ROLE = f"arn:aws:iam::{ACCOUNT}:role/mlgov-api-role"
SYNC_ROLE = f"arn:aws:iam::{ACCOUNT}:role/mlgov-sync-role"
API_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/mlgov-api-role/mlgov-api"


@pytest.fixture(autouse=True)
def _governance_roles(monkeypatch):
    monkeypatch.setenv(contract.GovernanceSettings.REGISTRY_WRITERS, f"{API_ROLE},{SYNC_ROLE}")
    runtime.reset()


def now_ms() -> int:
    """Registry events are judged against the clock: a timestamp past the allowed skew is refused."""
    return int(time.time() * 1000)


def updates(world) -> list[dict]:
    return [params for _, op, params in world.calls.records if op == "UpdateModelPackage"]


def shown(params: dict) -> tuple[str, str, str]:
    return params["ModelApprovalStatus"], params["ModelLifeCycle"]["Stage"], params["ModelLifeCycle"]["StageStatus"]


def package(world, version: int = 1) -> dict:
    return world.sm.describe_model_package(ModelPackageName=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{XGB}/{version}")


def repair(world) -> list[dict]:
    """Run the scheduled pass (what sync queued for it) and return its registry writes."""
    world.calls.clear()
    world.sync(SCHEDULED)
    return updates(world)


def audit_actions(world) -> list[dict]:
    return sorted((i for i in world.items() if i["sk"].startswith("AUDIT#") and i["pk"] == schema.model_pk(XGB)), key=lambda i: i["seq"])


@pytest.mark.parametrize("state, expected", [
    ("registered", ("PendingManualApproval", "development", "pending")),
    ("approved-in-development", ("Approved", "development", "approved")),
    ("test-metrics-below-threshold", ("Approved", "development", "approved")),
    ("in-production", ("Approved", "production", "approved")),
    ("rejected-at-test", ("Rejected", "test", "rejected")),
    ("retired", ("Rejected", "production", "retired")),
    ("retired-in-development", ("Rejected", "development", "retired")),
])
def test_the_registry_state_is_a_function_of_the_record(state, expected):
    want = mirror.desired(STATES[state])
    assert (want.approval, want.lifecycle()["Stage"], want.lifecycle()["StageStatus"]) == expected


def test_a_development_rejection_shows_as_rejected_until_the_rework_is_approved():
    dev = {**STATES["registered"][Stage.development], schema.LAST_REJECTION: json.dumps({"stage": "development", "reason": "r", "by": "x", "at": "t"})}
    want = mirror.desired({Stage.development: dev})
    assert (want.approval, want.stage, want.status) == ("Rejected", Stage.development, Status.rejected)


def registry_approves(stage: str, approval: str, lifecycle) -> bool:
    """The deploy-time gate's reading of the registry (contract.DEPLOYABLE_LIFECYCLES)."""
    return approval == contract.REGISTRY_APPROVED and (lifecycle["Stage"], lifecycle["StageStatus"]) in contract.DEPLOYABLE_LIFECYCLES[stage]


@pytest.mark.parametrize("state, test_ok, prod_ok", [
    ("registered", False, False), ("approved-in-development", True, False), ("in-production", True, True),
    ("rejected-at-test", False, False), ("retired", False, False), ("retired-in-development", False, False),
])
def test_what_the_registry_shows_is_what_the_deploy_time_gate_allows(state, test_ok, prod_ok):
    want = mirror.desired(STATES[state])
    assert (registry_approves("test", want.approval, want.lifecycle()), registry_approves("production", want.approval, want.lifecycle())) \
        == (test_ok, prod_ok)


def test_every_decision_is_mirrored_in_one_call_that_the_gate_reads(world):
    world.onboard(UC, groups=(XGB,), risk_tier="minimal", thresholds=())
    world.approve_use_case(UC)
    version = register(world, XGB)
    assert updates(world) == []  # sync queues the registration's lifecycle and card for the repair pass
    [registration] = repair(world)
    assert shown(registration) == ("PendingManualApproval", "development", "pending")
    assert registration["ModelCard"]["ModelCardStatus"] == "Draft"

    def step(stage, caller, action="approve", reason=None):
        world.calls.clear()
        code, body = decide(world, XGB, version, stage, action, caller, reason=reason)
        assert code == 200, body
        [params] = updates(world)
        assert params["ModelLifeCycle"]["StageDescription"] == params["ApprovalDescription"]
        assert body["registry"] == {"status": params["ModelApprovalStatus"], "updated": True,
                                    "lifecycle": {k: params["ModelLifeCycle"][k] for k in ("Stage", "StageStatus")}}
        return params

    dev = step("development", DEV_SESSION, reason="features reviewed")
    assert shown(dev) == ("Approved", "development", "approved")
    assert package(world)["ModelApprovalStatus"] == "Approved"  # the article's step: approved for deployment to test
    assert DEV_SESSION in dev["ApprovalDescription"] and "features reviewed" in dev["ApprovalDescription"]
    assert registry_approves("test", dev["ModelApprovalStatus"], dev["ModelLifeCycle"])
    assert not registry_approves("production", dev["ModelApprovalStatus"], dev["ModelLifeCycle"])
    world.report(world.member_event("Model Deployed", XGB, version, "test"))
    test = step("test", OFFICER_SESSION)
    assert shown(test) == ("Approved", "test", "approved") and registry_approves("production", "Approved", test["ModelLifeCycle"])
    world.report(world.member_event("Model Deployed", XGB, version, "production"))
    prod = step("production", PROD_SESSION)
    assert shown(prod) == ("Approved", "production", "approved") and prod["ModelCard"]["ModelCardStatus"] == "Approved"
    retired = step("production", OFFICER_SESSION, "retire", reason="superseded by v2")
    assert shown(retired) == ("Rejected", "production", "retired") and "superseded by v2" in retired["ApprovalDescription"]
    assert package(world)["ModelApprovalStatus"] == "Rejected"
    assert world.record(XGB, version, "development")[schema.REGISTRY_STATUS] == "Rejected"


def test_a_rejection_is_mirrored_and_the_description_stays_within_aws_limits(world):
    world.onboard(UC, groups=(XGB,), risk_tier="minimal", thresholds=())
    world.approve_use_case(UC)
    version = register(world, XGB)
    world.calls.clear()
    reason = "leaky features\n" + "x" * 1000
    assert decide(world, XGB, version, "development", "reject", OFFICER_SESSION, reason=reason)[0] == 200
    [params] = updates(world)
    assert shown(params) == ("Rejected", "development", "rejected")
    description = params["ModelLifeCycle"]["StageDescription"]
    assert len(description) == 1024 and "\n" not in description and "leaky features" in description and OFFICER_SESSION in description


def test_a_data_scientists_approval_in_the_registry_is_recorded_not_applied_and_set_back(world):
    world.onboard(UC, groups=(XGB,), risk_tier="minimal", thresholds=())
    world.approve_use_case(UC)
    version = register(world, XGB)
    world.sm.update_model_package(ModelPackageArn=package(world)["ModelPackageArn"], ModelApprovalStatus="Approved")
    assert package(world)["ModelApprovalStatus"] == "Approved"
    world.calls.clear()
    event = world.package_event(XGB, version, status="Approved", modified_ms=now_ms(), modified_by=DS_SESSION,
                                lifecycle={"Stage": "production", "StageStatus": "approved"})
    result = world.sync(event)
    assert result["result"] == "written" and "outside governance" in result["message"]
    assert world.record(XGB, version, "development")["modelStatus"] == "pending" and world.record(XGB, version, "test") is None
    assert updates(world) == [] and world.calls.count() == 3  # read, sign, write: the set-back is queued
    [params] = repair(world)
    assert shown(params) == ("PendingManualApproval", "development", "pending")
    assert package(world)["ModelApprovalStatus"] == "PendingManualApproval"
    entry = audit_actions(world)[-1]
    assert entry["action"] == "registry-outside-change" and entry["actor"] == DS_SESSION
    detail = json.loads(entry["detail"])
    assert detail["registry"] == {"ModelApprovalStatus": "Approved", "ModelLifeCycle": {"Stage": "production", "StageStatus": "approved"}}
    assert detail["record"]["ModelApprovalStatus"] == "PendingManualApproval" and detail["by"] == DS_SESSION
    assert world.api("GET", vpath(XGB, version, "/audit/verify"))[1]["ok"] is True
    # the set-back's own event shows the record's state: nothing more to do
    world.calls.clear()
    back = world.package_event(XGB, version, modified_ms=now_ms() + 1000, modified_by=API_SESSION,
                               lifecycle={"Stage": "development", "StageStatus": "pending"})
    assert world.sync(back)["result"] == "duplicate" and world.calls.names() == ["dynamodb:BatchGetItem"]


def test_a_lifecycle_changed_outside_governance_is_set_back_too(world):
    world.onboard(UC, groups=(XGB,), risk_tier="minimal", thresholds=())
    world.approve_use_case(UC)
    version = register(world, XGB)
    assert decide(world, XGB, version, "development", "approve", DEV_SESSION)[0] == 200
    world.calls.clear()
    event = world.package_event(XGB, version, status="Approved", modified_ms=now_ms(), modified_by=DS_SESSION,
                                lifecycle={"Stage": "production", "StageStatus": "approved"})
    assert world.sync(event)["result"] == "written"
    [params] = repair(world)
    assert shown(params) == ("Approved", "development", "approved")
    assert audit_actions(world)[-1]["action"] == "registry-outside-change"


def test_governances_own_writes_change_nothing(world):
    world.onboard(UC, groups=(XGB,), risk_tier="minimal", thresholds=())
    world.approve_use_case(UC)
    version = register(world, XGB)
    assert decide(world, XGB, version, "development", "approve", DEV_SESSION)[0] == 200
    before = world.snapshot()
    own = world.package_event(XGB, version, status="Approved", modified_ms=now_ms(), modified_by=API_SESSION,
                              lifecycle={"Stage": "development", "StageStatus": "approved"})
    world.calls.clear()
    assert world.sync(own)["result"] == "duplicate" and world.calls.names() == ["dynamodb:BatchGetItem"]
    # an earlier write of governance's arriving late (registry since moved on): no audit, no record change; rewritten
    late = world.package_event(XGB, version, modified_ms=now_ms() + 1000, modified_by=API_SESSION,
                               lifecycle={"Stage": "development", "StageStatus": "pending"})
    world.calls.clear()
    assert world.sync(late)["result"] == "duplicate"
    assert [shown(p) for p in repair(world)] == [("Approved", "development", "approved")]
    unmarked = lambda snapshot: [row for row in snapshot if mirror.MARKER_PREFIX not in row[1]]  # noqa: E731
    assert unmarked(world.snapshot()) == unmarked(before)


def _failing_registry(world):
    """SageMaker refuses every UpdateModelPackage of the handlers (the setup client is not affected)."""
    def refuse(**_):
        raise RuntimeError("ThrottlingException: rate exceeded")
    events = runtime.client("sagemaker").meta.events
    events.register("before-call.sagemaker.UpdateModelPackage", refuse)
    return lambda: events.unregister("before-call.sagemaker.UpdateModelPackage", refuse)


def test_a_failed_mirror_leaves_the_decision_standing_shows_and_is_repaired_by_the_next_decision(world):
    world.onboard(UC, groups=(XGB,), risk_tier="minimal", thresholds=())
    world.approve_use_case(UC)
    version = register(world, XGB)
    heal = _failing_registry(world)
    code, body = decide(world, XGB, version, "development", "approve", DEV_SESSION)
    assert code == 200 and body["status"] == "approved" and body["registry"]["updated"] is False
    assert "ThrottlingException" in body["registry"]["error"]
    assert world.record(XGB, version, "test")["modelStatus"] == "pending"  # the record is the source of truth
    view = world.api("GET", vpath(XGB, version))[1]
    assert view["registryMirror"]["state"] == "failed" and "ThrottlingException" in view["registryMirror"]["error"]
    code, queue = world.api("GET", "/queue", query={"stage": "test", "status": "pending"})
    assert code == 200 and [(i["modelGroup"], i["modelStage"]) for i in queue["items"]] == [(XGB, "test")]  # no marker in a queue
    assert package(world)["ModelApprovalStatus"] == "PendingManualApproval"
    heal()
    world.report(world.member_event("Model Deployed", XGB, version, "test"))
    world.calls.clear()
    code, body = decide(world, XGB, version, "test", "reject", OFFICER_SESSION, reason="drift")
    assert code == 200 and body["registry"]["updated"] is True
    assert [shown(p) for p in updates(world)] == [("Rejected", "test", "rejected")]
    assert world.api("GET", vpath(XGB, version))[1]["registryMirror"] is None


def test_a_failed_mirror_is_repaired_after_the_next_registry_event_of_the_package(world):
    world.onboard(UC, groups=(XGB,), risk_tier="minimal", thresholds=())
    world.approve_use_case(UC)
    version = register(world, XGB)
    heal = _failing_registry(world)
    assert decide(world, XGB, version, "development", "approve", DEV_SESSION)[0] == 200
    heal()
    # the registry still shows registration; its next event (here: a description edit by someone) disagrees with the record
    stale_view = world.package_event(XGB, version, modified_ms=now_ms(), modified_by=DS_SESSION,
                                     lifecycle={"Stage": "development", "StageStatus": "pending"})
    world.calls.clear()
    assert world.sync(stale_view)["result"] == "written"
    assert [shown(p) for p in repair(world)] == [("Approved", "development", "approved")]
    assert package(world)["ModelApprovalStatus"] == "Approved"
    assert world.api("GET", vpath(XGB, version))[1]["registryMirror"] is None


SCHEDULED = {"version": "0", "id": "5f6c8f8e-0000-4000-8000-000000000001", "detail-type": "Scheduled Event", "source": "aws.events",
             "account": ACCOUNT, "time": "2024-09-02T10:00:00Z", "region": REGION,
             "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/mlgov-registry-repair"], "detail": {}}


def test_the_scheduled_pass_rewrites_the_registry_of_failed_writes_card_included(world):
    world.onboard(UC, groups=(XGB,), risk_tier="high", thresholds=({"metric": "auc", "min": 0.8},))
    world.approve_use_case(UC)
    version = register(world, XGB)
    heal = _failing_registry(world)
    assert decide(world, XGB, version, "development", "approve", DEV_SESSION)[1]["registry"]["updated"] is False
    world.calls.clear()
    assert world.sync(SCHEDULED)["result"] == "written"  # still failing: the marker stays
    assert world.api("GET", vpath(XGB, version))[1]["registryMirror"]["state"] == "failed"
    heal()
    world.calls.clear()
    result = world.sync(SCHEDULED)
    assert result["result"] == "written" and "for 1 of 1 version" in result["message"]
    assert world.calls.names() == ["dynamodb:Query", "dynamodb:BatchGetItem", "sagemaker:UpdateModelPackage",
                                   "dynamodb:TransactWriteItems"]
    [params] = updates(world)
    assert shown(params) == ("Approved", "development", "approved")
    assert "EU AI Act" in json.loads(params["ModelCard"]["ModelCardContent"])["intended_uses"]["explanations_for_risk_rating"]
    assert world.api("GET", vpath(XGB, version))[1]["registryMirror"] is None
    world.calls.clear()
    assert world.sync(SCHEDULED)["result"] == "ignored" and world.calls.names() == ["dynamodb:Query"]

