"""Commands that decide: approve, reject and retire a version at a stage; approve, reject and retire a use case
(`govctl use-case ...`); the promotion gate and `promote`."""
from __future__ import annotations

from typing import Optional

import typer

from govctl import formatting as fmt
from govctl.client import GovctlError
from govctl.commands.reads import check_stage
from govctl.options import Output, OutputOpt, StackName, UseCaseOpt, of

StageOpt = typer.Option(None, "--stage", help="default: the stage the version is at")
PAST = {"approve": "approved", "reject": "rejected", "retire": "retired"}
RevOpt = typer.Option(None, "--expected-rev", help="refuse if the record moved past this rev (default: the rev just read)")


def decide(ctx: typer.Context, action: str, group: str, version: int, stage: Optional[str], reason: Optional[str],
           expected_rev: Optional[int], use_case: Optional[str], output: Output) -> None:
    """Decide at `stage` (default: where the version is) against the rev just read unless one is given."""
    api = of(ctx).client()
    if stage is None or expected_rev is None:
        view = api.version(group, version, use_case)
        stage = stage or view["currentStage"]
        if expected_rev is None:
            record = next((r for r in view["records"] if r["modelStage"] == stage), None)
            expected_rev = int(record["rev"]) if record and record.get("rev") is not None else None
    check_stage(stage)
    result = api.decide(group, version, stage=stage, action=action, reason=reason, expected_rev=expected_rev, use_case_id=use_case)
    if output is Output.json:
        typer.echo(fmt.json_text(result))
        return
    line = f"{PAST[action]} {group} v{version} at {stage}: now {result.get('status')}"
    if result.get("pending"):
        line += f" ({result['pending']})"
    line += f"; use case {result.get('useCaseStage')}"
    registry = result.get("registry")
    if registry:
        line += f"; registry {registry.get('status')}" + ("" if registry.get("updated") else f" NOT updated: {registry.get('error')}")
    typer.echo(line)


def approve(ctx: typer.Context, group: str, version: int, stage: Optional[str] = StageOpt,
            reason: Optional[str] = typer.Option(None, "--reason", help="why (kept in the audit trail)"),
            expected_rev: Optional[int] = RevOpt, use_case: Optional[str] = UseCaseOpt, output: Output = OutputOpt) -> None:
    """Approve a version at its stage (the API checks who may, separation of duties and high-risk rules)."""
    decide(ctx, "approve", group, version, stage, reason, expected_rev, use_case, output)


def reject(ctx: typer.Context, group: str, version: int,
           reason: str = typer.Option(..., "--reason", help="why (required; kept in the audit trail)"),
           stage: Optional[str] = StageOpt, expected_rev: Optional[int] = RevOpt, use_case: Optional[str] = UseCaseOpt,
           output: Output = OutputOpt) -> None:
    """Reject a version: it goes back to development for rework."""
    decide(ctx, "reject", group, version, stage, reason, expected_rev, use_case, output)


def retire(ctx: typer.Context, group: str, version: int,
           reason: str = typer.Option(..., "--reason", help="why (required; kept in the audit trail)"),
           stage: Optional[str] = StageOpt, expected_rev: Optional[int] = RevOpt, use_case: Optional[str] = UseCaseOpt,
           output: Output = OutputOpt) -> None:
    """Retire a version from wherever it is: every record becomes retired and the gate refuses its pins."""
    decide(ctx, "retire", group, version, stage, reason, expected_rev, use_case, output)


use_case_app = typer.Typer(help="Decide on a use case: approve (one stage forward), reject (back to DEVELOPMENT), retire.",
                           no_args_is_help=True)


def decide_use_case(ctx: typer.Context, action: str, use_case: str, reason: Optional[str], output: Output) -> None:
    result = of(ctx).client().decide_use_case(use_case, action, reason)
    if output is Output.json:
        typer.echo(fmt.json_text(result))
        return
    line = f"{PAST[action]} use case {use_case}: now {result.get('stage')} ({result.get('stageStatus')})"
    if action == "retire":
        line += f"; {result.get('versionsRetired', 0)} version(s) retired ({result.get('cascade')})"
    typer.echo(line)


@use_case_app.command("approve")
def use_case_approve(ctx: typer.Context, use_case: str,
                     reason: Optional[str] = typer.Option(None, "--reason", help="why (kept in the audit trail)"),
                     output: Output = OutputOpt) -> None:
    """Advance a use case exactly one stage (out of DEVELOPMENT, QA or PREPRODUCTION once every model is approved there)."""
    decide_use_case(ctx, "approve", use_case, reason, output)


@use_case_app.command("reject")
def use_case_reject(ctx: typer.Context, use_case: str,
                    reason: str = typer.Option(..., "--reason", help="why (required; kept in the audit trail)"),
                    output: Output = OutputOpt) -> None:
    """Send a use case in QA or PREPRODUCTION back to DEVELOPMENT; it must then be approved forward again."""
    decide_use_case(ctx, "reject", use_case, reason, output)


@use_case_app.command("retire")
def use_case_retire(ctx: typer.Context, use_case: str,
                    reason: str = typer.Option(..., "--reason", help="why (required; kept in the audit trail)"),
                    output: Output = OutputOpt) -> None:
    """Retire a use case and every version of its models (officers only); run again to finish an interrupted cascade."""
    decide_use_case(ctx, "retire", use_case, reason, output)


def gate(ctx: typer.Context, stack: StackName = typer.Option(..., "--stack", help="test or prod"), output: Output = OutputOpt) -> None:
    """Every version pinned in Pulumi.<stack>.yaml must be approved for that stage; exit 1 naming each offender."""
    from govctl.gate import gate as check_pins

    opts = of(ctx)
    result = check_pins(opts.client(), stack.value, opts.root)
    if output is Output.json:
        typer.echo(fmt.json_text(result.as_dict()))
    else:
        for pin in result.passed:
            typer.echo(f"ok       {pin.label()}: approved for {result.stage.value}")
        for pin, why in result.offenders:
            typer.echo(f"REFUSED  {pin.label()}: {why}")
    if not result.ok:
        raise GovctlError(f"gate {stack.value}: {len(result.offenders)} pinned version(s) not approved for {result.stage.value}: "
                          + ", ".join(p.label() for p, _ in result.offenders))
    if output is not Output.json:
        typer.echo(f"gate {stack.value}: all {len(result.passed)} pinned version(s) approved for {result.stage.value}")


def promote(ctx: typer.Context, group: str, version: int, to: StackName = typer.Option(..., "--to", help="test or prod"),
            use_case: Optional[str] = UseCaseOpt) -> None:
    """Pin an approved version in Pulumi.<stack>.yaml (comments and order kept); refused unless approved for that stage."""
    from govctl.gate import promote as pin

    opts = of(ctx)
    result = pin(opts.client(), group, version, to.value, opts.root, use_case_id=use_case)
    typer.echo(f"Pulumi.{to.value}.yaml: {result.change}; deploy with `pulumi up --stack {to.value}`")


COMMANDS = (("approve", approve), ("reject", reject), ("retire", retire), ("gate", gate), ("promote", promote))
GROUPS = (("use-case", use_case_app),)
