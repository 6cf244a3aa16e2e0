"""governance.contract: what a component writes (`to_env`) is what its Lambda reads (`from_env`), and the id patterns."""
from __future__ import annotations

import json

import pytest

from governance import contract
from governance.contract import GovernanceSettings, InvokeSettings, ReporterSettings, ReporterVariant, SettingsError

GOVERNANCE = GovernanceSettings(table_name="mlgov-governance", approvers_json=json.dumps({"officers": ["arn:aws:iam::111111111111:role/O"]}),
                                signing_key_id="alias/mlgov-audit-signing", checkpoint_bucket="mlgov-audit-checkpoints")
CHECKPOINT = contract.CheckpointSettings(table_name="mlgov-governance", signing_key_id="alias/mlgov-audit-signing",
                                         checkpoint_bucket="mlgov-audit-checkpoints")
INVOKE = InvokeSettings(endpoint_name="mlgov-prod-credit-risk", max_body_bytes=2048, content_types=("application/json", "text/csv", "image/png"))
REPORTER = ReporterSettings(
    endpoint_name="mlgov-prod-credit-risk", bus_arn="arn:aws:events:eu-west-1:111111111111:event-bus/mlgov-governance",
    model_group="credit-risk-xgb", use_case_id="credit-risk", stage="production", account_id="333333333333",
    variants=(ReporterVariant("v1", 1, "champion"), ReporterVariant("v2", 2, "shadow")), window_minutes=5,
)


@pytest.mark.parametrize("settings", [GOVERNANCE, CHECKPOINT, INVOKE, REPORTER], ids=lambda s: type(s).__name__)
def test_from_env_reads_back_what_to_env_writes(settings) -> None:
    env = settings.to_env()
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in env.items())
    assert type(settings).from_env(env) == settings


def test_defaults_apply_where_the_environment_leaves_a_setting_out() -> None:
    assert GovernanceSettings.from_env({"GOVERNANCE_TABLE": "t", "AUDIT_SIGNING_KEY": "k"}).approvers_json == "{}"
    invoke = InvokeSettings.from_env({"ENDPOINT_NAME": "e"})
    assert (invoke.max_body_bytes, invoke.content_types) == (InvokeSettings.DEFAULT_MAX_BODY_BYTES, InvokeSettings.DEFAULT_CONTENT_TYPES)
    assert InvokeSettings.from_env({"ENDPOINT_NAME": "e", "ALLOWED_CONTENT_TYPES": " Text/CSV , "}).content_types == ("text/csv",)
    env = {k: v for k, v in REPORTER.to_env().items() if k != ReporterSettings.WINDOW_MINUTES}
    assert ReporterSettings.from_env(env).window_minutes == 15


def _without(env: dict[str, str], name: str) -> dict[str, str]:
    return {k: v for k, v in env.items() if k != name}


