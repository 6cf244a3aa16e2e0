"""govctl's client against the published contract: every request it makes is a documented operation.

Each public call of `govctl.client.Api` runs against a recording transport; each recorded request must match a
path template and method of `docs/openapi.json`, use only documented query parameters, and send a body the
operation's request schema accepts.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jsonschema
import pytest
from botocore.credentials import Credentials

from govctl.client import Api, Target

DOCUMENT = json.loads((Path(__file__).resolve().parents[2] / "docs" / "openapi.json").read_text())
UC, G = "credit-risk", "credit-risk-xgb"


class Recorder(Api):
    """An Api whose transport records the request and answers a page with nothing more to fetch."""

    def __init__(self) -> None:
        super().__init__(Target("http://api.invalid", "eu-west-1", Credentials("a", "b").get_frozen_credentials(), "test"))
        self.sent: list[tuple[str, str, dict[str, Any], Any]] = []

    def raw(self, method: str, path: str, query: Any = None, body: Any = None) -> tuple[int, dict[str, str], bytes]:
        self.sent.append((method, path, {k: v for k, v in (query or {}).items() if v is not None}, body))
        answer: Any = {"useCases": [{"useCaseId": UC, "modelGroups": [G]}], "next": None}
        return 200, {}, (b"<html></html>" if path == "/dashboard" else json.dumps(answer).encode())


CALLS = {
    "use_cases": lambda api: api.use_cases(),
    "use_case": lambda api: api.use_case(UC),
    "queue": lambda api: api.queue("test", "pending"),
    "version": lambda api: api.version(G, 1, UC),
    "approve": lambda api: api.decide(G, 1, stage="test", action="approve", expected_rev=2, use_case_id=UC),
    "reject": lambda api: api.decide(G, 1, stage="test", action="reject", reason="leaky features", use_case_id=UC),
    "use-case-approve": lambda api: api.decide_use_case(UC, "approve", "feasible"),
    "use-case-retire": lambda api: api.decide_use_case(UC, "retire", "superseded"),
    "validation-metrics": lambda api: api.record_metrics(G, 1, stage="test", kind="validation", metrics={"auc": 0.9}, use_case_id=UC),
    "monitoring-metrics": lambda api: api.record_metrics(G, 1, stage="test", kind="monitoring", metrics={"auc": 0.9},
                                                         endpoint_name="credit-risk-xgb-test", use_case_id=UC),
    "use-case-audit": lambda api: api.audit(None, None, UC),
    "version-audit": lambda api: api.audit(G, 1, UC),
    "use-case-verify": lambda api: api.verify(None, None, UC),
    "version-verify": lambda api: api.verify(G, 1, UC),
    "dashboard": lambda api: api.dashboard(),
    "evidence": lambda api: api.evidence_html(UC),
    "group-lookup": lambda api: api.version(G, 1),
}


def _operation(method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    for template, ops in DOCUMENT["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in ops:
            return template, ops[method.lower()]
    return None


def _schema(ref_or_schema: dict[str, Any]) -> dict[str, Any]:
    return {**ref_or_schema, "components": DOCUMENT["components"]}


@pytest.mark.parametrize("call", sorted(CALLS))
def test_every_request_govctl_makes_is_a_documented_operation(call):
    api = Recorder()
    CALLS[call](api)
    assert api.sent
    for method, path, query, body in api.sent:
        found = _operation(method, path)
        assert found, f"{method} {path} is not in docs/openapi.json"
        template, op = found
        params = {p["name"]: p for p in op.get("parameters", [])}
        for name, value in zip(re.findall(r"\{([^}]+)\}", template), _path_values(template, path)):
            jsonschema.validate(_coerce(value, params[name]["schema"]), _schema(params[name]["schema"]))
        for name, value in query.items():
            assert name in params and params[name]["in"] == "query", f"{method} {template}: query {name!r} is not documented"
            jsonschema.validate(_coerce(str(value), params[name]["schema"]), _schema(params[name]["schema"]))
        assert {n for n, p in params.items() if p["in"] == "query" and p.get("required")} <= set(query)
        if body is not None:
            schema = op["requestBody"]["content"]["application/json"]["schema"]
            jsonschema.validate(body, _schema(schema))
        else:
            assert not op.get("requestBody", {}).get("required"), f"{method} {template} needs a body govctl does not send"


def _path_values(template: str, path: str) -> list[str]:
    pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(template)) + "$"
    return [unquote(v) for v in re.match(pattern, path).groups()]


def _coerce(value: str, schema: dict[str, Any]) -> Any:
    """A path or query value as the resolver reads it: an integer where the parameter is one."""
    return int(value) if schema.get("type") == "integer" and value.isdigit() else value


def test_the_client_is_checked_against_every_operation_it_can_reach():
    api = Recorder()
    for call in CALLS.values():
        call(api)
    reached = {_operation(m, p)[0] + " " + m for m, p, _, _ in api.sent}
    documented = {f"{t} {m.upper()}" for t, ops in DOCUMENT["paths"].items() for m in ops}
    assert documented - reached == {"/openapi.json GET"}  # the contract itself; govctl does not fetch it
