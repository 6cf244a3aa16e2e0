"""`govctl retire` and `govctl use-case approve|reject|retire` against the sandbox after the walkthrough."""
from __future__ import annotations

from governance.contract import endpoint_name

from .conftest import one_line_error

XGB, CHURN = "credit-risk-xgb", "customer-churn-model"


def test_show_says_where_a_version_is_live(govctl):
    result = govctl("show", XGB, "1")
    assert result.exit_code == 0, result.output
    assert f"live on {endpoint_name('prod', 'credit-risk', XGB)} (production" in result.stdout
    assert f"live on {endpoint_name('test', 'credit-risk', XGB)}" not in result.stdout  # v2 replaced it on the test endpoint


def test_a_use_case_is_sent_back_and_approved_forward_again(govctl, sandbox):
    rejected = govctl("use-case", "reject", "customer-churn", "--reason", "bias review failed", persona="qa-lead")
    assert rejected.exit_code == 0, rejected.output
    assert "rejected use case customer-churn: now DEVELOPMENT (rejected)" in rejected.stdout
    before = sandbox.items()
    line = one_line_error(govctl("use-case", "reject", "customer-churn", "--reason", "again", persona="qa-lead"))
    assert "from QA or PREPRODUCTION back to DEVELOPMENT; this one is in DEVELOPMENT (HTTP 409 conflict)" in line
    assert sandbox.items() == before
    approved = govctl("use-case", "approve", "customer-churn", persona="qa-lead")
    assert approved.exit_code == 0 and "now QA (pending)" in approved.stdout


def test_retire_a_version_then_the_use_case_with_the_rest(govctl, sandbox):
    assert govctl("retire", CHURN, "2", persona="model-owner").exit_code == 2  # --reason is required
    retired = govctl("retire", CHURN, "2", "--reason", "shadow candidate dropped", persona="model-owner")
    assert retired.exit_code == 0 and f"retired {CHURN} v2 at development: now retired" in retired.stdout
    assert "only a governance officer retires a use case" in one_line_error(
        govctl("use-case", "retire", "customer-churn", "--reason", "discontinued", persona="model-owner"))
    result = govctl("use-case", "retire", "customer-churn", "--reason", "discontinued")
    assert result.exit_code == 0, result.output
    assert "now RETIRED (retired); 1 version(s) retired (one transaction)" in result.stdout
    view = govctl.json("show", CHURN, "1")
    assert view["retired"] is True and {r["modelStatus"] for r in view["records"]} == {"retired"}
