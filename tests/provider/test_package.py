"""The components as a Pulumi package: what the SDK's component analyzer accepts, the schema it infers,
the provider that builds each component's args, and the plugin entry point, all offline (no Pulumi CLI).
"""
import dataclasses
import enum
import io
import json
import os
import re
import subprocess
import sys
import tomllib
import types
from pathlib import Path
from typing import Annotated, Any, Literal, Mapping, Optional, Sequence, TypedDict, Union

import grpc
import pulumi
import pulumi_aws as aws
import pytest
import yaml
from pulumi.provider.experimental import analyzer
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from components import hub_outputs
from mlgov import offline
from provider import package
from tests.components.hub_sample import HUB
from tests.provider import demo

HERE = Path(__file__).resolve().parent
DEMO_SCHEMA = HERE / "demo_schema.json"
FIVE = ("CentralRegistry", "SharedModelGroup", "GovernanceTable", "StageDeployment", "MemberAccount")


def demo_schema() -> dict[str, Any]:
    return package.schema([demo.DemoDeployment])


def test_demo_schema_is_the_committed_one() -> None:
    """`python -c 'from tests.provider.test_package import *; write_demo_schema()'` rewrites it."""
    assert package.dump(demo_schema()) == DEMO_SCHEMA.read_text()


def write_demo_schema() -> None:
    DEMO_SCHEMA.write_text(package.dump(demo_schema()))


def test_tokens_are_under_index_and_nested_types_are_named_after_their_classes() -> None:
    schema = demo_schema()
    assert list(schema["resources"]) == [package.token(demo.DemoDeployment)] == [demo.TYPE]
    assert set(schema["types"]) == {"mlgov:index:DemoHub", "mlgov:index:DemoVariant", "mlgov:index:Stage"}
    assert schema["types"]["mlgov:index:Stage"]["enum"] == [
        {"name": "TEST", "value": "test", "description": "The test account."},
        {"name": "PROD", "value": "prod", "description": "The production account."},
    ]
    assert (schema["name"], schema["version"]) == ("mlgov", package.version())


def test_an_argument_is_optional_only_when_annotated_optional() -> None:
    resource = demo_schema()["resources"][demo.TYPE]
    assert sorted(resource["requiredInputs"]) == ["group", "hub", "keyArn", "stage", "version"]
    assert sorted(resource["required"]) == ["endpointName", "topicArn", "variantWeights"]


def test_plain_types_are_plain_and_inputs_are_not() -> None:
    """A TypeScript caller may pass an Output only where the Python annotation says `pulumi.Input`."""
    inputs = demo_schema()["resources"][demo.TYPE]["inputProperties"]
    assert inputs["group"] == {"type": "string", "plain": True, "description": "Model package group."}
    assert inputs["keyArn"] == {"type": "string", "description": "This account's KMS key."}
    assert inputs["alarmActions"]["plain"] is True and "plain" not in inputs["alarmActions"]["items"]
    hub = demo_schema()["types"]["mlgov:index:DemoHub"]["properties"]
    assert "plain" not in hub["groupArns"] and hub["groupArns"]["additionalProperties"]["type"] == "string"


