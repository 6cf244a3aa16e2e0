"""The two lifecycles together: use case send-back, retirement that cascades (in one transaction or resumable batches),
which versions are live on which endpoint, decommissioned endpoints, and every illegal transition refused."""
from __future__ import annotations

import json
import time

from governance import lifecycle, schema
from governance.contract import endpoint_name
from governance.store import Store

from .conftest import DEV_SESSION, OFFICER_SESSION, PROD_SESSION, TEST_SESSION, iso

UC, G, G2 = "credit-risk", "credit-risk-xgb", "credit-risk-fraud"
TEST_ENDPOINT = endpoint_name("test", UC, G)  # the one endpoint the test stack serves the group with
T0 = (int(time.time()) - 3600) * 1000  # reports are dated within the accepted clock skew, an hour ago


def vpath(version: int, tail: str = "", group: str = G) -> str:
    return f"/use-cases/{UC}/models/{group}/versions/{version}{tail}"


def decide(world, version, stage, action, caller=OFFICER_SESSION, reason="because", group=G):
    body = {"stage": stage, "action": action, **({"reason": reason} if action != "approve" and reason else {})}
    return world.api("POST", vpath(version, "/decision", group), body, caller=caller)


def use_case(world, action, caller=OFFICER_SESSION, reason="because"):
    return world.api("POST", f"/use-cases/{UC}/decision", {"action": action, **({"reason": reason} if reason else {})}, caller=caller)


def register(world, versions, group=G):
    for v in versions:
        assert world.sync(world.package_event(group, v, created_ms=1_724_904_598_000 + v))["result"] == "written"


def deploy(world, version, stage, endpoint=None, group=G, ms=None, **extra):
    event = world.member_event("Model Deployed", group, version, stage, endpoint=endpoint, reported_ms=ms)
    event["detail"].update(extra)
    return world.report(event)["result"]


def status(world, version, stage, group=G):
    record = world.record(group, version, stage)
    return record and record["modelStatus"]


def minimal(world, groups=(G,)):
    world.onboard(UC, groups=groups, risk_tier="minimal", thresholds=())


# ------------------------------------------------------------------ use case decisions

def test_a_rejected_use_case_keeps_its_models_and_must_be_approved_forward_again(world):
    minimal(world)
    assert use_case(world, "approve", DEV_SESSION, reason=None)[1]["stage"] == "DEVELOPMENT"
    register(world, (1, 2))
    assert decide(world, 1, "development", "approve", DEV_SESSION)[1]["useCaseStage"] == "QA"  # one stage only
    assert deploy(world, 1, "test") == "written"
    assert decide(world, 1, "test", "approve", TEST_SESSION)[1]["useCaseStage"] == "PREPRODUCTION"
    before = {s: status(world, 1, s) for s in ("development", "test", "production")}

    code, body = use_case(world, "reject", PROD_SESSION, reason="bias review failed")
    assert (code, body["stage"], body["stageStatus"]) == (200, "DEVELOPMENT", "rejected")
    assert {s: status(world, 1, s) for s in before} == before  # the models' records stay
    view = world.api("GET", f"/use-cases/{UC}")[1]
    assert view["sentBack"]["from"] == "PREPRODUCTION" and view["sentBack"]["reason"] == "bias review failed"

    # While sent back, a model approval does not move it (and the stage gates follow the use case's stage).
    assert decide(world, 2, "development", "approve", DEV_SESSION)[1]["useCaseStage"] == "DEVELOPMENT"
    code, body = decide(world, 2, "test", "approve")
    assert code == 409  # v2 is not deployed in test yet: the version's own rule speaks first
    deploy(world, 2, "test", endpointVersions=[1, 2])
    code, body = decide(world, 2, "test", "approve")
    assert code == 409 and "stage gate: a test approval needs the use case at QA or later; it is at DEVELOPMENT" in body["message"]

    # Approved forward again, one stage at a time.
    assert use_case(world, "approve", TEST_SESSION, reason=None)[1]["stage"] == "QA"
    assert world.state()["sentBack"] == "null"
    assert decide(world, 2, "test", "approve")[1]["useCaseStage"] == "PREPRODUCTION"
    trail = world.api("GET", f"/use-cases/{UC}/audit")[1]["entries"]
    assert [e["action"] for e in sorted(trail, key=lambda e: e["seq"])] == ["approve", "advance", "advance", "reject", "approve", "advance"]
    assert world.api("GET", f"/use-cases/{UC}/audit/verify")[1]["ok"] is True


