"""The invoke proxy against moto's sagemaker-runtime (canned responses) and stubbed endpoint failures."""
from __future__ import annotations

import base64
import json

import boto3
import pytest
import requests
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from governance.contract import InvokeSettings as Settings
from serving import invoke

from .conftest import ACCOUNT, REGION

ENDPOINT = "mlgov-test-credit-risk-xgb-v1"
SETTINGS = Settings(endpoint_name=ENDPOINT, max_body_bytes=1024)


def canned(*results: dict) -> None:
    """Queue the answers moto's InvokeEndpoint gives (moto's documented configuration API)."""
    response = requests.post(
        "http://motoapi.amazonaws.com/moto-api/static/sagemaker/endpoint-results",
        json={"account_id": ACCOUNT, "region": REGION, "results": list(results)},
        timeout=5,
    )
    assert response.status_code == 201


class Recording:
    """A client wrapper that keeps the parameters of each call, so the test sees what reached SageMaker."""

    def __init__(self, client):
        self.client, self.calls = client, []

    def invoke_endpoint(self, **params):
        self.calls.append(params)
        return self.client.invoke_endpoint(**params)


def event(body: str | None, content_type: str | None = "application/json", b64: bool = False, **headers: str) -> dict:
    hdrs = {**({"content-type": content_type} if content_type is not None else {}), **headers}
    return {"version": "2.0", "routeKey": "POST /invocations", "rawPath": "/invocations", "headers": hdrs,
            "body": body, "isBase64Encoded": b64, "requestContext": {"http": {"method": "POST"}}}


@pytest.fixture
def runtime(aws):
    return Recording(boto3.client("sagemaker-runtime", region_name=REGION))


def test_good_json_request_is_passed_through_and_answered(runtime) -> None:
    canned({"Body": '{"score": 0.91}', "ContentType": "application/json", "InvokedProductionVariant": "v1", "CustomAttributes": ""})
    result = invoke.handle(event('{"features": [1, 2, 3]}', "application/json; charset=utf-8", accept="application/json"), runtime, SETTINGS)
    assert result["statusCode"] == 200
    assert json.loads(result["body"]) == {"score": 0.91}
    assert result["headers"] == {"content-type": "application/json", "x-mlgov-variant": "v1"}
    assert result["isBase64Encoded"] is False
    (call,) = runtime.calls
    assert call == {"EndpointName": ENDPOINT, "Body": b'{"features": [1, 2, 3]}',
                    "ContentType": "application/json; charset=utf-8", "Accept": "application/json"}


def test_base64_csv_request_is_decoded_before_the_endpoint(runtime) -> None:
    canned({"Body": "0.12\n", "ContentType": "text/csv", "InvokedProductionVariant": "v2", "CustomAttributes": ""})
    body = base64.b64encode(b"1,2,3\n").decode()
    result = invoke.handle(event(body, "text/csv", b64=True), runtime, SETTINGS)
    assert (result["statusCode"], result["body"], result["headers"]["x-mlgov-variant"]) == (200, "0.12\n", "v2")
    assert runtime.calls[0]["Body"] == b"1,2,3\n" and runtime.calls[0]["ContentType"] == "text/csv"
    assert "Accept" not in runtime.calls[0]


def test_binary_answer_is_returned_base64(runtime) -> None:
    canned({"Body": "raw-bytes", "ContentType": "application/x-recordio-protobuf", "InvokedProductionVariant": "v1", "CustomAttributes": ""})
    result = invoke.handle(event('{"a": 1}'), runtime, SETTINGS)
    assert result["isBase64Encoded"] is True
    assert base64.b64decode(result["body"]) == b"raw-bytes"


@pytest.mark.parametrize("content_type", ["application/xml", "image/png", "", None])
def test_bad_content_type_is_refused_before_the_endpoint(runtime, content_type) -> None:
    result = invoke.handle(event('{"a": 1}', content_type), runtime, SETTINGS)
    assert result["statusCode"] == 415
    assert "application/json" in json.loads(result["body"])["message"]
    assert runtime.calls == []