class Colour(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Nested:
    a: str


class NestedDict(TypedDict):
    a: str


ACCEPTED = [
    (str, {"type": "string", "plain": True}),
    (int, {"type": "integer", "plain": True}),
    (float, {"type": "number", "plain": True}),
    (bool, {"type": "boolean", "plain": True}),
    (pulumi.Input[str], {"type": "string"}),
    (Optional[str], {"type": "string", "plain": True, "optional": True}),
    (str | None, {"type": "string", "plain": True, "optional": True}),
    (list[str], {"type": "array", "plain": True, "items": {"type": "string", "plain": True}}),
    (Sequence[str], {"type": "array", "plain": True, "items": {"type": "string", "plain": True}}),
    (Sequence[pulumi.Input[str]], {"type": "array", "plain": True, "items": {"type": "string"}}),
    (Mapping[str, str], {"type": "object", "plain": True, "additional_properties": {"type": "string", "plain": True}}),
    (pulumi.Input[Mapping[str, str]], {"type": "object", "additional_properties": {"type": "string", "plain": True}}),
    (Any, {"ref": "pulumi.json#/Any", "plain": True}),
    (Nested, {"ref": "#/types/mlgov:index:Nested", "plain": True}),
    (NestedDict, {"ref": "#/types/mlgov:index:NestedDict", "plain": True}),
    (Colour, {"ref": "#/types/mlgov:index:Colour", "plain": True}),
    (aws.kms.Key, {"ref": "/aws/v7.51.1/schema.json#/resources/aws:kms%2Fkey:Key"}),
]

REFUSED = [
    (tuple[str, ...], "Unsupported type 'tuple[str, ...]'"),
    (set[str], "Unsupported type 'set[str]'"),
    (bytes, "Unsupported type"),
    (Mapping, "map types must specify two type arguments"),
    (list, "list types must specify a type argument"),
    (dict[int, str], "map keys must be strings"),
    (Union[str, int], "Union types are not supported"),
    (Literal["test", "prod"], "issubclass() arg 1 must be a class"),
    (Annotated[int, "min 1"], "issubclass() arg 1 must be a class"),
    ("str", "issubclass() arg 1 must be a class"),
]


def analyze(annotation: Any) -> dict[str, Any]:
    """The analyzer's property definition for one annotated argument, without its empty fields."""
    holder = type("Holder", (), {"__annotations__": {"x": annotation}})
    return prune(analyzer.Analyzer("mlgov").analyze_property(annotation, holder, "x", can_be_plain=True, is_component_output=False))


def prune(definition: analyzer.PropertyDefinition) -> dict[str, Any]:
    out = {}
    for key, value in vars(definition).items():
        if value not in (None, False):
            out[key] = prune(value) if isinstance(value, analyzer.PropertyDefinition) else getattr(value, "value", value)
    return out


@pytest.mark.parametrize(("annotation", "expected"), ACCEPTED, ids=[str(a) for a, _ in ACCEPTED])
def test_argument_shapes_the_analyzer_accepts(annotation: Any, expected: dict[str, Any]) -> None:
    assert analyze(annotation) == expected


@pytest.mark.parametrize(("annotation", "error"), REFUSED, ids=[str(a) for a, _ in REFUSED])
def test_argument_shapes_the_analyzer_refuses(annotation: Any, error: str) -> None:
    with pytest.raises(Exception) as refused:
        analyze(annotation)
    assert error in str(refused.value)


def test_our_own_components_cannot_be_a_property_type() -> None:
    """Only resources of a published package (with `pulumi_type`) can be referenced, not our own components."""
    with pytest.raises(Exception, match="'DemoDeployment.pulumi_type' is not defined"):
        analyze(demo.DemoDeployment)


def test_a_module_with_postponed_annotations_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`from __future__ import annotations` turns every annotation into a string the analyzer does not evaluate."""
    source = (HERE / "demo.py").read_text().replace('"""\nimport enum', '"""\nfrom __future__ import annotations\nimport enum', 1)
    assert source.count("\nfrom __future__ import annotations\n") == 1
    (tmp_path / "postponed_demo.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    postponed = __import__("postponed_demo")
    assert package.refusals([postponed.DemoDeployment]) == {
        "DemoDeployment": "AttributeError: 'str' object has no attribute '__mro__'"
    }
    assert package.refusals([demo.DemoDeployment]) == {}


ENGINE_INPUTS = {
    "group": "fraud",
    "version": 3.0,
    "stage": "prod",
    "hub": {"groupArns": {"fraud": "arn:aws:sagemaker:eu-west-1:1:model-package-group/fraud"}, "keyArn": "hub-key"},
    "keyArn": "arn:aws:kms:eu-west-1:2:key/k",
    "challenger": {"version": 4.0, "weight": 10.0},
    "tags": {"team": "risk"},
}


def test_the_provider_gives_the_component_its_dataclass_not_a_dict() -> None:
    """The SDK alone would pass a dict (schema names mapped back, floats for ints, nested types as dicts)."""
    provider = package.provider([demo.DemoDeployment])
    args = provider.map_inputs(ENGINE_INPUTS, provider._component_defs["DemoDeployment"])
    assert args == demo.DemoDeploymentArgs(
        group="fraud",
        version=3,
        stage=demo.Stage.PROD,
        hub=demo.DemoHub(group_arns={"fraud": "arn:aws:sagemaker:eu-west-1:1:model-package-group/fraud"}, key_arn="hub-key"),
        key_arn="arn:aws:kms:eu-west-1:2:key/k",
        challenger=demo.DemoVariant(version=4, weight=10),
        tags={"team": "risk"},
    )
    assert type(args.version) is int and type(args.challenger.weight) is int
    assert args.content_types == ("application/json",), "an argument the caller left out keeps its default"


def test_a_missing_required_input_is_named() -> None:
    provider = package.provider([demo.DemoDeployment])
    with pytest.raises(Exception, match="Missing required input 'keyArn' on 'DemoDeployment'"):
        provider.map_inputs({k: v for k, v in ENGINE_INPUTS.items() if k != "keyArn"}, provider._component_defs["DemoDeployment"])


def test_construct_builds_the_component_the_engine_asks_for() -> None:
    """What `new mlgov.DemoDeployment(...)` in TypeScript makes the provider do, under the offline mocks."""
    provider = package.provider([demo.DemoDeployment])
    states = []

    def program():
        result = provider.construct("canary", demo.TYPE, ENGINE_INPUTS, pulumi.ResourceOptions())
        states.append(result.state)

    plan = offline.run(program, {"aws:region": "eu-west-1"}, stack="unit")
    component = next(r for r in plan.resources if r.name == "canary")
    topic = plan.named("canary-events")
    assert component.type == demo.TYPE and topic.parent == component.urn
    assert topic.inputs["kmsMasterKeyId"] == "arn:aws:kms:eu-west-1:2:key/k"
    assert topic.inputs["tags"] == {"mlgov:stage": "prod", "team": "risk"}
    assert set(states[0]) == {"endpointName", "topicArn", "variantWeights"}


def served_schema(argv: list[str], **popen: Any) -> dict[str, Any]:
    """Start a plugin as `pulumi package add` does, read the port it prints and ask it for its schema."""
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen) as plugin:
        try:
            line = plugin.stdout.readline()
            if not line:
                raise RuntimeError(plugin.stderr.read())
            with grpc.insecure_channel(f"127.0.0.1:{int(line)}") as channel:
                reply = provider_pb2_grpc.ResourceProviderStub(channel).GetSchema(provider_pb2.GetSchemaRequest(), timeout=60)
        finally:
            plugin.kill()
    return json.loads(reply.schema)


def test_the_plugin_serves_its_schema_over_grpc_as_the_cli_asks_for_it() -> None:
    code = "from provider import package; from tests.provider import demo; package.serve([demo.DemoDeployment])"
    env = {**os.environ, "PYTHONPATH": str(package.ROOT)}
    assert served_schema([sys.executable, "-c", code, "127.0.0.1:1"], cwd=package.ROOT, env=env) == demo_schema()


def test_the_schema_command_prints_the_schema_or_names_each_refusal() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert package.main([demo.DemoDeployment], out, err) == 0
    assert (json.loads(out.getvalue()), err.getvalue()) == (demo_schema(), "")
    postponed = types.new_class("Postponed", (pulumi.ComponentResource,))
    postponed.__init__ = lambda self, name, args, opts=None: None
    postponed.__init__.__annotations__ = {"args": "PostponedArgs"}
    out, err = io.StringIO(), io.StringIO()
    assert package.main([demo.DemoDeployment, postponed], out, err) == 1
    assert (out.getvalue(), err.getvalue()) == ("", "mlgov:index:Postponed: AttributeError: 'str' object has no attribute '__mro__'\n")


def test_the_plugin_folder_is_what_the_python_language_host_runs() -> None:
    folder = package.ROOT / "provider"
    assert yaml.safe_load((folder / "PulumiPlugin.yaml").read_text()) == {"runtime": "python"}
    main = (folder / "__main__.py").read_text()
    assert "package.serve(package.load())" in main
    pins = {line.split("==")[0]: line for line in tomllib.loads((package.ROOT / "pyproject.toml").read_text())["project"]["dependencies"]}
    wanted = [line for line in (folder / "requirements.txt").read_text().splitlines() if line and not line.startswith("#")]
    assert wanted and all(pins[line.split("==")[0]] == line for line in wanted), "provider pins differ from pyproject.toml"


def test_the_package_exposes_the_five_components_and_remembers_their_previous_types() -> None:
    components = package.load()
    assert [c.__name__ for c in components] == list(FIVE) == list(package.PREVIOUS_TYPES)
    for component in components:
        assert f'"{package.PREVIOUS_TYPES[component.__name__]}"' in Path(sys.modules[component.__module__].__file__).read_text()


def test_the_analyzer_accepts_the_five_and_the_schema_is_the_committed_one() -> None:
    """`python -m provider.package > provider/schema.json` rewrites it."""
    components = package.load()
    assert package.refusals(components) == {}
    assert package.dump(package.schema(components)) == package.SCHEMA.read_text()


def test_each_component_registers_its_token_and_aliases_its_previous_type() -> None:
    for component in package.load():
        module = sys.modules[component.__module__]
        assert (module.TYPE, module.PREVIOUS_TYPE) == (package.token(component), package.PREVIOUS_TYPES[component.__name__])
    committed = json.loads(package.SCHEMA.read_text())
    assert sorted(committed["resources"]) == sorted(f"mlgov:index:{name}" for name in FIVE)
    assert not committed.get("dependencies"), "the package needs no other provider's schema"


def test_the_hub_outputs_a_member_stack_reads_are_outputs_of_the_central_registry() -> None:
    """So a TypeScript member stack passes `hub.requireOutput(name)` for each field of `StageDeployment`'s `hub`."""
    resources = json.loads(package.SCHEMA.read_text())["resources"]
    registry = resources["mlgov:index:CentralRegistry"]["properties"]
    hub = json.loads(package.SCHEMA.read_text())["types"]["mlgov:index:HubOutputs"]["properties"]
    assert set(hub) == set(hub_outputs.OUTPUT_NAMES.values()) and set(hub) <= set(registry)
    assert resources["mlgov:index:StageDeployment"]["inputProperties"]["hub"]["$ref"] == "#/types/mlgov:index:HubOutputs"


def test_the_shared_stack_exports_every_output_of_the_registry() -> None:
    """The shared stack's outputs come from the component's output annotations (`CentralRegistry.exports()`)."""
    registry = json.loads(package.SCHEMA.read_text())["resources"]["mlgov:index:CentralRegistry"]["properties"]
    plan = offline.plan_stack("shared")
    assert set(plan.outputs) >= set(registry)


STAGE_INPUTS = {
    "useCase": "credit-risk",
    "group": "credit-risk-xgb",
    "version": 3.0,
    "variants": [
        {"name": "v3", "version": 3.0, "role": "champion", "weight": 90.0},
        {"name": "v4", "version": 4.0, "role": "challenger", "weight": 10.0},
    ],
    "stage": "prod",
    "accountId": "444444444444",
    "region": "eu-west-1",
    "hub": {k: v for k, v in HUB.items() if k in hub_outputs.OUTPUT_NAMES.values()},
    "keyArn": "arn:aws:kms:eu-west-1:444444444444:key/local",
}


def test_construct_builds_a_stage_deployment_as_a_typescript_program_asks_for_it() -> None:
    """`new mlgov.StageDeployment(...)` with the README's argument names: the provider builds the dataclasses."""
    provider = package.provider(package.load())
    states = []

    def program():
        result = provider.construct("scoring", "mlgov:index:StageDeployment", STAGE_INPUTS, pulumi.ResourceOptions())
        states.append(result.state)

    plan = offline.run(program, {"aws:region": "eu-west-1"}, stack="unit", account_id="444444444444")
    component = next(r for r in plan.resources if r.name == "scoring")
    assert component.type == "mlgov:index:StageDeployment"
    assert plan.named("scoring-endpoint").inputs["name"] == "mlgov-prod-credit-risk-credit-risk-xgb"
    packages = {r.name: r.inputs["primaryContainer"]["modelPackageName"] for r in plan.by_type("aws:sagemaker/model:Model")}
    hub_registry = f"arn:aws:sagemaker:{HUB['region']}:{HUB['sharedAccountId']}:model-package/credit-risk-xgb"
    assert packages == {"scoring-model-v3": f"{hub_registry}/3", "scoring-model-v4": f"{hub_registry}/4"}
    weights = {v["variantName"]: v["initialVariantWeight"] for v in plan.named("scoring-endpoint-config").inputs["productionVariants"]}
    assert weights == {"v3": 90, "v4": 10}
    assert set(states[0]) == {"endpointName", "endpointArn", "url", "modelPackageArns"}


def typescript_arguments(document: Path) -> set[str]:
    """The property names in the `new mlgov.StageDeployment(...)` call of a document's TypeScript example."""
    text = document.read_text()
    call = text[text.index("new mlgov.StageDeployment("):]
    return set(re.findall(r"\b(\w+):", call[:call.index("\n});")]))


@pytest.mark.parametrize("document", ["README.md", "docs/package.md"])
def test_the_typescript_example_names_the_schemas_arguments(document: str) -> None:
    schema = json.loads(package.SCHEMA.read_text())
    stage = schema["resources"]["mlgov:index:StageDeployment"]
    known = set(stage["inputProperties"]).union(
        schema["types"]["mlgov:index:HubOutputs"]["properties"], schema["types"]["mlgov:index:VariantSpec"]["properties"])
    used = typescript_arguments(package.ROOT / document)
    assert used - known == set() and set(stage["requiredInputs"]) <= used
    assert set(schema["types"]["mlgov:index:HubOutputs"]["properties"]) <= used


def test_the_plugin_entry_point_serves_the_committed_schema_from_any_directory(tmp_path: Path) -> None:
    """The language host runs `python <plugin folder> <engine>` from the caller's project, with no PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    argv = [sys.executable, str(package.ROOT / "provider"), "127.0.0.1:1"]
    assert served_schema(argv, cwd=tmp_path, env=env) == json.loads(package.SCHEMA.read_text())


def test_refusals_name_each_component() -> None:
    refused = types.new_class("Unannotated", (pulumi.ComponentResource,))
    refused.__init__ = lambda self, name, args, opts=None: None
    assert package.refusals([refused, demo.DemoDeployment]) == {
        "Unannotated": "Exception: ComponentResource 'Unannotated' requires an argument named 'args' with a type annotation in its __init__ method"
    }
