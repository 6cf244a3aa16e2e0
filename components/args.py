"""What the arguments of every mlgov component share: plain dataclasses, keyword-only common fields at the end."""
from dataclasses import dataclass, field
from typing import Mapping, Optional


@dataclass(kw_only=True)
class ComponentArgs:
    tags: Optional[Mapping[str, str]] = field(default_factory=dict)
    """Tags on the resources the component creates (it adds its own `mlgov:` ones where it has any)."""


@dataclass(kw_only=True)
class MovedArgs(ComponentArgs):
    moved_from_parent: Optional[bool] = False
    """The component's resources were direct children of its parent (stacks created before it existed): alias them so they are kept."""
