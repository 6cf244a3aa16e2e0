"""Run the Pulumi program offline under the SDK's mock engine: no CLI, no plugins, no cloud.

The same harness serves the tests, `make demo`'s plan, the benchmarks and the policy check. The
mocks return what a provider would compute (ids, ARNs, names) so that component outputs flow as
they do in a real `pulumi up`, and they refuse any invoke they do not know instead of returning
None silently.
"""
from __future__ import annotations

import gc
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import pulumi
import yaml
from pulumi.runtime import mocks as _mocks
from pulumi.runtime import resource as _resource
from pulumi.runtime import rpc
from pulumi.runtime.proto import source_pb2

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "mlgov"
SAMPLE_REGISTRY = Path(__file__).resolve().parent / "sample_registry.json"
"""What the sample stacks' hub registry shows of the versions they pin (the gate's answers for `make plan`)."""


class UnmockedInvokeError(RuntimeError):
    """The program called a provider function the offline engine does not know."""


class UnknownStackReferenceError(RuntimeError):
    """The program read a stack the offline engine has no outputs for."""


STACK_REFERENCE = "pulumi:pulumi:StackReference"
ROOT_STACK = "pulumi:pulumi:Stack"


@dataclass(frozen=True)
class DeclaredResource:
    """One resource as the program declared it: what `pulumi up` would send to the provider."""

    urn: str
    type: str
    name: str
    parent: str | None
    inputs: Mapping[str, Any]
    custom: bool
    aliases: tuple[str, ...] = ()
    """URNs this resource was declared under before (its `pulumi.Alias`es, resolved as the engine does)."""
    protect: bool = False
    """`pulumi up` refuses to delete it."""
    retain_on_delete: bool = False
    """Leaving the stack, it leaves the state only: the provider never deletes it."""
    dependencies: tuple[str, ...] = ()
    """URNs of the resources it waits for (those its inputs come from, and its `depends_on`)."""

    @property
    def is_component(self) -> bool:
        return not self.custom


@dataclass
class Plan:
    stack: str
    resources: list[DeclaredResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def by_type(self, type_: str) -> list[DeclaredResource]:
        return [r for r in self.resources if r.type == type_]

    def named(self, name: str) -> DeclaredResource:
        """The resource named `name`; a component sharing the name with the resource it wraps gives way to it."""
        matches = [r for r in self.resources if r.name == name]
        if len(matches) > 1:
            matches = [r for r in matches if r.custom]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r}")
        return matches[0]

    def children(self, parent: DeclaredResource | None) -> list[DeclaredResource]:
        urn = parent.urn if parent else None
        return [r for r in self.resources if r.parent == urn]

    @property
    def custom_resources(self) -> list[DeclaredResource]:
        return [r for r in self.resources if r.custom]


def _service(type_: str) -> str:
    return type_.split(":")[1].split("/")[0]


ARNS: dict[str, str] = {
    "aws:dynamodb/table:Table": "arn:aws:dynamodb:{region}:{account}:table/{name}",
    "aws:cloudwatch/eventBus:EventBus": "arn:aws:events:{region}:{account}:event-bus/{name}",
    "aws:ram/resourceShare:ResourceShare": "arn:aws:ram:{region}:{account}:resource-share/{resource}",
    "aws:ram/permission:Permission": "arn:aws:ram:{region}:{account}:permission/{name}",
    "aws:ecr/repository:Repository": "arn:aws:ecr:{region}:{account}:repository/{name}",
    "aws:iam/role:Role": "arn:aws:iam::{account}:role/{name}",
    "aws:lambda/function:Function": "arn:aws:lambda:{region}:{account}:function:{name}",
    "aws:sqs/queue:Queue": "arn:aws:sqs:{region}:{account}:{name}",
    "aws:cloudwatch/logGroup:LogGroup": "arn:aws:logs:{region}:{account}:log-group:{name}",
}
"""The ARN a provider returns for a resource named `name` (`resource`: its Pulumi name), where it has no other computed id."""


