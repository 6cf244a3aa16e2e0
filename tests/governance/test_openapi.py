"""The published contract: generated from the resolver, committed as docs/openapi.json, served at GET /openapi.json."""
from __future__ import annotations

import json
from pathlib import Path

from governance import openapi
from governance.routes import ROUTES

from .conftest import OFFICER_SESSION

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_the_committed_document_is_the_generated_one():
    assert COMMITTED.read_text() == openapi.text(), "regenerate: python -m governance.openapi > docs/openapi.json"


def test_every_route_is_documented_with_its_statuses_and_the_error_model():
    doc = openapi.document()
    assert (doc["info"]["title"], doc["info"]["version"]) == (openapi.TITLE, openapi.VERSION) and doc["info"]["description"]
    assert doc["components"]["securitySchemes"][openapi.SIGV4]["x-amazon-apigateway-authtype"] == "awsSigv4"
    assert doc["security"] == [{openapi.SIGV4: []}]
    operations = {(path, method.upper()): op for path, ops in doc["paths"].items() for method, op in ops.items()}
    assert set(operations) == {(r.path, r.method) for r in ROUTES}
    for route in ROUTES:
        op = operations[(route.path, route.method)]
        assert op["operationId"] == route.operation
        codes = set(op["responses"])
        assert "200" in codes and "403" in codes and "422" not in codes
        if route.method == "POST":
            assert codes == {"200", "400", "403", "404", "409", "413", "415"}
            assert op["requestBody"]["required"] is True
        for code in codes - {"200"}:
            assert op["responses"][code]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
    assert doc["components"]["schemas"]["ErrorBody"]["required"] == ["error", "message"]


def test_path_and_query_parameters_carry_the_contract_patterns_and_bounds():
    from governance import contract

    doc = openapi.document()
    version = doc["paths"]["/use-cases/{use_case_id}/models/{group}/versions/{version}"]["get"]["parameters"]
    by_name = {p["name"]: p["schema"] for p in version}
    assert by_name["use_case_id"]["pattern"] == contract.USE_CASE_ID_PATTERN
    assert by_name["group"]["pattern"] == contract.SAGEMAKER_NAME_PATTERN
    assert (by_name["version"]["minimum"], by_name["version"]["maximum"]) == (1, contract.MAX_MODEL_VERSION)
    queue = {p["name"]: p for p in doc["paths"]["/queue"]["get"]["parameters"]}
    assert queue["stage"]["required"] and queue["stage"]["schema"]["enum"] == ["development", "test", "production"]
    assert (queue["limit"]["schema"]["minimum"], queue["limit"]["schema"]["maximum"]) == (1, 100)


def test_the_document_is_served_to_iam_callers_only(world):
    code, served = world.api("GET", "/openapi.json", caller=OFFICER_SESSION)
    assert code == 200 and served == openapi.document()
    code, refused = world.api("GET", "/openapi.json", caller=None)
    assert code == 403 and "no IAM caller" in refused["message"]
    assert json.loads(COMMITTED.read_text()) == served
