"""AWS call budget, counted with botocore's event hooks; and the IAM contract derived from the same recordings."""
from __future__ import annotations

import time

from governance.permissions import HANDLER_ACTIONS, HANDLER_OPERATIONS, iam_actions

from .conftest import DEV_SESSION, OFFICER_SESSION, PROD_SESSION
from . import test_walkthrough as walkthrough
from .test_walkthrough import FRAUD, UC, register

G = "credit-risk-xgb"


def test_sync_makes_at_most_three_calls_per_event_signing_included(world):
    """One read; a signed write when the record changes; registry writes are queued in that write for the repair pass."""
    world.onboard(UC, groups=(G,))
    cases = [
        (world.package_event(G, 1), 3),                                # registration: read, sign, write (card queued)
        (world.package_event(G, 1), 1),                                # duplicate
        (world.package_event(G, 2, epoch=True, lifecycle={"Stage": "development", "StageStatus": "pending"}), 3),
        (world.package_event(G, 2, status="Rejected", modified_ms=1_724_904_999_000, modified_by=OFFICER_SESSION), 3),  # outside
        (world.package_event(G, 2, status="Approved", modified_ms=1_724_904_700_000), 1),  # stale
        (world.package_event(G, 3, status="Approved"), 3),             # unknown version, arrives approved: outside, set back
        (world.package_event("never-onboarded", 1), 1),                # unknown group
    ]
    for event, expected in cases:
        world.calls.clear()
        world.sync(event)
        assert world.calls.count() == expected <= 3, world.calls.names()
        assert world.calls.count("dynamodb:BatchGetItem") == 1
        assert world.calls.count("kms:Sign") == world.calls.count("dynamodb:TransactWriteItems") == (expected == 3)
        assert world.calls.count("sagemaker:UpdateModelPackage") == 0


def test_the_repair_pass_writes_what_sync_queued_in_one_query_and_one_registry_write_per_version(world):
    world.onboard(UC, groups=(G,))
    world.sync(world.package_event(G, 1))
    assert world.api("GET", f"/use-cases/{UC}/models/{G}/versions/1")[1]["registryMirror"]["state"] == "queued"
    world.calls.clear()
    schedule = {"id": "repair-1", "source": "aws.events", "detail-type": "Scheduled Event", "time": "2024-09-02T10:00:00Z", "detail": {}}
    assert world.sync(schedule)["result"] == "written"
    assert world.calls.count("dynamodb:Query") == 1 and world.calls.count("sagemaker:UpdateModelPackage") == 1
    [(_, _, update)] = [r for r in world.calls.records if r[1] == "UpdateModelPackage"]
    assert (update["ModelLifeCycle"]["Stage"], update["ModelLifeCycle"]["StageStatus"]) == ("development", "pending")
    assert "ModelCard" in update
    assert world.api("GET", f"/use-cases/{UC}/models/{G}/versions/1")[1].get("registryMirror") is None


def test_a_decision_makes_at_most_four_calls_signing_and_registry_mirror_included(world):
    """Read, sign, write, and one UpdateModelPackage carrying approval status, lifecycle and model card."""
    world.onboard(UC, groups=(G,), risk_tier="minimal", thresholds=())
    world.approve_use_case(UC)
    version = register(world, G)
    path = f"/use-cases/{UC}/models/{G}/versions/{version}/decision"
    mirrored = ["dynamodb:BatchGetItem", "kms:Sign", "dynamodb:TransactWriteItems", "sagemaker:UpdateModelPackage"]

    def decide(stage, caller, action="approve"):
        world.calls.clear()
        code, body = world.api("POST", path, {"stage": stage, "action": action, "reason": "done"}, caller=caller)
        assert code == 200 and body["registry"]["updated"] is True, body
        assert world.calls.names() == mirrored
        [(_, _, update)] = [r for r in world.calls.records if r[1] == "UpdateModelPackage"]
        assert {"ModelApprovalStatus", "ModelLifeCycle", "ModelCard"} <= set(update)
        return update

    assert decide("development", DEV_SESSION)["ModelApprovalStatus"] == "Approved"
    world.report(world.member_event("Model Deployed", G, version, "test"))
    assert decide("test", OFFICER_SESSION)["ModelLifeCycle"]["Stage"] == "test"
    world.report(world.member_event("Model Deployed", G, version, "production"))
    assert decide("production", PROD_SESSION)["ModelLifeCycle"]["StageStatus"] == "approved"
    assert decide("production", OFFICER_SESSION, "retire")["ModelLifeCycle"]["StageStatus"] == "retired"