class OfflineMocks(pulumi.runtime.Mocks):
    """Computes the outputs a provider would return, from the inputs and the target account."""

    def __init__(
        self,
        account_id: str,
        region: str,
        invokes: Mapping[str, Callable[[dict], dict]] | None = None,
        stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
    ):
        self.account_id = account_id
        self.region = region
        self.stack_outputs = {k: dict(v) for k, v in (stack_outputs or {}).items()}
        self.invokes = dict(invokes or {})
        self.invokes.setdefault("aws:index/getCallerIdentity:getCallerIdentity", self._caller_identity)
        self.invokes.setdefault("aws:index/getRegion:getRegion", lambda _args: {"name": self.region, "region": self.region, "id": self.region})
        self.invokes.setdefault("aws:index/getPartition:getPartition", lambda _args: {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"})

    def _caller_identity(self, _args: dict) -> dict:
        return {"accountId": self.account_id, "arn": f"arn:aws:iam::{self.account_id}:root", "userId": self.account_id, "id": self.account_id}

    def _read_stack_outputs(self, args: dict) -> dict:
        """The engine's built-in `pulumi:pulumi:readStackOutputs` invoke (what a StackReference reads)."""
        stack = args.get("name")
        if stack not in self.stack_outputs:
            known = ", ".join(sorted(self.stack_outputs)) or "none"
            raise UnknownStackReferenceError(f"the offline engine has no outputs for stack {stack!r} (known: {known})")
        return {"name": stack, "outputs": self.stack_outputs[stack], "secretOutputNames": []}

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "pulumi:pulumi:readStackOutputs":
            return self._read_stack_outputs(args.args), []
        handler = self.invokes.get(args.token)
        if handler is None:
            raise UnmockedInvokeError(f"the offline engine has no mock for invoke {args.token}; add one to mlgov/offline.py")
        return handler(args.args), []

    def _stack_reference(self, args: pulumi.runtime.MockResourceArgs):
        """A `pulumi.StackReference`: the engine answers with the referenced stack's outputs."""
        stack = args.inputs.get("name") or args.name
        if stack not in self.stack_outputs:
            known = ", ".join(sorted(self.stack_outputs)) or "none"
            raise UnknownStackReferenceError(f"the offline engine has no outputs for stack {stack!r} (known: {known})")
        return stack, {"name": stack, "outputs": self.stack_outputs[stack], "secretOutputNames": []}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if args.typ == STACK_REFERENCE:
            return self._stack_reference(args)
        inputs = dict(args.inputs)
        name = inputs.get("name") or args.name
        state = {**inputs, "name": name}
        service = _service(args.typ)
        resource = args.typ.split(":")[-1]
        kebab = "".join("-" + c.lower() if c.isupper() else c for c in resource).lstrip("-")
        physical = name
        if args.typ == "aws:sagemaker/modelPackageGroup:ModelPackageGroup":
            physical = inputs["modelPackageGroupName"]
            state["arn"] = f"arn:aws:sagemaker:{self.region}:{self.account_id}:model-package-group/{physical.lower()}"
        elif args.typ == "aws:s3/bucket:Bucket":
            physical = inputs.get("bucket") or f"{args.name}-{self.account_id}"
            state.update(bucket=physical, arn=f"arn:aws:s3:::{physical}")
        elif args.typ == "aws:kms/key:Key":
            physical = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.account_id}/{args.name}"))
            state.update(arn=f"arn:aws:kms:{self.region}:{self.account_id}:key/{physical}", keyId=physical)
        elif args.typ in ARNS:
            state["arn"] = ARNS[args.typ].format(region=self.region, account=self.account_id, name=name, resource=args.name)
            if args.typ == "aws:dynamodb/table:Table":
                state["streamArn"] = f"{state['arn']}/stream/2026-01-01T00:00:00.000"
            elif args.typ == "aws:ecr/repository:Repository":
                state["repositoryUrl"] = f"{self.account_id}.dkr.ecr.{self.region}.amazonaws.com/{name}"
            elif args.typ == "aws:lambda/function:Function":
                state["invokeArn"] = f"arn:aws:apigateway:{self.region}:lambda:path/2015-03-31/functions/{state['arn']}/invocations"
            elif args.typ == "aws:sqs/queue:Queue":
                state["url"] = f"https://sqs.{self.region}.amazonaws.com/{self.account_id}/{name}"
        elif args.typ == "aws:cloudwatch/eventRule:EventRule":
            bus = inputs.get("eventBusName")
            state["arn"] = f"arn:aws:events:{self.region}:{self.account_id}:rule/" + (f"{bus}/{name}" if bus and bus != "default" else name)
        elif args.typ == "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer":
            physical = inputs["trackingServerName"]
            state["arn"] = f"arn:aws:sagemaker:{self.region}:{self.account_id}:mlflow-tracking-server/{physical}"
            state["trackingServerUrl"] = f"https://t-{physical}.{self.region}.experiments.sagemaker.aws"
        elif args.typ == "aws:apigatewayv2/api:Api":
            physical = uuid.uuid5(uuid.NAMESPACE_URL, f"{self.account_id}/{args.name}").hex[:10]
            state["executionArn"] = f"arn:aws:execute-api:{self.region}:{self.account_id}:{physical}"
            state["apiEndpoint"] = f"https://{physical}.execute-api.{self.region}.amazonaws.com"
            state["arn"] = f"arn:aws:apigateway:{self.region}::/apis/{physical}"
        elif args.typ == "aws:apigateway/restApi:RestApi":
            physical = uuid.uuid5(uuid.NAMESPACE_URL, f"{self.account_id}/{args.name}").hex[:10]
            state.update(executionArn=f"arn:aws:execute-api:{self.region}:{self.account_id}:{physical}",
                         rootResourceId=f"{physical}-root", arn=f"arn:aws:apigateway:{self.region}::/restapis/{physical}")
        elif args.typ == "aws:apigateway/stage:Stage":
            state["invokeUrl"] = f"https://{inputs.get('restApi')}.execute-api.{self.region}.amazonaws.com/{inputs.get('stageName')}"
        else:
            state.setdefault("arn", f"arn:aws:{service}:{self.region}:{self.account_id}:{kebab}/{name}")
        return f"{physical}-id" if physical == name else physical, state


def registry_state(path: Path = SAMPLE_REGISTRY) -> dict[str, Any]:
    """A registry state file: `{"packages": {"<group>/<version>": {"ModelApprovalStatus": ..., "ModelLifeCycle": {...}}}}`."""
    return json.loads(Path(path).read_text())


def registry_reader(state: Mapping[str, Any]) -> Callable[[Any, str], dict[str, Any]]:
    """The promotion gate's reads answered from `state` (no network): a version of another region or account is unknown."""
    from mlgov.gate_check import package_coordinates

    packages = {k.lower(): v for k, v in (state.get("packages") or {}).items()}

    def read(arns: Any, _region: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for arn in arns:
            where = package_coordinates(arn)
            found = None
            if where is not None and where[0] == state.get("region", where[0]) and where[1] == state.get("account", where[1]):
                found = packages.get(f"{where[2]}/{where[3]}")
            out[arn] = None if found is None else {"ModelPackageArn": arn, **found}
        return out

    return read


def urn(stack: str, parent: str | None, type_: str, name: str, project: str = PROJECT) -> str:
    """A URN as the engine builds it: the parent's qualified type chain, except the root stack's, then `$type`."""
    qualified = type_
    if parent:
        parent_type = parent.split("::")[2]
        if parent_type != ROOT_STACK:
            qualified = f"{parent_type}${type_}"
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"



class _RecordingMonitor(_mocks.MockMonitor):
    """The SDK's mock monitor, with the engine's URNs, also keeping each registration's parent, kind and aliases."""

    def __init__(self, mocks: pulumi.runtime.Mocks, stack: str):
        super().__init__(mocks)
        self.stack = stack
        self.declared: list[DeclaredResource] = []

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        return urn(self.stack, parent or None, type_, name)

    def _alias_urns(self, request) -> tuple[str, ...]:
        out = []
        for alias in request.aliases:
            if alias.WhichOneof("alias") == "urn":
                out.append(alias.urn)
                continue
            spec = alias.spec
            parent = None if spec.noParent else (spec.parentUrn or request.parent or None)
            out.append(urn(spec.stack or self.stack, parent, spec.type or request.type, spec.name or request.name,
                           spec.project or PROJECT))
        return tuple(dict.fromkeys(out))

    def RegisterResource(self, request):  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        if request.type != ROOT_STACK:
            inputs = rpc.deserialize_properties(request.object)
            self.declared.append(
                DeclaredResource(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    parent=request.parent or None,
                    inputs=inputs,
                    custom=bool(request.custom),
                    aliases=self._alias_urns(request),
                    protect=bool(request.protect),
                    retain_on_delete=bool(request.retainOnDelete),
                    dependencies=tuple(request.dependencies),
                )
            )
        return response


def stack_file(stack: str, root: Path = ROOT) -> Path:
    return root / f"Pulumi.{stack}.yaml"


def read_stack_config(stack: str, root: Path = ROOT) -> dict[str, Any]:
    """The `config:` block of `Pulumi.<stack>.yaml`, keys as Pulumi names them (`mlgov:useCases`)."""
    path = stack_file(stack, root)
    if not path.exists():
        raise FileNotFoundError(f"no stack file {path.name}: stacks are shared, dev, test and prod")
    data = yaml.safe_load(path.read_text()) or {}
    return dict(data.get("config") or {})


def as_engine_config(config: Mapping[str, Any]) -> dict[str, str]:
    """Config values the way the engine hands them to a Python program: strings, objects as JSON."""
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}


def run(
    program: Callable[[], Any],
    config: Mapping[str, Any],
    *,
    stack: str,
    account_id: str = "111111111111",
    region: str | None = None,
    invokes: Mapping[str, Callable[[dict], dict]] | None = None,
    stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
    registry: Mapping[str, Any] | None = None,
) -> Plan:
    """Run `program` (a function that declares resources and returns its exports) under mocks.

    `stack_outputs` maps a stack name (as given to `pulumi.StackReference`) to the outputs it answers with;
    `registry` is the hub registry state the promotion gate reads (default: `SAMPLE_REGISTRY`). When the
    program fails, the error carries `declared`: what it had declared by then.
    """
    from mlgov import program as _program
    region = region or str(config.get("aws:region", "eu-west-1"))
    mocks = OfflineMocks(account_id, region, invokes, stack_outputs)
    monitor = _RecordingMonitor(mocks, stack)
    pulumi.runtime.settings.set_root_resource(None)  # else set_mocks keeps the previous run's Stack as root
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(as_engine_config(config), [])
    plan = Plan(stack=stack)

    @_mocks.test
    def _run():
        result = program()
        exports = dict(result) if isinstance(result, Mapping) else {}
        return pulumi.Output.from_input(exports).apply(plan.outputs.update)

    # The loaded provider SDK is a large heap the collector would walk again and again while the program
    # allocates its Outputs: the heap is frozen and collection waits until the run is over (a plan is short-lived;
    # 200 use cases plan in about half the time).
    gc.freeze()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    stack_trace, _resource._get_stack_trace = _resource._get_stack_trace, _no_stack_trace
    reading = _program.REGISTRY.set(registry_reader(registry_state() if registry is None else registry))
    try:
        _run()
    except Exception as exc:  # noqa: BLE001 - re-raised, unwrapped when a config error is the cause
        cause = _config_error_in(exc)
        failure = cause if cause is not None else exc
        failure.declared = tuple(monitor.declared)  # type: ignore[attr-defined]
        if cause is not None and cause is not exc:
            raise cause from exc
        raise
    finally:
        _program.REGISTRY.reset(reading)
        pulumi.runtime.settings.set_root_resource(None)  # else the stack keeps this run's resources until the next run
        gc.collect()  # this run's garbage only (what was there before is frozen), while the run's context is alive
        gc.unfreeze()
        if gc_was_enabled:
            gc.enable()
        _resource._get_stack_trace = stack_trace
    plan.resources = list(monitor.declared)
    return plan


def _no_stack_trace() -> source_pb2.StackTrace:
    """Where in the program each resource was declared: only the engine's display uses it, and it is most of the
    SDK's cost per resource (a full `traceback.extract_stack`), so offline runs send none."""
    return source_pb2.StackTrace()


def account_for(config: Mapping[str, Any]) -> str:
    """The account a stack deploys into, from its own `mlgov:organization` and `mlgov:accountRole`."""
    from mlgov.program import namespace_config

    ns = namespace_config(as_engine_config(config))
    try:
        accounts = ns["organization"]["accounts"]
        value = accounts[ns["accountRole"]]
    except (KeyError, TypeError):
        return "111111111111"
    return value if isinstance(value, str) else str(value[0])


def plan_stack(
    stack: str,
    config: Mapping[str, Any] | None = None,
    root: Path = ROOT,
    stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
    registry: Mapping[str, Any] | None = None,
) -> Plan:
    """The offline plan of one stack from its `Pulumi.<stack>.yaml` (or the config given).

    A member stack's `mlgov:hubStack` reference answers with the outputs of the hub's own offline plan
    (`Pulumi.<last part of hubStack>.yaml` under `root`) unless `stack_outputs` gives them; the promotion
    gate reads `registry` (default: the sample registry, `SAMPLE_REGISTRY`).
    """
    from mlgov.program import main

    config = read_stack_config(stack, root) if config is None else config
    if stack_outputs is None:
        stack_outputs = referenced_stack_outputs(config, root)
    return run(main, config, stack=stack, account_id=account_for(config), stack_outputs=stack_outputs, registry=registry)


def _config_error_in(exc: BaseException) -> BaseException | None:
    """The `ConfigError` a Pulumi error wraps ("While processing resource ... has risen: ..."), if any."""
    from mlgov.config import ConfigError

    seen: set[int] = set()
    node: BaseException | None = exc
    while node is not None and id(node) not in seen:
        if isinstance(node, ConfigError):
            return node
        seen.add(id(node))
        node = node.__cause__ or node.__context__
    return None


_HUB_OUTPUTS: dict[tuple[str, str], dict[str, Any]] = {}


def hub_outputs(hub_stack: str, root: Path = ROOT) -> dict[str, Any]:
    """The outputs of the stack `hub_stack` (`org/project/stack`) from its own offline plan, cached per file content."""
    stack = hub_stack.rsplit("/", 1)[-1]
    path = stack_file(stack, root)
    if not path.exists():
        raise UnknownStackReferenceError(f"hubStack {hub_stack!r}: no stack file {path.name} to plan it from")
    key = (str(path), path.read_text())
    if key not in _HUB_OUTPUTS:
        _HUB_OUTPUTS[key] = dict(plan_stack(stack, root=root, stack_outputs={}).outputs)
    return dict(_HUB_OUTPUTS[key])


def referenced_stack_outputs(config: Mapping[str, Any], root: Path = ROOT) -> dict[str, dict[str, Any]]:
    """`{hubStack: outputs}` for a member stack's config; empty for the shared stack."""
    hub_stack = config.get(f"{PROJECT}:hubStack")
    if not isinstance(hub_stack, str) or not hub_stack:
        return {}
    return {hub_stack: hub_outputs(hub_stack, root)}
