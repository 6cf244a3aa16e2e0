"""Every govctl command against the sandbox, with its error paths."""
from __future__ import annotations

import json
import re

import pytest

from governance import mirror, schema
from governance.contract import MLFLOW_RUN_ID_KEY
from govctl.sandbox import ROOT
from govctl.commands.reads import WAITING
from govctl.gate import approved_for
from governance.domain import Stage

from .conftest import one_line_error

XGB, FRAUD, CHURN = "credit-risk-xgb", "fraud-detection", "customer-churn-model"


def records(sb) -> list[dict]:
    return [i for i in sb.items() if i["pk"].startswith("MODEL#") and i["sk"].startswith("V#")]


def new_fraud_version(sb, *, approve_dev: bool = False, deploy_test: bool = False) -> int:
    """A fresh version of its own for a test that changes state."""
    version = sb.register(FRAUD, "data-scientist")
    if approve_dev:
        sb.api("model-owner").decide(FRAUD, version, stage="development", action="approve", use_case_id="credit-risk")
    if deploy_test:
        sb.deployed(FRAUD, version, "test")
    return version


# ------------------------------------------------------------------ reads

def test_use_cases_lists_the_catalogue(govctl, sandbox):
    listed = govctl.json("use-cases")
    configs = sorted(i["useCaseId"] for i in sandbox.items() if i["pk"].startswith("USECASE#") and i["sk"] == "CONFIG")
    assert sorted(u["useCaseId"] for u in listed) == configs == ["credit-risk", "customer-churn"]
    stages = {u["useCaseId"]: u["stage"] for u in listed}
    assert stages == {"credit-risk": "PRODUCTION", "customer-churn": "QA"}
    table = govctl("use-cases")
    assert table.exit_code == 0 and "Credit risk assessment" in table.stdout and "PRODUCTION" in table.stdout


def test_list_shows_what_waits_at_each_stage_as_in_the_table(govctl, sandbox):
    listed = govctl.json("list")
    expected = {(r["modelStage"], r["modelStatus"], r["modelGroup"], int(r["modelVersion"]))
                for r in records(sandbox) if (r["modelStage"], r["modelStatus"]) in WAITING}
    assert {(i["modelStage"], i["modelStatus"], i["modelGroup"], i["modelVersion"]) for i in listed} == expected
    assert ("production", "deployed", XGB, 2) in expected and ("development", "pending", CHURN, 2) in expected
    table = govctl("list")
    assert table.exit_code == 0 and f"{XGB} v2" in table.stdout


def test_list_by_stage_and_status(govctl, sandbox):
    listed = govctl.json("list", "--stage", "production", "--status", "approved")
    assert {(i["modelGroup"], i["modelVersion"]) for i in listed} == {(XGB, 1), (FRAUD, 1)}
    assert all(i["queue"] == {"stage": "production", "status": "approved"} for i in listed)


def test_list_refuses_a_bad_stage(govctl):
    line = one_line_error(govctl("list", "--stage", "staging"))
    assert "stage 'staging' is invalid" in line


def test_show_a_version_with_every_stage_record(govctl):
    view = govctl.json("show", XGB, "1")
    assert (view["useCaseId"], view["currentStage"], view["registryStatus"]) == ("credit-risk", "production", "Approved")
    assert [(r["modelStage"], r["modelStatus"]) for r in view["records"]] == [
        ("development", "approved"), ("test", "approved"), ("production", "approved")]
    table = govctl("show", XGB, "1")
    assert table.exit_code == 0 and "validation-auc=0.87" in table.stdout


def test_show_names_the_mlflow_run_the_version_came_from(govctl, sandbox):
    dev_record = next(i for i in records(sandbox)
                      if (i["pk"], i["sk"]) == (schema.model_pk(XGB), schema.stage_record_sk(1, "development")))
    run_id = dev_record[schema.MLFLOW_RUN_ID]
    assert re.fullmatch(r"[0-9a-f]{32}", run_id)
    assert govctl.json("show", XGB, "1")["mlflowRunId"] == run_id
    table = govctl("show", XGB, "1")
    assert table.exit_code == 0 and f"MLflow run {run_id}" in table.stdout.splitlines()[0]


