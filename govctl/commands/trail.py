"""`govctl audit`: a trail, its online verification, and what an auditor needs to verify it offline.

    govctl audit GROUP VERSION [--verify]            the trail; --verify asks the API (signatures, links, state, checkpoint)
    govctl audit export USE_CASE [--group G --version V] > trail.json
    govctl audit public-key [--key-id alias/...] > key.pem
    govctl audit verify --public-key key.pem trail.json   exit 0 intact, 1 tampered (one line per problem)

The offline check is the same `governance.audit.verify_trail` the API runs; it needs no AWS access.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from governance import audit, schema
from governance.signing import Verifier
from govctl import formatting as fmt
from govctl.client import GovctlError
from govctl.options import Output, OutputOpt, UseCaseOpt, of

DEFAULT_KEY = "alias/mlgov-audit-signing"


def stored(view: dict[str, Any]) -> dict[str, Any]:
    """An entry as the API shows it, back in the form its hash covers (detail as canonical JSON text)."""
    entry = dict(view)
    detail = entry.get(schema.ENTRY_DETAIL)
    if not isinstance(detail, str):
        entry[schema.ENTRY_DETAIL] = json.dumps(detail if detail is not None else {}, sort_keys=True, separators=(",", ":"))
    return entry


def export_trail(api: Any, use_case: str, group: Optional[str], version: Optional[int]) -> dict[str, Any]:
    if (group is None) != (version is None):
        raise GovctlError("export a version with both --group and --version, or a use case's own trail with neither")
    entries = api.audit(group, version, use_case)
    verdict = api.verify(group, version, use_case)
    trail = audit.Trail(verdict["subject"], tuple(stored(e) for e in entries), int(verdict["head"]["seq"]),
                        verdict["head"].get("hash"), verdict["recordState"], verdict.get("checkpoint"))
    return trail.as_dict()


def verify_file(path: Path, public_key: Path) -> tuple[audit.Trail, audit.Verification]:
    try:
        verifier = Verifier.from_pem(public_key.read_bytes())
    except (OSError, ValueError) as exc:
        raise GovctlError(f"--public-key {public_key}: not an EC P-256 public key in PEM ({exc})") from None
    try:
        trail = audit.Trail.from_dict(json.loads(path.read_text()))
    except OSError as exc:
        raise GovctlError(f"{path}: {exc.strerror}") from None
    except ValueError as exc:
        raise GovctlError(f"{path}: not an exported trail ({exc})") from None
    return trail, audit.verify_trail(trail, verifier)


def public_key_pem(key_id: str) -> str:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError
    try:
        response = boto3.client("kms").get_public_key(KeyId=key_id)
    except (BotoCoreError, ClientError) as exc:
        raise GovctlError(f"cannot read the public key of {key_id}: {exc}") from None
    return Verifier.from_der(response["PublicKey"], response["KeyId"]).pem()


def audit_command(
    ctx: typer.Context,
    target: str = typer.Argument(..., help="a model GROUP, or: export, verify, public-key"),
    second: Optional[str] = typer.Argument(None, help="VERSION (with a group), USE_CASE (export) or FILE (verify)"),
    verify: bool = typer.Option(False, "--verify", help="ask the API to verify the trail; exit 1 when it does not hold"),
    use_case: Optional[str] = UseCaseOpt,
    group: Optional[str] = typer.Option(None, "--group", help="export: the model group of the version"),
    version: Optional[int] = typer.Option(None, "--version", help="export: the version"),
    public_key: Optional[Path] = typer.Option(None, "--public-key", help="verify: the signing key's public key (PEM)"),
    key_id: str = typer.Option(DEFAULT_KEY, "--key-id", help="public-key: the audit signing key (id, ARN or alias)"),
    output: Output = OutputOpt,
) -> None:
    """A version's audit trail (--verify: checked by the API); export, public-key and verify for auditors."""
    if target == "public-key":
        typer.echo(public_key_pem(key_id), nl=False)
        return
    if target == "export":
        if not second:
            raise GovctlError("govctl audit export USE_CASE [--group G --version V]")
        typer.echo(fmt.json_text(export_trail(of(ctx).client(), second, group, version)))
        return
    if target == "verify":
        if not second or public_key is None:
            raise GovctlError("govctl audit verify --public-key KEY.pem TRAIL.json")
        trail, verdict = verify_file(Path(second), public_key)
        for problem in verdict.problems:
            typer.echo(f"tampered: {trail.subject} {problem.line()}")
        if not verdict.ok:
            raise typer.Exit(1)
        typer.echo(f"ok: {trail.subject}: {verdict.entries} signed entries, links, head, record state"
                   + (f" and checkpoint seq {trail.checkpoint.get('seq')}" if trail.checkpoint else ""))
        return
    if second is None or not second.isdigit():
        raise GovctlError(f"govctl audit {target} VERSION: the version is a whole number")
    show(ctx, target, int(second), verify, use_case, output)


def show(ctx: typer.Context, group: str, version: int, verify: bool, use_case: Optional[str], output: Output) -> None:
    api = of(ctx).client()
    entries = api.audit(group, version, use_case)
    verdict = api.verify(group, version, use_case) if verify else None
    if output is Output.json:
        typer.echo(fmt.json_text({"entries": entries, **({"verification": verdict} if verdict is not None else {})}))
    else:
        fmt.console().print(fmt.table(
            ("#", "time", "action", "stage", "from -> to", "by", "reason", "hash"),
            ((str(e.get("seq")), fmt.timestamp(e.get("at")), e.get("action") or "", e.get("stage") or "",
              f"{e.get('from') or ''} -> {e.get('to') or ''}" if e.get("from") or e.get("to") else "",
              fmt.who(e.get("actor")), e.get("reason") or "", str(e.get("hash") or "")[:12]) for e in entries),
            title=f"audit trail of {group} v{version} ({len(entries)} entries)"))
    if verdict is None:
        return
    if not verdict.get("ok"):
        broken = verdict.get("firstBroken") or {}
        raise GovctlError(f"audit chain of {group} v{version} is broken at entry {broken.get('seq')}: {broken.get('problem')}")
    if output is not Output.json:
        typer.echo(f"chain verifies: {verdict.get('entries')} entries, every link intact and signed")


COMMANDS = (("audit", audit_command),)
