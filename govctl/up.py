"""`govctl up`: the deploy pipeline's order for people without GitHub, through the Pulumi Automation API.

The stacks go shared → dev → test → prod (only those asked for, always in that order), each with the policy
pack, and test and prod only after the promotion gate (`govctl.gate.gate`) passes for them, as in the
deploy workflow. The first failure stops the chain: a stack that failed is never followed by a later one.
Without --endpoint or a persona the gate asks the governance API the shared stack exports. The Automation
API drives the Pulumi CLI, so the stack selection is a parameter: tests pass a fake one.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Protocol

import typer

from govctl.client import GovctlError
from govctl.gate import STACK_STAGE, GateResult, gate
from govctl.options import of

ORDER = ("shared", "dev", "test", "prod")
INSTALL_URL = "https://www.pulumi.com/docs/install/"
NEEDS_CLI = f"govctl up needs the Pulumi CLI: {INSTALL_URL}"
POLICY_PACK = "policies"
ENDPOINT_OUTPUT = "governanceApiEndpoint"


class StackLike(Protocol):
    """The part of `pulumi.automation.Stack` that `up` uses."""

    def up(self, **kwargs: Any) -> Any: ...

    def preview(self, **kwargs: Any) -> Any: ...

    def outputs(self) -> Any: ...


SelectStack = Callable[[str, Path], StackLike]
GateCheck = Callable[[str], GateResult]
Echo = Callable[[str], None]


def ordered(stacks: Iterable[str], root: Path) -> list[str]:
    """The stacks asked for (all four when none) in deploy order; each must be known and have its stack file."""
    asked = list(stacks) or list(ORDER)
    unknown = [s for s in asked if s not in ORDER]
    if unknown:
        raise GovctlError(f"unknown stack {unknown[0]!r}: the stacks are {', '.join(ORDER)}")
    chosen = [s for s in ORDER if s in asked]
    missing = [s for s in chosen if not (Path(root) / f"Pulumi.{s}.yaml").exists()]
    if missing:
        raise GovctlError(f"no stack file {Path(root) / f'Pulumi.{missing[0]}.yaml'}")
    return chosen


def automation_stack(name: str, work_dir: Path, *, create: bool = True) -> StackLike:
    """The stack of the local program in `work_dir` (created on the backend if new, unless not `create`), or why
    the CLI cannot run."""
    try:
        from pulumi import automation
    except ImportError as exc:
        raise GovctlError(f"the Pulumi Automation API is not available: {exc}") from None
    choose = automation.create_or_select_stack if create else automation.select_stack
    try:
        return choose(stack_name=name, work_dir=str(work_dir))
    except FileNotFoundError as exc:
        if Path(str(exc.filename or "")).name == "pulumi":
            raise GovctlError(NEEDS_CLI) from None
        raise


@dataclass
class Outcome:
    """What `run` did: the stacks done, and if it stopped, where and why."""

    done: list[str] = field(default_factory=list)
    failed: Optional[str] = None
    reason: str = ""
    not_run: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed is None

    def message(self, preview: bool) -> str:
        verb = "preview" if preview else "up"
        if self.ok:
            return f"govctl {verb}: {', '.join(self.done)} done"
        done = f" Done before it: {', '.join(self.done)}." if self.done else ""
        later = f" Not run after it: {', '.join(self.not_run)}." if self.not_run else ""
        return f"govctl {verb}: stack {self.failed} failed: {self.reason.rstrip('.')}.{done}{later}"


def run(stacks: Iterable[str], root: Path, *, gate_check: GateCheck, select: Optional[SelectStack] = None,
        preview: bool = False, echo: Echo = print, echo_err: Optional[Echo] = None) -> Outcome:
    """`up` (or `preview`) each stack in order with the policy pack, the gate first for test and prod (not for
    previews, which deploy nothing); stop at the first failure. `select` defaults to the Automation API."""
    select = select or automation_stack
    root = Path(root).resolve()
    chosen = ordered(stacks, root)
    policy_packs = [str(root / POLICY_PACK)]
    outcome = Outcome()
    for index, name in enumerate(chosen):
        reason = _one(name, root, gate_check=gate_check, select=select, preview=preview, policy_packs=policy_packs,
                      echo=echo, echo_err=echo_err or echo)
        if reason is not None:
            outcome.failed, outcome.reason, outcome.not_run = name, reason, chosen[index + 1:]
            break
        outcome.done.append(name)
    return outcome


def _one(name: str, root: Path, *, gate_check: GateCheck, select: SelectStack, preview: bool,
         policy_packs: list[str], echo: Echo, echo_err: Echo) -> Optional[str]:
    """Run one stack; None when it succeeded, else why not. A missing CLI is not a stack's failure: it raises."""
    from pulumi.automation.errors import CommandError

    try:
        stack = select(name, root)
    except CommandError as exc:
        return f"could not select the stack: {command_reason(exc)}"
    if not preview and name in STACK_STAGE:
        try:
            verdict = gate_check(name)
        except GovctlError as exc:
            return f"the gate could not check it: {exc}"
        if not verdict.ok:
            offenders = "; ".join(f"{pin.label()}: {why}" for pin, why in verdict.offenders)
            stage = verdict.stage.value
            return f"the gate refused it, {len(verdict.offenders)} pinned version(s) not approved for {stage}: {offenders}"
        echo(f"gate {name}: all {len(verdict.passed)} pinned version(s) approved for {verdict.stage.value}")
    echo(f"--- {'preview' if preview else 'up'} {name}")
    action = stack.preview if preview else stack.up
    from mlgov import policy_config

    with tempfile.TemporaryDirectory(prefix="govctl-up-") as scratch:
        config = Path(scratch) / f"policy-config.{name}.json"
        config.write_text(json.dumps(policy_config.pack_config(policy_config.stack_settings(name, root=root))))
        try:
            result = action(policy_packs=policy_packs, policy_pack_configs=[str(config)] * len(policy_packs),
                            on_output=echo, on_error=echo_err)
        except CommandError as exc:
            return command_reason(exc)
    echo(f"{name}: {changes(result)}")
    return None


