"""api handler: listings and their pagination, version view, audit pages, registry mirror failures."""
from __future__ import annotations

from ..conftest import DEV_SESSION, OFFICER_SESSION, STRANGER_SESSION

G = "credit-risk-xgb"


def test_use_cases_are_listed_page_by_page(world):
    for uc in ("credit-risk", "fraud-detection", "marketing"):
        world.onboard(uc, groups=(f"{uc}-m",), risk_tier="minimal", thresholds=())
    names, token = [], None
    while True:
        code, page = world.api("GET", "/use-cases", query={"limit": "2", **({"next": token} if token else {})})
        assert code == 200
        names += [u["useCaseId"] for u in page["useCases"]]
        token = page["next"]
        if not token:
            break
    assert names == ["credit-risk", "fraud-detection", "marketing"]
    assert all(u["stage"] == "POC" for u in page["useCases"])


def test_version_view_and_paginated_audit(world):
    world.onboard(groups=(G,), risk_tier="minimal", thresholds=())
    world.approve_use_case()
    world.sync(world.package_event(G, 1))
    world.api("POST", f"/use-cases/credit-risk/models/{G}/versions/1/decision", {"stage": "development", "action": "approve"}, caller=DEV_SESSION)
    code, view = world.api("GET", f"/use-cases/credit-risk/models/{G}/versions/1", caller=STRANGER_SESSION)
    assert code == 200 and view["currentStage"] == "test"
    assert [(r["modelStage"], r["modelStatus"]) for r in view["records"]] == [("development", "approved"), ("test", "pending")]
    code, first = world.api("GET", f"/use-cases/credit-risk/models/{G}/versions/1/audit", query={"limit": "1"})
    code, second = world.api("GET", f"/use-cases/credit-risk/models/{G}/versions/1/audit", query={"limit": "1", "next": first["next"]})
    assert [e["seq"] for e in first["entries"] + second["entries"]] == [1, 2]


def test_a_registry_mirror_failure_is_reported_but_the_decision_stands(world):
    world.onboard(groups=(G,), risk_tier="minimal", thresholds=())
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{G}/1"
    world.sync(world.package_event(G, 1, arn=arn))  # the registry (moto) has no such package: the mirror call fails
    code, body = world.api("POST", f"/use-cases/credit-risk/models/{G}/versions/1/decision",
                           {"stage": "development", "action": "reject", "reason": "leaky features"}, caller=OFFICER_SESSION)
    assert code == 200 and body["registry"]["updated"] is False and "error" in body["registry"]
    assert world.record(G, 1, "development")["registryStatus"] == "Rejected"


def test_the_handler_serves_exactly_the_route_table(world):
    from governance.handlers import api
    from governance.routes import ROUTES

    from ..conftest import api_event

    registered = {(r.method.upper(), r.path) for r in [*api.app._static_routes, *api.app._dynamic_routes]}
    assert registered == {(r.method, r.resolver_path) for r in ROUTES}
    world.onboard(groups=(G,), risk_tier="minimal", thresholds=())
    world.sync(world.package_event(G, 1))
    for route in ROUTES:
        path = route.path.format(use_case_id="credit-risk", group=G, version="1")
        response = api.handler(api_event(route.method, path, {} if route.method == "POST" else None, caller=OFFICER_SESSION,
                                         query={"stage": "development", "status": "pending"}), None)
        assert "no route" not in response.get("body", ""), route.key
    response = api.handler(api_event("DELETE", "/use-cases/credit-risk", caller=OFFICER_SESSION), None)
    assert response["statusCode"] == 404 and "no route DELETE" in response["body"]


# --- the caller is requestContext.identity of a REST proxy event; four eyes count principals, not sessions ---

def _to_production(world) -> str:
    """credit-risk (high risk) v1 approved through test, deployed in production: waiting for two approvers."""
    from ..conftest import TEST_SESSION

    world.onboard(groups=(G,), risk_tier="high", thresholds=({"metric": "auc", "min": 0.8},))
    world.approve_use_case()
    world.sync(world.package_event(G, 1))
    path = f"/use-cases/credit-risk/models/{G}/versions/1"
    assert world.api("POST", path + "/decision", {"stage": "development", "action": "approve"}, caller=DEV_SESSION)[0] == 200
    world.report(world.member_event("Model Deployed", G, 1, "test"))
    metrics = {"kind": "validation", "stage": "test", "metrics": {"auc": 0.9}}
    assert world.api("POST", path + "/metrics", metrics, caller=TEST_SESSION)[0] == 200
    assert world.api("POST", path + "/decision", {"stage": "test", "action": "approve"}, caller=OFFICER_SESSION)[0] == 200
    world.report(world.member_event("Model Deployed", G, 1, "production"))
    return path + "/decision"


