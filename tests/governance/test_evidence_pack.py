"""The evidence pack against a walkthrough world: every number in it is what the table holds."""
from __future__ import annotations

import json
import time
from collections import Counter
from html.parser import HTMLParser

import pytest

from governance import evidence_html, evidence_pack, obligations, schema
from governance.contract import reference_digest

from .conftest import DEV_SESSION, OFFICER_SESSION, PROD_SESSION, TEST_ACCOUNT, TEST_SESSION, api_event
from .test_walkthrough import FRAUD, UC, XGB, decide, register, run_id, vpath

EVIL = "</script><script>alert(1)</script>\" onload='x' <b>&amp;"


def play(world) -> None:
    """The walkthrough to production for both models, with a reason that tries to break out of the page."""
    world.onboard(UC, groups=(XGB, FRAUD), risk_tier="high", thresholds=({"metric": "auc", "min": 0.8},))
    assert world.api("POST", f"/use-cases/{UC}/decision", {"action": "approve", "reason": "feasible"}, caller=DEV_SESSION)[0] == 200
    for g in (XGB, FRAUD):
        register(world, g)
        assert decide(world, g, 1, "development", "approve", DEV_SESSION)[0] == 200
        world.report(world.member_event("Model Deployed", g, 1, "test"))
    world.report(world.member_event("Model Metrics", XGB, 1, "test", metrics={"latencyP99Ms": 41, "auc": 0.87}))
    for g, auc in ((XGB, 0.87), (FRAUD, 0.91)):
        world.api("POST", vpath(g, 1, "/metrics"), {"kind": "validation", "stage": "test", "metrics": {"auc": auc, "ks": 0.4}}, caller=TEST_SESSION)
        assert decide(world, g, 1, "test", "approve", OFFICER_SESSION, reason=EVIL if g == XGB else "tests passed")[0] == 200
        world.report(world.member_event("Model Deployed", g, 1, "production"))
    world.report(world.member_event("Model Metrics", XGB, 1, "production", variant="challenger", metrics={"auc": 0.88, "invocations": 12000}))
    for g in (XGB, FRAUD):
        assert decide(world, g, 1, "production", "approve", PROD_SESSION, reason="A/B within tolerance")[0] == 200
        assert decide(world, g, 1, "production", "approve", OFFICER_SESSION, reason="rolled out")[0] == 200


def html_response(world, query=None):
    from governance.handlers import api
    return api.handler(api_event("GET", f"/use-cases/{UC}/evidence", caller=OFFICER_SESSION, query=query or {"format": "html"}), None)


@pytest.fixture
def played(world):
    play(world)
    return world


def test_the_pack_holds_what_the_table_holds(played):
    code, pack = played.api("GET", f"/use-cases/{UC}/evidence")
    assert code == 200 and pack["format"] == evidence_pack.FORMAT
    items = played.items()
    records = {(i[schema.MODEL_GROUP], int(i[schema.MODEL_VERSION]), i[schema.MODEL_STAGE]): i
               for i in items if i[schema.PK].startswith("MODEL#") and i[schema.SK].startswith("V#")}
    audit_items = [i for i in items if i[schema.SK].startswith(schema.AUDIT_PREFIX)]
    per_subject = Counter(i[schema.ENTRY_SUBJECT] for i in audit_items)

    assert pack["useCase"]["useCaseId"] == UC and pack["riskTier"] == "high" and pack["useCase"]["stage"] == "PRODUCTION"
    versions = [(m["modelGroup"], v) for m in pack["models"] for v in m["versions"]]
    assert {(g, v["modelVersion"]) for g, v in versions} == {(g, v) for g, v, _ in records}
    for group, v in versions:
        n = v["modelVersion"]
        assert v["mlflowRunId"] == run_id(group, n) == records[group, n, "development"][schema.MLFLOW_RUN_ID]
        assert v["modelPackageArn"] == records[group, n, "development"][schema.MODEL_PACKAGE_ARN]
        assert v["registrationCompliance"] == json.loads(records[group, n, "development"].get(schema.COMPLIANCE) or "null")
        for s in v["stages"]:
            record = records[group, n, s["stage"]]
            assert s["status"] == record[schema.MODEL_STATUS] and s["rev"] == record[schema.REV]
            assert s["approvers"] == list(record.get(schema.APPROVALS) or [])
            assert s["validationMetrics"] == evidence_pack.plain(json.loads(record.get(schema.VALIDATION_METRICS) or "null"))
            assert s["monitoring"] == evidence_pack.plain(json.loads(record.get(schema.MONITORING_METRICS) or "null"))
        subject = f"MODEL#{group}#V#{n:06d}"
        assert len(v["audit"]["entries"]) == per_subject[subject] == v["audit"]["verification"]["entries"]
        assert v["audit"]["verification"]["ok"] is True and set(v["audit"]["verification"]) == {"ok", "entries", "problems", "publicKeyFingerprint"}
        production = next(s for s in v["stages"] if s["stage"] == "production")
        assert [a["who"] for a in production["approvals"]] == [PROD_SESSION, OFFICER_SESSION]
        assert [a["why"] for a in production["approvals"]] == ["A/B within tolerance", "rolled out"]
        assert production["fourEyes"] == {"required": 2, "distinctApprovers": 2, "met": True}
        test = next(s for s in v["stages"] if s["stage"] == "test")
        assert test["thresholdChecks"] == [{"metric": "auc", "min": 0.8, "max": None, "value": 0.87 if group == XGB else 0.91, "met": True}]
        assert [d["stage"] for d in v["deployments"]] == ["test", "production"]
    approvals = sum(1 for i in audit_items if i[schema.ENTRY_SUBJECT].startswith("MODEL#")
                    and i[schema.ENTRY_ACTION] in ("approve", "approve-partial"))
    assert pack["summary"]["approvals"] == approvals == 8
    assert pack["summary"]["auditEntries"] == len(audit_items) and pack["summary"]["trailsBroken"] == 0
    assert len(pack["useCaseAudit"]["entries"]) == per_subject[f"USECASE#{UC}"]
    met = {o["obligation"]: o["met"] for o in pack["obligations"]}
    assert sorted(met) == sorted(o.value for o in obligations.of("high", "high"))
    assert met["validation-thresholds"] is met["officer-approval"] is met["four-eyes"] is True
    assert met["model-card"] is False  # no version references a model card yet: shown, not hidden


