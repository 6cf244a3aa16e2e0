"""`govctl groups`: the hub's model package groups as a dev account sees them, shared through AWS RAM.

SageMaker lists groups shared with the caller's account only when asked for `CrossAccount`
(https://docs.aws.amazon.com/sagemaker/latest/dg/model-registry-ram-view-shared.html); the data scientists'
role may call `ListModelPackageGroups` for that.
"""
from __future__ import annotations

import json
from typing import Any, Optional

import typer


def shared_groups(sagemaker: Any, name_contains: Optional[str] = None) -> list[dict[str, str]]:
    """Every group shared with this account (name, ARN, owner account), sorted by name."""
    params: dict[str, Any] = {"CrossAccountFilterOption": "CrossAccount"}
    if name_contains:
        params["NameContains"] = name_contains
    out: list[dict[str, str]] = []
    for page in sagemaker.get_paginator("list_model_package_groups").paginate(**params):
        for group in page.get("ModelPackageGroupSummaryList") or []:
            arn = str(group.get("ModelPackageGroupArn", ""))
            parts = arn.split(":")
            out.append({"name": str(group.get("ModelPackageGroupName", "")), "arn": arn,
                        "owner": parts[4] if len(parts) > 4 else "", "status": str(group.get("ModelPackageGroupStatus", ""))})
    return sorted(out, key=lambda g: g["name"])


def groups_command(
    ctx: typer.Context,
    name_contains: Optional[str] = typer.Option(None, "--name-contains", help="only groups whose name contains this"),
    output: str = typer.Option("table", "-o", "--output", help="table or json"),
) -> None:
    """List the model package groups shared with your account (as the data scientists' role discovers them)."""
    import boto3

    from govctl.options import of

    opts = of(ctx)
    session = boto3.Session(profile_name=opts.profile) if opts.profile else boto3.Session()
    groups = shared_groups(session.client("sagemaker", region_name=opts.region), name_contains)
    if output == "json":
        typer.echo(json.dumps(groups, indent=1))
        return
    for g in groups:
        typer.echo(f"{g['name']:<40} {g['owner']:<12} {g['arn']}")
    if not groups:
        typer.echo("no model package groups are shared with this account", err=True)


COMMANDS = (("groups", groups_command),)
