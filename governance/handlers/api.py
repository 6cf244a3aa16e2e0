"""The governance API (API Gateway REST API, Lambda proxy integration, AWS_IAM on every method).

Powertools' resolver validates every path parameter, query and body against `governance.api_models` before a
route runs; one middleware resolves the caller (`requestContext.identity.userArn`, the audit user) and applies
the route's access rule; routes return plain data. Errors: 400 bad input, 403 caller not allowed, 404 unknown
ids, 409 stale or illegal transition, 413 body too large, 415 not JSON; a 500 only for a fault of ours. The routes
are `governance.routes.ROUTES`; the contract is `GET /openapi.json` (also `docs/openapi.json`).
"""
from __future__ import annotations

import json
import threading
from typing import Annotated, Any, Callable, Literal

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestUnsupportedContentType, RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from governance import dashboard, evidence_html, evidence_pack, runtime
from governance.api_models import MetricsReport, ModelDecision, Page, QueueQuery, UseCaseDecision, describe, fields
from governance.contract import MAX_MODEL_VERSION, SAGEMAKER_NAME_PATTERN, USE_CASE_ID_PATTERN
from governance.domain import Approvers, BadInput, Forbidden, GovernanceError, Stage
from governance.handlers.outcome import refuse
from governance.requests import UnsupportedMediaType, body_text, caller_arn, json_body, require_caller, single_query
from governance.routes import ROUTES
from governance.service import Governance

logger = Logger()


class _Resolver(APIGatewayRestResolver):
    """Powertools keeps the request being served in class state; here it is per thread, so in-process callers
    (the tests, the sandbox) serve concurrent requests as separate Lambda containers would."""

    _local = threading.local()

    @property  # type: ignore[override]
    def current_event(self) -> Any:
        return self._local.event

    @property  # type: ignore[override]
    def context(self) -> dict[str, Any]:
        if not hasattr(self._local, "context"):
            self._local.context = {}
        return self._local.context

    @context.setter
    def context(self, value: dict[str, Any]) -> None:
        self._local.context = value

    def resolve(self, event: Any, context: Any) -> dict[str, Any]:
        self._local.event = self._to_proxy_event(event)
        return super().resolve(event, context)


app = _Resolver(enable_validation=True, json_body_deserializer=json_body)

UseCaseId = Annotated[str, Path(pattern=USE_CASE_ID_PATTERN, description="a use case id")]
Group = Annotated[str, Path(pattern=SAGEMAKER_NAME_PATTERN, description="a SageMaker model package group")]
Version = Annotated[int, Path(ge=1, le=MAX_MODEL_VERSION, description="a model package version")]
PageQuery = Annotated[Page, Query()]
BODIES = {"decide": ModelDecision, "decide_use_case": UseCaseDecision, "metrics": MetricsReport}


def _error(status: int, code: str, message: str) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON,
                    body=json.dumps({"error": code, "message": message}))


@app.exception_handler(GovernanceError)
def _governance_error(exc: GovernanceError) -> Response:
    refuse(logger, "request refused", exc.status_code, exc.message)
    return _error(exc.status_code, exc.code, exc.message)


@app.exception_handler(RequestValidationError)
def _invalid_request(exc: RequestValidationError) -> Response:
    errors = exc.errors()
    route = app.context.get("_route")
    model = BODIES.get(route.func.__name__) if route is not None else None
    allowed = fields(model) if model is not None else ()
    message = "; ".join(dict.fromkeys(describe(e, allowed) for e in errors[:5])) or "the request is invalid"
    refuse(logger, "request refused", 400, message, fields=[".".join(map(str, e.get("loc", ()))) for e in errors[:5]])
    return _error(400, BadInput.code, message)


@app.exception_handler(RequestUnsupportedContentType)
def _unsupported(exc: RequestUnsupportedContentType) -> Response:
    return _governance_error(UnsupportedMediaType("the API takes application/json bodies only"))


@app.exception_handler(runtime.ConfigurationError)
def _configuration_error(exc: runtime.ConfigurationError) -> Response:
    logger.error("function misconfigured", reason=str(exc))
    return _error(500, "misconfigured", "the governance API is misconfigured; operators are alerted")


