"""A corpus of bad inputs: each gets the right error, and the table is byte-for-byte unchanged."""
from __future__ import annotations

import copy
import json
from typing import Any, Callable

import pytest

from governance.handlers import api as api_handler

from .conftest import DEV_SESSION, OFFICER_SESSION, STRANGER_SESSION, TEST_SESSION, api_event

UC, G = "credit-risk", "credit-risk-xgb"
V1 = f"/use-cases/{UC}/models/{G}/versions/1"
V2 = f"/use-cases/{UC}/models/{G}/versions/2"


@pytest.fixture
def seeded(world):
    """credit-risk onboarded; v1 registered by a data scientist, v2 by the model owner; a second use case."""
    world.onboard(UC, groups=(G,))
    world.onboard("marketing", groups=("mkt-model",), risk_tier="minimal", thresholds=())
    world.approve_use_case("marketing")
    assert world.sync(world.package_event(G, 1))["result"] == "written"
    assert world.sync(world.package_event(G, 2, created_by=DEV_SESSION))["result"] == "written"
    return world


def good_event(world) -> dict[str, Any]:
    return world.package_event(G, 3)


def mutate(path: str, value: Any = "__delete__") -> Callable[[dict], dict]:
    def apply(event: dict) -> dict:
        event = copy.deepcopy(event)
        node = event
        parts = path.split(".")
        for p in parts[:-1]:
            node = node[p]
        if value == "__delete__":
            node.pop(parts[-1], None)
        else:
            node[parts[-1]] = value
        return event
    return apply


SYNC_CASES = {
    "not-an-object": (lambda e: [e], "not a JSON object"),
    "no-detail": (mutate("detail"), "detail is missing"),
    "detail-a-string": (mutate("detail", "{}"), "detail is missing"),
    "wrong-source": (mutate("source", "aws.s3"), "event source"),
    "wrong-detail-type": (mutate("detail-type", "SageMaker Endpoint State Change"), "detail-type"),
    "no-event-id": (mutate("id"), "event id"),
    "injection-event-id": (mutate("id", "x'; DROP TABLE--"), "event id"),
    "no-group": (mutate("detail.ModelPackageGroupName"), "ModelPackageGroupName is missing"),
    "injection-group": (mutate("detail.ModelPackageGroupName", "g#CONFIG"), "model group"),
    "version-as-string": (mutate("detail.ModelPackageVersion", "3"), "not an integer"),
    "version-as-bool": (mutate("detail.ModelPackageVersion", True), "not an integer"),
    "version-zero": (mutate("detail.ModelPackageVersion", 0), "invalid"),
    "arn-other-group": (mutate("detail.ModelPackageArn", "arn:aws:sagemaker:us-east-1:123456789012:model-package/other/3"), "does not name"),
    "arn-garbage": (mutate("detail.ModelPackageArn", "not-an-arn"), "not a model package version ARN"),
    "unknown-approval-status": (mutate("detail.ModelApprovalStatus", "Maybe"), "ModelApprovalStatus"),
    "creation-time-words": (mutate("detail.CreationTime", "yesterday"), "CreationTime"),
    "creation-time-missing": (mutate("detail.CreationTime"), "CreationTime is missing"),
    "lifecycle-a-string": (mutate("detail.ModelLifeCycle", "Production"), "ModelLifeCycle"),
    "created-by-a-string": (mutate("detail.CreatedBy", "alice"), "CreatedBy"),
    "event-time-missing": (mutate("time"), "event time"),
    "metadata-a-string": (mutate("detail.CustomerMetadataProperties", "mlflow.runId=abc"), "CustomerMetadataProperties is not"),
    "run-id-a-number": (mutate("detail.CustomerMetadataProperties", {"mlflow.runId": 42}), "mlflow.runId"),
    "run-id-empty": (mutate("detail.CustomerMetadataProperties", {"mlflow.runId": ""}), "mlflow.runId"),
    "run-id-too-long": (mutate("detail.CustomerMetadataProperties", {"mlflow.runId": "r" * 257}), "1 to 256 characters"),
    "unknown-group": (mutate("detail", {**json.loads(json.dumps({})), "ModelPackageGroupName": "never-onboarded"}), None),
}