def test_an_auditor_reverifies_the_json_offline_and_sees_an_edit(played):
    pack = played.api("GET", f"/use-cases/{UC}/evidence")[1]
    assert all(r["ok"] for r in evidence_pack.reverify(pack).values())
    pack["models"][0]["versions"][0]["audit"]["entries"][1]["reason"] = "approved (edited in the pack)"
    result = evidence_pack.reverify(json.loads(json.dumps(pack)))
    broken = [k for k, r in result.items() if not r["ok"]]
    assert broken == [f"{pack['models'][0]['modelGroup']} v1"] and "edited" in result[broken[0]]["problem"]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_the_page_is_one_self_contained_pack_and_user_text_cannot_break_out(played):
    response = html_response(played)
    assert response["statusCode"] == 200
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    headers.update({k.lower(): ", ".join(v) for k, v in (response.get("multiValueHeaders") or {}).items()})
    assert headers["content-type"].startswith("text/html") and "script-src 'none'" in headers["content-security-policy"]
    page = response["body"]
    parser = _Tags()
    parser.feed(page)
    scripts = [a for t, a in parser.tags if t == "script"]
    assert scripts == [{"type": "application/json", "id": "evidence"}]
    assert not [t for t, a in parser.tags if t in ("link", "img", "iframe", "object", "embed", "b")]
    assert not [a for _, a in parser.tags if any(k.startswith("on") for k in a)]
    assert EVIL not in page and "&lt;/script&gt;&lt;script&gt;alert(1)" in page
    pack = evidence_html.extract(page)
    reasons = [e["reason"] for m in pack["models"] for v in m["versions"] for e in v["audit"]["entries"]]
    assert EVIL in reasons  # the JSON carries the text as it was written, intact
    assert pack["summary"]["approvals"] == 8


@pytest.mark.parametrize("query,code", [({"format": "pdf"}, 400), ({"format": "<html>"}, 400)])
def test_a_bad_format_is_refused_and_changes_nothing(played, query, code):
    before = played.snapshot()
    response = html_response(played, query)
    message = json.loads(response["body"])["message"]
    assert response["statusCode"] == code and "format" in message and "json" in message and "html" in message
    assert played.snapshot() == before


def test_an_unknown_use_case_is_404(played):
    code, body = played.api("GET", "/use-cases/no-such-case/evidence")
    assert code == 404, body


def test_the_pack_shows_drift_against_the_reference_recorded_at_test(played):
    reference = {"edges": [0.0, 0.5, 1.0], "counts": [60, 40]}
    digest = reference_digest(reference)
    now = int(time.time() * 1000)
    reports = [("test", now - 3_000, {"predictionReference": reference, "predictionPsi": 0.01, "predictionReferenceDigest": digest}),
               ("production", now - 2_000, {"predictionPsi": 0.05, "predictionReferenceDigest": digest}),
               ("production", now - 1_000, {"predictionPsi": 0.5, "predictionReferenceDigest": "f" * 64}),
               ("production", now, {"predictionPsi": 0.31, "predictionReferenceDigest": digest})]
    for stage, ms, metrics in reports:
        assert played.report(played.member_event("Model Metrics", XGB, 1, stage, reported_ms=ms, metrics=metrics))["result"] == "written"
    pack = played.api("GET", f"/use-cases/{UC}/evidence")[1]
    version = next(v for m in pack["models"] if m["modelGroup"] == XGB for v in m["versions"])
    drift = {s["stage"]: s["drift"] for s in version["stages"]}
    production = drift["production"]
    assert production["latest"] == 0.31 and production["beyondLimit"] == {"metric": "predictionPsi", "value": 0.31, "max": 0.2}
    assert [h["predictionPsi"] for h in production["history"]] == [0.31, 0.05] and production["refusedReports"] == 1
    assert production["reference"] == {"histogram": reference, "digest": digest, "reportedBy": f"account:{TEST_ACCOUNT}",
                                       "reportedAt": drift["test"]["reference"]["reportedAt"]}
    assert drift["test"]["latest"] == 0.01 and drift["test"]["beyondLimit"] is None and drift["development"] is None
    page = html_response(played)["body"]
    assert f'data-metric="{XGB}/1:production:drift:predictionPsi">0.31<' in page and 'data-drift="beyond"' in page
