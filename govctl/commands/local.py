"""Commands that run on this machine: the offline plan and policy check, the dashboard, the sandbox, the demo."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from govctl import formatting as fmt
from govctl.client import GovctlError
from govctl.options import of
from govctl.personas import PERSONAS, SANDBOX_PORT
from govctl.up import command as up

StacksArg = typer.Argument(None, help="stacks (default: every Pulumi.<stack>.yaml)")


def preview(stacks: Optional[list[str]] = StacksArg) -> None:
    """Run the Pulumi program offline under the mock engine and print each stack's resource tree."""
    from mlgov import plan

    _exit_with(plan.main(list(stacks or [])))


def check(stacks: Optional[list[str]] = StacksArg) -> None:
    """Evaluate the policy pack on stacks offline; exit 1 on a mandatory violation."""
    try:
        from mlgov import check as policy_check
    except ImportError as exc:
        raise GovctlError(f"the policy check is not available: {exc}") from None
    _exit_with(policy_check.main(list(stacks or [])))


def dashboard(
    ctx: typer.Context,
    out_file: Path = typer.Option(Path("artifacts/dashboard.html"), "--out", help="where to write the page"),
    serve: bool = typer.Option(False, "--serve", help="serve it on 127.0.0.1 (fetched, signed, on each load) until Ctrl-C"),
    port: int = typer.Option(8643, "--port", help="port for --serve"),
) -> None:
    """The governance dashboard (GET /dashboard): write it to a file, or serve it locally for a browser."""
    from govctl.serve import serve_until_interrupted

    api = of(ctx).client()
    if serve:
        serve_until_interrupted(api.dashboard, port, lambda url: typer.echo(f"dashboard: {url} (Ctrl-C to stop)"))
        return
    html = api.dashboard()
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(html)
    typer.echo(str(out_file.resolve()))


def sandbox(
    ctx: typer.Context,
    serve: bool = typer.Option(False, "--serve", help="keep the sandbox and its dashboard up until Ctrl-C"),
    port: int = typer.Option(SANDBOX_PORT, "--port", help="port of the sandbox's governance API"),
    dashboard_port: int = typer.Option(8643, "--dashboard-port", help="port of the dashboard (with --serve)"),
    walkthrough: bool = typer.Option(True, "--walkthrough/--empty", help="play the credit-risk walkthrough first"),
) -> None:
    """A local in-process AWS (moto) with the governance table, the sample config and the real handlers."""
    from govctl.sandbox import Sandbox, project_root
    from govctl.serve import serve_until_interrupted
    from govctl.walkthrough import play

    console = fmt.console()
    with Sandbox(project_root(of(ctx).root), port=port if serve else 0, quiet=not serve) as sb:
        console.print(f"sandbox: governance API {sb.endpoint} (SigV4, region {sb.region}), moto {sb.moto_url}")
        if walkthrough:
            started = time.perf_counter()
            play(sb, lambda line: console.print("  " + line))
            console.print(f"walkthrough played in {time.perf_counter() - started:.1f} s")
        if not serve:
            return

        def ready(url: str) -> None:
            console.print(f"dashboard (as governance-officer): {url}")
            console.print(f"try: GOVCTL_ENDPOINT={sb.endpoint} govctl --as governance-officer list")
            console.print("personas: " + ", ".join(PERSONAS) + "   (Ctrl-C to stop)")

        serve_until_interrupted(sb.api("governance-officer").dashboard, dashboard_port, ready)


def demo(
    ctx: typer.Context,
    out_dir: Path = typer.Option(Path("artifacts"), "--out-dir", help="where the dashboard page is written"),
    plan: bool = typer.Option(True, "--plan/--no-plan", help="run the offline plan and the policy check first"),
) -> None:
    """make demo: offline plan of the four stacks, policy check, the sandbox walkthrough, the table and the dashboard."""
    from govctl import demo as demo_module

    _exit_with(demo_module.run(out_dir=out_dir, with_plan=plan, root=of(ctx).root))


def _exit_with(code: int) -> None:
    if code:
        raise typer.Exit(code)


COMMANDS = (("preview", preview), ("check", check), ("dashboard", dashboard), ("sandbox", sandbox), ("demo", demo), ("up", up))
