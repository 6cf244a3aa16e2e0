"""`govctl`: the governance queue, decisions, audit trails, the promotion gate, the dashboard and the sandbox.

Every command that reads or decides talks to the governance HTTP API, signed with SigV4: against AWS with
boto3's default credentials and `--endpoint`/GOVCTL_ENDPOINT (the shared stack's `governanceApiEndpoint` output),
against the local sandbox as a persona with `--as`/GOVCTL_PROFILE. Errors are one line on stderr and
exit 1; read commands take `--output json` for scripts.
"""
from __future__ import annotations

import functools
import json
import os
import sys
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Optional

import typer
from rich.console import Console
from rich.table import Table

from govctl.client import Api, GovctlError, resolve_target
from govctl.personas import PERSONAS, SANDBOX_PORT

STAGES = ("development", "test", "production")
# What waits on people at each stage (the dashboard's queues): review in development; deployment, then decision, later.
WAITING = (("development", "pending"), ("test", "deployed"), ("test", "pending"), ("production", "deployed"), ("production", "pending"))

app = typer.Typer(
    name="govctl",
    help="mlgov governance for people: queues, approvals, audit trails, the promotion gate, the dashboard and a local sandbox.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class Output(str, Enum):
    table = "table"
    json = "json"


class StackName(str, Enum):
    test = "test"
    prod = "prod"


@dataclass
class Options:
    persona: Optional[str] = None
    endpoint: Optional[str] = None
    region: Optional[str] = None
    profile: Optional[str] = None
    root: Path = Path(".")
    api: Optional[Api] = None

    def client(self) -> Api:
        if self.api is None:
            self.api = Api(resolve_target(endpoint=self.endpoint, region=self.region, persona_name=self.persona, profile=self.profile))
        return self.api


opts = Options()


def out() -> Console:
    return Console(width=None if sys.stdout.isatty() else 160, highlight=False, soft_wrap=False)


def _fail(message: str) -> None:
    one_line = "; ".join(line.strip() for line in str(message).splitlines() if line.strip())
    typer.echo(f"error: {one_line}", err=True)
    raise typer.Exit(1)


def command(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn govctl's errors (and any unexpected one) into one line on stderr and exit 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except GovctlError as exc:
            _fail(str(exc))
        except Exception as exc:  # noqa: BLE001 - one readable line, not a traceback (GOVCTL_DEBUG=1 shows it)
            if os.environ.get("GOVCTL_DEBUG"):
                raise
            _fail(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'unexpected failure'}")

    return wrapper


def emit_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


OutputOpt = typer.Option(Output.table, "--output", "-o", help="table (people) or json (scripts)")
UseCaseOpt = typer.Option(None, "--use-case", help="the use case id (default: looked up from the model group)")


@app.callback()
def main_options(
    persona: Optional[str] = typer.Option(None, "--as", help=f"sandbox persona: {', '.join(PERSONAS)} (env GOVCTL_PROFILE)"),
    endpoint: Optional[str] = typer.Option(None, "--endpoint", help="governance API URL (env GOVCTL_ENDPOINT)"),
    region: Optional[str] = typer.Option(None, "--region", help="AWS region of the API (default: from the URL or boto3)"),
    profile: Optional[str] = typer.Option(None, "--profile", help="AWS profile for real AWS (default: boto3's chain)"),
    root: Path = typer.Option(Path("."), "--root", help="the project directory holding Pulumi.<stack>.yaml"),
) -> None:
    global opts
    opts = Options(persona=persona, endpoint=endpoint, region=region, profile=profile, root=root)


# ------------------------------------------------------------------ reads

@app.command("list")
@command
def list_queue(
    stage: Optional[list[str]] = typer.Option(None, "--stage", help="development, test or production (repeatable; default all)"),
    status: Optional[str] = typer.Option(None, "--status", help="pending, deployed, approved, rejected or retired "
                                                                 "(default: what waits on people at each stage)"),
    output: Output = OutputOpt,
) -> None:
    """The officer's queue by stage and status, oldest first."""
    stages = stage or list(STAGES)
    for s in stages:
        if s not in STAGES:
            raise GovctlError(f"stage {s!r} is invalid; allowed: {', '.join(STAGES)}")
    wanted = [(s, status) for s in stages] if status else [(s, st) for s, st in WAITING if s in stages]
    api = opts.client()
    rows = [(s, st, item) for s, st in wanted for item in api.queue(s, st)]
    if output is Output.json:
        emit_json([{**item, "queue": {"stage": s, "status": st}} for s, st, item in rows])
        return
    table = Table(title=f"governance queue ({len(rows)} version(s))", show_lines=False)
    for col in ("stage", "status", "since", "model version", "use case", "risk", "last change by", "rev"):
        table.add_column(col)
    for s, st, item in rows:
        table.add_row(s, st, _time(item.get("auditTimestamp")), f"{item['modelGroup']} v{item['modelVersion']}",
                      item.get("useCaseId") or "", item.get("modelRisk") or "", _who(item.get("auditUser")), str(item.get("rev")))
    out().print(table)


@app.command("show")
@command
def show(group: str, version: int, use_case: Optional[str] = UseCaseOpt, output: Output = OutputOpt) -> None:
    """A model version with its record at every stage."""
    view = opts.client().version(group, version, use_case)
    if output is Output.json:
        emit_json(view)
        return
    console = out()
    console.print(f"{group} v{version}  use case {view['useCaseId']} ({view['useCaseStage']})  at stage {view['currentStage']}"
                  f"  registry {view.get('registryStatus') or '-'}")
    table = Table()
    for col in ("stage", "status", "rev", "risk", "approvals", "validation metrics", "monitoring", "changed", "by"):
        table.add_column(col)
    for r in view["records"]:
        table.add_row(r["modelStage"], r["modelStatus"], str(r.get("rev")), r.get("modelRisk") or "", str(len(r.get("approvals") or [])),
                      _metrics(r.get("validationMetrics")), _monitoring(r.get("monitoringMetrics")),
                      _time(r.get("auditTimestamp")), _who(r.get("auditUser")))
    console.print(table)
    rejection = next((r.get("lastRejection") for r in view["records"] if r.get("lastRejection")), None)
    if rejection:
        console.print(f"last rejection at {rejection.get('stage')}: {rejection.get('reason')} ({_who(rejection.get('by'))})")


@app.command("use-cases")
@command
def use_cases(output: Output = OutputOpt) -> None:
    """Onboarded use cases with their risk tier and stage."""
    items = opts.client().use_cases()
    if output is Output.json:
        emit_json(items)
        return
    table = Table(title=f"use cases ({len(items)})")
    for col in ("use case", "name", "risk tier", "stage", "status", "model groups", "owner"):
        table.add_column(col)
    for uc in items:
        table.add_row(uc["useCaseId"], uc.get("name") or "", uc.get("riskTier") or "", uc.get("stage") or "", uc.get("stageStatus") or "",
                      ", ".join(uc.get("modelGroups") or []), uc.get("owner") or "")
    out().print(table)


@app.command("metrics")
@command
def metrics(
    group: str, version: int,
    set_: Optional[list[str]] = typer.Option(None, "--set", help="record metrics NAME=NUMBER (repeatable) instead of showing them"),
    stage: Optional[str] = typer.Option(None, "--stage", help="stage to record at (default: the version's current stage)"),
    kind: str = typer.Option("validation", "--kind", help="validation (approval evidence) or monitoring (needs --endpoint)"),
    endpoint: Optional[str] = typer.Option(None, "--endpoint-name", help="endpoint the monitoring metrics came from"),
    use_case: Optional[str] = UseCaseOpt,
    output: Output = OutputOpt,
) -> None:
    """A version's validation and monitoring metrics per stage; with --set, record metrics."""
    api = opts.client()
    if set_:
        values = dict(_metric(s) for s in set_)
        stage = stage or api.version(group, version, use_case)["currentStage"]
        result = api.record_metrics(group, version, stage=stage, kind=kind, metrics=values, endpoint_name=endpoint, use_case_id=use_case)
        if output is Output.json:
            emit_json(result)
        else:
            typer.echo(f"recorded {kind} metrics for {group} v{version} at {stage}: {_metrics(values)}")
        return
    view = api.version(group, version, use_case)
    rows = [{"stage": r["modelStage"], "status": r["modelStatus"], "validationMetrics": r.get("validationMetrics"),
             "monitoringMetrics": r.get("monitoringMetrics")} for r in view["records"]]
    if output is Output.json:
        emit_json({"modelGroup": group, "modelVersion": version, "stages": rows})
        return
    table = Table(title=f"{group} v{version} metrics")
    for col in ("stage", "status", "validation", "monitoring (endpoint)"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["stage"], r["status"], _metrics(r["validationMetrics"]) or "-", _monitoring(r["monitoringMetrics"]) or "-")
    out().print(table)


@app.command("audit")
@command
def audit(
    group: str, version: int,
    verify: bool = typer.Option(False, "--verify", help="also verify the hash chain; exit 1 on a broken link"),
    use_case: Optional[str] = UseCaseOpt,
    output: Output = OutputOpt,
) -> None:
    """A version's audit trail, in chain order; --verify checks every link of the hash chain."""
    api = opts.client()
    entries = api.audit(group, version, use_case)
    verdict = api.verify(group, version, use_case) if verify else None
    if output is Output.json:
        emit_json({"entries": entries, **({"verification": verdict} if verdict is not None else {})})
    else:
        table = Table(title=f"audit trail of {group} v{version} ({len(entries)} entries)")
        for col in ("#", "time", "action", "stage", "from -> to", "by", "reason", "hash"):
            table.add_column(col)
        for e in entries:
            change = f"{e.get('from') or ''} -> {e.get('to') or ''}" if e.get("from") or e.get("to") else ""
            table.add_row(str(e.get("seq")), _time(e.get("at")), e.get("action") or "", e.get("stage") or "", change,
                          _who(e.get("actor")), e.get("reason") or "", str(e.get("hash") or "")[:12])
        out().print(table)
    if verdict is not None:
        if verdict.get("ok"):
            if output is not Output.json:
                typer.echo(f"chain verifies: {verdict.get('entries')} entries, every link intact")
        else:
            broken = verdict.get("firstBroken") or {}
            _fail(f"audit chain of {group} v{version} is broken at entry {broken.get('seq')}: {broken.get('problem')}")


# ------------------------------------------------------------------ decisions

def _decide(action: str, group: str, version: int, stage: Optional[str], reason: Optional[str], expected_rev: Optional[int],
            use_case: Optional[str], output: Output) -> None:
    api = opts.client()
    if stage is None or expected_rev is None:
        view = api.version(group, version, use_case)
        stage = stage or view["currentStage"]
        if expected_rev is None:
            record = next((r for r in view["records"] if r["modelStage"] == stage), None)
            expected_rev = int(record["rev"]) if record and record.get("rev") is not None else None
    if stage not in STAGES:
        raise GovctlError(f"stage {stage!r} is invalid; allowed: {', '.join(STAGES)}")
    result = api.decide(group, version, stage=stage, action=action, reason=reason, expected_rev=expected_rev, use_case_id=use_case)
    if output is Output.json:
        emit_json(result)
        return
    line = f"{action}d {group} v{version} at {stage}: now {result.get('status')}"
    if result.get("pending"):
        line += f" ({result['pending']})"
    line += f"; use case {result.get('useCaseStage')}"
    registry = result.get("registry")
    if registry:
        line += f"; registry {registry.get('status')}" + ("" if registry.get("updated") else f" NOT updated: {registry.get('error')}")
    typer.echo(line)


@app.command("approve")
@command
def approve(
    group: str, version: int,
    stage: Optional[str] = typer.Option(None, "--stage", help="default: the stage the version is at"),
    reason: Optional[str] = typer.Option(None, "--reason", help="why (kept in the audit trail)"),
    expected_rev: Optional[int] = typer.Option(None, "--expected-rev", help="refuse if the record moved past this rev "
                                                                             "(default: the rev just read)"),
    use_case: Optional[str] = UseCaseOpt,
    output: Output = OutputOpt,
) -> None:
    """Approve a version at its stage (the API checks who may, separation of duties and high-risk rules)."""
    _decide("approve", group, version, stage, reason, expected_rev, use_case, output)


@app.command("reject")
@command
def reject(
    group: str, version: int,
    reason: str = typer.Option(..., "--reason", help="why (required; kept in the audit trail)"),
    stage: Optional[str] = typer.Option(None, "--stage", help="default: the stage the version is at"),
    expected_rev: Optional[int] = typer.Option(None, "--expected-rev", help="refuse if the record moved past this rev"),
    use_case: Optional[str] = UseCaseOpt,
    output: Output = OutputOpt,
) -> None:
    """Reject a version: it goes back to development for rework."""
    _decide("reject", group, version, stage, reason, expected_rev, use_case, output)


# ------------------------------------------------------------------ gate and promote

@app.command("gate")
@command
def gate_cmd(stack: StackName = typer.Option(..., "--stack", help="test or prod"), output: Output = OutputOpt) -> None:
    """Every version pinned in Pulumi.<stack>.yaml must be approved for that stage; exit 1 naming each offender."""
    from govctl.gate import gate

    result = gate(opts.client(), stack.value, opts.root)
    if output is Output.json:
        emit_json(result.as_dict())
    else:
        for pin in result.passed:
            typer.echo(f"ok       {pin.label()}: approved for {result.stage.value}")
        for pin, why in result.offenders:
            typer.echo(f"REFUSED  {pin.label()}: {why}")
    if not result.ok:
        _fail(f"gate {stack.value}: {len(result.offenders)} pinned version(s) not approved for {result.stage.value}: "
              + ", ".join(p.label() for p, _ in result.offenders))
    if output is not Output.json:
        typer.echo(f"gate {stack.value}: all {len(result.passed)} pinned version(s) approved for {result.stage.value}")


@app.command("promote")
@command
def promote_cmd(group: str, version: int, to: StackName = typer.Option(..., "--to", help="test or prod"),
                use_case: Optional[str] = UseCaseOpt) -> None:
    """Pin an approved version in Pulumi.<stack>.yaml (comments and order kept); refused unless approved for that stage."""
    from govctl.gate import promote

    result = promote(opts.client(), group, version, to.value, opts.root, use_case_id=use_case)
    typer.echo(f"Pulumi.{to.value}.yaml: {result.change}; deploy with `pulumi up --stack {to.value}`")


# ------------------------------------------------------------------ offline: preview and check

@app.command("preview")
@command
def preview(stacks: Optional[list[str]] = typer.Argument(None, help="stacks (default: every Pulumi.<stack>.yaml)")) -> None:
    """Run the Pulumi program offline under the mock engine and print each stack's resource tree."""
    from mlgov import plan

    code = plan.main(list(stacks or []))
    if code:
        raise typer.Exit(code)


@app.command("check")
@command
def check(stacks: Optional[list[str]] = typer.Argument(None, help="stacks (default: every Pulumi.<stack>.yaml)")) -> None:
    """Evaluate the policy pack on stacks offline; exit 1 on a mandatory violation."""
    try:
        from mlgov import check as policy_check
    except ImportError as exc:
        raise GovctlError(f"the policy check is not available: {exc}") from None
    code = policy_check.main(list(stacks or []))
    if code:
        raise typer.Exit(code)


# ------------------------------------------------------------------ dashboard, sandbox, demo

@app.command("dashboard")
@command
def dashboard(
    out_file: Path = typer.Option(Path("artifacts/dashboard.html"), "--out", help="where to write the page"),
    serve: bool = typer.Option(False, "--serve", help="serve it on 127.0.0.1 (fetched, signed, on each load) until Ctrl-C"),
    port: int = typer.Option(8643, "--port", help="port for --serve"),
) -> None:
    """The governance dashboard (GET /dashboard): write it to a file, or serve it locally for a browser."""
    api = opts.client()
    if serve:
        from govctl.serve import dashboard_server

        server, url = dashboard_server(api.dashboard, port)
        typer.echo(f"dashboard: {url} (Ctrl-C to stop)")
        sys.stdout.flush()
        _wait(server.shutdown)
        return
    html = api.dashboard()
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(html)
    typer.echo(str(out_file.resolve()))


@app.command("sandbox")
@command
def sandbox(
    serve: bool = typer.Option(False, "--serve", help="keep the sandbox and its dashboard up until Ctrl-C"),
    port: int = typer.Option(SANDBOX_PORT, "--port", help="port of the sandbox's governance API"),
    dashboard_port: int = typer.Option(8643, "--dashboard-port", help="port of the dashboard (with --serve)"),
    walkthrough: bool = typer.Option(True, "--walkthrough/--empty", help="play the credit-risk walkthrough first"),
) -> None:
    """A local in-process AWS (moto) with the governance table, the sample config and the real handlers."""
    from govctl.sandbox import Sandbox
    from govctl.serve import dashboard_server

    console = out()
    with Sandbox(opts.root if (opts.root / "Pulumi.shared.yaml").exists() else Path(__file__).resolve().parent.parent,
                 port=port if serve else 0, quiet=not serve) as sb:
        console.print(f"sandbox: governance API {sb.endpoint} (SigV4, region {sb.region}), moto {sb.moto_url}")
        if walkthrough:
            started = time.perf_counter()
            sb.play_walkthrough(lambda line: console.print("  " + line))
            console.print(f"walkthrough played in {time.perf_counter() - started:.1f} s")
        if not serve:
            return
        officer = sb.api("governance-officer")
        server, url = dashboard_server(officer.dashboard, dashboard_port)
        console.print(f"dashboard (as governance-officer): {url}")
        console.print(f"try: GOVCTL_ENDPOINT={sb.endpoint} govctl --as governance-officer list")
        console.print("personas: " + ", ".join(PERSONAS) + "   (Ctrl-C to stop)")
        sys.stdout.flush()
        _wait(server.shutdown)


@app.command("demo")
@command
def demo(
    out_dir: Path = typer.Option(Path("artifacts"), "--out-dir", help="where the dashboard page is written"),
    plan: bool = typer.Option(True, "--plan/--no-plan", help="run the offline plan and the policy check first"),
) -> None:
    """make demo: offline plan of the four stacks, policy check, the sandbox walkthrough, the table and the dashboard."""
    from govctl import demo as demo_module

    code = demo_module.run(out_dir=out_dir, with_plan=plan, root=opts.root)
    if code:
        raise typer.Exit(code)


# ------------------------------------------------------------------ helpers

def _wait(stop: Callable[[], None]) -> None:
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        stop()


def _metric(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    try:
        number = float(value)
    except ValueError:
        number = None
    if not sep or not name or number is None:
        raise GovctlError(f"--set {text!r}: write NAME=NUMBER, e.g. --set validation-auc=0.87")
    return name, int(number) if number.is_integer() and "." not in value else number


def _time(value: Any) -> str:
    text = str(value or "")
    return text[:19].replace("T", " ") if len(text) >= 19 else text


def _who(arn: Any) -> str:
    text = str(arn or "")
    if text.startswith("arn:") and text.count(":") >= 5:
        resource = text.split(":", 5)[5]
        return resource.removeprefix("assumed-role/").removeprefix("role/").removeprefix("user/")
    return text


def _metrics(value: Any) -> str:
    if not isinstance(value, dict) or not value:
        return ""
    return ", ".join(f"{k}={v}" for k, v in sorted(value.items()))


def _monitoring(value: Any) -> str:
    if not isinstance(value, dict):
        return ""
    where = str(value.get("endpointName") or "")
    if value.get("variantName"):
        where += f"/{value['variantName']}"
    return f"{_metrics(value.get('metrics'))} ({where})"

