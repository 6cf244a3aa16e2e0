"""`govctl up`: the deploy order through the Automation API, with the stack selection faked (no Pulumi CLI here),
the real gate against the sandbox, and the real Automation API when the Pulumi CLI is missing."""
from __future__ import annotations

import inspect
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from pulumi.automation import Stack
from pulumi.automation import errors as auto_errors
from pulumi.automation._cmd import CommandResult
from pulumi.automation.events import OpType

from govctl import up as up_module
from govctl.client import GovctlError
from govctl.gate import STACK_STAGE, GateResult, Pin
from govctl.personas import persona
from govctl.up import NEEDS_CLI, automation_stack, changes, command_reason, ordered, run

from .conftest import one_line_error

PIN = Pin("credit-risk", "credit-risk-xgb", 1, "version")
CHURN = Pin("customer-churn", "customer-churn-model", 2, "shadow")


def command_error(stderr: str, code: int = 255, cls=auto_errors.CommandError) -> auto_errors.CommandError:
    return cls(CommandResult(stdout="Updating (dev):\n", stderr=stderr, code=code))


class FakeStack:
    def __init__(self, fake: "FakeAutomation", name: str):
        self.fake, self.name = fake, name

    def up(self, **kwargs):
        return self._act("up", kwargs, SimpleNamespace(summary=SimpleNamespace(resource_changes={"create": 2, "same": 5})))

    def preview(self, **kwargs):
        return self._act("preview", kwargs, SimpleNamespace(change_summary={OpType.SAME: 7}))

    def outputs(self):
        self.fake.events.append(("outputs", self.name))
        return self.fake.outputs

    def _act(self, action: str, kwargs: dict, result):
        self.fake.events.append((action, self.name))
        self.fake.kwargs.append(kwargs)
        self.fake.pack_configs[self.name] = [json.loads(Path(p).read_text()) for p in kwargs["policy_pack_configs"]]
        kwargs["on_output"](f"pulumi says: {action} {self.name}")
        if self.name in self.fake.fail:
            raise self.fake.fail[self.name]
        return result


class FakeAutomation:
    """The Automation API's stack selection: records every call in order, fails the stacks it is told to."""

    def __init__(self, fail: dict | None = None, fail_select: dict | None = None, refuse: tuple[str, ...] = ()):
        self.events: list[tuple[str, str]] = []
        self.kwargs: list[dict] = []
        self.pack_configs: dict[str, list[dict]] = {}
        self.work_dirs: list[Path] = []
        self.outputs: dict = {}
        self.fail = fail or {}
        self.fail_select = fail_select or {}
        self.refuse = refuse

    def select(self, name: str, work_dir: Path, *, create: bool = True) -> FakeStack:
        self.events.append(("select" if create else "select-existing", name))
        self.work_dirs.append(work_dir)
        if name in self.fail_select:
            raise self.fail_select[name]
        return FakeStack(self, name)

    def gate(self, stack: str) -> GateResult:
        self.events.append(("gate", stack))
        offenders = [(CHURN, "not approved in test (development approved, test pending)")] if stack in self.refuse else []
        return GateResult(stack, STACK_STAGE[stack], [PIN], offenders)


def play(fake: FakeAutomation, stacks, root: Path, **kwargs):
    said: list[str] = []
    outcome = run(stacks, root, gate_check=fake.gate, select=fake.select, echo=said.append, **kwargs)
    return outcome, said


def test_stacks_run_in_deploy_order_whatever_the_order_asked(project):
    fake = FakeAutomation()
    outcome, said = play(fake, ["prod", "shared", "test", "dev"], project)
    assert outcome.ok and outcome.done == ["shared", "dev", "test", "prod"]
    assert fake.events == [("select", "shared"), ("up", "shared"), ("select", "dev"), ("up", "dev"),
                           ("select", "test"), ("gate", "test"), ("up", "test"),
                           ("select", "prod"), ("gate", "prod"), ("up", "prod")]
    assert fake.work_dirs == [project.resolve()] * 4
    assert "pulumi says: up test" in said and "test: create 2, same 5" in said
    assert outcome.message(False) == "govctl up: shared, dev, test, prod done"


def test_only_the_stacks_asked_for_and_all_four_by_default(project):
    fake = FakeAutomation()
    assert play(fake, ["prod", "dev", "dev"], project)[0].done == ["dev", "prod"]
    assert [e for e in fake.events if e[0] == "up"] == [("up", "dev"), ("up", "prod")]
    assert play(FakeAutomation(), [], project)[0].done == ["shared", "dev", "test", "prod"]


def test_unknown_stack_or_missing_stack_file_is_refused_before_anything_runs(project):
    fake = FakeAutomation()
    with pytest.raises(GovctlError, match="unknown stack 'staging': the stacks are shared, dev, test, prod"):
        play(fake, ["dev", "staging"], project)
    (project / "Pulumi.prod.yaml").unlink()
    with pytest.raises(GovctlError, match=r"no stack file .*Pulumi\.prod\.yaml"):
        play(fake, ["dev", "prod"], project)
    assert fake.events == []
    assert ordered(["test"], project) == ["test"]


