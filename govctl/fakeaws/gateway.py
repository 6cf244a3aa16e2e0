"""API Gateway with IAM authorization, played on 127.0.0.1 in front of a Lambda handler.

Each request's SigV4 signature is recomputed with botocore for the persona's known secret; unsigned or
badly signed requests get API Gateway's 403 answers and never reach the handler, signed ones reach it as
an HTTP API payload 2.0 event whose `requestContext.authorizer.iam.userArn` is the persona's ARN.
"""
from __future__ import annotations

import base64
import hmac
import json
import re
import socket
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from govctl.fakeaws.events import http_api_event, iam_caller
from govctl.personas import BY_ACCESS_KEY, Persona

MAX_SKEW_SECONDS = 300
_AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/\s]+)/(?P<date>\d{8})/(?P<region>[^/\s]+)/(?P<service>[^/\s]+)/aws4_request,\s*"
    r"SignedHeaders=(?P<headers>[a-z0-9;-]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)
_SIGNATURE_MISMATCH = ("The request signature we calculated does not match the signature you provided. Check your AWS "
                       "Secret Access Key and signing method. Consult the service documentation for details.")


def verify_sigv4(method: str, raw_target: str, headers: Mapping[str, str], body: bytes, *, region: str,
                 now: float | None = None) -> tuple[Persona | None, str]:
    """The persona that signed the request, or (None, the message API Gateway would give)."""
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
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
    if amz_date[:8] != m["date"]:
        return None, "Credential should be scoped to a valid date."
    if abs((now if now is not None else time.time()) - signed_at.timestamp()) > MAX_SKEW_SECONDS:
        return None, "Signature expired: the request was signed more than 5 minutes away from now."
    names = m["headers"].split(";")
    if "host" not in names or "x-amz-date" not in names or any(n not in lower for n in names):
        return None, _SIGNATURE_MISMATCH
    request = AWSRequest(method=method, url=f"http://{lower['host']}{raw_target}", data=body,
                         headers={n: lower[n] for n in names})
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(p.access_key, p.secret_key), "execute-api", region)
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if not hmac.compare_digest(expected, m["signature"]):
        return None, _SIGNATURE_MISMATCH
    return p, ""


def persona_caller(p: Persona) -> dict[str, str]:
    """`authorizer.iam` of a request the persona signed."""
    user_id = f"AROA{p.name.upper().replace('-', '')}:{p.arn.rsplit('/', 1)[-1]}"
    return iam_caller(p.arn, access_key=p.access_key, user_id=user_id)


class Gateway(ThreadingHTTPServer):
    """The governance API on 127.0.0.1: `invoke` gets the payload 2.0 event and returns the handler's response."""

    daemon_threads = True

    def __init__(self, invoke: Callable[[dict[str, Any]], dict[str, Any]], *, region: str, account: str, port: int = 0,
                 quiet: bool = True):
        super().__init__(("127.0.0.1", port), _GatewayHandler)
        self.invoke, self.region, self.account, self.quiet = invoke, region, account, quiet
        self.endpoint = f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> "Gateway":
        threading.Thread(target=self.serve_forever, name="govctl-sandbox-gateway", daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _GatewayHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Gateway

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without TCP_NODELAY, Nagle + delayed ACK add ~40 ms per request.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        gateway = self.server
        headers = {k: v for k, v in self.headers.items()}
        caller, problem = verify_sigv4(self.command, self.path, headers, body, region=gateway.region)
        if caller is None:
            self._send(403, {"Content-Type": "application/json"}, json.dumps({"message": problem}).encode())
            return
        target = urlsplit(self.path)
        event = http_api_event(self.command, target.path, query=target.query, headers=headers,
                               body=body.decode("utf-8", "surrogateescape") if body else None,
                               caller=persona_caller(caller), account=gateway.account,
                               host=self.headers.get("Host", "127.0.0.1"), source_ip=self.client_address[0])
        response = gateway.invoke(event)
        out = response.get("body") or ""
        data = base64.b64decode(out) if response.get("isBase64Encoded") else out.encode("utf-8")
        headers_out = {k: v for k, v in (response.get("headers") or {}).items()}
        for k, values in (response.get("multiValueHeaders") or {}).items():
            headers_out[k] = ", ".join(values)
        self._send(int(response.get("statusCode", 500)), headers_out, data)

    def _send(self, status: int, headers: Mapping[str, str], data: bytes) -> None:
        self.send_response(status)
        for k, v in headers.items():
            if k.lower() not in ("content-length", "connection"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's signature
        if not self.server.quiet:
            super().log_message(format, *args)
