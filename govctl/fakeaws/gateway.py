"""API Gateway with IAM authorization and the hub's resource policy, played on 127.0.0.1 in front of a Lambda handler.

Each request's SigV4 signature is recomputed with botocore for the persona's known secret over the body that
arrived; unsigned, badly signed, stale or replayed requests, and callers outside the organization, get 403
answers and never reach the handler. Signed ones reach it as a REST API Lambda proxy event whose
`requestContext.identity.userArn` is the persona's ARN (`resource` and `pathParameters` from `governance.routes`). Every request gets an answer: a bad
`Content-Length`, a slow client or a failing handler gets a 4xx/5xx, not a dropped connection.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import socket
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Collection, Mapping
from urllib.parse import unquote, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from governance.requests import BODY_SLACK_BYTES
from governance.requests import MAX_BODY_BYTES as API_MAX_BODY_BYTES
from governance.routes import match
from govctl.fakeaws.events import iam_identity, rest_api_event
from govctl.personas import BY_ACCESS_KEY, Persona

logger = logging.getLogger(__name__)

MAX_SKEW_SECONDS = 300
STAGE = "api"
# Room above the API's own limit, so the handler's answer to an oversized body is reachable.
MAX_BODY_BYTES = 1024 * 1024 + API_MAX_BODY_BYTES + BODY_SLACK_BYTES
CLIENT_TIMEOUT_SECONDS = 30.0
# Reads are repeated legitimately within one second (SigV4's clock), giving identical signatures; writes are not.
REPLAY_GUARDED = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/\s]+)/(?P<date>\d{8})/(?P<region>[^/\s]+)/(?P<service>[^/\s]+)/aws4_request,\s*"
    r"SignedHeaders=(?P<headers>[a-z0-9;-]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)
_LENGTH_RE = re.compile(r"[0-9]{1,19}")
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_SIGNATURE_MISMATCH = ("The request signature we calculated does not match the signature you provided. Check your AWS "
                       "Secret Access Key and signing method. Consult the service documentation for details.")


def _skew_problem(amz_date: str, signed_at: float, now: float) -> str:
    def stamp(t: float) -> str:
        return datetime.fromtimestamp(t, timezone.utc).strftime(_AMZ_DATE)

    if signed_at < now - MAX_SKEW_SECONDS:
        return f"Signature expired: {amz_date} is now earlier than {stamp(now - MAX_SKEW_SECONDS)} ({stamp(now)} - 5 min.)"
    if signed_at > now + MAX_SKEW_SECONDS:
        return f"Signature not yet current: {amz_date} is still later than {stamp(now + MAX_SKEW_SECONDS)} ({stamp(now)} + 5 min.)"
    return ""


def verify_sigv4(method: str, raw_target: str, headers: Mapping[str, str], body: bytes, *, region: str,
                 now: float | None = None) -> tuple[Persona | None, str]:
    """The persona that signed the request, or (None, the message API Gateway would give).

    The payload hash in the canonical request is the hash of `body`: a client's `x-amz-content-sha256` that says
    otherwise (or `UNSIGNED-PAYLOAD`) is a mismatch, never the value signed over.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    auth = lower.get("authorization")
    if not auth:
        return None, "Forbidden"
    m = _AUTH_RE.match(auth.strip())
    if not m:
        return None, "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters."
    p = BY_ACCESS_KEY.get(m["key"])
    if p is None:
        return None, "The security token included in the request is invalid."
    if m["service"] != "execute-api" or m["region"] != region:
        return None, f"Credential should be scoped to a valid region and service: {region}/execute-api."
    amz_date = lower.get("x-amz-date", "")
    try:
        signed_at = datetime.strptime(amz_date, _AMZ_DATE).replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return None, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
    if amz_date[:8] != m["date"]:
        return None, "Credential should be scoped to a valid date."
    skew = _skew_problem(amz_date, signed_at, time.time() if now is None else now)
    if skew:
        return None, skew
    names = m["headers"].split(";")
    if "host" not in names or "x-amz-date" not in names or any(n not in lower for n in names):
        return None, _SIGNATURE_MISMATCH
    payload_hash = hashlib.sha256(body).hexdigest()
    if lower.get("x-amz-content-sha256", payload_hash) != payload_hash:
        return None, _SIGNATURE_MISMATCH
    request = AWSRequest(method=method, url=f"http://{lower['host']}{raw_target}", data=body,
                         headers={n: lower[n] for n in names})
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(p.access_key, p.secret_key), "execute-api", region)
    canonical = signer.canonical_request(request).rsplit("\n", 1)[0] + "\n" + payload_hash
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, m["signature"]):
        return None, _SIGNATURE_MISMATCH
    return p, ""