def test_approving_a_poc_never_jumps_past_development(world):
    minimal(world)
    code, body = use_case(world, "approve", DEV_SESSION, reason=None)
    assert (code, body["stage"]) == (200, "DEVELOPMENT")
    code, body = use_case(world, "approve", TEST_SESSION, reason=None)
    assert code == 409 and "needs every model approved in development; not yet: credit-risk-xgb" in body["message"]


# ------------------------------------------------------------------ retirement

def test_retiring_a_version_from_anywhere_and_the_gate_view(world):
    minimal(world)
    use_case(world, "approve", DEV_SESSION, reason=None)
    register(world, (1, 2))
    decide(world, 1, "development", "approve", DEV_SESSION)
    deploy(world, 1, "test")
    before = world.snapshot()
    code, body = decide(world, 1, "test", "retire", reason=None)
    assert code == 400 and "reason" in body["message"] and world.snapshot() == before
    code, body = decide(world, 1, "test", "retire", reason="superseded")
    assert (code, body["status"]) == (200, "retired")
    assert {status(world, 1, s) for s in ("development", "test")} == {"retired"}
    view = world.api("GET", vpath(1))[1]
    assert view["retired"] is True and view["currentStage"] == "test"
    code, body = decide(world, 1, "test", "approve")
    assert code == 409 and "retired" in body["message"]
    # a registered version nobody will work on leaves the development queue
    assert decide(world, 2, "development", "retire", DEV_SESSION, reason="abandoned")[0] == 200
    queue = world.api("GET", "/queue", query={"stage": "development", "status": "pending"})[1]["items"]
    assert queue == []


def test_retiring_a_use_case_retires_every_version_in_one_transaction(world):
    minimal(world, groups=(G, G2))
    use_case(world, "approve", DEV_SESSION, reason=None)
    register(world, (1, 2))
    register(world, (1,), group=G2)
    decide(world, 1, "development", "approve", DEV_SESSION)
    world.calls.clear()
    code, body = use_case(world, "retire", reason="product discontinued")
    assert (code, body["stage"], body["cascade"], body["versionsRetired"]) == (200, "RETIRED", "one transaction", 3)
    assert world.calls.count("dynamodb:TransactWriteItems") == 1
    for group, version in ((G, 1), (G, 2), (G2, 1)):
        records = [i for i in world.items() if i["pk"] == schema.model_pk(group) and i["sk"].startswith(f"V#{version:06d}")]
        assert {r["modelStatus"] for r in records} == {"retired"} and {r["useCaseStage"] for r in records} == {"RETIRED"}
        assert world.api("GET", vpath(version, "/audit/verify", group))[1]["ok"] is True
    before = world.snapshot()
    for call in (lambda: decide(world, 2, "development", "approve", DEV_SESSION), lambda: use_case(world, "approve", DEV_SESSION),
                 lambda: use_case(world, "retire", reason="again")):
        code, body = call()
        assert code == 409 and "retired" in body["message"]
    assert world.snapshot() == before


def test_a_large_cascade_runs_in_bounded_batches_and_resumes_after_an_interruption(world, monkeypatch):
    minimal(world)
    use_case(world, "approve", DEV_SESSION, reason=None)
    register(world, range(1, 8))
    monkeypatch.setattr(lifecycle, "MAX_TRANSACTION_ITEMS", 8)  # 7 versions x 3 items + the use case do not fit
    sizes, calls = [], {"n": 0}
    original = Store.transact

    def interrupted(self, ops):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("Lambda timed out")
        sizes.append(len(ops))
        return original(self, ops)

    monkeypatch.setattr(Store, "transact", interrupted)
    assert use_case(world, "retire", reason="end of life")[0] == 500  # the use case is retired, the cascade was cut short
    assert world.state()["stage"] == "RETIRED"
    left = sorted(v for v in range(1, 8) if status(world, v, "development") != "retired")
    assert 0 < len(left) < 7
    code, body = use_case(world, "retire", reason="end of life")
    assert (code, body["cascade"], body["versionsRetired"]) == (200, "resumed", len(left))
    assert all(status(world, v, "development") == "retired" for v in range(1, 8))
    assert max(sizes) <= 8
    assert use_case(world, "retire", reason="end of life")[0] == 409


# ------------------------------------------------------------------ endpoints: live versions, replacement, decommission

