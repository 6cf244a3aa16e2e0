"""Every URN the sample stacks declare is one they declared before the restructuring, or aliases one: zero replacements."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlgov import offline, urns

SNAPSHOT = json.loads((Path(__file__).parent / "urns_main.json").read_text())


def unmatched_without_and_with(program, old: set[str]) -> list[list[str]]:
    """What `old` cannot account for, in `program(False)`'s plan and in `program(True)`'s (the fix under test)."""
    return [urns.unmatched(offline.run(program(fix), {"aws:region": "eu-west-1"}, stack="unit"), old) for fix in (False, True)]


@pytest.mark.parametrize("stack", urns.STACKS)
def test_each_declared_urn_is_in_the_snapshot_or_aliases_one(stack: str) -> None:
    plan = offline.plan_stack(stack)
    assert urns.unmatched(plan, SNAPSHOT[stack]) == []


@pytest.mark.parametrize("stack", urns.STACKS)
def test_no_snapshot_urn_is_left_without_a_successor(stack: str) -> None:
    """A snapshot URN nothing declares or aliases any more would be deleted by `pulumi up`."""
    plan = offline.plan_stack(stack)
    reached = set().union(*urns.previous_urns(plan).values())
    assert sorted(set(SNAPSHOT[stack]) - reached) == []


def test_a_moved_resource_without_an_alias_is_caught_and_an_alias_or_a_moved_parent_saves_it() -> None:
    import pulumi

    def program(alias: bool):
        def declare():
            parent = pulumi.ComponentResource("t:index:Part", "part",
                                              opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(type_="t:index:OldPart")] if alias else None))
            pulumi.CustomResource("t:index:Leaf", "leaf", {}, opts=pulumi.ResourceOptions(parent=parent))
            pulumi.CustomResource("t:index:Moved", "moved", {}, opts=pulumi.ResourceOptions(
                parent=parent, aliases=[pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)] if alias else None))
            return {}
        return declare

    old = {
        "urn:pulumi:unit::mlgov::t:index:OldPart::part",
        "urn:pulumi:unit::mlgov::t:index:OldPart$t:index:Leaf::leaf",
        "urn:pulumi:unit::mlgov::t:index:Moved::moved",
    }
    assert unmatched_without_and_with(program, old) == [[
        "urn:pulumi:unit::mlgov::t:index:Part$t:index:Leaf::leaf",
        "urn:pulumi:unit::mlgov::t:index:Part$t:index:Moved::moved",
    ], []]


def test_a_renamed_child_of_a_renamed_parent_is_found_under_both_previous_types() -> None:
    """The engine multiplies each old URN of the parent by the child's own aliases, and carries the result down."""
    import pulumi

    def program(child_alias: bool):
        def declare():
            outer = pulumi.ComponentResource("t:index:Outer", "outer", opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(type_="t:outer:Outer")]))
            inner = pulumi.ComponentResource("t:index:Inner", "inner", opts=pulumi.ResourceOptions(
                parent=outer, aliases=[pulumi.Alias(type_="t:inner:Inner")] if child_alias else None))
            pulumi.CustomResource("t:index:Leaf", "leaf", {}, opts=pulumi.ResourceOptions(parent=inner))
            return {}
        return declare

    old = {"urn:pulumi:unit::mlgov::t:outer:Outer$t:inner:Inner$t:index:Leaf::leaf"}
    assert unmatched_without_and_with(program, old) == [["urn:pulumi:unit::mlgov::t:index:Outer$t:index:Inner$t:index:Leaf::leaf"], []]


def test_an_alias_naming_an_older_ancestor_is_written_with_the_ancestors_previous_types() -> None:
    """A resource moved under a child of a since-renamed component: only `moves.former` finds where it was."""
    import pulumi

    from components import moves

    def program(former: bool):
        def declare():
            outer = pulumi.ComponentResource("t:index:Outer", "outer", opts=moves.renamed("t:index:Outer", "t:outer:Outer", None))
            part = pulumi.ComponentResource("t:index:Part", "part", opts=pulumi.ResourceOptions(parent=outer))
            pulumi.CustomResource("t:index:Leaf", "leaf", {}, opts=pulumi.ResourceOptions(
                parent=part, aliases=[pulumi.Alias(parent=moves.former(outer) if former else outer)]))
            return {}
        return declare

    old = {"urn:pulumi:unit::mlgov::t:outer:Outer$t:index:Leaf::leaf"}
    assert unmatched_without_and_with(program, old) == [["urn:pulumi:unit::mlgov::t:index:Outer$t:index:Part$t:index:Leaf::leaf"], []]