@pytest.mark.parametrize("case", sorted(SYNC_CASES))
def test_bad_registry_events_are_rejected_and_write_nothing(seeded, case):
    change, expected = SYNC_CASES[case]
    if case == "unknown-group":
        event = seeded.package_event("never-onboarded", 1)
        expected = "not onboarded"
    else:
        event = change(good_event(seeded))
    before = seeded.snapshot()
    result = seeded.sync(event)
    assert result["result"] == "rejected"
    assert expected in result["message"]
    assert seeded.snapshot() == before


def member(world, kind="Model Metrics", **changes):
    event = world.member_event(kind, G, 1, "test", metrics={"auc": 0.9})
    for path, value in changes.items():
        event = mutate(path.replace("__", "."), value)(event)
    return event


MEMBER_CASES = {
    "wrong-source": ({"source": "aws.sagemaker"}, "event source"),
    "development-stage": ({"detail__stage": "development"}, "test and production"),
    "metrics-missing": ({"detail__metrics": "__delete__"}, "metrics is missing"),
    "metrics-a-list": ({"detail__metrics": [1, 2]}, "JSON object"),
    "metrics-oversized": ({"detail__metrics": {"blob": "x" * 70_000}}, "the limit is 65536"),
    "endpoint-with-slash": ({"detail__endpointName": "a/../b"}, "endpoint name"),
    "version-as-string": ({"detail__modelVersion": "1"}, "not an integer"),
    "account-invalid": ({"account": "me"}, "account"),
    "endpoint-versions-a-string": ({"detail__endpointVersions": "1,2"}, "endpointVersions"),
    "endpoint-versions-of-booleans": ({"detail__endpointVersions": [True]}, "endpointVersions"),
}


@pytest.mark.parametrize("case", sorted(MEMBER_CASES))
def test_bad_member_reports_are_rejected_and_write_nothing(seeded, case):
    changes, expected = MEMBER_CASES[case]
    before = seeded.snapshot()
    result = seeded.report(member(seeded, **changes))
    assert result["result"] == "rejected" and expected in result["message"]
    assert seeded.snapshot() == before


def test_deployment_report_for_a_version_not_in_test_writes_nothing(seeded):
    before = seeded.snapshot()
    result = seeded.report(seeded.member_event("Model Deployed", G, 1, "test"))
    assert result["result"] == "rejected" and "no test record" in result["message"]
    assert seeded.snapshot() == before


def approve(stage="development", **extra):
    return {"stage": stage, "action": "approve", **extra}


