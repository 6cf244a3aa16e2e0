"""AWS call budget, counted with botocore's event hooks; and the IAM contract derived from the same recordings."""
from __future__ import annotations

from governance.permissions import HANDLER_ACTIONS, HANDLER_OPERATIONS, iam_actions

from .conftest import DEV_SESSION, OFFICER_SESSION, PROD_SESSION
from . import test_walkthrough as walkthrough
from .test_walkthrough import FRAUD, UC, register

G = "credit-risk-xgb"


def test_sync_makes_at_most_two_calls_per_event(world):
    world.onboard(UC, groups=(G,))
    cases = [
        world.package_event(G, 1),                                     # registration
        world.package_event(G, 1),                                     # duplicate
        world.package_event(G, 2, epoch=True, lifecycle={"Stage": "Development", "StageStatus": "PendingApproval"}),
        world.package_event(G, 2, status="Rejected", modified_ms=1_724_904_999_000, modified_by=OFFICER_SESSION),
        world.package_event(G, 2, status="Approved", modified_ms=1_724_904_700_000),  # stale
        world.package_event(G, 3, status="Approved"),                  # unknown version, arrives approved
        world.package_event("never-onboarded", 1),                     # unknown group
    ]
    for event in cases:
        world.calls.clear()
        world.sync(event)
        assert world.calls.count() <= 2, world.calls.names()
        assert world.calls.count("dynamodb:BatchGetItem") == 1


def test_a_decision_makes_at_most_three_calls(world):
    world.onboard(UC, groups=(G,), risk_tier="minimal", thresholds=())
    world.approve_use_case(UC)
    version = register(world, G)
    path = f"/use-cases/{UC}/models/{G}/versions/{version}/decision"

    def decide(stage, caller):
        world.calls.clear()
        code, body = world.api("POST", path, {"stage": stage, "action": "approve"}, caller=caller)
        assert code == 200, body
        assert world.calls.count() <= 3, world.calls.names()
        return world.calls.names()

    assert decide("development", DEV_SESSION) == ["dynamodb:BatchGetItem", "dynamodb:TransactWriteItems"]
    world.report(world.member_event("Model Deployed", G, version, "test"))
    decide("test", OFFICER_SESSION)
    world.report(world.member_event("Model Deployed", G, version, "production"))
    assert decide("production", PROD_SESSION) == ["dynamodb:BatchGetItem", "dynamodb:TransactWriteItems", "sagemaker:UpdateModelPackage"]


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
    operations = {"sync": set(), "api": set(), "metrics": set()}
    kinds = {"sync": set(), "api": set(), "metrics": set()}

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
    walkthrough.test_walkthrough_credit_risk_reaches_production(world)
    world.api("GET", "/use-cases")
    # a registry change to a known version (sync updates records, not only creates them)
    revoke = world.package_event(FRAUD, 1, status="Rejected", modified_ms=4_000_000_000_000, modified_by=OFFICER_SESSION)
    assert world.sync(revoke)["result"] == "written"
    assert world.record(FRAUD, 1, "production")["modelStatus"] == "rejected"
    for name in operations:
        assert operations[name] == set(HANDLER_OPERATIONS[name]), name
        assert iam_actions(operations[name], kinds[name]) == HANDLER_ACTIONS[name], name
    assert "dynamodb:TransactWriteItems" not in set().union(*HANDLER_ACTIONS.values())  # not an IAM action