def test_the_policy_pack_and_output_streams_are_passed_to_every_up(project):
    fake = FakeAutomation()
    play(fake, [], project)
    assert len(fake.kwargs) == 4
    for kwargs in fake.kwargs:
        assert kwargs["policy_packs"] == [str(project.resolve() / "policies")]
        assert callable(kwargs["on_output"]) and callable(kwargs["on_error"])


def test_each_stack_gets_the_pack_config_its_own_stack_file_yields(project):
    from mlgov import policy_config

    fake = FakeAutomation()
    play(fake, [], project)
    for name in ("shared", "dev", "test", "prod"):
        expected = policy_config.pack_config(policy_config.stack_settings(name, root=project))
        assert fake.pack_configs[name] == [expected]
        assert expected, "the sample stacks configure the organization rules"


def test_gate_refusal_stops_before_test_is_deployed_and_nothing_later_runs(project):
    fake = FakeAutomation(refuse=("test",))
    outcome, said = play(fake, ["shared", "dev", "test", "prod"], project)
    assert not outcome.ok and (outcome.failed, outcome.done, outcome.not_run) == ("test", ["shared", "dev"], ["prod"])
    assert ("up", "test") not in fake.events and not [e for e in fake.events if e[1] == "prod"]
    assert fake.events[-2:] == [("select", "test"), ("gate", "test")]
    assert outcome.message(False) == (
        "govctl up: stack test failed: the gate refused it, 1 pinned version(s) not approved for test: "
        "customer-churn-model v2 (shadow): not approved in test (development approved, test pending). "
        "Done before it: shared, dev. Not run after it: prod.")


def test_a_failing_up_stops_the_chain_naming_the_stack(project):
    fake = FakeAutomation(fail={"dev": command_error("error: update failed\n")})
    outcome, said = play(fake, [], project)
    assert (outcome.failed, outcome.reason, outcome.done, outcome.not_run) == ("dev", "error: update failed", ["shared"], ["test", "prod"])
    assert [e for e in fake.events if e[0] == "up"] == [("up", "shared"), ("up", "dev")]
    assert ("gate", "test") not in fake.events
    assert outcome.message(False).endswith("stack dev failed: error: update failed. Done before it: shared. Not run after it: test, prod.")


def test_a_stack_that_cannot_be_selected_stops_the_chain(project):
    missing = command_error("error: no stack named 'dev' found\n", cls=auto_errors.StackNotFoundError)
    outcome, _ = play(FakeAutomation(fail_select={"dev": missing}), ["dev", "test"], project)
    assert (outcome.failed, outcome.not_run) == ("dev", ["test"])
    assert outcome.reason == "could not select the stack: error: no stack named 'dev' found"


def test_preview_previews_in_order_without_the_gate(project):
    fake = FakeAutomation(refuse=("test", "prod"))
    outcome, said = play(fake, ["test", "shared", "prod"], project, preview=True)
    assert outcome.ok and outcome.message(True) == "govctl preview: shared, test, prod done"
    assert [e for e in fake.events if e[0] != "select"] == [("preview", "shared"), ("preview", "test"), ("preview", "prod")]
    assert all(k["policy_packs"] == [str(project.resolve() / "policies")] for k in fake.kwargs)
    assert "prod: same 7" in said


def test_command_reason_and_changes_fall_back_sensibly():
    assert command_reason(command_error("", code=3)) == "pulumi exited with code 3"
    assert command_reason(command_error("warning: x\nerror: preview failed\n\n")) == "error: preview failed"
    assert command_reason(RuntimeError("boom")) == "boom"
    assert changes(SimpleNamespace(summary=SimpleNamespace(resource_changes=None), change_summary=None)) == "no changes reported"
    assert changes(SimpleNamespace(change_summary={OpType.CREATE: 1, OpType.UPDATE: 2})) == "create 1, update 2"


# ------------------------------------------------------------------ the real Automation API without the Pulumi CLI

@pytest.fixture
def no_pulumi_on_path(tmp_path, monkeypatch) -> str:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    return str(empty)


def test_the_real_automation_api_says_the_cli_is_missing(project, no_pulumi_on_path):
    with pytest.raises(GovctlError) as raised:
        automation_stack("dev", project)
    assert str(raised.value) == NEEDS_CLI == "govctl up needs the Pulumi CLI: https://www.pulumi.com/docs/install/"
    gates: list[str] = []
    with pytest.raises(GovctlError, match="needs the Pulumi CLI"):
        run(["test"], project, gate_check=gates.append)
    assert gates == []


def test_cli_without_the_pulumi_cli_is_one_line_before_any_gate(govctl, project, no_pulumi_on_path):
    result = govctl("up", "test", "prod", root=project, env={"PATH": no_pulumi_on_path, "GOVCTL_ENDPOINT": None}, persona=None)
    assert one_line_error(result) == "error: govctl up needs the Pulumi CLI: https://www.pulumi.com/docs/install/"
    assert result.exit_code == 1