# (method, path, body, caller, query, raw_body) → (status, text in message)
API_CASES: dict[str, tuple[tuple, tuple[int, str]]] = {
    "missing-caller": (("POST", V1 + "/decision", approve(), None), (403, "no IAM caller")),
    "caller-not-an-arn": (("POST", V1 + "/decision", approve(), "alice"), (403, "no IAM caller")),
    "self-approval": (("POST", V2 + "/decision", approve(), DEV_SESSION), (403, "separation of duties")),
    "stranger-approves": (("POST", V1 + "/decision", approve(), STRANGER_SESSION), (403, "not an approver")),
    "approve-test-while-in-development": (("POST", V1 + "/decision", approve("test"), OFFICER_SESSION), (409, "no test record")),
    "retire-at-a-stage-not-reached": (("POST", V1 + "/decision", {"stage": "test", "action": "retire", "reason": "x"}, OFFICER_SESSION), (409, "no test record")),
    "retire-without-reason": (("POST", V1 + "/decision", {"stage": "development", "action": "retire"}, OFFICER_SESSION), (400, "reason")),
    "approve-in-a-poc-use-case": (("POST", V1 + "/decision", approve(), DEV_SESSION), (409, "stage gate")),
    "use-case-reject-without-reason": (("POST", f"/use-cases/{UC}/decision", {"action": "reject"}, OFFICER_SESSION), (400, "reason")),
    "use-case-reject-from-poc": (("POST", f"/use-cases/{UC}/decision", {"action": "reject", "reason": "x"}, OFFICER_SESSION), (409, "from QA or PREPRODUCTION")),
    "unknown-action": (("POST", V1 + "/decision", {"stage": "development", "action": "promote"}, DEV_SESSION), (400, "action")),
    "unknown-stage": (("POST", V1 + "/decision", approve("staging"), DEV_SESSION), (400, "stage")),
    "stage-wrong-type": (("POST", V1 + "/decision", approve(["test"]), DEV_SESSION), (400, "stage")),
    "reject-without-reason": (("POST", V1 + "/decision", {"stage": "development", "action": "reject"}, DEV_SESSION), (400, "reason")),
    "reason-wrong-type": (("POST", V1 + "/decision", {"stage": "development", "action": "reject", "reason": 7}, DEV_SESSION), (400, "reason")),
    "body-not-json": (("POST", V1 + "/decision", None, DEV_SESSION, None, "{stage: test"), (400, "not valid JSON")),
    "body-empty": (("POST", V1 + "/decision", None, DEV_SESSION), (400, "needs a JSON body")),
    "body-an-array": (("POST", V1 + "/decision", [approve()], DEV_SESSION), (400, "JSON object")),
    "unknown-field": (("POST", V1 + "/decision", approve(force=True), DEV_SESSION), (400, "unknown field 'force'; allowed: action, expectedRev, reason, stage")),
    "expected-rev-wrong-type": (("POST", V1 + "/decision", approve(expectedRev="1"), DEV_SESSION), (400, "expectedRev")),
    "stale-expected-rev": (("POST", V1 + "/decision", approve(expectedRev=7), DEV_SESSION), (409, "stale")),
    "version-not-a-number": (("POST", f"/use-cases/{UC}/models/{G}/versions/abc/decision", approve(), DEV_SESSION), (400, "model version")),
    "version-zero": (("POST", f"/use-cases/{UC}/models/{G}/versions/0/decision", approve(), DEV_SESSION), (400, "model version")),
    "injection-group": (("POST", f"/use-cases/{UC}/models/x%27%20OR%201=1/versions/1/decision", approve(), DEV_SESSION), (400, "model group")),
    "injection-use-case": (("GET", "/use-cases/CONFIG%23x", None, OFFICER_SESSION), (400, "use case id")),
    "unknown-use-case": (("POST", f"/use-cases/fraud/models/{G}/versions/1/decision", approve(), DEV_SESSION), (404, "not onboarded")),
    "group-of-another-use-case": (("POST", f"/use-cases/marketing/models/{G}/versions/1/decision", approve(), DEV_SESSION), (404, "not part of use case")),
    "unregistered-version": (("POST", f"/use-cases/{UC}/models/{G}/versions/99/decision", approve(), DEV_SESSION), (404, "not registered")),
    "metrics-oversized": (("POST", V1 + "/metrics", {"kind": "validation", "stage": "development", "metrics": {"blob": "x" * 66_000}}, TEST_SESSION), (400, "bytes")),
    "metrics-not-json": (("POST", V1 + "/metrics", None, TEST_SESSION, None, "auc=0.9"), (400, "not valid JSON")),
    "metrics-nan": (("POST", V1 + "/metrics", None, TEST_SESSION, None, '{"kind":"validation","stage":"development","metrics":{"auc":NaN}}'), (400, "not valid JSON")),
    "metrics-empty": (("POST", V1 + "/metrics", {"kind": "validation", "stage": "development", "metrics": {}}, TEST_SESSION), (400, "must not be empty")),
    "metrics-a-string": (("POST", V1 + "/metrics", {"kind": "validation", "stage": "development", "metrics": "auc=0.9"}, TEST_SESSION), (400, "JSON object")),
    "monitoring-without-endpoint": (("POST", V1 + "/metrics", {"kind": "monitoring", "stage": "development", "metrics": {"auc": 1}}, TEST_SESSION), (400, "endpointName is required")),
    "monitoring-before-deployment": (("POST", V1 + "/metrics", {"kind": "monitoring", "stage": "development", "metrics": {"auc": 1}, "endpointName": "ep"}, TEST_SESSION), (409, "deployed")),
    "metrics-unknown-kind": (("POST", V1 + "/metrics", {"kind": "vibes", "stage": "development", "metrics": {"a": 1}}, TEST_SESSION), (400, "kind")),
    "metrics-missing-caller": (("POST", V1 + "/metrics", {"kind": "validation", "stage": "development", "metrics": {"a": 1}}, None), (403, "no IAM caller")),
    "queue-bad-status": (("GET", "/queue", None, OFFICER_SESSION, {"stage": "test", "status": "done"}), (400, "status")),
    "queue-bad-token": (("GET", "/queue", None, OFFICER_SESSION, {"stage": "test", "status": "pending", "next": "!!!"}), (400, "next token")),
    "queue-foreign-token": (("GET", "/queue", None, OFFICER_SESSION, {"stage": "test", "status": "pending",
                                                                    "next": "eyJwayI6eyJTIjoiVVNFQ0FTRSNjcmVkaXQtcmlzayJ9fQ"}), (400, "next token")),
    "queue-limit-too-big": (("GET", "/queue", None, OFFICER_SESSION, {"stage": "test", "status": "pending", "limit": "1000"}), (400, "limit")),
    "use-case-stranger-approves": (("POST", f"/use-cases/{UC}/decision", {"action": "approve"}, STRANGER_SESSION), (403, "not an approver")),
    "use-case-unknown-action": (("POST", f"/use-cases/{UC}/decision", {"action": "launch"}, OFFICER_SESSION), (400, "action 'launch' is invalid: Input should be 'approve', 'reject' or 'retire'")),
    "use-case-retire-by-non-officer": (("POST", f"/use-cases/{UC}/decision", {"action": "retire", "reason": "done"}, DEV_SESSION), (403, "officer")),
    "unknown-route": (("DELETE", V1, None, OFFICER_SESSION), (404, "no route")),
    "audit-of-unknown-version": (("GET", f"/use-cases/{UC}/models/{G}/versions/42/audit", None, OFFICER_SESSION), (404, "not registered")),
}