@app.not_found
def _not_found(_: NotFoundError) -> Response:
    return _error(404, "not_found", f"no route {app.current_event.http_method} {app.current_event.path}")


def _svc() -> Governance:
    return runtime.governance(with_registry=True)


def _caller() -> str:
    return app.context["caller"]


# --- the operations: validated parameters → plain data (the dashboard: a page) ---

def list_use_cases(page: PageQuery) -> dict[str, Any]:
    return _svc().list_use_cases(limit=page.limit, token=page.next)


def get_use_case(use_case_id: UseCaseId, page: PageQuery) -> dict[str, Any]:
    return _svc().get_use_case(use_case_id, limit=page.limit, token=page.next)


def decide_use_case(use_case_id: UseCaseId, decision: Annotated[UseCaseDecision, Body()]) -> dict[str, Any]:
    return _svc().decide_use_case(use_case_id, decision, _caller())


def use_case_audit(use_case_id: UseCaseId, page: PageQuery) -> dict[str, Any]:
    return _svc().audit_page(use_case_id, limit=page.limit, token=page.next)


def use_case_audit_verify(use_case_id: UseCaseId) -> dict[str, Any]:
    return _svc().verify_trail(use_case_id)


def use_case_evidence(use_case_id: UseCaseId,  # noqa: ANN201 - the pack, or its page
                      fmt: Annotated[Literal["json", "html"], Query(alias="format", description="json (default) or html")] = "json"):
    pack = evidence_pack.assemble(_svc(), use_case_id, generated_by=_caller())
    if fmt == "json":
        return pack
    return Response(status_code=200, content_type="text/html; charset=utf-8", body=evidence_html.render(pack),
                    headers={"Content-Security-Policy": evidence_html.CSP, "Cache-Control": "no-store"})


def queue(filters: Annotated[QueueQuery, Query()]) -> dict[str, Any]:
    return _svc().queue(stage=filters.stage, status=filters.status, limit=filters.limit, token=filters.next)


def get_version(use_case_id: UseCaseId, group: Group, version: Version) -> dict[str, Any]:
    return _svc().get_version(use_case_id, group, version)


def decide(use_case_id: UseCaseId, group: Group, version: Version, decision: Annotated[ModelDecision, Body()]) -> dict[str, Any]:
    return _svc().decide(use_case_id, group, version, decision, _caller())


def metrics(use_case_id: UseCaseId, group: Group, version: Version, report: Annotated[MetricsReport, Body()]) -> dict[str, Any]:
    return _svc().record_metrics(use_case_id, group, version, report, _caller())


def version_audit(use_case_id: UseCaseId, group: Group, version: Version, page: PageQuery) -> dict[str, Any]:
    return _svc().audit_page(use_case_id, group, version, limit=page.limit, token=page.next)


def version_audit_verify(use_case_id: UseCaseId, group: Group, version: Version) -> dict[str, Any]:
    return _svc().verify_trail(use_case_id, group, version)


def governance_dashboard():  # noqa: ANN201 - a Response, which the document shows as HTML
    return Response(status_code=200, content_type="text/html; charset=utf-8", body=dashboard.page(_svc(), viewer=_caller()),
                    headers={"Content-Security-Policy": dashboard.CSP, "Cache-Control": "no-store"})


def openapi_document() -> dict[str, Any]:
    from governance.openapi import document

    return document()


OPERATIONS: dict[str, Callable[..., Any]] = {f.__name__: f for f in (
    list_use_cases, get_use_case, decide_use_case, use_case_audit, use_case_audit_verify, use_case_evidence, queue, get_version,
    decide, metrics, version_audit, version_audit_verify, governance_dashboard, openapi_document,
)}


# --- who may call what: any principal of the organization reads; writes need a configured approver or officer ---

def _decider(approvers: Approvers, caller: str, args: dict[str, Any]) -> str:
    stage = args["decision"].stage
    return "" if approvers.may_decide(stage, caller) else f"{caller} is not an approver for the {stage.value} stage"


