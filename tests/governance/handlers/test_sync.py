"""sync handler: registration, registry changes, duplicates, out-of-order delivery, failures that retry."""
from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

from ..conftest import DEV_SESSION, DS_SESSION, OFFICER_SESSION, TABLE

G = "credit-risk-xgb"


def test_epoch_and_iso_creation_times_make_the_same_record(world):
    world.onboard(groups=(G, "credit-risk-fraud"))
    world.sync(world.package_event(G, 1, epoch=False))
    world.sync(world.package_event("credit-risk-fraud", 1, epoch=True))
    a, b = world.record(G, 1, "development"), world.record("credit-risk-fraud", 1, "development")
    assert a["auditTimestamp"] == b["auditTimestamp"] == "2024-08-29T04:09:58.000Z"
    assert a["registeredBy"] == DS_SESSION and a["useCaseStage"] == "POC" and a["modelStatus"] == "pending"


def test_lifecycle_is_kept_when_present(world):
    world.onboard(groups=(G,))
    world.sync(world.package_event(G, 1, lifecycle={"Stage": "development", "StageStatus": "pending"}))
    assert world.record(G, 1, "development")["registryLifeCycle"] == '{"Stage":"development","StageStatus":"pending"}'
    assert not [i for i in world.items() if i["sk"].startswith("AUDIT#") and i["action"] == "registry-outside-change"]


def test_out_of_order_registry_events_converge_and_say_why(world):
    world.onboard(groups=(G,))
    rejected = world.package_event(G, 1, status="Rejected", modified_ms=1_724_905_000_000, modified_by=OFFICER_SESSION)
    assert world.sync(rejected)["result"] == "written"  # arrives first: registers, records the outside change, sets it back
    before = world.snapshot()
    late = world.sync(world.package_event(G, 1))
    assert late["result"] == "duplicate" and "the registry shows the record's state" in late["message"]
    again = world.sync(rejected)
    assert again["result"] == "stale" and "older than the recorded registry change" in again["message"]
    assert world.snapshot() == before
    dev = world.record(G, 1, "development")
    assert dev["registryStatus"] == "PendingManualApproval" and dev["modelStatus"] == "pending" and "lastRejection" not in dev


def test_registry_approval_outside_governance_is_recorded_not_honoured(world):
    world.onboard(groups=(G,))
    world.sync(world.package_event(G, 1))
    result = world.sync(world.package_event(G, 1, status="Approved", modified_ms=1_724_905_000_000))
    assert result["result"] == "written"
    assert world.record(G, 1, "development")["modelStatus"] == "pending" and world.record(G, 1, "test") is None
    actions = [i["action"] for i in world.items() if i["sk"].startswith("AUDIT#")]
    assert "registry-outside-change" in actions


def test_failed_or_deleting_packages_are_ignored(world):
    world.onboard(groups=(G,))
    event = world.package_event(G, 1)
    event["detail"]["ModelPackageStatus"] = "Failed"
    before = world.snapshot()
    assert world.sync(event)["result"] == "ignored" and world.snapshot() == before


def test_storage_failures_raise_so_eventbridge_retries(world):
    world.onboard(groups=(G,))
    world.ddb.delete_table(TableName=TABLE)
    with pytest.raises(ClientError):
        world.sync(world.package_event(G, 1))


def test_a_replayed_registration_after_a_decision_is_stale_even_if_the_registry_clock_runs_ahead(world):
    """Found by the state machine: the decision's registry mark must come after every registry change seen."""
    world.onboard(groups=(G,), risk_tier="minimal", thresholds=())
    future = world.package_event(G, 1, created_ms=int(time.time() * 1000) + 240_000)  # ahead, within the allowed skew
    world.sync(future)
    code, _ = world.api("POST", f"/use-cases/credit-risk/models/{G}/versions/1/decision",
                        {"stage": "development", "action": "reject", "reason": "rework"}, caller=OFFICER_SESSION)
    assert code == 200
    before = world.snapshot()
    assert world.sync(future)["result"] in ("stale", "duplicate")
    assert world.snapshot() == before


def test_a_version_whose_registrant_is_unknown_needs_two_distinct_approvers_and_says_why(world):
    world.onboard(groups=(G,), risk_tier="minimal", thresholds=())
    world.sync(world.package_event(G, 1, created_by=None))
    dev = world.record(G, 1, "development")
    assert dev.get("registeredBy") is None and "two distinct approvers" in dev["approvalRule"]
    [audit] = [i for i in world.items() if i["sk"].startswith("AUDIT#")]
    assert "no IAM identity" in audit["reason"]
    world.approve_use_case()
    path = f"/use-cases/credit-risk/models/{G}/versions/1/decision"
    code, body = world.api("POST", path, {"stage": "development", "action": "approve"}, caller=DEV_SESSION)
    assert code == 200 and body["status"] == "pending" and body["pending"] == "1 more approval(s) needed"
    code, body = world.api("POST", path, {"stage": "development", "action": "approve"}, caller=DEV_SESSION)
    assert code == 403 and "second, different approver" in body["message"] and "no IAM identity" in body["message"]
    code, body = world.api("POST", path, {"stage": "development", "action": "approve"}, caller=OFFICER_SESSION)
    assert code == 200 and body["status"] == "approved"


def test_replays_from_an_archive_in_any_order_leave_the_table_as_the_sequential_run_did(world):
    """EventBridge archives replay events late and in any order: every one is a duplicate or stale by then."""
    import itertools

    world.onboard(groups=(G,), risk_tier="minimal", thresholds=())
    events = [world.package_event(G, 1), world.package_event(G, 2, created_ms=1_724_904_700_000),
              world.package_event(G, 1, status="Rejected", modified_ms=1_724_905_000_000, modified_by=OFFICER_SESSION),
              world.package_event(G, 2, status="Rejected", modified_ms=1_724_906_000_000, modified_by=OFFICER_SESSION)]
    for event in events:
        assert world.sync(event)["result"] == "written"
    sequential = world.snapshot()
    for order in itertools.permutations(events):
        for event in order:
            assert world.sync(event)["result"] in ("duplicate", "stale")
        assert world.snapshot() == sequential