@pytest.fixture
def sandbox_hub_config(sandbox, monkeypatch):
    """`govctl register` resolves the hub from the stack file; moto's registry takes group names where AWS takes ARNs."""
    hub = sandbox.experiment(FRAUD).hub
    monkeypatch.setattr("govctl.register.Hub.from_stack_config", classmethod(lambda cls, root: hub))


def test_register_turns_a_run_into_a_version_that_show_links_to_it(govctl, sandbox, sandbox_hub_config):
    image = f"{sandbox.account}.dkr.ecr.{sandbox.region}.amazonaws.com/{FRAUD}:7"
    experiment = sandbox.experiment(FRAUD)
    run_id = experiment.run(FRAUD, {"auc": 0.93}, image=image)
    result = govctl("register", "--group", FRAUD, "--run-id", run_id, "--tracking-server", experiment.client.tracking_uri,
                    persona=None, root=ROOT)
    assert result.exit_code == 0, result.output
    match = re.search(rf"registered {FRAUD} v(\d+) from run {run_id} \((arn:[^)]+)\), pending approval", result.stdout)
    assert match, result.stdout
    described = sandbox.sm.describe_model_package(ModelPackageName=match.group(2))
    assert described["CustomerMetadataProperties"] == {MLFLOW_RUN_ID_KEY: run_id, "auc": "0.93"}
    assert sandbox.sync(sandbox.registry_event(described, created_by=None))["result"] == "written"
    assert govctl.json("show", FRAUD, match.group(1))["mlflowRunId"] == run_id


def test_register_refuses_a_run_that_does_not_exist_in_one_line(govctl, sandbox, sandbox_hub_config):
    before = len(sandbox.sm.list_model_packages(ModelPackageGroupName=FRAUD)["ModelPackageSummaryList"])
    result = govctl("register", "--group", FRAUD, "--run-id", "0" * 32, "--tracking-server",
                    sandbox.experiment(FRAUD).client.tracking_uri, persona=None, root=ROOT)
    assert one_line_error(result) == f"error: MLflow run '{'0' * 32}' does not exist on this tracking server"
    assert len(sandbox.sm.list_model_packages(ModelPackageGroupName=FRAUD)["ModelPackageSummaryList"]) == before


def test_show_unknown_version_and_group(govctl):
    assert "model version credit-risk-xgb/99 is not registered (HTTP 404 not_found)" in one_line_error(govctl("show", XGB, "99"))
    assert "model group 'no-such-model' belongs to no onboarded use case" in one_line_error(govctl("show", "no-such-model", "1"))


def test_metrics_shows_validation_and_monitoring_per_stage(govctl):
    shown = govctl.json("metrics", XGB, "1")
    by_stage = {s["stage"]: s for s in shown["stages"]}
    assert by_stage["test"]["validationMetrics"] == {"ks": 0.41, "validation-auc": 0.87}
    assert by_stage["production"]["monitoringMetrics"]["endpointName"] == f"mlgov-prod-credit-risk-{XGB}"
    table = govctl("metrics", XGB, "1")
    assert table.exit_code == 0 and f"(mlgov-test-credit-risk-{XGB})" in table.stdout


def test_metrics_records_validation_metrics(govctl, sandbox):
    version = new_fraud_version(sandbox, approve_dev=True, deploy_test=True)
    result = govctl("metrics", FRAUD, str(version), "--set", "validation-auc=0.83", "--set", "ks=0.5", persona="qa-lead")
    assert result.exit_code == 0 and "recorded validation metrics" in result.stdout
    record = sandbox.items()
    stored = next(i for i in record if i["pk"] == f"MODEL#{FRAUD}" and i["sk"] == schema.stage_record_sk(version, "test"))
    assert json.loads(stored["validationMetrics"]) == {"validation-auc": 0.83, "ks": 0.5}
    assert "NAME=NUMBER" in one_line_error(govctl("metrics", FRAUD, str(version), "--set", "auc", persona="qa-lead"))


# ------------------------------------------------------------------ decisions