@pytest.mark.parametrize("case", sorted(API_CASES))
def test_bad_api_requests_get_the_right_error_and_write_nothing(seeded, case):
    (method, path, body, caller, *rest), (status, text) = API_CASES[case]
    query = rest[0] if rest else None
    raw = rest[1] if len(rest) > 1 else None
    before = seeded.snapshot()
    seeded.calls.clear()
    code, response = seeded.api(method, path, body, caller=caller, query=query, raw_body=raw)
    assert code == status, response
    assert text in response["message"]
    assert seeded.snapshot() == before
    assert seeded.calls.count("sagemaker:UpdateModelPackage") == 0
    assert seeded.calls.count("dynamodb:TransactWriteItems") == 0


def test_base64_body_that_is_not_base64_is_a_400(seeded):
    before = seeded.snapshot()
    code, response = seeded.api("POST", V1 + "/decision", raw_body="%%%not-base64", base64_body=False, caller=DEV_SESSION)
    assert code == 400
    event = api_event("POST", V1 + "/decision", None, caller=DEV_SESSION, raw_body="@@@@", base64_body=False)
    event["isBase64Encoded"] = True
    response = api_handler.handler(event, None)
    assert response["statusCode"] == 400
    assert seeded.snapshot() == before


REST = {"httpMethod": "GET", "path": "/use-cases", "requestContext": {"identity": {"userArn": OFFICER_SESSION}}}


@pytest.mark.parametrize("event", [
    None, [], {"version": "2.0"}, {"requestContext": {"http": {"method": 1}}, "rawPath": "/"},
    {"version": "2.0", "routeKey": "$default", "rawPath": "/use-cases", "requestContext": {"http": {"method": "GET", "path": "/use-cases"}}},
    {**REST, "httpMethod": 7}, {**REST, "requestContext": "x"}, {**REST, "queryStringParameters": "limit=1"},
    {**REST, "queryStringParameters": {"limit": 5}}, {**REST, "queryStringParameters": {"limit": None}},
    {**REST, "multiValueQueryStringParameters": {"limit": "5"}}, {**REST, "headers": "x"}, {**REST, "headers": {"a": 1}},
    {**REST, "multiValueHeaders": {"a": "b"}}, {**REST, "pathParameters": ["x"]},
])
def test_events_that_are_not_rest_proxy_requests_are_a_400(seeded, event):
    before = seeded.snapshot()
    assert api_handler.handler(event, None)["statusCode"] == 400
    assert seeded.snapshot() == before


def test_corpus_has_at_least_40_cases():
    assert len(SYNC_CASES) + len(MEMBER_CASES) + len(API_CASES) + 1 >= 40


# --- what the resolver's models and the body checks before them refuse: a 4xx naming the problem, no write ---

def token(key: dict) -> str:
    from governance.store import encode_token

    return encode_token({k: {"S": v} for k, v in key.items()})


QUEUE = {"stage": "test", "status": "pending"}
METRICS = {"kind": "validation", "stage": "development", "metrics": {"auc": 0.9}}


def nested(depth: int) -> dict:
    value: Any = 1
    for _ in range(depth):
        value = {"x": value}
    return value


