"""`make demo`'s sandbox part (`govctl demo --no-plan`): walkthrough, gates, the table and the dashboard page.

The offline plan and the policy check it runs first are `mlgov.plan` / `mlgov.check`, tested with the stacks.
"""
from __future__ import annotations

import os
import re

from typer.testing import CliRunner

from govctl.cli import app

ENV_KEYS = ("AWS_ENDPOINT_URL", "GOVERNANCE_TABLE", "APPROVERS", "AWS_ACCESS_KEY_ID", "MOTO_ACCOUNT_ID", "AWS_CONFIG_FILE",
            "MLFLOW_ALLOW_FILE_STORE")


def test_demo_plays_the_walkthrough_and_writes_the_dashboard(tmp_path):
    env_before = {k: os.environ.get(k) for k in ENV_KEYS}
    result = CliRunner().invoke(app, ["demo", "--no-plan", "--out-dir", str(tmp_path / "artifacts")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    text = result.stdout
    for expected in ("1  credit-risk (high risk) onboarded as POC", "8  the QA lead's approval is refused (403)",
                     "9  A/B metrics from production", "gate test: passes",
                     "gate prod: REFUSES customer-churn-model v1: governance shows ModelApprovalStatus Approved, ModelLifeCycle development/approved", "governance table: model stage records"):
        assert expected in text, expected
    # The program's own gate: test passes; prod is refused with nothing declared, then passes after the churn decisions.
    gate = text.split("3b. the program's promotion gate")[1].split("4. the governance table")[0]
    lines = [line.strip() for line in gate.splitlines()]
    assert lines[1].startswith("preview test: passes, ") and lines[2] == "preview prod: REFUSED, 0 resources declared:"
    assert "mlgov:deployments[customer-churn-model v1]: use case customer-churn, group customer-churn-model, version 1 is not approved" \
           " for production: the registry shows ModelApprovalStatus Approved, ModelLifeCycle development/approved" in " ".join(lines)
    assert "mlgov:deployments[customer-churn-model v2 (shadow)]" in " ".join(lines)
    assert lines[-2].startswith("preview prod: passes, ")
    runs = re.search(r"2-5 the data scientist registers MLflow runs ([0-9a-f]{32}) and ([0-9a-f]{32}) as credit-risk-xgb v1", text)
    assert runs, text
    page = tmp_path / "artifacts" / "dashboard.html"
    assert text.rstrip().splitlines()[-1] == f"dashboard: {page.resolve()}"
    html = page.read_text()
    assert "mlgov governance dashboard" in html and 'id="chain-ok"' in html
    assert f'MLflow run <code class="run" data-run-id="{runs.group(1)}">' in html
    assert {k: os.environ.get(k) for k in ENV_KEYS} == env_before  # the sandbox put the environment back
