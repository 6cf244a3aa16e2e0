"""The pack's shape: enough rules, each with a level and a description, a vocabulary in step with the components."""
from __future__ import annotations

import os
import selectors
import subprocess
import sys
from pathlib import Path

import pytest
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, Severity, StackValidationPolicy

from policies import common
from policies.guidance import DOCS_URL, GUIDANCE
from policies.rules import ALL_POLICIES, BY_CONCERN, CONCERN_OF

ROOT = Path(__file__).resolve().parents[2]


def test_at_least_twenty_rules_each_with_a_level_and_a_description() -> None:
    assert len(ALL_POLICIES) >= 20
    assert set(BY_CONCERN) == {"governance", "sharing", "data", "compute", "edge"}
    for policy in ALL_POLICIES:
        assert isinstance(policy, (ResourceValidationPolicy, StackValidationPolicy))
        assert policy.enforcement_level in (EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY), policy.name
        assert policy.description and policy.name == policy.name.lower()
    assert len(CONCERN_OF) == len(ALL_POLICIES)


def test_thresholds_that_differ_between_organizations_are_config_with_defaults() -> None:
    configurable = {p.name: p.config_schema for p in ALL_POLICIES if p.config_schema is not None}
    for name in ("ram-principals-in-organization", "model-group-governance-tags", "ram-register-only-to-dev",
                 "lambda-supported-python-runtime", "iam-scoped-resources", "high-risk-endpoint-data-capture"):
        schema = configurable[name]
        assert all("default" in spec for spec in schema.properties.values()), name


def test_the_vocabulary_matches_the_components() -> None:
    from components import shared_model_group as smg
    from components.function import RUNTIME
    from mlgov import access, config

    assert (common.REGISTER_PERMISSION, common.DEPLOY_PERMISSION) == (smg.REGISTER_PERMISSION, smg.DEPLOY_PERMISSION)
    assert common.MODEL_PACKAGE_GROUP_RESOURCE_TYPE == smg.RESOURCE_TYPE
    assert common.MODEL_PACKAGE_GROUP_ACTIONS == access.MODEL_PACKAGE_GROUP_ACTIONS
    assert common.GOVERNANCE_ONLY_ACTIONS == access.GOVERNANCE_ONLY_ACTIONS
    assert set(common.RISK_TIERS) == {t.value for t in config.RiskTier}
    assert RUNTIME in common.DEFAULTS["allowedRuntimes"]


@pytest.mark.parametrize("command", [["policies/__main__.py"], ["-m", "policies"]], ids=["script", "package"])
def test_the_pack_entry_point_builds_the_policy_pack_and_serves(command: list[str]) -> None:
    """`policies/__main__.py` starts and prints its port, run as a script (as the policy host runs it) or as a package."""
    env = {**os.environ, "PYTHONPATH": ""}
    proc = subprocess.Popen([sys.executable, *command], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        selector = selectors.DefaultSelector()
        selector.register(proc.stdout, selectors.EVENT_READ)
        ready = selector.select(timeout=120)
        line = proc.stdout.readline().decode().strip() if ready else ""
        assert line.isdigit(), (line, proc.poll(), proc.stderr.read().decode()[-2000:] if proc.poll() is not None else "")
    finally:
        proc.kill()
        proc.wait()


def test_every_rule_carries_a_severity_remediation_steps_and_the_url_of_its_section() -> None:
    assert set(GUIDANCE) == set(CONCERN_OF)
    doc = (ROOT / "docs" / "policies.md").read_text()
    headings = [line for line in doc.splitlines() if line.startswith("#")]
    for policy in ALL_POLICIES:
        assert isinstance(policy.severity, Severity), policy.name
        assert policy.remediation_steps and policy.url == f"{DOCS_URL}#{policy.name}", policy.name
        assert headings.count(f"### {policy.name}") == 1, policy.name
        section = doc.split(f"### {policy.name}\n", 1)[1].split("\n#", 1)[0]
        assert policy.description in section and policy.remediation_steps in section, policy.name
        assert f"Severity: **{policy.severity.value}**; enforcement: **{policy.enforcement_level.value}**" in section
    assert DOCS_URL.endswith("/docs/policies.md")
