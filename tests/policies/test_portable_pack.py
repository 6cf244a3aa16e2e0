"""The pack runs outside this repository: copied under another name, in a virtualenv of only its requirements.

The copy is served the way the Pulumi CLI's Python policy host serves a pack (`python -m pulumi.policy ENGINE
FOLDER`, which runs the folder's `__main__.py` as a script) from an unrelated working directory without
PYTHONPATH, and the test talks to it over the analyzer's gRPC protocol as the CLI does: it reads the rules'
metadata, configures them with the JSON `python -m mlgov.policy_config` writes, and analyzes resources.
"""
from __future__ import annotations

import ast
import os
import selectors
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from mlgov.policy_config import pack_config, stack_settings
from policies.common import PRINCIPAL_ASSOCIATION
from policies.rules import ALL_POLICIES

ROOT = Path(__file__).resolve().parents[2]
PACK = ROOT / "policies"
RULE = "ram-principals-in-organization"


def _pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.strip().lower()] = version.strip()
    return pins


def test_the_packs_requirements_are_pinned_as_the_project_pins_them() -> None:
    project = _pins(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])
    pack = _pins((PACK / "requirements.txt").read_text().splitlines())
    assert {"pulumi", "pulumi-policy"} <= set(pack)
    assert pack == {name: project[name] for name in pack}


def test_the_pack_imports_only_itself_the_standard_library_and_its_requirements() -> None:
    allowed = set(sys.stdlib_module_names) | {"pulumi", "pulumi_policy"}
    for path in PACK.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            outside = [n for n in names if n.split(".")[0] not in allowed]
            assert not outside, f"{path.name} imports {outside}"


def test_the_pack_uses_a_virtualenv_of_its_own() -> None:
    settings = (PACK / "PulumiPolicy.yaml").read_text()
    assert "virtualenv: venv\n" in settings and "../" not in settings


@pytest.fixture(scope="module")
def served_copy(tmp_path_factory):
    """An analyzer stub talking to a copy of the pack, served from its own virtualenv (install time printed)."""
    base = tmp_path_factory.mktemp("portable")
    pack = base / "acme-ml-guardrails"
    shutil.copytree(PACK, pack, ignore=shutil.ignore_patterns("venv", "__pycache__"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith(("PULUMI_", "VIRTUAL_ENV"))}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(pack / "venv")], check=True, env=env, timeout=120)
    python = pack / "venv" / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", "requirements.txt"],
                   cwd=pack, check=True, env=env, timeout=600, capture_output=True)
    print(f"virtualenv of the pack's requirements ready in {time.perf_counter() - started:.1f} s")
    elsewhere = base / "elsewhere"
    elsewhere.mkdir()
    proc = subprocess.Popen([str(python), "-u", "-m", "pulumi.policy", "127.0.0.1:1", str(pack)], cwd=elsewhere, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        selector = selectors.DefaultSelector()
        selector.register(proc.stdout, selectors.EVENT_READ)
        port = proc.stdout.readline().decode().strip() if selector.select(timeout=120) else ""
        assert port.isdigit(), (port, proc.poll(), proc.stderr.read().decode()[-2000:] if proc.poll() is not None else "")
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        proc.kill()
        proc.wait()


def _analyze(stub, type_: str, **props) -> analyzer_pb2.AnalyzeResponse:
    properties = struct_pb2.Struct()
    properties.update(props)
    return stub.Analyze(analyzer_pb2.AnalyzeRequest(type=type_, properties=properties, name="member",
                                                    urn=f"urn:pulumi:dev::elsewhere::{type_}::member"), timeout=60)


def _configure(stub, info: analyzer_pb2.AnalyzerInfo, config: dict[str, dict]) -> None:
    """What the CLI sends for `--policy-pack-config`: every rule with its level and its config."""
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    for policy in info.policies:
        entry = request.policyConfig[policy.name]
        entry.enforcementLevel = policy.enforcementLevel
        entry.properties.update(config.get(policy.name, {}))
    stub.Configure(request, timeout=60)


def test_a_copy_in_its_own_virtualenv_serves_every_rule_with_severity_remediation_and_url(served_copy) -> None:
    info = served_copy.GetAnalyzerInfo(empty_pb2.Empty(), timeout=60)
    assert info.name == "mlgov-policies"
    assert [p.name for p in info.policies] == [p.name for p in ALL_POLICIES]
    for policy in info.policies:
        assert policy.severity and policy.remediation_steps and policy.url.endswith(f"#{policy.name}"), policy.name
    assert not info.initialConfig


def test_a_copy_judges_a_resource_with_the_generated_config_only(served_copy) -> None:
    info = served_copy.GetAnalyzerInfo(empty_pb2.Empty(), timeout=60)
    _configure(served_copy, info, {})
    unconfigured = _analyze(served_copy, PRINCIPAL_ASSOCIATION, principal="999999999999", resourceShareArn="arn:share")
    assert RULE in {n.policy_name for n in unconfigured.not_applicable}

    settings = stack_settings("shared")
    _configure(served_copy, info, pack_config(settings))
    outsider = _analyze(served_copy, PRINCIPAL_ASSOCIATION, principal="999999999999", resourceShareArn="arn:share")
    member = _analyze(served_copy, PRINCIPAL_ASSOCIATION, principal=settings["devAccounts"][0], resourceShareArn="arn:share")
    flagged = [d for d in outsider.diagnostics if d.policyName == RULE]
    assert len(flagged) == 1 and "999999999999" in flagged[0].message
    assert flagged[0].enforcementLevel == analyzer_pb2.MANDATORY
    assert not [d for d in member.diagnostics if d.policyName == RULE]
    assert RULE not in {n.policy_name for n in member.not_applicable}


def test_a_published_copy_links_its_rules_to_its_own_documentation():
    import subprocess
    import sys

    code = "from policies.rules import ALL_POLICIES as p; print(p[0].url)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "MLGOV_POLICY_DOCS_URL": "https://docs.example.org/guardrails.html"})
    assert run.stdout.startswith("https://docs.example.org/guardrails.html#")