def command_reason(exc: Exception) -> str:
    """One line from a `CommandError`: the last line Pulumi wrote on stderr, else its exit code."""
    text = str(exc)
    head, _, stderr = text.partition("\n stderr: ")
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if lines:
        return lines[-1]
    code = next((line.split(":", 1)[1].strip() for line in head.splitlines() if line.strip().startswith("code:")), None)
    return f"pulumi exited with code {code}" if code else (text.strip().splitlines() or ["pulumi failed"])[0]


def changes(result: Any) -> str:
    """The resource changes of an `UpResult` (its summary) or a `PreviewResult` (its change summary)."""
    summary = getattr(getattr(result, "summary", None), "resource_changes", None)
    if summary is None:
        summary = getattr(result, "change_summary", None)
    if not summary:
        return "no changes reported"
    named = {str(getattr(op, "value", op)): count for op, count in summary.items()}
    return ", ".join(f"{op} {count}" for op, count in sorted(named.items()))


def shared_endpoint(root: Path) -> str:
    """The governance API URL the shared stack exports, for a gate run given no endpoint or persona."""
    from pulumi.automation.errors import CommandError

    try:
        found = (automation_stack("shared", Path(root).resolve(), create=False).outputs() or {}).get(ENDPOINT_OUTPUT)
    except CommandError as exc:
        raise GovctlError(f"no governance API endpoint: reading the shared stack's outputs failed ({command_reason(exc)}) "
                          "and neither --endpoint nor GOVCTL_ENDPOINT is set") from None
    if found is None or not getattr(found, "value", None):
        raise GovctlError(f"no governance API endpoint: the shared stack has no {ENDPOINT_OUTPUT} output "
                          "(deploy shared first) and neither --endpoint nor GOVCTL_ENDPOINT is set")
    return str(found.value)


def command(
    ctx: typer.Context,
    stacks: Optional[list[str]] = typer.Argument(None, help="shared, dev, test, prod (default: all four, always in that order)"),
    preview: bool = typer.Option(False, "--preview", help="run `pulumi preview` on each instead (no gate: nothing is deployed)"),
) -> None:
    """Deploy the stacks in order through the Pulumi Automation API: policy pack on, the gate before test and prod."""
    opts = of(ctx)

    def gate_check(stack: str) -> GateResult:
        targets = (opts.endpoint, opts.persona, os.environ.get("GOVCTL_ENDPOINT"), os.environ.get("GOVCTL_PROFILE"))
        if opts.api is None and not any(targets):
            opts.endpoint = shared_endpoint(opts.root)
        return gate(opts.client(), stack, opts.root)

    outcome = run(list(stacks or []), opts.root, gate_check=gate_check,
                  preview=preview, echo=typer.echo, echo_err=lambda line: typer.echo(line, err=True))
    if not outcome.ok:
        raise GovctlError(outcome.message(preview))
    typer.echo(outcome.message(preview))
