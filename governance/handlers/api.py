"""The governance HTTP API (API Gateway HTTP API, payload 2.0, IAM authorization).

The caller's IAM ARN from the request context is the audit user. Errors: 400 bad input, 403 caller
not allowed, 404 unknown ids, 409 stale or illegal transition; a 500 only for a fault of ours.

    GET  /use-cases                                              list (paginated: limit, next)
    GET  /use-cases/{id}                                         use case, its stage and its models
    POST /use-cases/{id}/decision                                {"action": "approve"|"retire", "reason"}
    GET  /use-cases/{id}/audit[/verify]                          audit trail (paginated) / chain check
    GET  /queue?stage=&status=                                   officer queue, oldest first
    GET  /use-cases/{id}/models/{group}/versions/{v}             a version with every stage record
    POST /use-cases/{id}/models/{group}/versions/{v}/decision    {"stage", "action": approve|reject|retire, "reason", "expectedRev"}
    POST /use-cases/{id}/models/{group}/versions/{v}/metrics     {"kind": validation|monitoring, "stage", "metrics", "endpointName"}
    GET  /use-cases/{id}/models/{group}/versions/{v}/audit[/verify]
    GET  /dashboard                                              the governance dashboard (HTML)
"""
from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types

from governance import dashboard, runtime
from governance.domain import BadInput, GovernanceError
from governance.service import MAX_BODY_BYTES

logger = Logger()
app = APIGatewayHttpResolver()

VERSION_PATH = "/use-cases/<use_case_id>/models/<group>/versions/<version>"


def _json_response(status: int, body: Any) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps(body, default=str))


@app.exception_handler(GovernanceError)
def _governance_error(exc: GovernanceError) -> Response:
    (logger.warning if exc.status_code >= 400 else logger.error)("request refused", status=exc.status_code, reason=exc.message)
    return _json_response(exc.status_code, {"error": exc.code, "message": exc.message})


@app.exception_handler(runtime.ConfigurationError)
def _configuration_error(exc: runtime.ConfigurationError) -> Response:
    logger.error("function misconfigured", reason=str(exc))
    return _json_response(500, {"error": "misconfigured", "message": "the governance API is misconfigured; operators are alerted"})


@app.not_found
def _not_found(_: Exception) -> Response:
    return _json_response(404, {"error": "not_found", "message": f"no route {app.current_event.http_method} {app.current_event.path}"})


def _caller() -> str | None:
    ctx = app.current_event.raw_event.get("requestContext") or {}
    iam = ((ctx.get("authorizer") or {}).get("iam") or {}) if isinstance(ctx, dict) else {}
    arn = iam.get("userArn") if isinstance(iam, dict) else None
    return arn if isinstance(arn, str) else None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON here")


def _body() -> Any:
    raw = app.current_event.raw_event.get("body")
    if raw is None or raw == "":
        raise BadInput("the request needs a JSON body")
    if not isinstance(raw, str):
        raise BadInput("the request body is not text")
    try:
        text = app.current_event.decoded_body if app.current_event.is_base64_encoded else raw
    except (ValueError, UnicodeDecodeError):
        raise BadInput("the request body is not valid base64 text") from None
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BODY_BYTES + 4096:
        raise BadInput(f"the request body exceeds {MAX_BODY_BYTES // 1024} KB")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise BadInput("the request body is not valid JSON") from None


def _q(name: str) -> str | None:
    return app.current_event.get_query_string_value(name)


def _svc():
    return runtime.governance(with_registry=True)


def _auth() -> str:
    from governance.service import require_caller
    return require_caller(_caller())


@app.get("/use-cases")
def list_use_cases() -> Response:
    _auth()
    return _json_response(200, _svc().list_use_cases(limit=_q("limit"), token=_q("next")))


@app.get("/use-cases/<use_case_id>")
def get_use_case(use_case_id: str) -> Response:
    _auth()
    return _json_response(200, _svc().get_use_case(use_case_id, limit=_q("limit"), token=_q("next")))


@app.post("/use-cases/<use_case_id>/decision")
def decide_use_case(use_case_id: str) -> Response:
    _auth()
    return _json_response(200, _svc().decide_use_case(use_case_id, _body(), _caller()))


@app.get("/use-cases/<use_case_id>/audit")
def use_case_audit(use_case_id: str) -> Response:
    _auth()
    return _json_response(200, _svc().audit_page(use_case_id, limit=_q("limit"), token=_q("next")))


@app.get("/use-cases/<use_case_id>/audit/verify")
def use_case_audit_verify(use_case_id: str) -> Response:
    _auth()
    return _json_response(200, _svc().verify_trail(use_case_id))


@app.get("/queue")
def queue() -> Response:
    _auth()
    return _json_response(200, _svc().queue(stage=_q("stage"), status=_q("status"), limit=_q("limit"), token=_q("next")))


@app.get(VERSION_PATH)
def get_version(use_case_id: str, group: str, version: str) -> Response:
    _auth()
    return _json_response(200, _svc().get_version(use_case_id, group, version))


@app.post(VERSION_PATH + "/decision")
def decide(use_case_id: str, group: str, version: str) -> Response:
    _auth()
    return _json_response(200, _svc().decide(use_case_id, group, version, _body(), _caller()))


@app.post(VERSION_PATH + "/metrics")
def metrics(use_case_id: str, group: str, version: str) -> Response:
    _auth()
    return _json_response(200, _svc().record_metrics(use_case_id, group, version, _body(), _caller()))


@app.get(VERSION_PATH + "/audit")
def version_audit(use_case_id: str, group: str, version: str) -> Response:
    _auth()
    return _json_response(200, _svc().audit_page(use_case_id, group, version, limit=_q("limit"), token=_q("next")))


@app.get(VERSION_PATH + "/audit/verify")
def version_audit_verify(use_case_id: str, group: str, version: str) -> Response:
    _auth()
    return _json_response(200, _svc().verify_trail(use_case_id, group, version))


@app.get("/dashboard")
def governance_dashboard() -> Response:
    return Response(status_code=200, content_type="text/html; charset=utf-8", body=dashboard.page(_svc(), viewer=_auth()),
                    headers={"Content-Security-Policy": dashboard.CSP, "Cache-Control": "no-store"})


def _is_http_event(event: Any) -> bool:
    if not isinstance(event, dict):
        return False
    http = (event.get("requestContext") or {}).get("http") if isinstance(event.get("requestContext"), dict) else None
    return isinstance(http, dict) and isinstance(http.get("method"), str) and isinstance(event.get("rawPath"), str)


def handler(event: Any, context: Any) -> dict[str, Any]:
    if not _is_http_event(event):
        logger.warning("not an HTTP API payload 2.0 event")
        return {"statusCode": 400, "headers": {"Content-Type": "application/json"},
                "body": json.dumps({"error": "bad_request", "message": "not an API Gateway HTTP API (2.0) request"})}
    return app.resolve(event, context)
