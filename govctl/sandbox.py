"""A local, in-process AWS for the whole governance lifecycle: moto's threaded server on 127.0.0.1.

`Sandbox` creates the governance table from `governance.schema.TABLE`, writes the `CONFIG` items of
`Pulumi.shared.yaml` with the same builders (and the same arguments) as the Pulumi components, reads
the approvers from that file's `mlgov:approvers`, and puts the real `api` handler behind a local HTTP
endpoint that plays API Gateway with IAM authorization: it recomputes each request's SigV4 signature
with botocore for the persona's known secret, refuses unsigned or badly signed requests with 403, and
hands the handler an HTTP API payload 2.0 event whose `requestContext.authorizer.iam.userArn` is the
persona's ARN. The `sync` and `metrics` handlers get the events EventBridge would deliver.

moto applies a DynamoDB transaction as check-then-write without a lock and its server handles requests
in threads, so the sandbox serialises requests to moto (real DynamoDB serialises conflicting
transactions); the API handler (a Powertools resolver holding the current event) runs one request at a
time, as one Lambda container does.
"""
from __future__ import annotations

import base64
import hmac
import itertools
import json
import logging
import os
import re
import socket
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import parse_qsl, urlsplit

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from govctl.client import Api, Target
from govctl.personas import BY_ACCESS_KEY, PERSONAS, SANDBOX_REGION, Persona

ROOT = Path(__file__).resolve().parent.parent
HUB_ACCOUNT = "111111111111"
TABLE_NAME = "mlgov-governance"
MAX_SKEW_SECONDS = 300

_AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/\s]+)/(?P<date>\d{8})/(?P<region>[^/\s]+)/(?P<service>[^/\s]+)/aws4_request,\s*"
    r"SignedHeaders=(?P<headers>[a-z0-9;-]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)
_SIGNATURE_MISMATCH = ("The request signature we calculated does not match the signature you provided. Check your AWS "
                       "Secret Access Key and signing method. Consult the service documentation for details.")


class SandboxError(RuntimeError):
    pass


# --- the stack config the sandbox is built from ---

@dataclass(frozen=True)
class HubConfig:
    region: str
    accounts: Mapping[str, Any]
    approvers: dict[str, list[str]]
    config_items: list[dict[str, Any]]
    groups: list[str]
    use_cases: list[str]


def hub_config(root: Path = ROOT, stack: str = "shared") -> HubConfig:
    """Approvers and `CONFIG` items from `Pulumi.<stack>.yaml`, built as `CentralRegistry`/`SharedModelGroup` build them."""
    from governance import schema
    from mlgov import offline
    from mlgov.config import parse
    from mlgov.program import namespace_config

    raw = offline.read_stack_config(stack, root)
    config = parse(namespace_config(raw))
    items: list[dict[str, Any]] = []
    groups: list[str] = []
    for uc in config.use_cases:
        items.append(schema.use_case_config_item(
            use_case_id=uc.id, name=uc.name, risk_tier=uc.risk_tier.value, owner=uc.owner,
            line_of_business=uc.line_of_business, project=uc.project, groups=[m.group for m in uc.models],
            thresholds=[t.as_item() for t in uc.approval_thresholds]))
        for model in uc.models:
            groups.append(model.group)
            items.append(schema.group_config_item(
                group=model.group, use_case_id=uc.id, use_case_name=uc.name, owner=uc.owner, line_of_business=uc.line_of_business,
                project=uc.project, risk=uc.model_risk(model).value))
    a = config.approvers
    approvers = {"development": list(a.development), "test": list(a.test), "production": list(a.production),
                 "officers": list(a.officers)}
    accounts = {"shared": config.organization.accounts.shared, "dev": config.organization.accounts.dev[0],
                "test": config.organization.accounts.test[0], "prod": config.organization.accounts.prod[0]}
    return HubConfig(str(raw.get("aws:region") or SANDBOX_REGION), accounts, approvers, items, groups,
                     [uc.id for uc in config.use_cases])