def test_approve_then_reject_sends_the_version_back(govctl, sandbox):
    version = new_fraud_version(sandbox)
    approved = govctl("approve", FRAUD, str(version), "--reason", "code review done", persona="model-owner")
    assert approved.exit_code == 0, approved.output
    assert f"approved {FRAUD} v{version} at development: now approved" in approved.stdout
    sandbox.deployed(FRAUD, version, "test")
    rejected = govctl("reject", FRAUD, str(version), "--reason", "integration tests failed", persona="qa-lead")
    assert rejected.exit_code == 0, rejected.output
    assert "now rejected" in rejected.stdout and "registry Rejected" in rejected.stdout
    view = govctl.json("show", FRAUD, str(version))
    assert {r["modelStage"]: r["modelStatus"] for r in view["records"]} == {"development": "pending", "test": "rejected"}
    assert view["records"][0]["lastRejection"]["reason"] == "integration tests failed"


def test_approve_not_allowed_changes_nothing(govctl, sandbox):
    version = new_fraud_version(sandbox)
    before = sandbox.items()
    line = one_line_error(govctl("approve", FRAUD, str(version), persona="data-scientist"))
    assert "is not an approver for the development stage (HTTP 403 forbidden)" in line
    assert "mlgov-data-scientist" in line
    assert sandbox.items() == before


def test_whoever_registered_cannot_approve(govctl, sandbox):
    version = sandbox.register(FRAUD, "model-owner")
    line = one_line_error(govctl("approve", FRAUD, str(version), persona="model-owner"))
    assert "separation of duties" in line


def test_high_risk_needs_an_officer_past_development(govctl, sandbox):
    version = new_fraud_version(sandbox, approve_dev=True, deploy_test=True)
    sandbox.api("qa-lead").record_metrics(FRAUD, version, stage="test", kind="validation", metrics={"validation-auc": 0.9},
                                          use_case_id="credit-risk")
    assert "needs a governance officer" in one_line_error(govctl("approve", FRAUD, str(version), persona="qa-lead"))
    ok = govctl("approve", FRAUD, str(version), "-o", "json", persona="governance-officer")
    assert ok.exit_code == 0 and json.loads(ok.stdout)["status"] == "approved"


def test_stale_decision_is_refused(govctl, sandbox):
    version = new_fraud_version(sandbox)
    seen = govctl.json("show", FRAUD, str(version))["records"][0]["rev"]
    # Someone else acts on the record after it was read: a rejection in development bumps its rev.
    assert govctl("reject", FRAUD, str(version), "--reason", "missing model card", persona="model-owner").exit_code == 0
    line = one_line_error(govctl("approve", FRAUD, str(version), "--expected-rev", str(seen), persona="model-owner"))
    assert f"stale: the development record is at rev {seen + 1}, not {seen} (HTTP 409 conflict)" in line


def test_illegal_transition_is_a_conflict(govctl, sandbox):
    before = sandbox.items()
    line = one_line_error(govctl("reject", XGB, "1", "--stage", "development", "--reason", "late doubts", persona="model-owner"))
    assert "cannot reject at development: the record is approved" in line and line.endswith("(HTTP 409 conflict)")
    assert sandbox.items() == before


def test_reject_requires_a_reason(govctl):
    result = govctl("reject", FRAUD, "1")
    assert result.exit_code == 2 and "--reason" in result.output


# ------------------------------------------------------------------ audit

def test_audit_prints_the_trail_and_verifies_it(govctl):
    trail = govctl.json("audit", XGB, "1", "--verify")
    assert [e["seq"] for e in trail["entries"]] == list(range(1, len(trail["entries"]) + 1))
    assert [e["action"] for e in trail["entries"]][:2] == ["register", "approve"]
    assert (trail["verification"]["ok"], trail["verification"]["entries"]) == (True, len(trail["entries"]))
    table = govctl("audit", XGB, "1", "--verify")
    assert table.exit_code == 0 and "chain verifies" in table.stdout and "mlgov-risk-officer/frank" in table.stdout


def test_audit_verify_names_the_first_broken_link(govctl, sandbox):
    version = new_fraud_version(sandbox, approve_dev=True)
    assert govctl("audit", FRAUD, str(version), "--verify").exit_code == 0
    sandbox.tamper_audit(FRAUD, version, 1, actor="arn:aws:sts::222222222222:assumed-role/mlgov-model-owner/bob")
    result = govctl("audit", FRAUD, str(version), "--verify")
    line = one_line_error(result)
    assert line == (f"error: audit chain of {FRAUD} v{version} is broken at entry 1: "
                    "hash does not match the entry's content (edited)")
    assert "register" in result.stdout  # the trail is still printed
    assert govctl("audit", FRAUD, str(version)).exit_code == 0  # without --verify it only prints


