"""The governance HTTP API from a person's shell: every request signed with SigV4 (service `execute-api`).

Against AWS the credentials come from boto3's default chain (profile, SSO, environment, instance role),
so the API's IAM authorization applies and the caller's ARN becomes the audit user. Against the local
sandbox a persona's access key is used the same way, and the sandbox checks the signature as API
Gateway would. Signing is botocore's `SigV4Auth`; nothing here hand-rolls SigV4.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping
from urllib.parse import quote, urlencode, urlsplit

import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, ReadOnlyCredentials

from governance.contract import PRINCIPAL_ARN_RE
from govctl.personas import SANDBOX_ENDPOINT, SANDBOX_REGION, persona

SERVICE = "execute-api"
PAGE = 100
# API Gateway's own refusals carry only a message; name them as the governance API names its errors.
HTTP_CODES = {400: "bad_request", 403: "forbidden", 404: "not_found", 409: "conflict", 429: "throttled"}


class GovctlError(Exception):
    """Anything govctl reports as one line and a non-zero exit."""


class ApiError(GovctlError):
    """The governance API refused the request (4xx) or failed (5xx)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{message} (HTTP {status} {code})")
        self.status, self.code, self.message = status, code, message


@dataclass
class Target:
    """Where requests go and who signs them."""

    endpoint: str
    region: str
    credentials: ReadOnlyCredentials
    who: str  # persona name or "aws"


def resolve_target(*, endpoint: str | None = None, region: str | None = None, persona_name: str | None = None,
                   profile: str | None = None, role_arn: str | None = None, source_identity: str | None = None) -> Target:
    """`--as`/GOVCTL_PROFILE picks a sandbox persona; otherwise boto3's credential chain and `--endpoint`,
    and with `--role-arn`/GOVCTL_ROLE_ARN the temporary credentials of that role assumed as the person."""
    persona_name = persona_name or os.environ.get("GOVCTL_PROFILE") or None
    endpoint = endpoint or os.environ.get("GOVCTL_ENDPOINT") or None
    role_arn = role_arn or os.environ.get("GOVCTL_ROLE_ARN") or None
    source_identity = source_identity or os.environ.get("GOVCTL_SOURCE_IDENTITY") or None
    if persona_name:
        try:
            p = persona(persona_name)
        except KeyError as exc:
            raise GovctlError(str(exc.args[0])) from None
        creds = Credentials(p.access_key, p.secret_key).get_frozen_credentials()
        return Target((endpoint or SANDBOX_ENDPOINT).rstrip("/"), region or SANDBOX_REGION, creds, persona_name)
    if not endpoint:
        raise GovctlError("no governance API endpoint: pass --endpoint URL or set GOVCTL_ENDPOINT "
                          "(the shared stack's governanceApiEndpoint output), or use the sandbox with --as PERSONA")
    if role_arn:
        _check_role_arn(role_arn)
        if source_identity:
            _check_source_identity(source_identity)
    import boto3

    session = boto3.Session(profile_name=profile) if profile else boto3.Session()
    found = session.get_credentials()
    if found is None:
        raise GovctlError("no AWS credentials found (boto3's default chain); log in, e.g. `aws sso login`")
    region = region or session.region_name or _region_from_url(endpoint)
    if not region:
        raise GovctlError("no AWS region: pass --region or set AWS_REGION")
    creds = found.get_frozen_credentials()
    if role_arn:
        creds = _assume_role(session, region, role_arn, source_identity)
    return Target(endpoint.rstrip("/"), region, creds, "aws")


# AWS's character set and length for RoleSessionName and SourceIdentity (STS AssumeRole).
_STS_NAME_RE = re.compile(r"^[A-Za-z0-9_+=,.@-]{2,64}$")
_NOT_STS_NAME_CHAR = re.compile(r"[^A-Za-z0-9_+=,.@-]")
_ROLE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/(?:[^/]+/)*[A-Za-z0-9_+=,.@-]+$")


def _check_role_arn(role_arn: str) -> None:
    if not (PRINCIPAL_ARN_RE.match(role_arn) and _ROLE_ARN_RE.match(role_arn)):
        raise GovctlError(f"not an IAM role ARN: {role_arn!r} (expected arn:aws:iam::123456789012:role/NAME)")


def _check_source_identity(value: str) -> None:
    if not _STS_NAME_RE.match(value) or value.lower().startswith("aws:"):
        raise GovctlError(f"source identity {value!r} would be refused by AWS: 2-64 characters of letters, digits "
                          "and _+=,.@- (not starting with 'aws:'); pass --source-identity or GOVCTL_SOURCE_IDENTITY")


