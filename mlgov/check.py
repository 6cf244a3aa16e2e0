"""Evaluate the policy pack (`policies/`) on stacks offline: no Pulumi CLI, no cloud credentials.

`python -m mlgov.check [STACK ...]` (default: shared, dev, test, prod) runs each stack's program under
the SDK's mock engine (`mlgov.offline`, the harness the tests use), feeds every declared resource to
every resource policy and the whole resource list to every stack policy, prints the violations grouped
by resource with their enforcement level, and exits 1 on any mandatory violation (or, with one line,
on a bad stack config).

Resource policies see each resource's inputs, as CrossGuard's `Analyze` does. Stack policies see the
resources' outputs (inputs plus what the provider computes: ARNs, names), as `AnalyzeStack` does; the
offline outputs are the ones `mlgov.offline.OfflineMocks` computes for that resource.
"""
from __future__ import annotations

import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

from mlgov import offline

STACKS = ("shared", "dev", "test", "prod")


@dataclass(frozen=True)
class Violation:
    stack: str
    policy: str
    concern: str
    level: str
    """`mandatory` or `advisory`."""
    message: str
    urn: Optional[str] = None
    resource_type: Optional[str] = None
    resource_name: Optional[str] = None

    @property
    def mandatory(self) -> bool:
        return self.level == "mandatory"


def policy_settings(stack: str, config: Optional[Mapping[str, Any]] = None, root: Path = offline.ROOT) -> dict[str, Any]:
    """The rules' settings for a stack, as `python -m mlgov.policy_config STACK` writes them for the pack."""
    from mlgov.policy_config import stack_settings

    return stack_settings(stack, config, root)


def plan_outputs(plan: offline.Plan, account_id: str, region: str) -> dict[str, dict[str, Any]]:
    """Each custom resource's outputs as the offline engine computes them (by URN)."""
    from pulumi.runtime import MockResourceArgs

    mocks = offline.OfflineMocks(account_id, region)
    out: dict[str, dict[str, Any]] = {}
    for r in plan.resources:
        if not r.custom or r.type == offline.STACK_REFERENCE:
            out[r.urn] = dict(r.inputs)
            continue
        resource_id, state = mocks.new_resource(MockResourceArgs(r.type, r.name, dict(r.inputs), custom=True))
        out[r.urn] = {**state, "id": resource_id}
    return out


def evaluate(
    resources: Sequence[offline.DeclaredResource],
    settings: Mapping[str, Any],
    *,
    stack: str = "unit",
    outputs: Optional[Mapping[str, Mapping[str, Any]]] = None,
    policies: Optional[Iterable[Any]] = None,
    levels: Optional[Mapping[str, str]] = None,
) -> list[Violation]:
    """Run `policies` (default: the whole pack) on declared resources; `outputs` by URN for the stack policies."""
    from pulumi_policy import (
        EnforcementLevel,
        PolicyCustomTimeouts,
        PolicyResource,
        PolicyResourceOptions,
        ResourceValidationArgs,
        ResourceValidationPolicy,
        StackValidationArgs,
        StackValidationPolicy,
    )
    from pulumi_policy.policy import _NotApplicableError
    from pulumi_policy.proxy import unknown_checking_proxy

    from mlgov.policy_config import for_policy
    from policies.rules import ALL_POLICIES, CONCERN_OF

    policies = list(ALL_POLICIES if policies is None else policies)
    outputs = outputs or {}
    by_urn = {r.urn: r for r in resources}

    def options(r: offline.DeclaredResource) -> PolicyResourceOptions:
        return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], r.parent)

    def level_of(policy: Any) -> Optional[str]:
        level = (levels or {}).get(policy.name) or (policy.enforcement_level or EnforcementLevel.ADVISORY).value
        return None if level == "disabled" else ("mandatory" if level in ("mandatory", "remediate") else "advisory")

    found: list[Violation] = []

    def reporter(policy: Any, level: str, default: Optional[offline.DeclaredResource]):
        def report(message: str, urn: Optional[str] = None) -> None:
            target = by_urn.get(urn) if urn else default
            found.append(Violation(
                stack=stack, policy=policy.name, concern=CONCERN_OF.get(policy.name, "other"), level=level, message=message,
                urn=target.urn if target else urn, resource_type=target.type if target else None,
                resource_name=target.name if target else None,
            ))
        return report

    custom = [r for r in resources if r.custom and r.type != offline.STACK_REFERENCE]
    for policy in policies:
        level = level_of(policy)
        if level is None:
            continue
        config = for_policy(settings, policy)
        if isinstance(policy, ResourceValidationPolicy):
            for r in custom:
                args = ResourceValidationArgs(r.type, unknown_checking_proxy(dict(r.inputs)), r.urn, r.name, options(r), None, config)
                try:
                    policy.validate(args, reporter(policy, level, r))
                except _NotApplicableError:
                    pass
        elif isinstance(policy, StackValidationPolicy):
            stack_resources = {
                r.urn: PolicyResource(r.type, unknown_checking_proxy(dict(outputs.get(r.urn, r.inputs))), r.urn, r.name,
                                      options(r), None, None, [], {})
                for r in custom
            }
            for r in custom:
                if r.parent in stack_resources:
                    stack_resources[r.urn].parent = stack_resources[r.parent]
            try:
                policy.validate(StackValidationArgs(list(stack_resources.values()), config), reporter(policy, level, None))
            except _NotApplicableError:
                pass
    return found


