"""The mlgov Pulumi package: the components it exposes, their type tokens, its schema and its host.

The schema is what the Pulumi SDK's component analyzer infers from the components' annotations (it
is never written by hand). It is committed as `provider/schema.json` so that a change to a component's
interface shows in review; `python -m provider.package > provider/schema.json` rewrites it.
"""
from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import sys
import tomllib
from pathlib import Path
from typing import Any, Iterable, Optional, get_args

import pulumi
from pulumi.provider import main as serve_provider
from pulumi.provider.experimental import analyzer
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.resource import ComponentResource

NAME = "mlgov"
ROOT = Path(__file__).resolve().parent.parent
SCHEMA = Path(__file__).with_name("schema.json")

COMPONENTS = (
    "components.central_registry:CentralRegistry",
    "components.shared_model_group:SharedModelGroup",
    "components.governance_table:GovernanceTable",
    "components.stage_deployment:StageDeployment",
    "components.member_account:MemberAccount",
)
"""`module:Class` of each component the package exposes (imported only when asked for)."""

PREVIOUS_TYPES = {
    "CentralRegistry": "mlgov:central_registry:CentralRegistry",
    "SharedModelGroup": "mlgov:shared_model_group:SharedModelGroup",
    "GovernanceTable": "mlgov:governance_table:GovernanceTable",
    "StageDeployment": "mlgov:stage_deployment:StageDeployment",
    "MemberAccount": "mlgov:member_account:MemberAccount",
}
"""The type each component registered before it was packaged: existing stacks hold these URNs."""


def token(component: type, package: str = NAME) -> str:
    """The type token the analyzer gives a component: the package, the module `index`, the class name."""
    return f"{package}:index:{component.__name__}"


def version() -> str:
    """The package version is the project's (pyproject.toml)."""
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def load(specs: Iterable[str] = COMPONENTS) -> list[type[ComponentResource]]:
    out = []
    for spec in specs:
        module, _, cls = spec.partition(":")
        out.append(getattr(importlib.import_module(module), cls))
    return out


def refusals(components: Iterable[type[ComponentResource]], package: str = NAME) -> dict[str, str]:
    """Each component the analyzer refuses, with its error; an empty dict when all are accepted."""
    out = {}
    for component in components:
        try:
            analyzer.Analyzer(package).analyze([component])
        except Exception as exc:  # noqa: BLE001 - the analyzer raises bare exceptions; the message is the finding
            out[component.__name__] = f"{type(exc).__name__}: {exc}"
    return out


class Provider(ComponentProvider):
    """The SDK's component provider, which also builds each component's args class from the engine's inputs.

    The SDK hands a component its inputs as a plain dict of Python names (nested types as dicts too); the
    components read attributes of a dataclass, as the project's own program passes them.
    """

    def map_inputs(self, inputs, component_def):
        mapped = super().map_inputs(inputs, component_def)
        args_type = inspect.get_annotations(self._components[component_def.name].__init__)["args"]
        return build(args_type, mapped)


def build(annotation: Any, value: Any) -> Any:
    """`value` as `annotation` says: dataclasses from dicts, at any depth of lists, maps and inputs.

    Numbers come over the wire as floats, and the SDK leaves them so: an `int` argument gets an int.
    """
    if value is None:
        return None
    if annotation is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if analyzer.is_optional(annotation):
        return build(analyzer.unwrap_optional(annotation), value)
    if analyzer.is_input(annotation) or analyzer.is_output(annotation):
        inner = analyzer.unwrap_input(annotation) if analyzer.is_input(annotation) else analyzer.unwrap_output(annotation)
        if isinstance(value, pulumi.Output):
            return value.apply(lambda v: build(inner, v))
        return build(inner, value)
    if analyzer.is_list(annotation) and isinstance(value, list):
        (item,) = get_args(annotation)
        return [build(item, v) for v in value]
    if analyzer.is_dict(annotation) and isinstance(value, dict):
        _, item = get_args(annotation)
        return {k: build(item, v) for k, v in value.items()}
    if dataclasses.is_dataclass(annotation) and isinstance(value, dict):
        fields = {f.name: f.type for f in dataclasses.fields(annotation)}
        return annotation(**{k: build(fields[k], v) for k, v in value.items()})
    return value


def provider(components: list[type[ComponentResource]], package: str = NAME) -> Provider:
    return Provider(components, package, version=version())


def schema(components: list[type[ComponentResource]], package: str = NAME) -> dict[str, Any]:
    """The package schema exactly as the provider serves it to `pulumi package add` (GetSchema)."""
    return json.loads(provider(components, package).schema or "{}")


def serve(components: list[type[ComponentResource]], package: str = NAME, argv: Optional[list[str]] = None) -> None:
    """Run the provider's gRPC server; it prints its port, as a Pulumi plugin does."""
    serve_provider(provider(components, package), sys.argv[1:] if argv is None else argv)


def dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def main(components: list[type[ComponentResource]], out=sys.stdout, err=sys.stderr) -> int:
    """Print the schema; or, when the analyzer refuses components, name each with its reason and return 1."""
    refused = refusals(components)
    for name, reason in refused.items():
        err.write(f"{NAME}:index:{name}: {reason}\n")
    if refused:
        return 1
    out.write(dump(schema(components)))
    return 0


if __name__ == "__main__":
    sys.exit(main(load()))