def test_automation_stack_selects_the_local_program_and_passes_other_missing_files_on(project, monkeypatch):
    calls: list[dict] = []

    def create_or_select(**kwargs):
        calls.append(kwargs)
        if kwargs["stack_name"] == "prod":
            raise FileNotFoundError(2, "No such file or directory", "/nowhere")
        return "the stack"

    monkeypatch.setattr("pulumi.automation.create_or_select_stack", create_or_select)
    monkeypatch.setattr("pulumi.automation.select_stack", lambda **kwargs: ("existing", kwargs))
    assert automation_stack("dev", project) == "the stack"
    assert calls == [{"stack_name": "dev", "work_dir": str(project)}]
    assert automation_stack("shared", project, create=False) == ("existing", {"stack_name": "shared", "work_dir": str(project)})
    with pytest.raises(FileNotFoundError):
        automation_stack("prod", project)


def test_the_fake_is_called_as_the_real_stack_is(project):
    """Every keyword `run` passes exists on the real `pulumi.automation.Stack` methods."""
    fake = FakeAutomation()
    play(fake, ["dev"], project)
    play(fake, ["dev"], project, preview=True)
    for method, kwargs in zip((Stack.up, Stack.preview), fake.kwargs):
        assert set(kwargs) <= set(inspect.signature(method).parameters)


# ------------------------------------------------------------------ the command, with the real gate on the sandbox

@pytest.fixture
def fake(monkeypatch) -> FakeAutomation:
    fake = FakeAutomation()
    monkeypatch.setattr(up_module, "automation_stack", fake.select)
    return fake


def test_cli_deploys_until_the_gate_refuses_prod(govctl, project, fake):
    result = govctl("up", "prod", "test", "dev", root=project)
    line = one_line_error(result)
    assert line.startswith("error: govctl up: stack prod failed: the gate refused it, 2 pinned version(s) not approved for production: "
                           "customer-churn-model v1: governance shows ModelApprovalStatus Approved, ModelLifeCycle development/approved; ")
    assert line.endswith("Done before it: dev, test.")
    assert [e for e in fake.events if e[0] == "up"] == [("up", "dev"), ("up", "test")]
    assert fake.events[-1] == ("select", "prod")
    assert "gate test: all 2 pinned version(s) approved for test" in result.stdout
    assert "pulumi says: up test" in result.stdout


def test_cli_preview_needs_no_governance_endpoint(govctl, project, fake):
    result = govctl("up", "--preview", "prod", "shared", root=project, env={"GOVCTL_ENDPOINT": None}, persona=None)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "govctl preview: shared, prod done"
    assert [e for e in fake.events if e[0] == "preview"] == [("preview", "shared"), ("preview", "prod")]


def test_cli_reports_a_failed_up_in_one_line(govctl, project, fake):
    fake.fail["shared"] = command_error("error: update failed\n")
    line = one_line_error(govctl("up", root=project))
    assert line == "error: govctl up: stack shared failed: error: update failed. Not run after it: dev, test, prod."
    assert [e for e in fake.events if e[0] == "up"] == [("up", "shared")]


def test_without_an_endpoint_the_gate_asks_the_shared_stack_for_it(govctl, project, fake):
    result = govctl("up", "dev", "test", "prod", root=project, env={"GOVCTL_ENDPOINT": None}, persona=None)
    line = one_line_error(result)
    assert line == ("error: govctl up: stack test failed: the gate could not check it: no governance API endpoint: the shared "
                    "stack has no governanceApiEndpoint output (deploy shared first) and neither --endpoint nor GOVCTL_ENDPOINT "
                    "is set. Done before it: dev. Not run after it: prod.")
    assert [e for e in fake.events if e[0] in ("up", "outputs")] == [("up", "dev"), ("outputs", "shared")]


def test_without_an_endpoint_and_no_shared_stack_the_gate_says_so(govctl, project, fake):
    fake.fail_select["shared"] = command_error("error: no stack named 'shared' found\n", cls=auto_errors.StackNotFoundError)
    line = one_line_error(govctl("up", "test", root=project, env={"GOVCTL_ENDPOINT": None}, persona=None))
    assert line == ("error: govctl up: stack test failed: the gate could not check it: no governance API endpoint: reading the "
                    "shared stack's outputs failed (error: no stack named 'shared' found) and neither --endpoint nor "
                    "GOVCTL_ENDPOINT is set.")
    assert ("up", "test") not in fake.events


def test_the_shared_stacks_endpoint_is_the_one_the_gate_calls(govctl, project, fake, sandbox):
    """No endpoint and no persona: boto3's credentials (here a sandbox persona's keys) against the exported URL."""
    fake.outputs = {"governanceApiEndpoint": SimpleNamespace(value=sandbox.endpoint)}
    officer = persona("governance-officer")
    keys = {"AWS_ACCESS_KEY_ID": officer.access_key, "AWS_SECRET_ACCESS_KEY": officer.secret_key, "AWS_SESSION_TOKEN": None}
    result = govctl("up", "test", root=project, env={"GOVCTL_ENDPOINT": None, **keys}, persona=None)
    assert result.exit_code == 0, result.output
    assert "gate test: all 2 pinned version(s) approved for test" in result.stdout
    assert fake.events == [("select", "test"), ("select-existing", "shared"), ("outputs", "shared"), ("up", "test")]