def persona_identity(p: Persona, org_id: str) -> dict[str, str]:
    """`requestContext.identity` of a request the persona signed."""
    user_id = f"AROA{p.name.upper().replace('-', '')}:{p.arn.rsplit('/', 1)[-1]}"
    return iam_identity(p.arn, access_key=p.access_key, user_id=user_id, principal_org_id=org_id)


def _body_text(body: bytes) -> tuple[str | None, bool]:
    """The body as the proxy event carries it: text when it is UTF-8, otherwise base64 (`isBase64Encoded`)."""
    if not body:
        return None, False
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(body).decode(), True


@dataclass(frozen=True)
class Organization:
    """What the resource policy admits: principals of these accounts (`aws:PrincipalOrgID` = `id`)."""

    id: str
    accounts: frozenset[str]

    @classmethod
    def of(cls, org_id: str, accounts: Collection[str]) -> "Organization":
        return cls(org_id, frozenset(accounts))


class ReplayGuard:
    """Signatures already served, each kept until the time window would refuse it anyway; at most `capacity`."""

    def __init__(self, capacity: int = 100_000):
        self.capacity = capacity
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first_use(self, signature: str, now: float) -> bool:
        with self._lock:
            while self._seen:
                oldest, expires = next(iter(self._seen.items()))
                if expires > now and len(self._seen) < self.capacity:
                    break
                del self._seen[oldest]
            if self._seen.get(signature, 0.0) > now:
                return False
            # Signed at most MAX_SKEW_SECONDS ahead of now, so refused by the window after twice that.
            self._seen[signature] = now + 2 * MAX_SKEW_SECONDS
            return True


class Gateway(ThreadingHTTPServer):
    """The governance API on 127.0.0.1: `invoke` gets the REST API proxy event and returns the handler's response."""

    daemon_threads = True
    request_queue_size = 256

    def __init__(self, invoke: Callable[[dict[str, Any]], dict[str, Any]], *, region: str, account: str,
                 organization: Organization, port: int = 0, quiet: bool = True,
                 client_timeout: float = CLIENT_TIMEOUT_SECONDS, max_body: int = MAX_BODY_BYTES):
        super().__init__(("127.0.0.1", port), _GatewayHandler)
        self.invoke, self.region, self.account, self.quiet = invoke, region, account, quiet
        self.organization, self.client_timeout, self.max_body = organization, client_timeout, max_body
        self.replays = ReplayGuard()
        self.endpoint = f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> "Gateway":
        threading.Thread(target=self.serve_forever, name="govctl-sandbox-gateway", daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that left mid-request is not the gateway's fault; anything else is reported."""
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)

    def refusal(self, caller: Persona, method: str, headers: Mapping[str, str], resource: str) -> str:
        """Why the resource policy or the replay guard refuses a correctly signed request ("" if neither does)."""
        if caller.account not in self.organization.accounts:
            return (f"User: {caller.arn} is not authorized to perform: execute-api:Invoke on resource: {resource}: "
                    f"the API's resource policy admits principals of organization {self.organization.id} only")
        if method in REPLAY_GUARDED:
            m = _AUTH_RE.match(next((v for k, v in headers.items() if k.lower() == "authorization"), "").strip())
            if m and not self.replays.first_use(m["signature"], time.time()):
                return "Replayed request: this signature was already used; sign the request again."
        return ""


class _Answer(Exception):
    """An answer the gateway gives itself; `close` when the rest of the connection cannot be trusted."""

    def __init__(self, status: int, message: str, *, close: bool = False):
        super().__init__(message)
        self.status, self.message, self.close = status, message, close