def test_one_query_per_queue_page(world):
    world.onboard(UC, groups=(G,))
    for v in range(1, 6):
        world.sync(world.package_event(G, v, created_ms=1_724_904_598_000 + v))
    seen, token, pages = [], None, 0
    while True:
        world.calls.clear()
        query = {"stage": "development", "status": "pending", "limit": "2", **({"next": token} if token else {})}
        code, page = world.api("GET", "/queue", query=query)
        assert code == 200 and world.calls.names() == ["dynamodb:Query"]
        pages += 1
        seen += [i["modelVersion"] for i in page["items"]]
        token = page["next"]
        if not token:
            break
    assert seen == [1, 2, 3, 4, 5] and pages == 3  # oldest first, nothing lost or repeated


def test_recorded_calls_match_the_declared_iam_actions(world, monkeypatch):
    """Every call each handler makes is declared, and every declared action is used: the roles get exactly these."""
    from .conftest import World
    operations = {"sync": set(), "api": set(), "metrics": set(), "checkpoint": set()}
    kinds = {"sync": set(), "api": set(), "metrics": set(), "checkpoint": set()}

    def recording(name, original):
        def call(self, *args, **kwargs):
            start = len(self.calls.records)
            try:
                return original(self, *args, **kwargs)
            finally:
                for service, op, params in self.calls.records[start:]:
                    operations[name].add(f"{service}:{op}")
                    if op == "TransactWriteItems":
                        for action in params["TransactItems"]:
                            kinds[name] |= set(action)
        return call

    monkeypatch.setattr(World, "sync", recording("sync", World.sync))
    monkeypatch.setattr(World, "report", recording("metrics", World.report))
    monkeypatch.setattr(World, "api", recording("api", World.api))
    monkeypatch.setattr(World, "checkpoint", recording("checkpoint", World.checkpoint))
    walkthrough.test_walkthrough_credit_risk_reaches_production(world)
    world.api("GET", "/use-cases")
    # a registry change to a known version (sync updates records, not only creates them)
    revoke = world.package_event(FRAUD, 1, status="Rejected", modified_ms=int(time.time() * 1000) + 1000, modified_by=OFFICER_SESSION)
    assert world.sync(revoke)["result"] == "written"
    assert world.record(FRAUD, 1, "production")["modelStatus"] == "approved"  # an outside change: recorded, set back
    schedule = {"id": "repair-1", "source": "aws.events", "detail-type": "Scheduled Event", "time": "2024-09-02T10:00:00Z", "detail": {}}
    assert world.sync(schedule)["result"] == "written"  # the repair pass writes what sync queued (the set-back among them)
    assert world.sync({**schedule, "id": "repair-2"})["result"] == "ignored"  # and then finds nothing left
    assert world.checkpoint()["checkpoints"] > 0  # the stream consumer checkpoints the heads it verified
    back = world.package_event(FRAUD, 1, status="PendingManualApproval", modified_ms=int(time.time() * 1000) + 2000,
                               modified_by=OFFICER_SESSION)
    assert world.sync(back)["result"] == "written"  # another outside change, set back again
    assert world.checkpoint() == {"checkpoints": 1, "unsignedChanges": 0, "refused": 0}  # reads the last checkpoint first
    assert world.api("GET", f"/use-cases/{UC}/models/{FRAUD}/versions/1/audit/verify")[1]["checkpoint"] is not None
    for name in operations:
        assert operations[name] == set(HANDLER_OPERATIONS[name]), name
        assert iam_actions(operations[name], kinds[name]) == HANDLER_ACTIONS[name], name
    assert "dynamodb:TransactWriteItems" not in set().union(*HANDLER_ACTIONS.values())  # not an IAM action
