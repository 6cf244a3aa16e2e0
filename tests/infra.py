"""Helpers for infrastructure tests: sample configs and offline runs of components."""
from __future__ import annotations

import copy
from typing import Any, Callable

from mlgov import offline, program


def sample(stack: str = "shared") -> dict[str, Any]:
    """A deep copy of `Pulumi.<stack>.yaml`'s config block, free to mutate."""
    return copy.deepcopy(offline.read_stack_config(stack))


def namespace(config: dict[str, Any]) -> dict[str, Any]:
    return program.namespace_config(offline.as_engine_config(config))


def run_component(declare: Callable[[], Any], account_id: str = "111111111111") -> offline.Plan:
    """Declare resources outside any stack file (a component on its own) and return the plan."""
    return offline.run(declare, {"aws:region": "eu-west-1"}, stack="unit", account_id=account_id)


def policy_statements(resource: offline.DeclaredResource, key: str = "policy") -> list[dict[str, Any]]:
    import json

    return json.loads(resource.inputs[key])["Statement"]


def all_actions(statements: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for s in statements:
        actions = s["Action"]
        out += [actions] if isinstance(actions, str) else actions
    return out


def comparable(value: Any) -> Any:
    """Inputs with assets and archives replaced by what they hold, so two plans can be compared."""
    import pulumi

    if isinstance(value, pulumi.AssetArchive):
        return {"archive": {k: comparable(v) for k, v in value.assets.items()}}
    if isinstance(value, (pulumi.FileAsset, pulumi.FileArchive)):
        return {"file": value.path}
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [comparable(v) for v in value]
    return value
