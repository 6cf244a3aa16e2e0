"""The governance API's published contract: the OpenAPI document Powertools generates from the resolver.

    python -m governance.openapi > docs/openapi.json

The same document is served at `GET /openapi.json`; a test fails when the committed copy differs.
"""
from __future__ import annotations

import copy
import json
from functools import lru_cache
from typing import Any

from .api_models import ErrorBody, Page, QueueQuery
from .routes import Route

TITLE = "mlgov governance API"
VERSION = "1.0.0"
DESCRIPTION = (
    "Central ML model governance: use cases, the stage records of registered model versions, decisions, metrics "
    "and audit trails. Every request is signed with AWS SigV4 (service `execute-api`) by an IAM principal of the "
    "organization; the caller's ARN is the audit user. Errors are `{\"error\", \"message\"}`."
)
SIGV4 = "sigv4"

SUMMARIES: dict[str, str] = {
    "list_use_cases": "List the onboarded use cases with their stage",
    "get_use_case": "A use case, its stage and its models' stage records",
    "decide_use_case": "Approve a use case one stage forward, send it back from QA or PREPRODUCTION to DEVELOPMENT, or retire it with its versions",
    "use_case_audit": "A use case's audit trail, page by page",
    "use_case_audit_verify": "Verify a use case's audit trail: signatures, links, its record's state and the latest checkpoint",
    "queue": "Stage records at a stage in a status, oldest first",
    "get_version": "A registered version with every stage record",
    "decide": "Approve, reject or retire a version at a stage",
    "metrics": "Record validation or monitoring metrics for a stage record",
    "version_audit": "A version's audit trail, page by page",
    "version_audit_verify": "Verify a version's audit trail: signatures, links, its records' state and the latest checkpoint",
    "governance_dashboard": "The governance dashboard (HTML)",
    "use_case_evidence": "A use case's EU AI Act evidence pack (JSON, or with format=html its self-contained page)",
    "openapi_document": "This document",
}

_ERRORS = {
    400: "Bad input: the message names the field and what is allowed",
    403: "The caller is not allowed (unsigned, outside the organization, or not an approver for this)",
    404: "An unknown use case, model group or version",
    409: "A stale request or a transition the lifecycle does not allow",
    413: "The request body is larger than 64 KB",
    415: "The request body is not application/json",
}
_READ_ERRORS = (400, 403, 404)
_WRITE_ERRORS = (400, 403, 404, 409, 413, 415)


def RESPONSES(route: Route) -> dict[int, Any]:  # noqa: N802 - a table computed per route
    """Every status an operation answers, each with its body."""
    if route.operation == "governance_dashboard":
        ok: dict[str, Any] = {"text/html": {"schema": {"type": "string"}}}
    elif route.operation == "use_case_evidence":
        ok = {"application/json": {"schema": {"type": "object"}}, "text/html": {"schema": {"type": "string"}}}
    else:
        ok = {"application/json": {"schema": {"type": "object"}}}
    codes = _WRITE_ERRORS if route.method == "POST" else _READ_ERRORS
    if not any(c in route.path for c in "{") and route.operation not in ("list_use_cases", "queue"):
        codes = (403,)
    out: dict[int, Any] = {200: {"description": SUMMARIES[route.operation], "content": ok}}
    for code in codes:
        out[code] = {"description": _ERRORS[code], "content": {"application/json": {"model": ErrorBody}}}
    return out


def _query_schemas(doc: dict[str, Any]) -> None:
    """Powertools flattens query models to bare types; put back each field's bounds and allowed values."""
    for model in (Page, QueueQuery):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        props, defs = schema["properties"], schema.get("$defs", {})
        for ops in doc["paths"].values():
            for op in ops.values():
                for param in op.get("parameters", []):
                    if param["in"] == "query" and param["name"] in props:
                        prop = copy.deepcopy(props[param["name"]])
                        ref = prop.pop("$ref", None)
                        if ref:
                            prop.update(copy.deepcopy(defs[ref.rsplit("/", 1)[-1]]))
                        prop.pop("title", None)
                        options = [o for o in prop.pop("anyOf", []) if o != {"type": "null"}]
                        if len(options) == 1:
                            prop.update(options[0])  # an absent query parameter is how a client says "none"
                        param["schema"] = {k: v for k, v in prop.items() if k != "default"}


def _drop_unreferenced(doc: dict[str, Any]) -> None:
    schemas = doc.get("components", {}).get("schemas", {})
    while True:
        text = json.dumps({k: v for k, v in doc.items() if k != "components"}) + json.dumps(schemas)
        unused = [name for name in schemas if f'"#/components/schemas/{name}"' not in text]
        if not unused:
            return
        for name in unused:
            del schemas[name]


@lru_cache(maxsize=1)
def _document() -> str:
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn

    from .handlers.api import app

    doc = json.loads(app.get_openapi_json_schema(
        title=TITLE, version=VERSION, description=DESCRIPTION, openapi_version="3.1.0",
        security_schemes={SIGV4: APIKey(name="Authorization", in_=APIKeyIn.header, description=(
            "AWS Signature Version 4 for service execute-api (API Gateway AWS_IAM authorization)"),
            **{"x-amazon-apigateway-authtype": "awsSigv4"})},
        security=[{SIGV4: []}],
    ))
    for ops in doc["paths"].values():
        for op in ops.values():
            op["responses"].pop("422", None)  # the resolver's default; validation errors are our 400
    _query_schemas(doc)
    _drop_unreferenced(doc)
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def document() -> dict[str, Any]:
    return json.loads(_document())


def text() -> str:
    return _document()


if __name__ == "__main__":
    print(text(), end="")