def test_audit_verify_catches_a_removed_entry(govctl, sandbox):
    version = new_fraud_version(sandbox, approve_dev=True)
    last = sandbox.audit_items(FRAUD, version)[-1]
    sandbox.ddb.delete_item(TableName=sandbox.table, Key={"pk": {"S": last["pk"]}, "sk": {"S": last["sk"]}})
    line = one_line_error(govctl("audit", FRAUD, str(version), "--verify"))
    assert "broken at entry 2" in line and "chain head is at seq 2 but the trail ends at 1" in line


# ------------------------------------------------------------------ gate and promote

def test_gate_passes_when_every_pin_is_approved(govctl, project):
    result = govctl("gate", "--stack", "test", root=project)
    assert result.exit_code == 0, result.output
    assert "ok       credit-risk-xgb v1: approved for test" in result.stdout
    assert "gate test: all 2 pinned version(s) approved for test" in result.stdout


def test_gate_refuses_unapproved_pins_naming_each(govctl, project):
    result = govctl("gate", "--stack", "prod", root=project)
    line = one_line_error(result)
    assert line == ("error: gate prod: 2 pinned version(s) not approved for production: "
                    "customer-churn-model v1, customer-churn-model v2 (shadow)")
    assert ("REFUSED  customer-churn-model v1: governance shows ModelApprovalStatus Approved, ModelLifeCycle development/approved; "
            "production needs test/approved or production/approved|deployed|pending") in result.stdout
    assert "ok       credit-risk-xgb v2 (challenger): approved for production" in result.stdout
    data = json.loads(govctl("gate", "--stack", "prod", "-o", "json", root=project).stdout)
    assert [(o["group"], o["version"]) for o in data["offenders"]] == [(CHURN, 1), (CHURN, 2)]


def test_gate_refuses_a_version_governance_never_saw(govctl, project):
    path = project / "Pulumi.test.yaml"
    path.write_text(path.read_text().replace("group: credit-risk-xgb\n      version: 1", "group: credit-risk-xgb\n      version: 42"))
    line = one_line_error(govctl("gate", "--stack", "test", root=project))
    assert "credit-risk-xgb v42" in line


def test_gate_reports_a_bad_stack_file_in_one_line(govctl, project):
    (project / "Pulumi.test.yaml").write_text("config:\n  mlgov:accountRole: test\n  mlgov:deployments: [{group: x}]\n")
    line = one_line_error(govctl("gate", "--stack", "test", root=project))
    assert "Pulumi.test.yaml: invalid stack config: mlgov:organization: required key is missing; also: " in line


def promoted(govctl, project, group: str, version: int, stack: str) -> tuple[str, str, str]:
    """`govctl promote` that succeeds: its output, and the stack file before and after."""
    path = project / f"Pulumi.{stack}.yaml"
    before = path.read_text()
    result = govctl("promote", group, str(version), "--to", stack, root=project)
    assert result.exit_code == 0, result.output
    return result.stdout, before, path.read_text()


def test_promote_pins_the_version_keeping_comments_and_order(govctl, project):
    said, before, after = promoted(govctl, project, XGB, 2, "test")
    assert "credit-risk-xgb: v1 -> v2" in said
    expected = before.replace("group: credit-risk-xgb\n      version: 1\n", "group: credit-risk-xgb\n      version: 2\n")
    assert after == expected and after != before
    assert "# high risk: data capture is always on" in after
    assert govctl("gate", "--stack", "test", root=project).exit_code == 0


def test_promote_rolls_out_a_challenger_in_prod(govctl, project):
    said, before, after = promoted(govctl, project, XGB, 2, "prod")
    assert "the challenger is rolled out" in said
    assert after.splitlines()[:3] == before.splitlines()[:3]  # the header comments
    assert "challenger:" not in after.split("customer-churn")[0] and "weight: 100" in after
    from govctl.gate import pins
    assert [(p.group, p.version, p.role) for p in pins("prod", project)][:1] == [(XGB, 2, "version")]


def test_promote_appends_a_new_deployment(govctl, project):
    _, before, after = promoted(govctl, project, FRAUD, 1, "test")
    assert after.startswith(before) and after[len(before):] == (
        "    - useCase: credit-risk\n      group: fraud-detection\n      version: 1\n")


