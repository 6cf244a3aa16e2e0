"""`govctl evidence`: a use case's EU AI Act evidence pack, written as its HTML page and its JSON."""
from __future__ import annotations

import json
from pathlib import Path

import typer

from governance.evidence_html import extract
from govctl.options import of


def evidence(
    ctx: typer.Context,
    use_case: str = typer.Argument(..., help="the use case id, e.g. credit-risk"),
    out_dir: Path = typer.Option(Path("artifacts"), "--out", help="directory to write <use-case>-evidence.html and .json to"),
) -> None:
    """The evidence pack (GET /use-cases/{id}/evidence): one self-contained, printable HTML page and the same pack as JSON."""
    page = of(ctx).client().evidence_html(use_case)
    pack = extract(page)  # one request: the JSON file is exactly the pack the page embeds
    out_dir.mkdir(parents=True, exist_ok=True)
    html_file, json_file = out_dir / f"{use_case}-evidence.html", out_dir / f"{use_case}-evidence.json"
    html_file.write_text(page, encoding="utf-8")
    json_file.write_text(json.dumps(pack, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    summary = pack.get("summary") or {}
    typer.echo(f"{html_file.resolve()}\n{json_file.resolve()}\n{summary.get('versions')} version(s), {summary.get('approvals')} approval(s), "
               f"{summary.get('trailsVerified')}/{summary.get('trails')} audit trail(s) verify")