# --- moto, one request at a time ---

def _moto_server(port: int):
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    class LockedMotoServer(ThreadedMotoServer):
        """moto's ThreadedMotoServer whose WSGI app handles one request at a time (see the module doc)."""

        def _server_entry(self) -> None:
            app = DomainDispatcherApplication(create_backend_app)
            lock = threading.Lock()

            def serialised(environ, start_response):
                with lock:
                    return list(app(environ, start_response))

            self._server = make_server(self._ip_address, self._port, serialised, True, request_handler=MotoRequestHandler)
            self._server_ready_event.set()
            self._server.serve_forever()

    return LockedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)


# --- calls the handlers make, counted through botocore's event hooks ---

@dataclass
class CallCounter:
    counts: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hook(self, model: Any = None, **_: Any) -> None:
        if model is not None:
            with self.lock:
                self.counts[f"{model.service_model.service_name}:{model.name}"] += 1

    def total(self) -> int:
        return sum(self.counts.values())

    def snapshot(self) -> Counter:
        with self.lock:
            return Counter(self.counts)

    def since(self, before: Counter) -> Counter:
        now = self.snapshot()
        now.subtract(before)
        return +now


# --- API Gateway, played locally ---

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


def http_api_event(method: str, raw_target: str, headers: Mapping[str, str], body: bytes, *, caller: Persona,
                   account: str, host: str, source_ip: str = "127.0.0.1") -> dict[str, Any]:
    """The API Gateway HTTP API payload 2.0 event for a request, with IAM authorization."""
    parts = urlsplit(raw_target)
    now = datetime.now(timezone.utc)
    query: dict[str, str] = {}
    for k, v in parse_qsl(parts.query, keep_blank_values=True):
        query[k] = f"{query[k]},{v}" if k in query else v
    access_key = caller.access_key
    caller_account = caller.arn.split(":")[4]
    event: dict[str, Any] = {
        "version": "2.0", "routeKey": "$default", "rawPath": parts.path, "rawQueryString": parts.query,
        "headers": {k.lower(): v for k, v in headers.items()},
        "requestContext": {
            "accountId": account, "apiId": "sandbox", "domainName": host, "domainPrefix": host.split(".")[0],
            "requestId": str(uuid.uuid4()), "routeKey": "$default", "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"), "timeEpoch": int(now.timestamp() * 1000),
            "http": {"method": method, "path": parts.path, "protocol": "HTTP/1.1", "sourceIp": source_ip,
                     "userAgent": headers.get("User-Agent", headers.get("user-agent", ""))},
            "authorizer": {"iam": {"accessKey": access_key, "accountId": caller_account,
                                   "callerId": f"AROA{caller.name.upper().replace('-', '')}:{caller.arn.rsplit('/', 1)[-1]}",
                                   "principalOrgId": "o-a1b2c3d4e5", "userArn": caller.arn,
                                   "userId": f"AROA{caller.name.upper().replace('-', '')}:{caller.arn.rsplit('/', 1)[-1]}"}},
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = query
    if body:
        event["body"] = body.decode("utf-8", "surrogateescape")
    return event


class _Gateway(ThreadingHTTPServer):
    daemon_threads = True
    sandbox: "Sandbox"


class _GatewayHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Gateway

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without TCP_NODELAY, Nagle + delayed ACK add ~40 ms per request.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        sandbox = self.server.sandbox
        headers = {k: v for k, v in self.headers.items()}
        caller, problem = verify_sigv4(self.command, self.path, headers, body, region=sandbox.region)
        if caller is None:
            self._send(403, {"Content-Type": "application/json"}, json.dumps({"message": problem}).encode())
            return
        event = http_api_event(self.command, self.path, headers, body, caller=caller, account=sandbox.account,
                               host=self.headers.get("Host", "127.0.0.1"), source_ip=self.client_address[0])
        response = sandbox.invoke_api(event)
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
        if not self.server.sandbox.quiet:
            super().log_message(format, *args)


# --- the sandbox ---

_ENV_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE",
             "AWS_DEFAULT_PROFILE", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ENDPOINT_URL", "AWS_ACCOUNT_ID_ENDPOINT_MODE",
             "MOTO_ACCOUNT_ID", "GOVERNANCE_TABLE", "APPROVERS", "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_LOG_LEVEL",
             "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_EC2_METADATA_DISABLED")