# (method, path, caller, request parts) → (status, text in message)
MORE_CASES: dict[str, tuple[tuple, tuple[int, str]]] = {
    "body-too-large": (("POST", V1 + "/metrics", TEST_SESSION, {"raw_body": json.dumps({**METRICS, "metrics": {"b": "x" * 80_000}})}), (413, "exceeds 64 KB")),
    "body-plain-text": (("POST", V1 + "/decision", DEV_SESSION, {"body": approve(), "headers": {"Content-Type": "text/plain"}}), (415, "application/json only")),
    "body-form": (("POST", V1 + "/decision", DEV_SESSION, {"raw_body": "stage=development&action=approve",
                                                           "headers": {"Content-Type": "application/x-www-form-urlencoded"}}), (415, "application/json only")),
    "body-multipart": (("POST", V1 + "/decision", DEV_SESSION, {"raw_body": "--b\r\n\r\n--b--", "headers": {"Content-Type": "multipart/form-data; boundary=b"}}), (415, "multipart/form-data")),
    "body-not-utf8": (("POST", V1 + "/decision", DEV_SESSION, {"raw_body": "/3sic3RhZ2UiOiAiZGV2In0=", "base64_body": "raw"}), (400, "not valid UTF-8")),
    "body-lone-surrogate-escape": (("POST", V1 + "/decision", DEV_SESSION, {"raw_body": '{"stage": "development", "action": "reject", "reason": "\\ud800"}'}), (400, "lone surrogate")),
    "body-lone-surrogate-key": (("POST", V1 + "/metrics", TEST_SESSION, {"raw_body": '{"kind": "validation", "stage": "development", "metrics": {"\\udfff": 1}}'}), (400, "lone surrogate")),
    "body-lone-surrogate-text": (("POST", V1 + "/decision", DEV_SESSION, {"raw_body": '{"stage": "development", "action": "reject", "reason": "\ud800"}'}), (400, "lone surrogate")),
    "body-deeply-nested-metrics": (("POST", V1 + "/metrics", TEST_SESSION, {"body": {**METRICS, "metrics": nested(40)}}), (400, "nested deeper than 32")),
    "body-nested-past-recursion": (("POST", V1 + "/metrics", TEST_SESSION, {"raw_body": "[" * 30_000 + "]" * 30_000}), (400, "nested deeper than 32")),
    "body-infinity": (("POST", V1 + "/metrics", TEST_SESSION, {"raw_body": '{"kind": "validation", "stage": "development", "metrics": {"auc": Infinity}}'}), (400, "not valid JSON")),
    "body-a-string": (("POST", V1 + "/decision", DEV_SESSION, {"body": "approve"}), (400, "JSON object")),
    "body-null": (("POST", V1 + "/decision", DEV_SESSION, {"raw_body": "null"}), (400, "JSON object")),
    "reason-too-long": (("POST", V1 + "/decision", DEV_SESSION, {"body": {"stage": "development", "action": "reject", "reason": "r" * 1025}}), (400, "reason")),
    "reason-blank-to-reject": (("POST", V1 + "/decision", DEV_SESSION, {"body": {"stage": "development", "action": "reject", "reason": "   "}}), (400, "a reason is required")),
    "expected-rev-negative": (("POST", V1 + "/decision", DEV_SESSION, {"body": approve(expectedRev=-1)}), (400, "expectedRev")),
    "expected-rev-bool": (("POST", V1 + "/decision", DEV_SESSION, {"body": approve(expectedRev=True)}), (400, "expectedRev")),
    "action-missing": (("POST", V1 + "/decision", DEV_SESSION, {"body": {"stage": "development"}}), (400, "action is required")),
    "use-case-retire-without-reason": (("POST", f"/use-cases/{UC}/decision", OFFICER_SESSION, {"body": {"action": "retire"}}), (400, "a reason is required")),
    "use-case-unknown-field": (("POST", f"/use-cases/{UC}/decision", OFFICER_SESSION, {"body": {"action": "approve", "stage": "test"}}), (400, "unknown field 'stage'; allowed: action, reason")),
    "validation-with-endpoint": (("POST", V1 + "/metrics", TEST_SESSION, {"body": {**METRICS, "endpointName": "ep"}}), (400, "belong to monitoring")),
    "endpoint-bad-name": (("POST", V1 + "/metrics", TEST_SESSION, {"body": {**METRICS, "kind": "monitoring", "endpointName": "a/b"}}), (400, "endpointName")),
    "metric-name-empty": (("POST", V1 + "/metrics", TEST_SESSION, {"body": {**METRICS, "metrics": {"": 1}}}), (400, "metric names")),
    "use-case-id-uppercase": (("GET", "/use-cases/Credit-Risk", OFFICER_SESSION, {}), (400, "use case id must be 1 to 40 lowercase")),
    "group-too-long": (("GET", f"/use-cases/{UC}/models/{'g' * 64}/versions/1", OFFICER_SESSION, {}), (400, "model group must be")),
    "version-negative": (("GET", f"/use-cases/{UC}/models/{G}/versions/-1", OFFICER_SESSION, {}), (400, "model version must be a whole number")),
    "version-too-big": (("GET", f"/use-cases/{UC}/models/{G}/versions/1000000", OFFICER_SESSION, {}), (400, "model version must be")),
    "version-a-float": (("GET", f"/use-cases/{UC}/models/{G}/versions/1.5", OFFICER_SESSION, {}), (400, "model version must be")),
    "limit-words": (("GET", "/use-cases", OFFICER_SESSION, {"query": {"limit": "ten"}}), (400, "limit must be a whole number from 1 to 100, not 'ten'")),
    "limit-zero": (("GET", "/use-cases", OFFICER_SESSION, {"query": {"limit": "0"}}), (400, "limit must be")),
    "limit-repeated": (("GET", "/use-cases", OFFICER_SESSION, {"query": "limit=1&limit=2"}), (400, "'limit' is given 2 times")),
    "queue-stage-missing": (("GET", "/queue", OFFICER_SESSION, {"query": {"status": "pending"}}), (400, "query parameter 'stage' is required")),
    "queue-stage-unknown": (("GET", "/queue", OFFICER_SESSION, {"query": {**QUEUE, "stage": "staging"}}), (400, "stage must be one of development")),
    "token-not-base64": (("GET", "/use-cases", OFFICER_SESSION, {"query": {"next": "a.b"}}), (400, "next token must be")),
    "token-not-json": (("GET", "/use-cases", OFFICER_SESSION, {"query": {"next": "bm90LWpzb24"}}), (400, "next token is invalid")),
    "token-a-list": (("GET", "/queue", OFFICER_SESSION, {"query": {**QUEUE, "next": "WzFd"}}), (400, "next token is invalid")),
    "token-incomplete-key": (("GET", "/queue", OFFICER_SESSION, {"query": {**QUEUE, "next": token({"gsi1pk": "STAGE#test#STATUS#pending"})}}), (400, "its key is incomplete")),
    "token-other-partition": (("GET", "/queue", OFFICER_SESSION, {"query": {**QUEUE, "next": token(
        {"gsi1pk": "STAGE#production#STATUS#pending", "gsi1sk": "x", "pk": "MODEL#g", "sk": "x"})}}), (400, "different listing")),
    "token-other-use-case": (("GET", f"/use-cases/{UC}/audit", OFFICER_SESSION, {"query": {"next": token(
        {"pk": "USECASE#marketing", "sk": "AUDIT#000001"})}}), (400, "different listing")),
    "token-lone-surrogate": (("GET", "/queue", OFFICER_SESSION, {"query": {**QUEUE, "next": token(
        {"gsi1pk": "STAGE#test#STATUS#pending", "gsi1sk": "\ud800", "pk": "MODEL#g", "sk": "x"})}}), (400, "next token")),
}


@pytest.mark.parametrize("case", sorted(MORE_CASES))
def test_malformed_requests_are_refused_naming_the_problem_and_write_nothing(seeded, case):
    (method, path, caller, parts), (status, text) = MORE_CASES[case]
    event = api_event(method, path, parts.get("body"), caller=caller, query=parts.get("query"), raw_body=parts.get("raw_body"),
                      headers=parts.get("headers"))
    if parts.get("base64_body") == "raw":
        event["isBase64Encoded"] = True
    before = seeded.snapshot()
    seeded.calls.clear()
    response = api_handler.handler(event, None)
    answer = json.loads(response["body"])
    assert (response["statusCode"], set(answer)) == (status, {"error", "message"}), answer
    assert text in answer["message"]
    assert seeded.snapshot() == before
    assert seeded.calls.count("dynamodb:TransactWriteItems") == 0 and seeded.calls.count("sagemaker:UpdateModelPackage") == 0
