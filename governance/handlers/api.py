"""The governance HTTP API (API Gateway HTTP API, payload 2.0, IAM authorization).

The caller's IAM ARN from the request context is the audit user. Errors: 400 bad input, 403 caller
not allowed, 404 unknown ids, 409 stale or illegal transition; a 500 only for a fault of ours.
The routes are `governance.routes.ROUTES`, each served by the operation of the same name below:

    GET  /use-cases                                              list (paginated: limit, next)
    GET  /use-cases/{id}                                         use case, its stage and its models
    POST /use-cases/{id}/decision                                {"action": "approve"|"retire", "reason"}
    GET  /use-cases/{id}/audit[/verify]                          audit trail (paginated) / chain check
    GET  /use-cases/{id}/evidence?format=json|html               the EU AI Act evidence pack
    GET  /queue?stage=&status=                                   officer queue, oldest first
    GET  /use-cases/{id}/models/{group}/versions/{v}             a version with every stage record
    POST /use-cases/{id}/models/{group}/versions/{v}/decision    {"stage", "action": approve|reject|retire, "reason", "expectedRev"}
    POST /use-cases/{id}/models/{group}/versions/{v}/metrics     {"kind": validation|monitoring, "stage", "metrics", "endpointName"}
    GET  /use-cases/{id}/models/{group}/versions/{v}/audit[/verify]
    GET  /dashboard                                              the governance dashboard (HTML)
"""
from __future__ import annotations

import json
from typing import Any, Callable

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types

from governance import dashboard, evidence_html, evidence_pack, runtime
from governance.domain import BadInput, GovernanceError
from governance.handlers.outcome import refuse
from governance.requests import caller_arn, json_body, require_caller
from governance.routes import ROUTES
from governance.service import Governance

logger = Logger()
app = APIGatewayHttpResolver()


def _json_response(status: int, body: Any) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps(body, default=str))


@app.exception_handler(GovernanceError)
def _governance_error(exc: GovernanceError) -> Response:
    refuse(logger, "request refused", exc.status_code, exc.message)
    return _json_response(exc.status_code, {"error": exc.code, "message": exc.message})


@app.exception_handler(runtime.ConfigurationError)
def _configuration_error(exc: runtime.ConfigurationError) -> Response:
    logger.error("function misconfigured", reason=str(exc))
    return _json_response(500, {"error": "misconfigured", "message": "the governance API is misconfigured; operators are alerted"})


@app.not_found
def _not_found(_: Exception) -> Response:
    return _json_response(404, {"error": "not_found", "message": f"no route {app.current_event.http_method} {app.current_event.path}"})


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
    return json_body(text)


def _q(name: str) -> str | None:
    return app.current_event.get_query_string_value(name)


def _page() -> dict[str, Any]:
    return {"limit": _q("limit"), "token": _q("next")}


def _svc() -> Governance:
    return runtime.governance(with_registry=True)


# --- the operations: (caller, path parameters) → a JSON body, or a Response ---

def list_use_cases(caller: str) -> Any:
    return _svc().list_use_cases(**_page())


def get_use_case(caller: str, use_case_id: str) -> Any:
    return _svc().get_use_case(use_case_id, **_page())


def decide_use_case(caller: str, use_case_id: str) -> Any:
    return _svc().decide_use_case(use_case_id, _body(), caller)


def use_case_audit(caller: str, use_case_id: str) -> Any:
    return _svc().audit_page(use_case_id, **_page())


def use_case_audit_verify(caller: str, use_case_id: str) -> Any:
    return _svc().verify_trail(use_case_id)


def use_case_evidence(caller: str, use_case_id: str) -> Any:
    fmt = evidence_pack.parse_format(_q("format"))
    pack = evidence_pack.assemble(_svc(), use_case_id, generated_by=caller)
    if fmt == "json":
        return pack
    return Response(status_code=200, content_type="text/html; charset=utf-8", body=evidence_html.render(pack),
                    headers={"Content-Security-Policy": evidence_html.CSP, "Cache-Control": "no-store"})


def queue(caller: str) -> Any:
    return _svc().queue(stage=_q("stage"), status=_q("status"), **_page())


def get_version(caller: str, use_case_id: str, group: str, version: str) -> Any:
    return _svc().get_version(use_case_id, group, version)


def decide(caller: str, use_case_id: str, group: str, version: str) -> Any:
    return _svc().decide(use_case_id, group, version, _body(), caller)


def metrics(caller: str, use_case_id: str, group: str, version: str) -> Any:
    return _svc().record_metrics(use_case_id, group, version, _body(), caller)


def version_audit(caller: str, use_case_id: str, group: str, version: str) -> Any:
    return _svc().audit_page(use_case_id, group, version, **_page())


def version_audit_verify(caller: str, use_case_id: str, group: str, version: str) -> Any:
    return _svc().verify_trail(use_case_id, group, version)


def governance_dashboard(caller: str) -> Response:
    return Response(status_code=200, content_type="text/html; charset=utf-8", body=dashboard.page(_svc(), viewer=caller),
                    headers={"Content-Security-Policy": dashboard.CSP, "Cache-Control": "no-store"})


OPERATIONS: dict[str, Callable[..., Any]] = {f.__name__: f for f in (
    list_use_cases, get_use_case, decide_use_case, use_case_audit, use_case_audit_verify, use_case_evidence, queue,
    get_version, decide, metrics, version_audit, version_audit_verify, governance_dashboard,
)}


def _authorized(operation: Callable[..., Any]) -> Callable[..., Response]:
    """Every route requires an IAM caller; a JSON result is a 200."""
    def serve(**params: str) -> Response:
        result = operation(require_caller(caller_arn(app.current_event.raw_event)), **params)
        return result if isinstance(result, Response) else _json_response(200, result)
    serve.__name__ = operation.__name__
    return serve


for _route in ROUTES:
    app.route(_route.resolver_path, method=_route.method)(_authorized(OPERATIONS[_route.operation]))


def _is_http_event(event: Any) -> bool:
    if not isinstance(event, dict):
        return False
    http = (event.get("requestContext") or {}).get("http") if isinstance(event.get("requestContext"), dict) else None
    return isinstance(http, dict) and isinstance(http.get("method"), str) and isinstance(event.get("rawPath"), str)


def handler(event: Any, context: Any) -> dict[str, Any]:
    if not _is_http_event(event):
        refuse(logger, "not an HTTP API payload 2.0 event", 400, "not an API Gateway HTTP API (2.0) request")
        return {"statusCode": 400, "headers": {"Content-Type": "application/json"},
                "body": json.dumps({"error": "bad_request", "message": "not an API Gateway HTTP API (2.0) request"})}
    return app.resolve(event, context)