class Sandbox:
    """The hub account on moto plus the governance API on 127.0.0.1; a context manager.

    One at a time per process: moto keeps its backends in module globals, so two sandboxes would share
    (and reset) one account.
    """

    _active: "Sandbox | None" = None

    def __init__(self, root: Path = ROOT, *, port: int = 0, moto_port: int = 0, quiet: bool = True):
        self.root = Path(root)
        self.hub = hub_config(self.root)
        self.region = self.hub.region
        self.account = self.hub.accounts["shared"]
        self.table = TABLE_NAME
        self.quiet = quiet
        self._port, self._moto_port = port, moto_port
        self.calls = CallCounter()
        self._api_lock = threading.Lock()
        self._saved_env: dict[str, str | None] = {}
        self._saved_session = None
        self._saved_levels: list[tuple[Any, Any]] = []
        self._clock_ms = 0
        self._ids = itertools.count(1)
        self.moto = None
        self.gateway: _Gateway | None = None

    # --- lifecycle ---

    def __enter__(self) -> "Sandbox":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self) -> "Sandbox":
        if Sandbox._active is not None:
            raise SandboxError("a sandbox is already running in this process; stop it first")
        Sandbox._active = self
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> "Sandbox":
        from governance import runtime

        self.moto = _moto_server(self._moto_port)
        self.moto.start()
        host, port = self.moto.get_host_and_port()
        self.moto_url = f"http://{host}:{port}"
        self._set_env({
            "AWS_ACCESS_KEY_ID": "sandbox", "AWS_SECRET_ACCESS_KEY": "sandbox", "AWS_SESSION_TOKEN": None,
            "AWS_SECURITY_TOKEN": None, "AWS_PROFILE": None, "AWS_DEFAULT_PROFILE": None,
            "AWS_DEFAULT_REGION": self.region, "AWS_REGION": self.region, "AWS_ENDPOINT_URL": self.moto_url,
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled", "MOTO_ACCOUNT_ID": self.account, "GOVERNANCE_TABLE": self.table,
            "APPROVERS": json.dumps(self.hub.approvers, sort_keys=True), "POWERTOOLS_SERVICE_NAME": "mlgov-governance",
            "POWERTOOLS_LOG_LEVEL": "ERROR" if self.quiet else "INFO", "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_EC2_METADATA_DISABLED": "true",
        })
        self._saved_session = boto3.DEFAULT_SESSION
        boto3.setup_default_session(region_name=self.region)
        boto3.DEFAULT_SESSION.events.register("before-call.*.*", self.calls.hook)
        runtime.reset()
        self._quiet_logs()
        # Setup and inspection use their own session, so `calls` counts only what the handlers do.
        self.setup = boto3.session.Session(region_name=self.region)
        self.ddb = self.setup.client("dynamodb")
        self.sm = self.setup.client("sagemaker")
        self._create_table()
        for item in self.hub.config_items:
            self.put_item(item)
        for group in self.hub.groups:
            self.sm.create_model_package_group(ModelPackageGroupName=group, ModelPackageGroupDescription=f"mlgov {group}")
        self.gateway = _Gateway(("127.0.0.1", self._port), _GatewayHandler)
        self.gateway.sandbox = self
        threading.Thread(target=self.gateway.serve_forever, name="govctl-sandbox-gateway", daemon=True).start()
        self.endpoint = f"http://127.0.0.1:{self.gateway.server_address[1]}"
        return self

    def stop(self) -> None:
        from governance import runtime

        if self.gateway is not None:
            self.gateway.shutdown()
            self.gateway.server_close()
            self.gateway = None
        if self.moto is not None:
            self.moto.stop()
            self.moto = None
            from moto.backends import get_backend
            for service in ("dynamodb", "sagemaker"):  # forget this sandbox's account (other moto users keep theirs)
                backends = get_backend(service)
                if self.account in backends and self.region in backends[self.account]:
                    backends[self.account][self.region].reset()
        runtime.reset()
        boto3.DEFAULT_SESSION = self._saved_session
        for logger, level in self._saved_levels:
            logger.setLevel(level)
        self._saved_levels.clear()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()
        if Sandbox._active is self:
            Sandbox._active = None

    def _set_env(self, values: Mapping[str, str | None]) -> None:
        for key, value in values.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def _quiet_logs(self) -> None:
        from governance.handlers import api, metrics, sync

        level = logging.ERROR if self.quiet else logging.INFO
        for logger in (api.logger, sync.logger, metrics.logger, logging.getLogger("governance"), logging.getLogger("werkzeug")):
            self._saved_levels.append((logger, logger.log_level if hasattr(logger, "log_level") else logger.level))
            logger.setLevel(level)

    def _create_table(self) -> None:
        from governance import schema

        self.ddb.create_table(**schema.TABLE.create_table_request(self.table))

    # --- the handlers ---

    def invoke_api(self, event: dict[str, Any]) -> dict[str, Any]:
        from governance.handlers import api

        with self._api_lock:
            return api.handler(event, None)

    def sync(self, event: dict[str, Any]) -> dict[str, str]:
        from governance.handlers import sync

        with self._api_lock:
            return sync.handler(event, None)

    def report(self, event: dict[str, Any]) -> dict[str, str]:
        from governance.handlers import metrics

        with self._api_lock:
            return metrics.handler(event, None)

    def api(self, persona_name: str) -> Api:
        p = PERSONAS[persona_name]
        creds = Credentials(p.access_key, p.secret_key).get_frozen_credentials()
        return Api(Target(self.endpoint, self.region, creds, persona_name))

    # --- what EventBridge would deliver ---

    def _next_ms(self) -> int:
        self._clock_ms = max(int(time.time() * 1000), self._clock_ms + 1)
        return self._clock_ms

    def register(self, group: str, persona_name: str = "data-scientist", description: str = "candidate") -> int:
        """Steps 3-5: a data scientist registers a version in the shared group; the registry event is synced."""
        arn = self.sm.create_model_package(
            ModelPackageGroupName=group, ModelPackageDescription=description, ModelApprovalStatus="PendingManualApproval",
            InferenceSpecification={"Containers": [{"Image": f"{self.account}.dkr.ecr.{self.region}.amazonaws.com/{group}:latest",
                                                    "ModelDataUrl": f"s3://mlgov-artifacts-{self.account}/{group}/model.tar.gz"}],
                                    "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
        )["ModelPackageArn"]
        described = self.sm.describe_model_package(ModelPackageName=arn)
        result = self.sync(self.registry_event(described, created_by=PERSONAS[persona_name].arn))
        if result["result"] != "written":
            raise SandboxError(f"registering {group}: sync handler said {result}")
        return int(described["ModelPackageVersion"])

    def registry_event(self, described: Mapping[str, Any], *, created_by: str | None) -> dict[str, Any]:
        """`SageMaker Model Package State Change` as EventBridge delivers it: the detail is DescribeModelPackage."""
        detail = {k: _iso(v) for k, v in described.items() if k != "ResponseMetadata"}
        if created_by:
            detail["CreatedBy"] = {"IamIdentity": {"Arn": created_by, "PrincipalId": "AROASANDBOX:registrar"}}
        modified = detail.get("LastModifiedTime") or detail.get("CreationTime")
        return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "SageMaker Model Package State Change",
                "source": "aws.sagemaker", "account": self.account, "time": str(modified)[:19] + "Z", "region": self.region,
                "resources": [described["ModelPackageArn"]], "detail": detail}

    def member_event(self, kind: str, group: str, version: int, stage: str, *, endpoint: str | None = None,
                     metrics: Mapping[str, Any] | None = None, variant: str | None = None) -> dict[str, Any]:
        account = self.hub.accounts["test" if stage == "test" else "prod"]
        detail: dict[str, Any] = {"modelGroup": group, "modelVersion": version, "stage": stage,
                                  "endpointName": endpoint or f"{group}-{stage}",
                                  "reportedAt": datetime.fromtimestamp(self._next_ms() / 1000, tz=timezone.utc)
                                  .strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"}
        if variant:
            detail["variantName"] = variant
        if metrics is not None:
            detail["metrics"] = dict(metrics)
        return {"version": "0", "id": str(uuid.uuid4()), "detail-type": kind, "source": "mlgov.member", "account": account,
                "time": detail["reportedAt"][:19] + "Z", "region": self.region, "resources": [], "detail": detail}

    def deployed(self, group: str, version: int, stage: str, *, endpoint: str | None = None, variant: str | None = None) -> None:
        result = self.report(self.member_event("Model Deployed", group, version, stage, endpoint=endpoint, variant=variant))
        if result["result"] != "written":
            raise SandboxError(f"deployment report for {group}/{version} at {stage}: {result}")

    def monitoring(self, group: str, version: int, stage: str, metrics: Mapping[str, Any], *, endpoint: str | None = None,
                   variant: str | None = None) -> None:
        result = self.report(self.member_event("Model Metrics", group, version, stage, endpoint=endpoint, variant=variant,
                                               metrics=metrics))
        if result["result"] != "written":
            raise SandboxError(f"metrics report for {group}/{version} at {stage}: {result}")

    # --- direct table access (setup, inspection, and tampering in tests) ---

    def put_item(self, item: Mapping[str, Any]) -> None:
        from governance.store import to_ddb

        self.ddb.put_item(TableName=self.table, Item=to_ddb(item))

    def items(self) -> list[dict[str, Any]]:
        """Every item, read from moto's backend in this process (inspection, not an AWS call: nothing scans)."""
        from moto.dynamodb.models import dynamodb_backends

        from governance.store import from_ddb

        table = dynamodb_backends[self.account][self.region].tables[self.table]
        out = [from_ddb(item.to_json()["Attributes"]) for item in table.all_items()]
        return sorted(out, key=lambda i: (i["pk"], i["sk"]))

    def audit_items(self, group: str, version: int) -> list[dict[str, Any]]:
        return sorted((i for i in self.items() if i["pk"] == f"MODEL#{group}" and i["sk"].startswith("AUDIT#")
                       and int(i.get("modelVersion", 0)) == version), key=lambda i: int(i["seq"]))

    def tamper_audit(self, group: str, version: int, seq: int, **changes: Any) -> dict[str, Any]:
        """Edit an audit entry in place, as someone with table access might: the chain must show it."""
        entry = next((e for e in self.audit_items(group, version) if int(e["seq"]) == seq), None)
        if entry is None:
            raise SandboxError(f"{group}/{version} has no audit entry {seq}")
        entry.update(changes)
        self.put_item(entry)
        return entry

    # --- saving and restoring the whole account (tests: play the walkthrough once per process) ---

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of this sandbox's DynamoDB and SageMaker state."""
        import copy

        from moto.backends import get_backend

        return {s: copy.deepcopy(get_backend(s)[self.account][self.region]) for s in ("dynamodb", "sagemaker")}

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Put a `snapshot` (of a sandbox of the same config) back in place of this sandbox's state."""
        import copy

        from moto.backends import get_backend

        for service, backend in snapshot.items():
            get_backend(service)[self.account][self.region] = copy.deepcopy(backend)

    # --- the source design's walkthrough ---

    def play_walkthrough(self, say: Callable[[str], None] = lambda _: None) -> Any:
        from govctl.walkthrough import play

        return play(self, say)


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    if isinstance(value, dict):
        return {k: _iso(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_iso(v) for v in value]
    return value