def in_test(world, versions):
    minimal(world)
    use_case(world, "approve", DEV_SESSION, reason=None)
    register(world, versions)
    for v in versions:
        decide(world, v, "development", "approve", DEV_SESSION)


def test_a_new_version_on_an_endpoint_takes_the_previous_one_off(world):
    in_test(world, (1, 2))
    endpoint = TEST_ENDPOINT
    assert deploy(world, 1, "test", ms=T0) == "written"
    assert deploy(world, 2, "test", ms=T0 + 100000) == "written"
    assert (status(world, 1, "test"), status(world, 2, "test")) == ("pending", "deployed")
    v1 = json.loads(world.record(G, 1, "test")["deployments"])
    assert v1 == [{"endpointName": endpoint, "account": "222222222222", "since": iso(T0),
                   "until": iso(T0 + 100000), "ended": "replaced", "replacedBy": 2}]
    assert world.api("GET", vpath(1))[1]["liveOn"] == []
    assert [d["endpointName"] for d in world.api("GET", vpath(2))[1]["liveOn"]] == [endpoint]
    trail = sorted(world.api("GET", vpath(1, "/audit"))[1]["entries"], key=lambda e: e["seq"])
    assert (trail[-1]["action"], trail[-1]["from"], trail[-1]["to"]) == ("undeploy", "deployed", "pending")
    # a late report of v1 (older than v2's) changes nothing
    before = world.snapshot()
    assert deploy(world, 1, "test", ms=T0 + 50000) == "stale" and world.snapshot() == before
    # rolling back to v1 later is a new deployment
    assert deploy(world, 1, "test", ms=T0 + 200000) == "written"
    assert (status(world, 1, "test"), status(world, 2, "test")) == ("deployed", "pending")


def test_an_ab_rollout_lists_what_the_endpoint_serves(world):
    in_test(world, (1, 2, 3))
    ep = TEST_ENDPOINT
    assert deploy(world, 1, "test", endpoint=ep, ms=T0, variantName="v1", endpointVersions=[1]) == "written"
    for v in (1, 2):  # the A/B rollout: v1 stays, v2 joins
        deploy(world, v, "test", endpoint=ep, ms=T0 + 100000, variantName=f"v{v}", endpointVersions=[1, 2])
    assert (status(world, 1, "test"), status(world, 2, "test")) == ("deployed", "deployed")
    assert deploy(world, 3, "test", endpoint=ep, ms=T0 + 200000, variantName="v3", endpointVersions=[3]) == "written"
    assert [status(world, v, "test") for v in (1, 2, 3)] == ["pending", "pending", "deployed"]
    live = json.loads(world.item(*lifecycle.endpoint_key("222222222222", ep))["live"])
    assert [(e["modelVersion"], e["variantName"]) for e in live] == [(3, "v3")]


def test_a_deleted_endpoint_is_recorded_decommissioned_when_and_where(world):
    in_test(world, (1,))
    deploy(world, 1, "test", ms=T0)
    decide(world, 1, "test", "approve", TEST_SESSION)
    event = world.member_event("Model Decommissioned", G, 1, "test", reported_ms=T0 + 300000)
    assert world.report(event)["result"] == "written"
    record = world.record(G, 1, "test")
    assert record["modelStatus"] == "approved"  # the decision stands; the deployment ended
    [deployment] = json.loads(record["deployments"])
    assert (deployment["until"], deployment["ended"], deployment["account"], deployment["endpointName"]) == (
        iso(T0 + 300000), "decommissioned", "222222222222", TEST_ENDPOINT)
    before = world.snapshot()
    assert world.report(event)["result"] == "duplicate" and world.snapshot() == before


# ------------------------------------------------------------------ every illegal transition, use case x model

MODEL_STAGES = ("development", "test", "production")
USE_CASE_STAGES = ("POC", "DEVELOPMENT", "QA", "PREPRODUCTION", "PRODUCTION", "RETIRED")
GATE = {"development": "DEVELOPMENT", "test": "QA", "production": "PREPRODUCTION"}
APPROVER = {"development": DEV_SESSION, "test": TEST_SESSION, "production": PROD_SESSION}
# version -> (its records, the (stage, action) the version's own lifecycle allows)
VERSIONS = {
    1: ("development pending", {("development", "approve"), ("development", "reject"), ("development", "retire")}),
    2: ("test pending", {("test", "reject"), ("test", "retire")}),
    3: ("test deployed", {("test", "approve"), ("test", "reject"), ("test", "retire")}),
    4: ("production pending", {("production", "reject"), ("production", "retire")}),
    5: ("production deployed", {("production", "approve"), ("production", "reject"), ("production", "retire")}),
    6: ("production approved", {("production", "reject"), ("production", "retire")}),
    7: ("rejected in test", {("development", "approve"), ("development", "reject"), ("development", "retire")}),
    8: ("rejected in production", {("development", "approve"), ("development", "reject"), ("development", "retire")}),
    9: ("retired", set()),
}
# Retiring a RETIRED use case resumes an unfinished cascade (refused once nothing is left, tested above).
USE_CASE_LEGAL = {"approve": {"POC", "DEVELOPMENT", "QA", "PREPRODUCTION"}, "reject": {"QA", "PREPRODUCTION"},
                  "retire": set(USE_CASE_STAGES)}