def _use_case_decider(approvers: Approvers, caller: str, args: dict[str, Any]) -> str:
    if args["decision"].action == "retire":
        return "" if approvers.is_officer(caller) else "only a governance officer retires a use case"
    if any(approvers.may_decide(stage, caller) for stage in Stage):
        return ""  # which stage's approvers may move the use case depends on its stage: the service checks it
    return f"{caller} is not an approver; use cases are moved by approvers"


def _reporter(approvers: Approvers, caller: str, args: dict[str, Any]) -> str:
    report = next((a for a in args.values() if getattr(a, "kind", None) is not None), None)
    if report is not None and report.kind == "validation":
        return ""  # the service holds validation evidence to the stage's configured validators (mlgov:validators)
    if any(approvers.may_decide(stage, caller) for stage in Stage):
        return ""
    return f"{caller} is not an approver; metrics are recorded by approvers and governance officers"


# Each write's rule: "" when the caller may call it, else why not. The service checks the rest (four eyes, SoD).
ACCESS: dict[str, Callable[[Approvers, str, dict[str, Any]], str]] = {
    "decide": _decider, "decide_use_case": _use_case_decider, "metrics": _reporter,
}


def identify(resolver: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response:
    """The caller (an IAM principal, or 403) and the route's access rule, once the request is validated."""
    caller = require_caller(caller_arn(resolver.current_event.raw_event))
    rule = ACCESS.get(resolver.context["_route"].func.__name__)
    problem = rule(runtime.approvers(), caller, resolver.context.get("_route_args", {})) if rule else ""
    if problem:
        raise Forbidden(problem)
    resolver.append_context(caller=caller)
    return next_middleware(resolver)


app.use(middlewares=[identify])

from governance.openapi import RESPONSES, SUMMARIES  # noqa: E402 - the document module reads `app`'s routes lazily

for _route in ROUTES:
    app.route(_route.resolver_path, method=_route.method, operation_id=_route.operation, summary=SUMMARIES[_route.operation],
              responses=RESPONSES(_route))(OPERATIONS[_route.operation])


def _strings(value: Any, *, lists: bool = False) -> bool:
    """None, or a map of names to text (to lists of text for the multi-value maps)."""
    if value is None:
        return True
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        return False
    if lists:
        return all(isinstance(v, list) and all(isinstance(i, str) for i in v) for v in value.values())
    return all(isinstance(v, str) for v in value.values())


def _is_rest_event(event: Any) -> bool:
    return (isinstance(event, dict) and isinstance(event.get("httpMethod"), str) and isinstance(event.get("path"), str)
            and isinstance(event.get("requestContext"), dict)
            and all(_strings(event.get(k)) for k in ("headers", "queryStringParameters", "pathParameters"))
            and all(_strings(event.get(k), lists=True) for k in ("multiValueHeaders", "multiValueQueryStringParameters")))


def handler(event: Any, context: Any) -> dict[str, Any]:
    if not _is_rest_event(event):
        refuse(logger, "not a REST API proxy event", 400, "not an API Gateway REST API (Lambda proxy) request")
        return {"statusCode": 400, "headers": {"Content-Type": "application/json"},
                "body": json.dumps({"error": "bad_request", "message": "not an API Gateway REST API (Lambda proxy) request"})}
    try:
        single_query(event)
        text = body_text(event) if event["httpMethod"] in ("POST", "PUT", "PATCH") else None
    except GovernanceError as exc:
        refuse(logger, "request refused", exc.status_code, exc.message)
        return {"statusCode": exc.status_code, "headers": {"Content-Type": "application/json"},
                "body": json.dumps({"error": exc.code, "message": exc.message})}
    try:
        return app.resolve({**event, "body": text, "isBase64Encoded": False}, context)
    except Exception:  # a fault of ours: logged with its trace, answered as a 500, never raised to API Gateway
        logger.exception("the governance API failed", path=event["path"][:200], method=event["httpMethod"][:10])
        return {"statusCode": 500, "headers": {"Content-Type": "application/json"},
                "body": json.dumps({"error": "internal_error", "message": "the governance API failed; operators are alerted"})}
