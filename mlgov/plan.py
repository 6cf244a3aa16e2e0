"""Print the offline plan of stacks: a tree of component → resources with types, names and counts.

`python -m mlgov.plan [STACK ...]` (default: every `Pulumi.<stack>.yaml`). Exit 1 with one line on
a bad config.
"""
from __future__ import annotations

import sys
import time
from collections import Counter

from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from mlgov import offline
from mlgov.config import ConfigError

STACKS = ("shared", "dev", "test", "prod")


def tree(plan: offline.Plan) -> Tree:
    root = Tree(f"[bold]stack {plan.stack}[/bold] ({len(plan.custom_resources)} resources, "
                f"{len(plan.resources) - len(plan.custom_resources)} components)")
    known = {r.urn for r in plan.resources}

    def add(node: Tree, resource: offline.DeclaredResource) -> None:
        label = f"{resource.name} [dim]{resource.type}[/dim]"
        branch = node.add(f"[bold]{label}[/bold]" if resource.is_component else label)
        for child in sorted(plan.children(resource), key=lambda r: (r.custom, r.type, r.name)):
            add(branch, child)

    for top in sorted((r for r in plan.resources if r.parent not in known), key=lambda r: (r.custom, r.type, r.name)):
        add(root, top)
    return root


def counts(plan: offline.Plan) -> Table:
    table = Table(title=f"{plan.stack}: resources by type", show_edge=False)
    table.add_column("type")
    table.add_column("count", justify="right")
    for type_, n in sorted(Counter(r.type for r in plan.custom_resources).items()):
        table.add_row(type_, str(n))
    table.add_row("[bold]total[/bold]", f"[bold]{len(plan.custom_resources)}[/bold]")
    return table


def main(argv: list[str] | None = None) -> int:
    stacks = (argv if argv is not None else sys.argv[1:]) or [s for s in STACKS if offline.stack_file(s).exists()]
    console = Console(width=None if sys.stdout.isatty() else 140)
    for stack in stacks:
        started = time.perf_counter()
        try:
            plan = offline.plan_stack(stack)
        except (ConfigError, FileNotFoundError) as exc:
            console.print(f"[red]error[/red] Pulumi.{stack}.yaml: {exc}", highlight=False)
            return 1
        elapsed = time.perf_counter() - started
        console.print(tree(plan))
        console.print(counts(plan))
        outputs = ", ".join(sorted(plan.outputs))
        console.print(f"outputs: {outputs}\nplanned offline in {elapsed * 1000:.0f} ms\n", highlight=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
