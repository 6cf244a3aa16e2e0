"""The sandbox's gateway plays API Gateway with the hub's resource policy, and answers every request it gets.

Most tests run a gateway alone in front of a recording function (no moto); the organization test and the
64-client test run against a sandbox.
"""
from __future__ import annotations

import hashlib
import http.client
import json
import socket
import struct
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pytest
import urllib3
from botocore import auth as botocore_auth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from govctl.client import ApiError
from govctl.fakeaws.gateway import MAX_BODY_BYTES, Gateway, Organization, ReplayGuard
from govctl.personas import PERSONAS, Persona

REGION, ACCOUNT, ORG = "eu-west-1", "111111111111", "o-a1b2c3d4e5"
MEMBERS = Organization.of(ORG, ("111111111111", "222222222222", "333333333333", "444444444444"))
OWNER, OUTSIDER = PERSONAS["model-owner"], PERSONAS["outsider"]
TIMEOUT = urllib3.Timeout(connect=10, read=60)
OK = {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": '{"ok": true}'}


class Function:
    """The Lambda behind the gateway: records each event, answers `response` (or raises it)."""

    def __init__(self, response: Any = OK):
        self.response, self.events, self.delay = response, [], 0.0

    def __call__(self, event: dict[str, Any]) -> Any:
        self.events.append(event)
        time.sleep(self.delay)
        if isinstance(self.response, Exception):
            raise self.response
        return self.response


@pytest.fixture
def function() -> Function:
    return Function()


@pytest.fixture
def gateway(function):
    gw = Gateway(function, region=REGION, account=ACCOUNT, organization=MEMBERS, client_timeout=1.0).start()
    yield gw
    gw.stop()


def signed(endpoint: str, method: str, path: str, body: bytes = b"", *, who: Persona = OWNER,
           headers: dict[str, str] | None = None) -> tuple[str, dict[str, str]]:
    """The URL and headers of a request `who` signed (headers present before signing are signed too)."""
    request = AWSRequest(method=method, url=endpoint + path, data=body, headers=dict(headers or {}))
    SigV4Auth(Credentials(who.access_key, who.secret_key), "execute-api", REGION).add_auth(request)
    prepared = request.prepare()
    return prepared.url, dict(prepared.headers)


def send(method: str, url: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, dict[str, Any]]:
    response = urllib3.request(method, url, body=body or None, headers=headers, timeout=TIMEOUT, retries=False)
    return response.status, json.loads(response.data) if response.data else {}


def raw(gw: Gateway, data: bytes, *, then: Callable[[socket.socket], None] | None = None) -> tuple[int, dict[str, str], Any]:
    """Status, headers and JSON body of the one answer to bytes written on a fresh connection."""
    with socket.create_connection(gw.server_address, timeout=10) as sock:
        sock.sendall(data)
        if then:
            then(sock)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(response.read())


def at(seconds_from_now: float):
    """botocore's clock, moved."""
    moved = datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(seconds=seconds_from_now)
    return lambda *a, **k: moved


# --- the resource policy: the organization only ---

def test_a_caller_outside_the_organization_is_refused_before_the_function(gateway, function):
    status, answer = send("GET", *signed(gateway.endpoint, "GET", "/use-cases", who=OUTSIDER))
    assert status == 403 and answer["error"] == "forbidden" and not function.events
    assert OUTSIDER.arn in answer["message"] and "execute-api:Invoke" in answer["message"] and ORG in answer["message"]
    status, answer = send("GET", *signed(gateway.endpoint, "GET", "/use-cases"))
    assert (status, answer) == (200, {"ok": True})
    iam = function.events[0]["requestContext"]["identity"]
    assert (iam["userArn"], iam["accountId"], iam["principalOrgId"]) == (OWNER.arn, "222222222222", ORG)


def test_the_sandbox_admits_the_configured_organization_only(bare):
    assert bare.gateway.organization == Organization.of("o-a1b2c3d4e5", ("111111111111", "222222222222", "333333333333",
                                                                        "444444444444"))
    before = bare.calls.snapshot()
    with pytest.raises(ApiError) as refused:
        bare.api("outsider").use_cases()
    assert (refused.value.status, refused.value.code) == (403, "forbidden") and "o-a1b2c3d4e5" in refused.value.message
    assert not bare.calls.since(before)
    assert [u["useCaseId"] for u in bare.api("qa-lead").use_cases()] == ["credit-risk", "customer-churn"]


# --- the payload hash is the body's ---

@pytest.mark.parametrize("claimed", ["hash of another body", "UNSIGNED-PAYLOAD"])
def test_a_signed_payload_hash_that_is_not_the_bodys_is_refused(gateway, function, claimed):
    signed_body, sent_body = b'{"action": "approve"}', b'{"action": "retire!"}'
    value = hashlib.sha256(signed_body).hexdigest() if claimed == "hash of another body" else claimed
    url, headers = signed(gateway.endpoint, "POST", "/x", signed_body, headers={"X-Amz-Content-SHA256": value})
    status, answer = send("POST", url, headers, sent_body)
    assert status == 403 and "signature we calculated does not match" in answer["message"] and not function.events


def test_a_payload_hash_header_that_matches_the_body_is_accepted(gateway, function):
    body = b'{"action": "approve"}'
    url, headers = signed(gateway.endpoint, "POST", "/x", body, headers={"X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()})
    assert send("POST", url, headers, body)[0] == 200 and function.events[0]["body"] == body.decode()


# --- the time window and replays ---

@pytest.mark.parametrize("offset, expected", [(-301, "Signature expired: "), (301, "Signature not yet current: ")])
def test_a_request_signed_outside_the_window_is_refused(gateway, function, monkeypatch, offset, expected):
    monkeypatch.setattr(botocore_auth, "get_current_datetime", at(offset))
    status, answer = send("GET", *signed(gateway.endpoint, "GET", "/use-cases"))
    assert status == 403 and answer["message"].startswith(expected) and not function.events


def test_a_write_is_served_once_and_its_replay_refused(gateway, function):
    url, headers = signed(gateway.endpoint, "POST", "/use-cases/credit-risk/decision", b'{"action": "approve"}')
    assert send("POST", url, headers, b'{"action": "approve"}')[0] == 200
    status, answer = send("POST", url, headers, b'{"action": "approve"}')
    assert status == 403 and answer["message"].startswith("Replayed request") and len(function.events) == 1
    url, headers = signed(gateway.endpoint, "GET", "/use-cases")
    assert [send("GET", url, headers)[0] for _ in range(2)] == [200, 200]  # reads repeat within SigV4's one-second clock


def test_the_replay_guard_forgets_after_the_window_and_stays_bounded():
    guard = ReplayGuard(capacity=3)
    assert guard.first_use("a", now=0) and not guard.first_use("a", now=599)
    assert guard.first_use("a", now=601)  # the time window refuses it by then
    for sig in "bcd":
        assert guard.first_use(sig, now=700)
    assert len(guard._seen) == 3 and not guard.first_use("d", now=700)


# --- every request gets an answer ---

def _post(length_headers: bytes, body: bytes = b"") -> bytes:
    return b"POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\n" + length_headers + b"\r\n" + body


@pytest.mark.parametrize("headers, status", [
    (b"Content-Length: abc\r\n", 400),
    (b"Content-Length: -1\r\n", 400),
    (b"Content-Length: +5\r\n", 400),
    (b"Content-Length: 1_0\r\n", 400),
    (b"Content-Length: 5\r\nContent-Length: 6\r\n", 400),
    (b"Content-Length: 99999999999999\r\n", 413),
    (f"Content-Length: {MAX_BODY_BYTES + 1}\r\n".encode(), 413),
    (b"Transfer-Encoding: chunked\r\n", 411),
])
def test_a_malformed_or_huge_content_length_gets_an_answer(gateway, function, headers, status):
    got, out, answer = raw(gateway, _post(headers, b"hello"))
    assert got == status and out["connection"] == "close" and answer["message"] and not function.events
    assert answer["error"] == {400: "bad_request", 411: "length_required", 413: "request_entity_too_large"}[status]


def test_a_body_shorter_than_its_length_gets_400(gateway, function):
    status, _, answer = raw(gateway, _post(b"Content-Length: 100\r\n", b"0123456789"),
                            then=lambda sock: sock.shutdown(socket.SHUT_WR))
    assert status == 400 and "10 of its 100 bytes" in answer["message"] and not function.events


def test_a_slow_client_gets_408_and_frees_its_thread(gateway, function):
    started = time.monotonic()
    status, _, answer = raw(gateway, _post(b"Content-Length: 100\r\n", b"0123456789"))
    assert status == 408 and time.monotonic() - started < 5 and not function.events


def test_what_the_http_layer_refuses_is_answered_as_json(gateway):
    status, _, answer = raw(gateway, b"FOO /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert (status, answer["error"]) == (501, "not_implemented")
    status, _, answer = raw(gateway, b"GET /x HTTP/1.1\r\n" + b"X-Big: " + b"a" * 70000 + b"\r\n\r\n")
    assert status == 431 and answer["error"] == "request_header_fields_too_large"


@pytest.mark.parametrize("response", [RuntimeError("boom"), {"statusCode": "soon"}, None, {"statusCode": 200, "body": 7}])
def test_a_failing_function_gets_502_and_the_gateway_keeps_serving(gateway, function, response):
    function.response = response
    status, answer = send("GET", *signed(gateway.endpoint, "GET", "/use-cases"))
    assert status == 502 and answer["error"] == "bad_gateway" and answer["message"].startswith("Internal server error")
    function.response = OK
    assert send("GET", *signed(gateway.endpoint, "GET", "/use-cases?again=1"))[0] == 200


def test_a_fault_in_the_gateway_itself_is_answered_500(gateway, function, monkeypatch):
    from govctl.fakeaws import gateway as module

    monkeypatch.setattr(module, "rest_api_event", lambda *a, **k: 1 / 0)
    status, answer = send("GET", *signed(gateway.endpoint, "GET", "/use-cases"))
    assert (status, answer["error"]) == (500, "internal_server_error") and "ZeroDivisionError" in answer["message"]


def test_a_client_that_leaves_before_its_answer_is_no_gateway_fault(gateway, function, caplog):
    function.delay = 0.3
    url, headers = signed(gateway.endpoint, "GET", "/use-cases")
    headers["Host"] = gateway.endpoint.removeprefix("http://")
    request = "GET /use-cases HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    with socket.create_connection(gateway.server_address, timeout=10) as sock:
        sock.sendall(request.encode())
        time.sleep(0.1)  # the function is running
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
    time.sleep(0.6)
    function.delay = 0.0
    assert len(function.events) == 1 and not [r for r in caplog.records if r.levelname == "ERROR"]
    assert send("GET", *signed(gateway.endpoint, "GET", "/use-cases?after=1"))[0] == 200


def test_the_connection_stays_usable_after_an_answer_the_gateway_gave_itself(gateway, function):
    pool = urllib3.HTTPConnectionPool("127.0.0.1", gateway.server_address[1], maxsize=1, retries=False)
    url, headers = signed(gateway.endpoint, "GET", "/use-cases", who=OUTSIDER)
    assert pool.request("GET", "/use-cases", headers=headers).status == 403
    url, headers = signed(gateway.endpoint, "GET", "/use-cases")
    assert pool.request("GET", "/use-cases", headers=headers).status == 200
    assert pool.num_connections == 1


# --- many clients at once ---

CLIENTS, REQUESTS_EACH = 64, 3


def test_64_concurrent_clients_are_all_answered(bare):
    """All connect at once: every request is answered, none reset; the listen backlog holds them all."""
    names = [n for n in PERSONAS if n != "outsider"]
    host, port = bare.gateway.server_address
    start, connects, results, errors = threading.Barrier(CLIENTS), [], [], []

    def client(who: Persona) -> None:
        start.wait()
        began = time.perf_counter()
        connection = http.client.HTTPConnection(host, port, timeout=120)
        try:
            connection.connect()
            connects.append(time.perf_counter() - began)
            for _ in range(REQUESTS_EACH):
                _url, headers = signed(bare.endpoint, "GET", "/use-cases", who=who)
                connection.request("GET", "/use-cases", headers=headers)
                response = connection.getresponse()
                results.append((response.status, len(json.loads(response.read())["useCases"])))
        except Exception as exc:  # noqa: BLE001 - every failure is counted, the assertion names them
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(PERSONAS[names[i % len(names)]],)) for i in range(CLIENTS)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    elapsed = time.perf_counter() - began
    print(f"{CLIENTS} clients x {REQUESTS_EACH} requests: {elapsed:.2f} s, slowest connect {max(connects):.3f} s, "
          f"errors={len(errors)}")
    assert errors == [] and results == [(200, 2)] * (CLIENTS * REQUESTS_EACH)
    assert len(connects) == CLIENTS