def _proxy_response(response: Any) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of a Lambda proxy response; ValueError/TypeError/KeyError when it is not one."""
    status = response.get("statusCode", 500)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError(f"statusCode {status!r}")
    out = response.get("body") or ""
    data = base64.b64decode(out, validate=True) if response.get("isBase64Encoded") else out.encode("utf-8")
    headers = {str(k): str(v) for k, v in (response.get("headers") or {}).items()}
    for k, values in (response.get("multiValueHeaders") or {}).items():
        headers[str(k)] = ", ".join(map(str, values))
    return status, headers, data


class _GatewayHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Gateway

    def setup(self) -> None:
        self.timeout = self.server.client_timeout
        super().setup()
        # Headers and body go out in two writes; without TCP_NODELAY, Nagle + delayed ACK add ~40 ms per request.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def parse_request(self) -> bool:
        try:
            return super().parse_request()
        except TimeoutError:
            self.send_error(HTTPStatus.REQUEST_TIMEOUT, "the request's headers did not arrive in time")
            return False

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The standard library's own refusals (bad request line, headers too large, unknown method) as JSON."""
        self._answer(_Answer(int(code), message or HTTPStatus(code).phrase, close=True))

    def handle_one_request(self) -> None:
        self._started = False
        super().handle_one_request()

    def _handle(self) -> None:
        try:
            self._serve()
        except _Answer as answer:
            self._answer(answer)
        except TimeoutError:
            self._answer(_Answer(408, "the request body did not arrive in time", close=True))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client left: nobody to answer
        except Exception as exc:  # the gateway's own fault: still an answer, never a dropped connection
            logger.exception("sandbox gateway failed on %s %s", self.command, self.path)
            self._answer(_Answer(500, f"Internal server error: the gateway failed ({type(exc).__name__})", close=True))

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

    def _serve(self) -> None:
        body = self._body()
        gateway = self.server
        headers = dict(self.headers.items())
        caller, problem = verify_sigv4(self.command, self.path, headers, body, region=gateway.region)
        if caller is None:
            raise _Answer(403, problem)
        target = urlsplit(self.path)
        resource = f"arn:aws:execute-api:{gateway.region}:{gateway.account}:sandbox/{STAGE}/{self.command}{target.path}"
        problem = gateway.refusal(caller, self.command, headers, resource)
        if problem:
            raise _Answer(403, problem)
        found = match(self.command, target.path)
        text, encoded = _body_text(body)
        event = rest_api_event(self.command, target.path, query=target.query, headers=headers, body=text, base64_body=False,
                               identity=persona_identity(caller, gateway.organization.id), account=gateway.account,
                               host=self.headers.get("Host", "127.0.0.1"), source_ip=self.client_address[0], stage=STAGE,
                               resource=found[0].path if found else None,
                               path_parameters={k: unquote(v) for k, v in found[1].items()} if found else None)
        event["isBase64Encoded"] = encoded
        try:
            status, headers_out, data = _proxy_response(gateway.invoke(event))
        except Exception as exc:
            if not gateway.quiet:
                logger.exception("the function failed on %s %s", self.command, self.path)
            raise _Answer(502, f"Internal server error: the function failed ({type(exc).__name__})") from None
        self._send(status, headers_out, data)

    def _body(self) -> bytes:
        """The body, read only when its length is stated correctly and within the gateway's limit."""
        if self.headers.get("Transfer-Encoding"):
            raise _Answer(411, "a request body needs a Content-Length (no Transfer-Encoding)", close=True)
        values = {v.strip() for v in self.headers.get_all("Content-Length") or ()}
        if not values:
            return b""
        stated = next(iter(values))
        if len(values) > 1 or not _LENGTH_RE.fullmatch(stated):
            raise _Answer(400, f"Content-Length must be one whole number of bytes, not {stated[:40]!r}", close=True)
        length = int(stated)
        if length > self.server.max_body:
            raise _Answer(413, f"the request body ({length} bytes) exceeds the gateway's limit of {self.server.max_body} bytes",
                          close=True)
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            raise _Answer(400, f"the body ended after {len(body)} of its {length} bytes", close=True)
        return body

    def _answer(self, answer: _Answer) -> None:
        if self._started:
            self.close_connection = True
            return
        code = HTTPStatus(answer.status).phrase.lower().replace(" ", "_")
        data = json.dumps({"error": code, "message": answer.message}).encode()
        self._send(answer.status, {"Content-Type": "application/json"}, data, close=answer.close)
        if answer.close:
            self._linger()

    def _send(self, status: int, headers: Mapping[str, str], data: bytes, *, close: bool = False) -> None:
        self._started = True
        self.send_response(status)
        for k, v in headers.items():
            if k.lower() not in ("content-length", "connection"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        if close:
            self.send_header("Connection", "close")  # also sets close_connection
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _linger(self) -> None:
        """Half-close, then discard what the client is still sending: closing with unread data would reset the
        connection and the client could lose the answer."""
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(1.0)
            deadline, drained = time.monotonic() + 2.0, 0
            while drained <= self.server.max_body and time.monotonic() < deadline:
                chunk = self.connection.recv(65536)
                if not chunk:
                    break
                drained += len(chunk)
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's signature
        if not self.server.quiet:
            super().log_message(format, *args)
