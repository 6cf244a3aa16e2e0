"""The whole pack on the four sample stacks, and on a deliberately broken variant of the shared stack."""
from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pytest

from mlgov import check, offline, program

STACKS = ("shared", "dev", "test", "prod")


@pytest.mark.parametrize("stack", STACKS)
def test_sample_stack_has_no_mandatory_violation(stack: str) -> None:
    violations = check.check_stack(stack)
    mandatory = [f"{v.policy} on {v.resource_name}: {v.message}" for v in violations if v.mandatory]
    assert mandatory == []


# --- a broken shared stack: each break is a change a reviewer could let slip ---

SHARE = "credit-risk-xgb-deploy-share"
METHOD = "mlgov-governance-api-method-get-queue"
API, API_POLICY = "mlgov-governance-api-api", "mlgov-governance-api-policy"
TABLE = "mlgov-governance-table"
SYNC_POLICY = "mlgov-sync-policy"
WILDCARD = {"Sid": "Everything", "Effect": "Allow", "Action": "dynamodb:*",
            "Resource": "arn:aws:dynamodb:eu-west-1:111111111111:table/mlgov-governance"}


def _break(args: pulumi.ResourceTransformationArgs):
    props = dict(args.props)
    if args.type_ == "aws:ram/resourceShare:ResourceShare" and args.name == SHARE:
        props["allow_external_principals"] = True  # external principals allowed
    elif args.type_ == "aws:dynamodb/table:Table":
        props["point_in_time_recovery"] = {"enabled": False}  # PITR off
    elif args.type_ == "aws:apigateway/method:Method" and args.name == METHOD:
        props["authorization"] = "NONE"  # an unauthorized method
    elif args.type_ == "aws:apigateway/restApiPolicy:RestApiPolicy" and args.name == API_POLICY:
        def open_to_anyone(text: str) -> str:
            doc = json.loads(text)
            doc["Statement"] = [{k: v for k, v in s.items() if k != "Condition"} for s in doc["Statement"] if s["Effect"] == "Allow"]
            return json.dumps(doc)  # the organization condition and the Deny dropped
        props["policy"] = pulumi.Output.from_input(props["policy"]).apply(open_to_anyone)
    elif args.type_ == "aws:iam/rolePolicy:RolePolicy" and args.name == SYNC_POLICY:
        def widen(text: str) -> str:
            doc = json.loads(text)
            doc["Statement"].append(WILDCARD)  # a wildcard action
            return json.dumps(doc)
        props["policy"] = pulumi.Output.from_input(props["policy"]).apply(widen)
    else:
        return None
    return pulumi.ResourceTransformationResult(props, args.opts)


def _broken_program():
    pulumi.runtime.register_stack_transformation(_break)
    return program.main()


EXPECTED = {
    ("ram-no-external-principals", SHARE, "mandatory"),
    ("dynamodb-point-in-time-recovery", TABLE, "mandatory"),
    ("rest-method-authorized", METHOD, "mandatory"),
    ("rest-api-organization-policy", API, "mandatory"),
    ("resource-policy-principals-in-organization", API_POLICY, "mandatory"),
    ("iam-no-wildcard-action", SYNC_POLICY, "mandatory"),
}


def test_broken_shared_stack_yields_exactly_the_expected_violations() -> None:
    config = offline.read_stack_config("shared")
    plan = offline.run(_broken_program, config, stack="shared", account_id=offline.account_for(config))
    assert {API, API_POLICY, METHOD} <= {r.name for r in plan.resources}, "the parts to break exist"
    violations = check.check_plan(plan, check.policy_settings("shared"), account_id=offline.account_for(config))
    assert {(v.policy, v.resource_name, v.level) for v in violations} == EXPECTED
    assert len(violations) == len(EXPECTED) + 1  # the opened API policy has two faults: an unbound Allow and no Deny
    by_policy = {v.policy: v.message for v in violations}
    api_faults = sorted(v.message for v in violations if v.policy == "rest-api-organization-policy")
    assert any("does not deny principals outside the organization" in m for m in api_faults)
    assert "set allow_external_principals=False" in by_policy["ram-no-external-principals"]
    assert "set point_in_time_recovery.enabled=True" in by_policy["dynamodb-point-in-time-recovery"]
    assert f"GET method {METHOD} is open to anyone" in by_policy["rest-method-authorized"]
    assert any("without Condition StringEquals aws:PrincipalOrgID=o-a1b2c3d4e5" in m for m in api_faults)
    assert "Everything allows dynamodb:*" in by_policy["iam-no-wildcard-action"]


def test_policy_settings_come_from_the_stack_and_its_hub() -> None:
    settings = check.policy_settings("prod")
    assert settings["organizationId"] == "o-a1b2c3d4e5"
    assert (settings["sharedAccount"], settings["devAccounts"], settings["testAccounts"], settings["prodAccounts"]) == (
        "111111111111", ["222222222222"], ["333333333333"], ["444444444444"])
    assert settings["highRiskUseCases"] == ["credit-risk"]  # from Pulumi.shared.yaml, the prod stack's hubStack


def test_a_stack_outside_the_organization_is_caught(tmp_path: Path) -> None:
    """The same shared config with a dev account the policy config does not know: its RAM principals fail."""
    config = offline.read_stack_config("shared")
    settings = check.policy_settings("shared", config)
    settings = {**settings, "devAccounts": ["999999999999"]}
    plan = offline.plan_stack("shared", config)
    violations = check.check_plan(plan, settings, account_id="111111111111")
    policies = {v.policy for v in violations}
    assert {"ram-principals-in-organization", "ram-register-only-to-dev", "resource-policy-principals-in-organization"} <= policies
    assert all("222222222222" in v.message for v in violations if v.policy == "ram-register-only-to-dev")


def _write_stack(root: Path, stack: str, config: dict) -> None:
    import yaml

    (root / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": config}))


def test_main_exits_1_with_one_line_on_a_bad_config(tmp_path: Path, capsys) -> None:
    config = offline.read_stack_config("shared")
    config["mlgov:useCases"][1]["riskTier"] = "unacceptable"
    _write_stack(tmp_path, "shared", config)
    assert check.main(["shared"], root=tmp_path) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "Pulumi.shared.yaml" in out[0] and "unacceptable" in out[0]


def test_main_exits_0_on_a_clean_stack_and_1_on_a_mandatory_violation(tmp_path: Path, capsys) -> None:
    config = offline.read_stack_config("shared")
    _write_stack(tmp_path, "shared", config)
    assert check.main(["shared"], root=tmp_path) == 0
    assert "no mandatory violations" in capsys.readouterr().out
    # A second organization's policy config: the hub's own dev account is no longer known.
    settings = check.policy_settings("shared", config, tmp_path)
    assert check.exit_code(check.check_plan(offline.plan_stack("shared", config, tmp_path),
                                            {**settings, "devAccounts": ["999999999999"]})) == 1