def check_plan(plan: offline.Plan, settings: Mapping[str, Any], *, account_id: str = "111111111111", region: str = "eu-west-1",
               policies: Optional[Iterable[Any]] = None) -> list[Violation]:
    """Run the pack (or `policies`) on a plan already made, e.g. by `offline.run` with a program of one's own."""
    return evaluate(plan.resources, settings, stack=plan.stack, outputs=plan_outputs(plan, account_id, region), policies=policies)


def check_stack(stack: str, config: Optional[Mapping[str, Any]] = None, root: Path = offline.ROOT) -> list[Violation]:
    """Plan `stack` offline (from `Pulumi.<stack>.yaml`, or `config`) and run the whole pack on it."""
    config = offline.read_stack_config(stack, root) if config is None else dict(config)
    plan = offline.plan_stack(stack, config, root)
    return check_plan(plan, policy_settings(stack, config, root), account_id=offline.account_for(config),
                      region=str(config.get("aws:region", "eu-west-1")))


def render(stack: str, violations: Sequence[Violation], console: Any) -> None:
    from rich.tree import Tree

    mandatory = sum(v.mandatory for v in violations)
    head = f"[bold]stack {stack}[/bold]: " + (
        "[green]no violations[/green]" if not violations
        else f"[red]{mandatory} mandatory[/red], [yellow]{len(violations) - mandatory} advisory[/yellow]"
    )
    tree = Tree(head)
    grouped: dict[tuple[str, str], list[Violation]] = defaultdict(list)
    for v in violations:
        grouped[(v.resource_name or "(stack)", v.resource_type or "")].append(v)
    for (name, type_), items in sorted(grouped.items()):
        node = tree.add(f"{name} [dim]{type_}[/dim]")
        for v in sorted(items, key=lambda v: (not v.mandatory, v.policy)):
            colour = "red" if v.mandatory else "yellow"
            node.add(f"[{colour}]{v.level}[/{colour}] [bold]{v.policy}[/bold] ({v.concern}): {v.message}")
    console.print(tree, highlight=False)


def exit_code(violations: Iterable[Violation]) -> int:
    """1 when any violation is mandatory (the deployment would be blocked), else 0."""
    return 1 if any(v.mandatory for v in violations) else 0


def main(argv: Optional[list[str]] = None, root: Path = offline.ROOT) -> int:
    from rich.console import Console

    from mlgov.config import ConfigError

    stacks = (argv if argv is not None else sys.argv[1:]) or [s for s in STACKS if offline.stack_file(s, root).exists()]
    console = Console(width=None if sys.stdout.isatty() else 160)
    failed = False
    started = time.perf_counter()
    for stack in stacks:
        try:
            violations = check_stack(stack, root=root)
        except (ConfigError, FileNotFoundError, offline.UnknownStackReferenceError) as exc:
            console.print(f"[red]error[/red] Pulumi.{stack}.yaml: {exc}", highlight=False, soft_wrap=True)
            return 1
        render(stack, violations, console)
        failed = failed or exit_code(violations) == 1
    console.print(f"checked {len(stacks)} stack(s) offline in {time.perf_counter() - started:.1f} s: "
                  + ("[red]mandatory violations[/red]" if failed else "[green]no mandatory violations[/green]"), highlight=False)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
