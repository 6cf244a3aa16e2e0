"""govctl's global options, carried to every command in the typer context (`ctx.obj`), never in module state."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from govctl.client import Api, resolve_target


class Output(str, Enum):
    table = "table"
    json = "json"


class StackName(str, Enum):
    test = "test"
    prod = "prod"


@dataclass
class Options:
    """What `govctl [OPTIONS] COMMAND` was given; the API client is made on first use and kept for the command."""

    persona: Optional[str] = None
    endpoint: Optional[str] = None
    region: Optional[str] = None
    profile: Optional[str] = None
    role_arn: Optional[str] = None
    source_identity: Optional[str] = None
    root: Path = Path(".")
    api: Optional[Api] = None

    def client(self) -> Api:
        if self.api is None:
            self.api = Api(resolve_target(endpoint=self.endpoint, region=self.region, persona_name=self.persona, profile=self.profile,
                                          role_arn=self.role_arn, source_identity=self.source_identity))
        return self.api


def of(ctx: typer.Context) -> Options:
    """The options of the running command (the defaults when a command is invoked without the main callback)."""
    found = ctx.find_object(Options)
    return found if found is not None else ctx.ensure_object(Options)


OutputOpt = typer.Option(Output.table, "--output", "-o", help="table (people) or json (scripts)")
UseCaseOpt = typer.Option(None, "--use-case", help="the use case id (default: looked up from the model group)")