@pytest.mark.parametrize("cls, env, named", [
    (GovernanceSettings, {}, "GOVERNANCE_TABLE"),
    (GovernanceSettings, {"GOVERNANCE_TABLE": ""}, "GOVERNANCE_TABLE"),
    (GovernanceSettings, _without(GOVERNANCE.to_env(), "AUDIT_SIGNING_KEY"), "AUDIT_SIGNING_KEY"),
    (contract.CheckpointSettings, _without(CHECKPOINT.to_env(), "AUDIT_CHECKPOINT_BUCKET"), "AUDIT_CHECKPOINT_BUCKET"),
    (InvokeSettings, _without(INVOKE.to_env(), "ENDPOINT_NAME"), "ENDPOINT_NAME"),
    (InvokeSettings, {**INVOKE.to_env(), "MAX_BODY_BYTES": "5MB"}, "MAX_BODY_BYTES"),
    (ReporterSettings, _without(REPORTER.to_env(), "HUB_BUS_ARN"), "HUB_BUS_ARN"),
    (ReporterSettings, _without(REPORTER.to_env(), "VARIANTS"), "VARIANTS"),
    (ReporterSettings, {**REPORTER.to_env(), "STAGE": "development"}, "STAGE"),
    (ReporterSettings, {**REPORTER.to_env(), "VARIANTS": "not json"}, "VARIANTS"),
    (ReporterSettings, {**REPORTER.to_env(), "VARIANTS": json.dumps([{"name": "v1", "role": "champion"}])}, "VARIANTS"),
    (ReporterSettings, {**REPORTER.to_env(), "VARIANTS": json.dumps([{"name": "v1", "version": "one", "role": "x"}])}, "VARIANTS"),
    (ReporterSettings, {**REPORTER.to_env(), "METRICS_WINDOW_MINUTES": "quarter"}, "METRICS_WINDOW_MINUTES"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_a_missing_or_malformed_setting_is_a_settings_error_naming_it(cls, env, named) -> None:
    with pytest.raises(SettingsError, match=named):
        cls.from_env(env)


def test_a_settings_error_is_a_value_error() -> None:
    assert issubclass(SettingsError, ValueError)


@pytest.mark.parametrize("pattern, accepted, refused", [
    (contract.USE_CASE_ID_RE, ["credit-risk", "a", "a1-b2", "x" * 40],
     ["", "Credit", "-a", "a-", "a--b", "a_b", "x" * 41, "credit-risk\n"]),
    (contract.GROUP_RE, ["credit-risk-xgb", "Credit-Risk-XGB", "a--b", "A", "x" * 63],
     ["", "-a", "a-", "a_b", "a.b", "x" * 64]),
    (contract.VARIANT_RE, ["AllTraffic", "shadow-1"], ["", "all traffic", "-v"]),
    (contract.ACCOUNT_ID_RE, ["111111111111"], ["11111111111", "1111111111111", "11111111111a"]),
    (contract.ORG_ID_RE, ["o-abcdefghij", "o-" + "a1" * 16], ["o-abc", "O-abcdefghij", "o-ABCDEFGHIJ", "o-" + "a" * 33]),
    (contract.PRINCIPAL_ARN_RE, ["arn:aws:iam::111111111111:role/Approver", "arn:aws-us-gov:sts::111111111111:assumed-role/R/s",
                                 "arn:aws:iam::111111111111:user/path/alice"],
     ["arn:aws:s3:::bucket", "arn:aws:iam::1111:role/R", "role/Approver", "arn:aws:iam::111111111111:role/a b"]),
    (contract.MODEL_PACKAGE_ARN_RE, ["arn:aws:sagemaker:eu-west-1:111111111111:model-package/credit-risk-xgb/3"],
     ["arn:aws:sagemaker:eu-west-1:111111111111:model-package/credit-risk-xgb", "arn:aws:sagemaker:eu-west-1:1:model-package/g/3",
      "arn:aws:sagemaker:eu-west-1:111111111111:model-package-group/credit-risk-xgb"]),
], ids=["use-case-id", "group", "variant", "account", "org", "principal", "model-package"])
def test_id_patterns_accept_and_refuse(pattern, accepted, refused) -> None:
    assert [v for v in accepted if not pattern.fullmatch(v)] == []
    assert [v for v in refused if pattern.fullmatch(v)] == []


def test_the_model_package_arn_names_its_group_and_version() -> None:
    match = contract.MODEL_PACKAGE_ARN_RE.match("arn:aws:sagemaker:eu-west-1:111111111111:model-package/credit-risk-xgb/3")
    assert match is not None and (match.group(4), match.group(5)) == ("credit-risk-xgb", "3")


def test_each_chain_checkpoints_under_its_own_prefix_in_sequence_order() -> None:
    keys = [contract.checkpoint_key("MODEL#credit-risk-xgb#V#000001", n) for n in (9, 10, 2)]
    assert keys[0] == "checkpoints/MODEL/credit-risk-xgb/V/000001/0000000009.json"
    assert sorted(keys) == [keys[2], keys[0], keys[1]]
    assert not contract.checkpoint_key("MODEL#g#V#000010", 1).startswith(contract.checkpoint_prefix("MODEL#g#V#000001"))


def test_stacks_deploy_to_model_stages_and_prefixes_are_per_account() -> None:
    assert set(contract.STAGE_OF_ACCOUNT_ROLE) <= set(contract.ACCOUNT_ROLES)
    assert set(contract.DEPLOYMENT_STAGES) <= set(contract.MODEL_STAGES) and "development" not in contract.DEPLOYMENT_STAGES
    assert contract.models_prefix("111111111111") == "models/111111111111/"
    assert contract.capture_prefix("111111111111") == "capture/111111111111/"
