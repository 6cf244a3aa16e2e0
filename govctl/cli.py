"""`govctl`: the governance queue, decisions, audit trails, the promotion gate, the dashboard and the sandbox.

Every command that reads or decides talks to the governance HTTP API, signed with SigV4: against AWS with
boto3's default credentials and `--endpoint`/GOVCTL_ENDPOINT (the shared stack's `governanceApiEndpoint` output),
against the local sandbox as a persona with `--as`/GOVCTL_PROFILE. Errors are one line on stderr and
exit 1 (`Group`); read commands take `--output json` for scripts. The commands live in `govctl.commands`.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from govctl.client import GovctlError
from govctl import discovery, register
from govctl.commands import decisions, local, reads, trail
from govctl.formatting import one_line
from govctl.options import Options
from govctl.personas import PERSONAS
from govctl.commands import evidence


class Group(TyperGroup):
    """The one error handler: govctl's errors (and any unexpected one) become one line on stderr and exit 1.

    Usage errors (exit 2), explicit exits and Ctrl-C pass through; GOVCTL_DEBUG=1 shows unexpected tracebacks.
    """

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException, KeyboardInterrupt):
            raise
        except GovctlError as exc:
            _fail(str(exc))
        except Exception as exc:  # noqa: BLE001 - one readable line, not a traceback
            if os.environ.get("GOVCTL_DEBUG"):
                raise
            _fail(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'unexpected failure'}")


def _fail(message: str) -> None:
    typer.echo(f"error: {one_line(message)}", err=True)
    raise typer.Exit(1)


app = typer.Typer(
    name="govctl",
    cls=Group,
    help="mlgov governance for people: queues, approvals, audit trails, the promotion gate, the dashboard and a local sandbox.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def main_options(
    ctx: typer.Context,
    persona: Optional[str] = typer.Option(None, "--as", help=f"sandbox persona: {', '.join(PERSONAS)} (env GOVCTL_PROFILE)"),
    endpoint: Optional[str] = typer.Option(None, "--endpoint", help="governance API URL (env GOVCTL_ENDPOINT)"),
    region: Optional[str] = typer.Option(None, "--region", help="AWS region of the API (default: from the URL or boto3)"),
    profile: Optional[str] = typer.Option(None, "--profile", help="AWS profile for real AWS (default: boto3's chain)"),
    role_arn: Optional[str] = typer.Option(None, "--role-arn", help="IAM role to assume for real AWS, e.g. an approver role (env GOVCTL_ROLE_ARN)"),
    source_identity: Optional[str] = typer.Option(
        None, "--source-identity", help="who you are in the assumed role's session (env GOVCTL_SOURCE_IDENTITY; "
        "default: the last part of your caller ARN: SSO/role session name or IAM user name)"),
    root: Path = typer.Option(Path("."), "--root", help="the project directory holding Pulumi.<stack>.yaml"),
) -> None:
    ctx.obj = Options(persona=persona, endpoint=endpoint, region=region, profile=profile, role_arn=role_arn,
                      source_identity=source_identity, root=root)


for _name, _command in (*reads.COMMANDS, *trail.COMMANDS, *decisions.COMMANDS, *local.COMMANDS, *register.COMMANDS, *discovery.COMMANDS):
    app.command(_name)(_command)
app.command("evidence")(evidence.evidence)
for _name, _group in decisions.GROUPS:
    app.add_typer(_group, name=_name)
