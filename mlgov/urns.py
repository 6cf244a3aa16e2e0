"""The URNs the sample stacks declare, and whether a new plan keeps them (directly or through `pulumi.Alias`).

A resource whose URN changes is deleted and created again by `pulumi up` unless it carries an alias to
its old URN. `python -m mlgov.urns > tests/mlgov/urns_main.json` writes the snapshot a test compares
every later plan with.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Iterable

from mlgov import offline

STACKS = ("shared", "dev", "test", "prod")


def declared_urns(stacks: Iterable[str] = STACKS, root: Path = offline.ROOT) -> dict[str, list[str]]:
    """Every URN each stack's offline plan declares, sorted."""
    return {stack: sorted(r.urn for r in offline.plan_stack(stack, root=root).resources) for stack in stacks}


def previous_urns(plan: offline.Plan) -> dict[str, set[str]]:
    """For each resource, every URN the engine would match it with: its own, its aliases, and its parent's old URNs.

    The engine carries a parent's aliases to its children: under each old URN of the parent, the child's
    type and name, and the type and name of each of the child's own aliases (a renamed child of a renamed
    parent is found under both old types).
    """
    by_urn = {r.urn: r for r in plan.resources}
    memo: dict[str, set[str]] = {}

    def of(resource: offline.DeclaredResource) -> set[str]:
        if resource.urn not in memo:
            out = {resource.urn, *resource.aliases}
            parent = by_urn.get(resource.parent or "")
            if parent is not None:
                names = {(resource.type, resource.name), *map(type_and_name, resource.aliases)}
                out |= {offline.urn(plan.stack, p, t, n) for p in of(parent) if p != parent.urn for t, n in names}
            memo[resource.urn] = out
        return memo[resource.urn]

    return {r.urn: of(r) for r in plan.resources}


def type_and_name(urn: str) -> tuple[str, str]:
    """A URN's own type (the last of its qualified type) and name."""
    _, _, qualified, name = urn.split("::", 3)
    return qualified.rpartition("$")[2], name


def unmatched(plan: offline.Plan, snapshot: Iterable[str]) -> list[str]:
    """URNs of `plan`'s cloud resources that neither are in `snapshot` nor reach one through an alias (each would be created anew).

    Components are left out: a new component holds no cloud state, so adding one replaces nothing.
    """
    known = set(snapshot)
    custom = {r.urn for r in plan.custom_resources}
    return sorted(urn for urn, candidates in previous_urns(plan).items() if urn in custom and not candidates & known)


if __name__ == "__main__":
    json.dump(declared_urns(), sys.stdout, indent=1)
    sys.stdout.write("\n")