def legal(use_case_stage: str, version: int, stage: str, action: str) -> bool:
    if (stage, action) not in VERSIONS[version][1]:
        return False
    if use_case_stage == "RETIRED":
        return action == "retire"
    return action != "approve" or USE_CASE_STAGES.index(use_case_stage) >= USE_CASE_STAGES.index(GATE[stage])


def every_version_state(world) -> None:
    """One version in each reachable state (one model, so the use case walks up with it)."""
    minimal(world)
    use_case(world, "approve", DEV_SESSION, reason=None)
    register(world, range(1, 10))
    for v in range(2, 10):
        assert decide(world, v, "development", "approve", DEV_SESSION)[0] == 200
    for v in (3, 4, 5, 6, 7, 8):
        assert deploy(world, v, "test", endpointVersions=[3, 4, 5, 6, 7, 8]) == "written"
    for v in (4, 5, 6, 8):
        assert decide(world, v, "test", "approve")[0] == 200
    assert decide(world, 7, "test", "reject")[0] == 200
    for v in (5, 6, 8):
        assert deploy(world, v, "production", endpointVersions=[5, 6, 8]) == "written"
    assert decide(world, 6, "production", "approve")[0] == 200
    assert decide(world, 8, "production", "reject")[0] == 200
    assert decide(world, 9, "test", "retire")[0] == 200
    assert world.state()["stage"] == "PRODUCTION"


def test_every_illegal_transition_is_refused_with_its_rule_and_writes_nothing(world):
    from governance import rules
    from governance.domain import Action, Stage, StageRecord, Status, UseCaseStage

    every_version_state(world)
    refused = 0
    for uc_stage in USE_CASE_STAGES:
        world.ddb.update_item(TableName="mlgov-governance", Key={"pk": {"S": schema.use_case_pk(UC)}, "sk": {"S": "STATE"}},
                              UpdateExpression="SET #s = :s", ExpressionAttributeNames={"#s": "stage"},
                              ExpressionAttributeValues={":s": {"S": uc_stage}})
        before = world.snapshot()
        for version in VERSIONS:
            views = {r["modelStage"]: r for r in world.api("GET", vpath(version))[1]["records"]}
            records = {Stage(s): StageRecord(Stage(s), Status(r["modelStatus"]), 1) for s, r in views.items()}
            for stage in MODEL_STAGES:
                for action in ("approve", "reject", "retire"):
                    if legal(uc_stage, version, stage, action):  # the pure rules agree it is allowed
                        rules.transition(records, Stage(stage), Action(action))
                        rules.check_model_gate(UseCaseStage(uc_stage), Stage(stage), Action(action))
                        continue
                    # someone who may decide here and has not approved this record yet: the refusal is the lifecycle's
                    caller = APPROVER[stage] if APPROVER[stage] not in (views.get(stage) or {}).get("approvals", []) else OFFICER_SESSION
                    code, body = decide(world, version, stage, action, caller)
                    assert code == 409, (uc_stage, version, stage, action, body)
                    assert body["message"], body
                    refused += 1
                    if action != "approve":
                        code, body = decide(world, version, stage, action, caller, reason=None)
                        assert code == 400 and "reason" in body["message"]
                        refused += 1
        for action in ("approve", "reject", "retire"):
            if uc_stage in USE_CASE_LEGAL[action]:
                continue
            code, body = use_case(world, action, reason="because")
            assert code == 409 and body["message"], (uc_stage, action, body)
            refused += 1
        for action in ("reject", "retire"):
            assert use_case(world, action, reason=None)[0] == 400
            refused += 1
        assert world.snapshot() == before, uc_stage
    print(f"illegal transitions refused: {refused}")
    assert refused >= 400
