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
    world.sync(world.package_event(G, 1))  # the registry (moto) has no such package: the mirror call fails
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
