"""`make demo` (`python -m govctl demo`): the whole project on one laptop, non-interactively, no AWS account.

1. the offline plan of the four stacks (`mlgov.plan`, Pulumi's mock engine);
2. the policy pack on them (`mlgov.check`), reported without stopping the demo;
3. the sandbox (moto on 127.0.0.1) with the shared stack's use cases, the credit-risk walkthrough played
   through the real handlers, and the promotion gate of the test and prod stacks against it;
4. the governance table as the API returns it, and the dashboard page written to `artifacts/`.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from govctl.client import Api

STACKS = ("shared", "dev", "test", "prod")


def governance_table(api: Api) -> Table:
    """Every model stage record, per use case, through the API (the use case catalogue and its index: no Scan)."""
    table = Table(title="governance table: model stage records", show_lines=False)
    for col in ("use case (stage)", "model version", "stage", "status", "risk", "validation metrics", "monitoring (endpoint)",
                "audit user", "audit time"):
        table.add_column(col, overflow="fold")
    for uc in api.use_cases():
        detail = api.use_case(uc["useCaseId"])
        order = {"development": 0, "test": 1, "production": 2}
        for r in sorted(detail["models"], key=lambda r: (r["modelGroup"], int(r["modelVersion"]), order.get(r["modelStage"], 3))):
            monitoring = r.get("monitoringMetrics") or {}
            where = monitoring.get("endpointName", "")
            if monitoring.get("variantName"):
                where += f"/{monitoring['variantName']}"
            table.add_row(
                f"{uc['useCaseId']} ({detail['stage']}, {uc.get('riskTier')})", f"{r['modelGroup']} v{r['modelVersion']}", r["modelStage"],
                r["modelStatus"], r.get("modelRisk") or "",
                ", ".join(f"{k}={v}" for k, v in sorted((r.get("validationMetrics") or {}).items())),
                (", ".join(f"{k}={v}" for k, v in sorted((monitoring.get("metrics") or {}).items())) + (f" ({where})" if where else "")),
                _who(r.get("auditUser")), str(r.get("auditTimestamp") or "")[11:19])
    return table


def _who(arn: object) -> str:
    text = str(arn or "")
    return text.split(":", 5)[5].removeprefix("assumed-role/") if text.startswith("arn:") and text.count(":") >= 5 else text


def run(*, out_dir: Path = Path("artifacts"), with_plan: bool = True, root: Path = Path("."), console: Console | None = None) -> int:
    from govctl.gate import gate
    from govctl.sandbox import ROOT, Sandbox

    console = console or Console(width=None if sys.stdout.isatty() else 160, highlight=False)
    root = root if (Path(root) / "Pulumi.shared.yaml").exists() else ROOT
    started = time.perf_counter()
    notes: list[str] = []

    if with_plan:
        console.rule("1. offline plan of the four stacks (Pulumi mock engine)")
        from mlgov import plan

        if plan.main(list(STACKS)) != 0:
            console.print("[bold]demo stopped: the offline plan failed[/bold]")
            return 1
        console.rule("2. policy pack, offline")
        try:
            from mlgov import check
        except ImportError as exc:
            notes.append(f"policy check skipped: {exc}")
        else:
            code = check.main(list(STACKS))
            notes.append("policy check: no mandatory violations" if code == 0 else "policy check: MANDATORY VIOLATIONS (see above)")

    console.rule("3. sandbox: the credit-risk walkthrough through the real handlers (moto on 127.0.0.1)")
    with Sandbox(root) as sb:
        console.print(f"governance API {sb.endpoint} (SigV4-checked, region {sb.region}); moto {sb.moto_url}")
        walked = time.perf_counter()
        sb.play_walkthrough(lambda line: console.print("  " + line))
        console.print(f"walkthrough: {time.perf_counter() - walked:.1f} s, {sb.calls.total()} AWS calls by the handlers")
        officer = sb.api("governance-officer")
        for stack in ("test", "prod"):
            result = gate(officer, stack, root)
            verdict = "passes" if result.ok else "REFUSES " + "; ".join(f"{p.label()}: {why}" for p, why in result.offenders)
            console.print(f"gate {stack}: {verdict}")
            notes.append(f"gate {stack}: {'passes' if result.ok else f'refuses {len(result.offenders)} pin(s)'}")

        console.rule("4. the governance table")
        console.print(governance_table(officer))
        out_dir.mkdir(parents=True, exist_ok=True)
        page = out_dir / "dashboard.html"
        page.write_text(officer.dashboard())

    for note in notes:
        console.print(note)
    console.print(f"demo finished in {time.perf_counter() - started:.1f} s")
    console.print(f"dashboard: {page.resolve()}")
    return 0
