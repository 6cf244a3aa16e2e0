"""The sandbox itself: API Gateway's IAM authorization played locally, the config it is built from, its cleanup."""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone

import pytest
import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from govctl.client import ApiError
from govctl.personas import PERSONAS
from govctl.fakeaws.gateway import verify_sigv4
from govctl.sandbox import ROOT, hub_config

OWNER = PERSONAS["model-owner"]
# A decision runs a DynamoDB transaction and a SageMaker call through moto; under load (a busy CI machine,
# parallel workers) that takes seconds, so the raw requests wait as long as govctl's own client does.
TIMEOUT = urllib3.Timeout(connect=10, read=60)


def signed(sb, method: str, path: str, body: bytes = b"", *, key: str = OWNER.access_key, secret: str = OWNER.secret_key,
           region: str | None = None, service: str = "execute-api") -> AWSRequest:
    request = AWSRequest(method=method, url=sb.endpoint + path, data=body,
                         headers={"Content-Type": "application/json"} if body else {})
    SigV4Auth(Credentials(key, secret), service, region or sb.region).add_auth(request)
    return request


def send(request: AWSRequest, *, body: bytes | None = None, drop: tuple[str, ...] = ()) -> tuple[int, dict]:
    prepared = request.prepare()
    headers = {k: v for k, v in prepared.headers.items() if k not in drop}
    response = urllib3.request(prepared.method, prepared.url, body=body if body is not None else prepared.body, headers=headers,
                               timeout=TIMEOUT, retries=False)
    return response.status, json.loads(response.data) if response.data else {}


def test_a_signed_request_reaches_the_handler_as_the_personas_arn(bare):
    before = bare.calls.total()
    status, body = send(signed(bare, "POST", "/use-cases/customer-churn/decision",
                               json.dumps({"action": "approve", "reason": "feasible"}).encode()))
    assert (status, body["stage"]) == (200, "DEVELOPMENT")
    assert bare.calls.total() > before
    trail = bare.api("governance-officer").audit(None, None, use_case_id="customer-churn")
    assert trail[0]["actor"] == OWNER.arn == "arn:aws:sts::222222222222:assumed-role/mlgov-model-owner/bob"


@pytest.mark.parametrize("case, expected", [
    ("unsigned", "Forbidden"),
    ("wrong secret", "The request signature we calculated does not match"),
    ("unknown key", "The security token included in the request is invalid."),
    ("body changed after signing", "The request signature we calculated does not match"),
    ("other region", "Credential should be scoped to a valid region and service: eu-west-1/execute-api."),
    ("other service", "Credential should be scoped to a valid region and service"),
    ("date header dropped", "requires existence of either a 'X-Amz-Date'"),
])
def test_unsigned_or_badly_signed_requests_get_403_and_never_reach_the_handler(bare, case, expected):
    body = json.dumps({"action": "retire", "reason": "x"}).encode()
    path = "/use-cases/credit-risk/decision"
    request = {
        "unsigned": lambda: AWSRequest(method="POST", url=bare.endpoint + path, data=body),
        "wrong secret": lambda: signed(bare, "POST", path, body, secret="guessed"),
        "unknown key": lambda: signed(bare, "POST", path, body, key="AKIAUNKNOWNKEY000000"),
        "body changed after signing": lambda: signed(bare, "POST", path, body),
        "other region": lambda: signed(bare, "POST", path, body, region="us-east-1"),
        "other service": lambda: signed(bare, "POST", path, body, service="sagemaker"),
        "date header dropped": lambda: signed(bare, "POST", path, body),
    }[case]()
    before = bare.calls.snapshot()
    status, answer = send(request, body=body.replace(b'"x"', b'"y"') if case == "body changed after signing" else None,
                          drop=("X-Amz-Date",) if case == "date header dropped" else ())
    assert status == 403 and expected in answer["message"]
    assert not bare.calls.since(before)


def test_a_stale_signature_is_refused(bare):
    request = signed(bare, "GET", "/use-cases")
    prepared = request.prepare()
    headers = {k.lower(): v for k, v in prepared.headers.items()}
    headers["host"] = bare.endpoint.removeprefix("http://")  # added by the HTTP client, and signed
    signed_at = datetime.strptime(headers["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc).timestamp()
    persona, _ = verify_sigv4("GET", "/use-cases", headers, b"", region=bare.region, now=signed_at + 60)
    assert persona is OWNER
    persona, problem = verify_sigv4("GET", "/use-cases", headers, b"", region=bare.region, now=signed_at + 301)
    assert persona is None and problem.startswith("Signature expired")
    persona, problem = verify_sigv4("GET", "/use-cases?limit=1", headers, b"", region=bare.region, now=signed_at)
    assert persona is None and "does not match" in problem  # the query string is signed too


def test_the_client_signs_query_strings_and_paginates(bare):
    api = bare.api("governance-officer")
    page = api.request("GET", "/use-cases", {"limit": 1})
    assert len(page["useCases"]) == 1 and page["next"]
    assert [u["useCaseId"] for u in api.use_cases()] == ["credit-risk", "customer-churn"]
    with pytest.raises(ApiError) as refused:
        api.request("GET", "/use-cases", {"limit": 1000})
    assert refused.value.status == 400 and "limit must be a whole number" in refused.value.message


def test_config_items_and_approvers_come_from_the_shared_stack_file(bare):
    hub = hub_config(ROOT)
    stored = [i for i in bare.items() if i["sk"] == "CONFIG"]
    assert sorted((i["pk"] for i in stored)) == sorted(i["pk"] for i in hub.config_items) == [
        "GROUP#credit-risk-xgb", "GROUP#customer-churn-model", "GROUP#fraud-detection", "HUB", "USECASE#credit-risk", "USECASE#customer-churn"]
    assert json.loads(os.environ["APPROVERS"]) == hub.approvers
    import yaml
    declared = yaml.safe_load((ROOT / "Pulumi.shared.yaml").read_text())["config"]["mlgov:approvers"]
    assert hub.approvers == declared
    for persona in ("model-owner", "qa-lead", "governance-officer", "risk-officer"):
        role_arn = PERSONAS[persona].arn.replace(":sts::", ":iam::").replace("assumed-role/", "role/").rsplit("/", 1)[0]
        assert any(role_arn in arns for arns in declared.values()), persona


def test_config_items_are_the_ones_pulumi_declares(bare):
    """The sandbox builds the CONFIG items the shared stack's TableItems declare (its offline plan), byte for byte."""
    from governance.store import to_ddb
    from mlgov import offline

    plan = offline.plan_stack("shared", root=ROOT, stack_outputs={})
    declared = sorted(r.inputs["item"] for r in plan.by_type("aws:dynamodb/tableItem:TableItem"))
    built = sorted(json.dumps(to_ddb(i), sort_keys=True) for i in hub_config(ROOT).config_items)
    assert built == declared