def test_two_sessions_of_one_approver_role_are_one_approver(world):
    from ..conftest import OFFICER2_SESSION

    decision = _to_production(world)
    code, body = world.api("POST", decision, {"stage": "production", "action": "approve"}, caller=OFFICER_SESSION)
    assert code == 200 and body["status"] == "deployed" and "1 more approval" in body["pending"]
    before = world.snapshot()
    code, body = world.api("POST", decision, {"stage": "production", "action": "approve"}, caller=OFFICER2_SESSION)
    assert code == 403 and "already approved" in body["message"] and "different approver" in body["message"]
    assert world.snapshot() == before and world.record(G, 1, "production")["modelStatus"] == "deployed"


def test_two_people_in_two_approver_roles_complete_a_production_approval(world):
    from ..conftest import PROD_SESSION

    decision = _to_production(world)
    assert world.api("POST", decision, {"stage": "production", "action": "approve"}, caller=PROD_SESSION)[0] == 200
    code, body = world.api("POST", decision, {"stage": "production", "action": "approve"}, caller=OFFICER_SESSION)
    assert code == 200 and body["status"] == "approved" and body["approvals"] == 2
    assert world.record(G, 1, "production")["approvals"] == [PROD_SESSION, OFFICER_SESSION]


def test_an_assumed_role_session_is_matched_to_the_approver_role_in_config(world):
    """APPROVERS names `arn:aws:iam::…:role/ModelOwner`; API Gateway reports the STS session ARN of whoever assumed it."""
    world.onboard(groups=(G,), risk_tier="minimal", thresholds=())
    world.approve_use_case()
    world.sync(world.package_event(G, 1))
    session = "arn:aws:sts::123456789012:assumed-role/ModelOwner/someone-else@example.com"
    code, body = world.api("POST", f"/use-cases/credit-risk/models/{G}/versions/1/decision",
                           {"stage": "development", "action": "approve"}, caller=session)
    assert code == 200 and body["status"] == "approved"
    audit = world.api("GET", f"/use-cases/credit-risk/models/{G}/versions/1/audit")[1]["entries"]
    assert audit[-1]["actor"] == session  # the audit user is the session, the person who acted


def test_the_caller_comes_from_the_rest_identity_not_an_http_api_authorizer(world):
    from governance.handlers import api

    from ..conftest import api_event

    world.onboard(groups=(G,), risk_tier="minimal", thresholds=())
    event = api_event("GET", "/use-cases", caller=None)
    event["requestContext"]["authorizer"] = {"iam": {"userArn": OFFICER_SESSION}}  # an HTTP API's place: not trusted here
    response = api.handler(event, None)
    assert response["statusCode"] == 403 and "no IAM caller" in response["body"]
    event["requestContext"]["identity"]["userArn"] = OFFICER_SESSION
    assert api.handler(event, None)["statusCode"] == 200


def test_a_non_approver_may_read_but_not_write(world):
    world.onboard(groups=(G,), risk_tier="minimal", thresholds=())
    world.sync(world.package_event(G, 1))
    assert world.api("GET", "/use-cases", caller=STRANGER_SESSION)[0] == 200
    before = world.snapshot()
    code, body = world.api("POST", f"/use-cases/credit-risk/models/{G}/versions/1/metrics",
                           {"kind": "validation", "stage": "development", "metrics": {"auc": 0.9}}, caller=STRANGER_SESSION)
    assert code == 403 and "not a validator for the development stage" in body["message"]
    assert world.snapshot() == before


def test_a_fault_of_ours_is_a_logged_500_never_a_raise(world, monkeypatch):
    from governance.handlers import api

    world.onboard(groups=(G,), risk_tier="minimal", thresholds=())

    def broken(*_, **__):
        raise RuntimeError("the store is gone")

    monkeypatch.setattr(api, "_svc", broken)
    code, body = world.api("GET", "/use-cases")
    assert code == 500 and body == {"error": "internal_error", "message": "the governance API failed; operators are alerted"}