@pytest.mark.parametrize("b64", [False, True])
def test_oversized_body_is_refused(runtime, b64) -> None:
    payload = json.dumps({"x": "a" * 1100})
    body = base64.b64encode(payload.encode()).decode() if b64 else payload
    result = invoke.handle(event(body, b64=b64), runtime, SETTINGS)
    assert result["statusCode"] == 413
    assert runtime.calls == []


def test_body_at_the_cap_is_accepted(runtime) -> None:
    canned({"Body": "{}", "ContentType": "application/json", "InvokedProductionVariant": "v1", "CustomAttributes": ""})
    payload = json.dumps({"x": "a"})
    payload += " " * (SETTINGS.max_body_bytes - len(payload))
    assert invoke.handle(event(payload), runtime, SETTINGS)["statusCode"] == 200


@pytest.mark.parametrize("body,content_type,b64,reason", [
    ("", "application/json", False, "empty"),
    (None, "application/json", False, "empty"),
    ("{not json", "application/json", False, "not valid JSON"),
    ("!!!not-base64!!!", "text/csv", True, "not valid base64"),
])
def test_malformed_body_is_a_400(runtime, body, content_type, b64, reason) -> None:
    result = invoke.handle(event(body, content_type, b64=b64), runtime, SETTINGS)
    assert result["statusCode"] == 400
    assert reason in json.loads(result["body"])["message"]
    assert runtime.calls == []


@pytest.mark.parametrize("code", ["ModelError", "ValidationError", "ServiceUnavailable"])
def test_endpoint_failure_is_a_502(code) -> None:
    client = boto3.client("sagemaker-runtime", region_name=REGION)
    with Stubber(client) as stub:
        stub.add_client_error("invoke_endpoint", service_error_code=code, service_message="container said no", http_status_code=424)
        result = invoke.handle(event('{"a": 1}'), client, SETTINGS)
        stub.assert_no_pending_responses()
    assert result["statusCode"] == 502
    assert code in json.loads(result["body"])["message"]


def test_unreachable_endpoint_is_a_502() -> None:
    class Down:
        def invoke_endpoint(self, **_params):
            raise EndpointConnectionError(endpoint_url="https://runtime.sagemaker.eu-west-1.amazonaws.com")

    assert invoke.handle(event('{"a": 1}'), Down(), SETTINGS)["statusCode"] == 502


def test_handler_reads_its_settings_from_the_environment(aws, monkeypatch, context) -> None:
    monkeypatch.setenv("ENDPOINT_NAME", ENDPOINT)
    monkeypatch.setenv("MAX_BODY_BYTES", "10")
    monkeypatch.setenv("ALLOWED_CONTENT_TYPES", "text/csv")
    invoke._client.cache_clear()
    canned({"Body": "1", "ContentType": "text/csv", "InvokedProductionVariant": "v1", "CustomAttributes": ""})
    try:
        assert invoke.handler(event("1,2", "text/csv"), context)["statusCode"] == 200
        assert invoke.handler(event('{"a":1}', "application/json"), context)["statusCode"] == 415
        assert invoke.handler(event("1,2,3,4,5,6,7", "text/csv"), context)["statusCode"] == 413
    finally:
        invoke._client.cache_clear()


class Ok:
    def invoke_endpoint(self, **_params):
        import io
        return {"Body": io.BytesIO(b"{}"), "ContentType": "application/json"}


headers = st.dictionaries(st.sampled_from(["content-type", "Content-Type", "accept", "x-other"]),
                          st.text(max_size=40), max_size=3)
bodies = st.one_of(st.none(), st.text(max_size=2000), st.integers(), st.binary(max_size=50))


@hsettings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(headers=headers, body=bodies, b64=st.booleans())
def test_no_input_makes_a_500(headers, body, b64) -> None:
    result = invoke.handle({"headers": headers, "body": body, "isBase64Encoded": b64}, Ok(), SETTINGS)
    assert result["statusCode"] in (200, 400, 413, 415)
    json.dumps(result)


@given(st.one_of(st.none(), st.text(), st.lists(st.integers()), st.integers()))
def test_not_an_http_event_is_a_400(value) -> None:
    assert invoke.handle(value, Ok(), SETTINGS)["statusCode"] == 400
