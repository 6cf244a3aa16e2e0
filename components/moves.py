"""URNs a resource had before it moved, for `pulumi.Alias`: a moved resource is kept, not replaced."""
from __future__ import annotations

import pulumi

ROOT_STACK = "pulumi:pulumi:Stack"


def child_urn(parent_urn: str, type_: str, name: str) -> str:
    """The URN of a resource `name` of `type_` declared as a child of the resource `parent_urn`."""
    prefix, project, qualified, _ = parent_urn.split("::")
    qualified = type_ if qualified == ROOT_STACK else f"{qualified}${type_}"
    return f"{prefix}::{project}::{qualified}::{name}"


def was_under(parent: pulumi.Resource, type_: str, name: str) -> pulumi.Output[str]:
    """The URN of a resource that used to be `parent`'s child of type `type_` named `name`."""
    return parent.urn.apply(lambda urn: child_urn(urn, type_, name))


def was(parent: pulumi.Resource, name: str) -> pulumi.Alias:
    """An alias for a resource that was declared as `name`, a direct child of `parent`."""
    return pulumi.Alias(name=name, parent=parent)


def sibling_urn(urn: str, type_: str, name: str) -> str:
    """The URN of a resource `name` of `type_` declared beside the resource `urn` (under the same parent)."""
    prefix, project, qualified, _ = urn.split("::")
    parent_type = qualified.rpartition("$")[0]
    return f"{prefix}::{project}::{f'{parent_type}${type_}' if parent_type else type_}::{name}"


def was_beside(resource: pulumi.Resource, type_: str, name: str) -> pulumi.Output[str]:
    """The URN of a resource that used to be a sibling of `resource` (a child of its parent), before moving under it."""
    return resource.urn.apply(lambda urn: sibling_urn(urn, type_, name))