def person_from_arn(arn: str) -> str:
    """The person behind a caller ARN: the last path segment, which is the session name of an assumed role
    (an SSO user's session is named after the user) and the name of an IAM or federated user."""
    return _NOT_STS_NAME_CHAR.sub("-", re.split(r"[/:]", arn)[-1])[:64]


def _assume_role(session: Any, region: str, role_arn: str, source_identity: str | None) -> ReadOnlyCredentials:
    """Assume the approver role as the person, so the audit user is the role session and CloudTrail keeps who it was.

    The role's trust policy must allow `sts:SetSourceIdentity` besides `sts:AssumeRole`, otherwise AWS refuses the
    call; the source identity then persists through role chaining and cannot be changed in the session
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_monitor.html).
    """
    from botocore.exceptions import BotoCoreError, ClientError

    sts = session.client("sts", region_name=region)
    try:
        person = source_identity or person_from_arn(sts.get_caller_identity()["Arn"])
        _check_source_identity(person)
        answer = sts.assume_role(RoleArn=role_arn, RoleSessionName=person, SourceIdentity=person)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise GovctlError(f"cannot assume role {role_arn}: {error.get('Code', 'error')}: {error.get('Message', exc)}") from None
    except BotoCoreError as exc:
        raise GovctlError(f"cannot assume role {role_arn}: {exc}") from None
    c = answer["Credentials"]
    return Credentials(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]).get_frozen_credentials()


def _region_from_url(url: str) -> str | None:
    host = urlsplit(url).hostname or ""
    parts = host.split(".")
    return parts[2] if len(parts) > 4 and parts[1] == "execute-api" else None


