"""govctl against the sandbox: moto's threaded server on 127.0.0.1, the real handlers behind a SigV4-checking
local API, the credit-risk walkthrough played once per module.

Fixtures are module-scoped (a walkthrough costs seconds); tests that change state act on versions they
register themselves, and tests that compare with the table read the table when they run, so the order
and the worker a test lands on do not matter.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from govctl.cli import app
from govctl.sandbox import ROOT, Sandbox
from govctl.walkthrough import play

STACK_FILES = ("Pulumi.yaml", "Pulumi.shared.yaml", "Pulumi.dev.yaml", "Pulumi.test.yaml", "Pulumi.prod.yaml")
FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1", "AWS_REGION": "eu-west-1", "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
}


@pytest.fixture(scope="module", autouse=True)
def _fake_aws():
    """Fake credentials and region for the module (no real AWS can be reached by accident)."""
    saved = {k: os.environ.get(k) for k in (*FAKE_ENV, "GOVCTL_ENDPOINT", "GOVCTL_PROFILE")}
    os.environ.update(FAKE_ENV)
    os.environ.pop("GOVCTL_ENDPOINT", None)
    os.environ.pop("GOVCTL_PROFILE", None)
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


_WALKED: dict[str, object] = {}


@pytest.fixture(scope="module")
def sandbox(_fake_aws):
    """The sandbox after the credit-risk walkthrough: played through the handlers once per process, then restored
    from a snapshot of moto's state for later modules (a walkthrough costs seconds)."""
    with Sandbox(ROOT) as sb:
        if "state" in _WALKED:
            sb.restore(_WALKED["state"])
        else:
            play(sb)
            _WALKED["state"] = sb.snapshot()
        yield sb
        scans = [name for name in sb.calls.snapshot() if name.endswith(":Scan")]
        assert not scans, f"the handlers scanned the table: {scans}"


@pytest.fixture(scope="module")
def bare(_fake_aws):
    """A sandbox with the sample config and nothing played."""
    with Sandbox(ROOT) as sb:
        yield sb
        assert not [name for name in sb.calls.snapshot() if name.endswith(":Scan")]


@pytest.fixture
def project(tmp_path) -> Path:
    """A copy of the stack files to edit."""
    for name in STACK_FILES:
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


class Govctl:
    """`govctl` run in-process with typer's CliRunner against a sandbox."""

    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox
        self.runner = CliRunner()

    def __call__(self, *args: str, persona: str | None = "governance-officer", root: Path | None = None, env: dict | None = None):
        argv = [*(("--as", persona) if persona else ()), *(("--root", str(root)) if root else ()), *args]
        return self.runner.invoke(app, argv, env={"GOVCTL_ENDPOINT": self.sandbox.endpoint, **(env or {})}, catch_exceptions=False)

    def json(self, *args: str, **kwargs: Any) -> Any:
        result = self(*args, "--output", "json", **kwargs)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)


@pytest.fixture(scope="module")
def govctl(sandbox) -> Govctl:
    return Govctl(sandbox)


def one_line_error(result) -> str:
    """The failure contract: non-zero exit, one line on stderr, no traceback."""
    assert result.exit_code != 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]
