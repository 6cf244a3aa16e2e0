"""URNs a resource had before it moved, for `pulumi.Alias`: a moved resource is kept, not replaced."""
from __future__ import annotations

from typing import Optional

import pulumi

ROOT_STACK = "pulumi:pulumi:Stack"

PREVIOUS_TYPES: dict[str, str] = {}
"""Component types that were renamed, current → previous (filled in by `renamed`)."""


def renamed(type_: str, previous: str, opts: Optional[pulumi.ResourceOptions]) -> pulumi.ResourceOptions:
    """`opts` with an alias to the component's previous type: the engine carries it down to its children.

    The previous type is also remembered for `former`: resources moved before the rename, so where they
    were is written with the previous types.
    """
    PREVIOUS_TYPES[type_] = previous
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=previous)]))


def previous_urn(urn: str) -> str:
    """`urn` with each type in it (its own and its ancestors') as it was before it was renamed."""
    prefix, project, qualified, name = urn.split("::", 3)
    qualified = "$".join(PREVIOUS_TYPES.get(t, t) for t in qualified.split("$"))
    return f"{prefix}::{project}::{qualified}::{name}"


def former(resource: pulumi.Resource) -> pulumi.Output[str]:
    """The URN `resource` had before any component type was renamed.

    The engine carries a parent's aliases to its children only: an alias that names an older ancestor
    (by URN or as its `parent`) is taken as written, so it has to be written with the previous types.
    """
    return resource.urn.apply(previous_urn)


def child_urn(parent_urn: str, type_: str, name: str) -> str:
    """The URN of a resource `name` of `type_` declared as a child of the resource `parent_urn`."""
    prefix, project, qualified, _ = parent_urn.split("::")
    qualified = type_ if qualified == ROOT_STACK else f"{qualified}${type_}"
    return f"{prefix}::{project}::{qualified}::{name}"


def was_under(parent: pulumi.Resource, type_: str, name: str) -> pulumi.Output[str]:
    """The URN of a resource that used to be `parent`'s child of type `type_` named `name`."""
    return former(parent).apply(lambda urn: child_urn(urn, type_, name))


def was(parent: pulumi.Resource, name: str) -> pulumi.Alias:
    """An alias for a resource that was declared as `name`, a direct child of `parent`."""
    return pulumi.Alias(name=name, parent=former(parent))


def sibling_urn(urn: str, type_: str, name: str) -> str:
    """The URN of a resource `name` of `type_` declared beside the resource `urn` (under the same parent)."""
    prefix, project, qualified, _ = urn.split("::")
    parent_type = qualified.rpartition("$")[0]
    return f"{prefix}::{project}::{f'{parent_type}${type_}' if parent_type else type_}::{name}"


def was_beside(resource: pulumi.Resource, type_: str, name: str) -> pulumi.Output[str]:
    """The URN of a resource that used to be a sibling of `resource` (a child of its parent), before moving under it."""
    return former(resource).apply(lambda urn: sibling_urn(urn, type_, name))
