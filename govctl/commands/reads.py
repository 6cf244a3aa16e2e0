"""Commands that read the governance record: the queue, use cases, a version, its metrics and audit trail."""
from __future__ import annotations

from typing import Optional

import typer

from govctl import formatting as fmt
from govctl.client import GovctlError
from govctl.options import Output, OutputOpt, UseCaseOpt, of

STAGES = ("development", "test", "production")
# What waits on people at each stage (the dashboard's queues): review in development; deployment, then decision, later.
WAITING = (("development", "pending"), ("test", "deployed"), ("test", "pending"), ("production", "deployed"), ("production", "pending"))


def check_stage(stage: str) -> str:
    if stage not in STAGES:
        raise GovctlError(f"stage {stage!r} is invalid; allowed: {', '.join(STAGES)}")
    return stage


def list_queue(
    ctx: typer.Context,
    stage: Optional[list[str]] = typer.Option(None, "--stage", help="development, test or production (repeatable; default all)"),
    status: Optional[str] = typer.Option(None, "--status", help="pending, deployed, approved, rejected or retired "
                                                                 "(default: what waits on people at each stage)"),
    output: Output = OutputOpt,
) -> None:
    """The officer's queue by stage and status, oldest first."""
    stages = [check_stage(s) for s in stage or STAGES]
    wanted = [(s, status) for s in stages] if status else [(s, st) for s, st in WAITING if s in stages]
    api = of(ctx).client()
    rows = [(s, st, item) for s, st in wanted for item in api.queue(s, st)]
    if output is Output.json:
        typer.echo(fmt.json_text([{**item, "queue": {"stage": s, "status": st}} for s, st, item in rows]))
        return
    fmt.console().print(fmt.table(
        ("stage", "status", "since", "model version", "use case", "risk", "last change by", "rev"),
        ((s, st, fmt.timestamp(item.get("auditTimestamp")), f"{item['modelGroup']} v{item['modelVersion']}",
          item.get("useCaseId") or "", item.get("modelRisk") or "", fmt.who(item.get("auditUser")), str(item.get("rev")))
         for s, st, item in rows),
        title=f"governance queue ({len(rows)} version(s))"))


def show(ctx: typer.Context, group: str, version: int, use_case: Optional[str] = UseCaseOpt, output: Output = OutputOpt) -> None:
    """A model version with its record at every stage."""
    view = of(ctx).client().version(group, version, use_case)
    if output is Output.json:
        typer.echo(fmt.json_text(view))
        return
    console = fmt.console()
    console.print(fmt.version_line(group, version, view))
    console.print(fmt.table(
        ("stage", "status", "rev", "risk", "approvals", "validation metrics", "monitoring", "changed", "by"),
        ((r["modelStage"], r["modelStatus"], str(r.get("rev")), r.get("modelRisk") or "", str(len(r.get("approvals") or [])),
          fmt.metrics(r.get("validationMetrics")), fmt.monitoring(r.get("monitoringMetrics")),
          fmt.timestamp(r.get("auditTimestamp")), fmt.who(r.get("auditUser"))) for r in view["records"])))
    for d in view.get("liveOn") or []:
        console.print(f"live on {d.get('endpointName')} ({d.get('stage')}, account {d.get('account')}"
                      + (f", variant {d['variantName']}" if d.get("variantName") else "") + f") since {fmt.timestamp(d.get('since'))}")
    rejection = next((r.get("lastRejection") for r in view["records"] if r.get("lastRejection")), None)
    if rejection:
        console.print(f"last rejection at {rejection.get('stage')}: {rejection.get('reason')} ({fmt.who(rejection.get('by'))})")


def use_cases(ctx: typer.Context, output: Output = OutputOpt) -> None:
    """Onboarded use cases with their risk tier and stage."""
    items = of(ctx).client().use_cases()
    if output is Output.json:
        typer.echo(fmt.json_text(items))
        return
    fmt.console().print(fmt.table(
        ("use case", "name", "risk tier", "stage", "status", "model groups", "owner"),
        ((uc["useCaseId"], uc.get("name") or "", uc.get("riskTier") or "", uc.get("stage") or "", uc.get("stageStatus") or "",
          ", ".join(uc.get("modelGroups") or []), uc.get("owner") or "") for uc in items),
        title=f"use cases ({len(items)})"))


def metrics(
    ctx: typer.Context,
    group: str, version: int,
    set_: Optional[list[str]] = typer.Option(None, "--set", help="record metrics NAME=NUMBER (repeatable) instead of showing them"),
    stage: Optional[str] = typer.Option(None, "--stage", help="stage to record at (default: the version's current stage)"),
    kind: str = typer.Option("validation", "--kind", help="validation (approval evidence) or monitoring (needs --endpoint)"),
    endpoint: Optional[str] = typer.Option(None, "--endpoint-name", help="endpoint the monitoring metrics came from"),
    use_case: Optional[str] = UseCaseOpt,
    output: Output = OutputOpt,
) -> None:
    """A version's validation and monitoring metrics per stage; with --set, record metrics."""
    api = of(ctx).client()
    if set_:
        values = dict(parse_metric(s) for s in set_)
        stage = stage or api.version(group, version, use_case)["currentStage"]
        result = api.record_metrics(group, version, stage=stage, kind=kind, metrics=values, endpoint_name=endpoint, use_case_id=use_case)
        typer.echo(fmt.json_text(result) if output is Output.json
                   else f"recorded {kind} metrics for {group} v{version} at {stage}: {fmt.metrics(values)}")
        return
    view = api.version(group, version, use_case)
    rows = [{"stage": r["modelStage"], "status": r["modelStatus"], "validationMetrics": r.get("validationMetrics"),
             "monitoringMetrics": r.get("monitoringMetrics")} for r in view["records"]]
    if output is Output.json:
        typer.echo(fmt.json_text({"modelGroup": group, "modelVersion": version, "stages": rows}))
        return
    fmt.console().print(fmt.table(
        ("stage", "status", "validation", "monitoring (endpoint)"),
        ((r["stage"], r["status"], fmt.metrics(r["validationMetrics"]) or "-", fmt.monitoring(r["monitoringMetrics"]) or "-")
         for r in rows),
        title=f"{group} v{version} metrics"))


def parse_metric(text: str) -> tuple[str, float]:
    """`--set NAME=NUMBER`; whole numbers written without a point stay integers."""
    name, sep, value = text.partition("=")
    try:
        number = float(value)
    except ValueError:
        number = None
    if not sep or not name or number is None:
        raise GovctlError(f"--set {text!r}: write NAME=NUMBER, e.g. --set validation-auc=0.87")
    return name, int(number) if number.is_integer() and "." not in value else number


COMMANDS = (("list", list_queue), ("show", show), ("use-cases", use_cases), ("metrics", metrics))