def test_promote_refuses_an_unapproved_version_and_leaves_the_file(govctl, project):
    path = project / "Pulumi.test.yaml"
    before = path.read_text()
    line = one_line_error(govctl("promote", CHURN, "2", "--to", "test", root=project))
    assert line == ("error: refused: customer-churn-model v2 is not approved for test: governance shows ModelApprovalStatus "
                    "PendingManualApproval, ModelLifeCycle development/pending; a version is deployed only once it is Approved")
    assert path.read_text() == before
    assert "is not registered" in one_line_error(govctl("promote", CHURN, "77", "--to", "prod", root=project))
    assert path.read_text() == before


def _version_view(**statuses: str) -> dict:
    """A version view as the API shows it: `registryView` is what governance writes to the registry."""
    items = {stage: ({schema.MODEL_STATUS: statuses[stage.value]} if stage.value in statuses else None) for stage in Stage}
    return {"registryView": mirror.desired(items).as_dict()}


def test_the_gate_reads_what_governance_writes_to_the_registry():
    assert approved_for(Stage.test, _version_view(development="approved", test="pending"))
    assert approved_for(Stage.test, _version_view(development="approved", test="approved", production="pending"))
    assert not approved_for(Stage.test, _version_view(development="pending"))
    assert approved_for(Stage.production, _version_view(development="approved", test="approved", production="deployed"))
    assert not approved_for(Stage.production, _version_view(development="approved", test="deployed"))
    for retired in ({"development": "retired"}, {"development": "retired", "test": "retired", "production": "retired"}):
        assert not approved_for(Stage.test, _version_view(**retired)) and not approved_for(Stage.production, _version_view(**retired))


# ------------------------------------------------------------------ connection errors and offline commands

def test_without_an_endpoint_or_persona_it_says_what_to_do(govctl):
    result = govctl.runner.invoke(govctl_app(), ["list"], env={"GOVCTL_ENDPOINT": None, "GOVCTL_PROFILE": None})
    assert "pass --endpoint URL or set GOVCTL_ENDPOINT" in one_line_error(result)


def test_unknown_persona_and_unreachable_api(govctl):
    assert "unknown sandbox persona 'ceo'" in one_line_error(govctl("list", persona="ceo"))
    result = govctl("list", env={"GOVCTL_ENDPOINT": "http://127.0.0.1:9"})
    assert "cannot reach the governance API at http://127.0.0.1:9" in one_line_error(result)


def test_real_aws_mode_signs_with_the_default_chain(govctl, sandbox):
    """Without --as, boto3's credentials sign; the sandbox does not know them, so it answers 403 as API Gateway would."""
    result = govctl.runner.invoke(govctl_app(), ["--endpoint", sandbox.endpoint, "--region", sandbox.region, "use-cases"])
    assert "The security token included in the request is invalid. (HTTP 403 forbidden)" in one_line_error(result)


def test_preview_and_check_report_a_missing_stack(govctl):
    assert govctl("preview", "staging", persona=None).exit_code == 1
    assert govctl("check", "staging", persona=None).exit_code == 1


def test_dashboard_command_writes_the_page(govctl, sandbox, tmp_path):
    version = new_fraud_version(sandbox)
    govctl("reject", FRAUD, str(version), "--reason", "<script>alert(1)</script> model card missing", persona="model-owner")
    page = tmp_path / "out" / "dashboard.html"
    result = govctl("dashboard", "--out", str(page))
    assert result.exit_code == 0 and result.stdout.strip() == str(page.resolve())
    text = page.read_text()
    assert "mlgov governance dashboard" in text and "<script" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; model card missing" in text


def govctl_app():
    from govctl.cli import app
    return app


def test_an_unexpected_failure_is_one_line_unless_debugging(monkeypatch):
    from typer.testing import CliRunner

    from govctl.options import Options

    def broken(self):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(Options, "client", broken)
    runner = CliRunner()
    assert one_line_error(runner.invoke(govctl_app(), ["--as", "qa-lead", "list"])) == "error: RuntimeError: boom"
    debugging = runner.invoke(govctl_app(), ["--as", "qa-lead", "list"], env={"GOVCTL_DEBUG": "1"})
    assert isinstance(debugging.exception, RuntimeError) and debugging.exit_code == 1