@dataclass
class Api:
    """A signed client of the governance API; `calls` counts the HTTP requests made."""

    target: Target
    timeout: float = 30.0
    calls: int = 0
    _pool: urllib3.PoolManager = field(default_factory=lambda: urllib3.PoolManager(num_pools=4, maxsize=4, retries=False))
    _use_case_of: dict[str, str] = field(default_factory=dict)

    # --- transport ---

    def raw(self, method: str, path: str, query: Mapping[str, Any] | None = None, body: Any = None) -> tuple[int, dict[str, str], bytes]:
        query = {k: str(v) for k, v in (query or {}).items() if v is not None}
        url = self.target.endpoint + path + ("?" + urlencode(sorted(query.items()), quote_via=quote) if query else "")
        data = json.dumps(body).encode() if body is not None else b""
        headers = {"Accept": "application/json, text/html"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        request = AWSRequest(method=method, url=url, data=data, headers=headers)
        SigV4Auth(self.target.credentials, SERVICE, self.target.region).add_auth(request)
        prepared = request.prepare()
        self.calls += 1
        try:
            response = self._pool.request(method, prepared.url, body=data or None, headers=dict(prepared.headers),
                                          timeout=self.timeout, redirect=False)
        except urllib3.exceptions.HTTPError as exc:
            raise GovctlError(f"cannot reach the governance API at {self.target.endpoint}: {_reason(exc)}") from None
        return response.status, dict(response.headers), response.data

    def request(self, method: str, path: str, query: Mapping[str, Any] | None = None, body: Any = None) -> Any:
        status, _, data = self.raw(method, path, query, body)
        try:
            payload = json.loads(data) if data else None
        except ValueError:
            payload = None
        if status >= 400:
            if isinstance(payload, Mapping):
                raise ApiError(status, str(payload.get("error") or HTTP_CODES.get(status, "error")),
                               str(payload.get("message") or payload.get("Message") or "request refused"))
            raise ApiError(status, "error", data[:200].decode("utf-8", "replace") or "request refused")
        if payload is None and data:
            raise GovctlError(f"the governance API answered {method} {path} with something that is not JSON")
        return payload

    def text(self, path: str, query: Mapping[str, Any] | None = None) -> str:
        status, _, data = self.raw("GET", path, query)
        if status >= 400:
            try:
                payload = json.loads(data)
                raise ApiError(status, str(payload.get("error", "error")), str(payload.get("message", "request refused")))
            except (ValueError, AttributeError):
                raise ApiError(status, "error", data[:200].decode("utf-8", "replace")) from None
        return data.decode("utf-8")

    def pages(self, path: str, key: str, query: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        token = None
        while True:
            page = self.request("GET", path, {**(query or {}), "limit": PAGE, "next": token})
            yield from page.get(key) or []
            token = page.get("next")
            if not token:
                return

    # --- the API's resources ---

    def use_cases(self) -> list[dict[str, Any]]:
        return list(self.pages("/use-cases", "useCases"))

    def use_case(self, use_case_id: str) -> dict[str, Any]:
        first = self.request("GET", f"/use-cases/{use_case_id}", {"limit": PAGE})
        models = list(first.get("models") or [])
        token = first.get("next")
        while token:
            page = self.request("GET", f"/use-cases/{use_case_id}", {"limit": PAGE, "next": token})
            models.extend(page.get("models") or [])
            token = page.get("next")
        return {**first, "models": models, "next": None}

    def use_case_of(self, group: str, use_case_id: str | None = None) -> str:
        """The use case a model group belongs to (from the use case catalogue), unless given."""
        if use_case_id:
            return use_case_id
        if group not in self._use_case_of:
            for uc in self.use_cases():
                for g in uc.get("modelGroups") or []:
                    self._use_case_of.setdefault(g, uc["useCaseId"])
        try:
            return self._use_case_of[group]
        except KeyError:
            raise GovctlError(f"model group {group!r} belongs to no onboarded use case") from None

    def queue(self, stage: str, status: str) -> list[dict[str, Any]]:
        return list(self.pages("/queue", "items", {"stage": stage, "status": status}))

    def version(self, group: str, version: int, use_case_id: str | None = None) -> dict[str, Any]:
        uc = self.use_case_of(group, use_case_id)
        return self.request("GET", _vpath(uc, group, version))

    def decide(self, group: str, version: int, *, stage: str, action: str, reason: str | None = None,
               expected_rev: int | None = None, use_case_id: str | None = None) -> dict[str, Any]:
        uc = self.use_case_of(group, use_case_id)
        body: dict[str, Any] = {"stage": stage, "action": action}
        if reason:
            body["reason"] = reason
        if expected_rev is not None:
            body["expectedRev"] = expected_rev
        return self.request("POST", _vpath(uc, group, version, "/decision"), body=body)

    def decide_use_case(self, use_case_id: str, action: str, reason: str | None = None) -> dict[str, Any]:
        return self.request("POST", f"/use-cases/{use_case_id}/decision", body={"action": action, **({"reason": reason} if reason else {})})

    def record_metrics(self, group: str, version: int, *, stage: str, kind: str, metrics: Mapping[str, Any],
                       endpoint_name: str | None = None, use_case_id: str | None = None) -> dict[str, Any]:
        uc = self.use_case_of(group, use_case_id)
        body: dict[str, Any] = {"kind": kind, "stage": stage, "metrics": dict(metrics)}
        if endpoint_name:
            body["endpointName"] = endpoint_name
        return self.request("POST", _vpath(uc, group, version, "/metrics"), body=body)

    def audit(self, group: str | None, version: int | None, use_case_id: str | None = None) -> list[dict[str, Any]]:
        if group is None:
            return sorted(self.pages(f"/use-cases/{use_case_id}/audit", "entries"), key=_seq)
        uc = self.use_case_of(group, use_case_id)
        return sorted(self.pages(_vpath(uc, group, version, "/audit"), "entries"), key=_seq)

    def verify(self, group: str | None, version: int | None, use_case_id: str | None = None) -> dict[str, Any]:
        if group is None:
            return self.request("GET", f"/use-cases/{use_case_id}/audit/verify")
        uc = self.use_case_of(group, use_case_id)
        return self.request("GET", _vpath(uc, group, version, "/audit/verify"))

    def dashboard(self) -> str:
        return self.text("/dashboard")

    def evidence_html(self, use_case_id: str) -> str:
        """The use case's evidence pack as its HTML page (which embeds the pack's JSON)."""
        return self.text(f"/use-cases/{quote(use_case_id, safe='')}/evidence", {"format": "html"})


def _vpath(use_case_id: str, group: str, version: int, tail: str = "") -> str:
    return f"/use-cases/{quote(use_case_id, safe='')}/models/{quote(group, safe='')}/versions/{int(version)}{tail}"


def _seq(entry: Mapping[str, Any]) -> tuple[int, str]:
    seq = entry.get("seq")
    return (int(seq) if isinstance(seq, (int, float)) else -1, str(entry.get("at") or ""))


def _reason(exc: Exception) -> str:
    reason = getattr(exc, "reason", None) or exc
    text = str(reason)
    if "Connection refused" in text or "NewConnectionError" in type(reason).__name__:
        return "connection refused (is the sandbox running? `govctl sandbox --serve`)"
    return text.split(": ", 1)[-1][:200]
