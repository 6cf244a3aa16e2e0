"""`make demo` (`python -m govctl demo`): the whole project on one laptop, non-interactively, no AWS account.

1. the offline plan of the four stacks (`mlgov.plan`, Pulumi's mock engine);
2. the policy pack on them (`mlgov.check`), reported without stopping the demo;
3. the sandbox (moto on 127.0.0.1) with the shared stack's use cases, the credit-risk walkthrough played
   through the real handlers, and the promotion gate of the test and prod stacks against it: `govctl gate`,
   then the program's own gate at preview (test passes, prod is refused and declares nothing; after the
   churn versions are approved in test, prod passes);
4. the governance table as the API returns it, and the dashboard page written to `artifacts/`.
"""
from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from govctl import formatting
from govctl.client import Api

STACKS = ("shared", "dev", "test", "prod")


def governance_table(api: Api) -> Table:
    """Every model stage record, per use case, through the API (the use case catalogue and its index: no Scan)."""
    return formatting.governance_table((uc, api.use_case(uc["useCaseId"])) for uc in api.use_cases())


def preview(stack: str, root: Path, registry: dict) -> str:
    """The offline plan of a stack whose promotion gate reads `registry`: what `pulumi preview` would say."""
    from mlgov import offline
    from mlgov.config import ConfigError

    try:
        plan = offline.plan_stack(stack, root=root, registry=registry)
    except ConfigError as exc:
        return f"REFUSED, {len(getattr(exc, 'declared', ()))} resources declared:\n{exc}"
    return f"passes, {len(plan.custom_resources)} resources declared"


def program_gate(console: Console, sb, officer: Api, root: Path, notes: list[str]) -> None:
    """The program's own gate at preview, on the registry as the walkthrough left it; then after the churn decisions."""
    from govctl.gate import registry_state
    from govctl.walkthrough import clear_churn_for_production

    console.rule("3b. the program's promotion gate at preview, on the sandbox's registry")
    for stack in ("test", "prod"):
        verdict = preview(stack, root, registry_state(officer, ("test", "prod"), root))
        console.print(f"preview {stack}: {verdict}", markup=False)
    clear_churn_for_production(sb, lambda line: console.print("  " + line))
    verdict = preview("prod", root, registry_state(officer, ("test", "prod"), root))
    console.print(f"preview prod: {verdict}", markup=False)
    notes.append(f"program gate: prod {verdict.split(',')[0].lower()} after the churn approvals")


def run(*, out_dir: Path = Path("artifacts"), with_plan: bool = True, root: Path = Path("."), console: Console | None = None) -> int:
    from govctl.gate import gate
    from govctl.sandbox import Sandbox, project_root
    from govctl.walkthrough import play

    console = console or formatting.console()
    root = project_root(root)
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
        play(sb, lambda line: console.print("  " + line))
        console.print(f"walkthrough: {time.perf_counter() - walked:.1f} s, {sb.calls.total()} AWS calls by the handlers")
        officer = sb.api("governance-officer")
        for stack in ("test", "prod"):
            result = gate(officer, stack, root)
            verdict = "passes" if result.ok else "REFUSES " + "; ".join(f"{p.label()}: {why}" for p, why in result.offenders)
            console.print(f"gate {stack}: {verdict}")
            notes.append(f"gate {stack}: {'passes' if result.ok else f'refuses {len(result.offenders)} pin(s)'}")

        program_gate(console, sb, officer, root, notes)

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
