"""Compute: IAM policies grant named actions on named resources; Lambda functions are current, traced and dead-lettered."""
from __future__ import annotations

from typing import Any, Iterator, Optional

from .common import (
    EVENT_TARGET,
    IAM_ROLE,
    IDENTITY_POLICY_TYPES,
    KMS_KEY,
    LAMBDA_EVENT_INVOKE_CONFIG,
    LAMBDA_FUNCTION,
    LAMBDA_PERMISSION,
    RESOURCE_POLICY_TYPES,
    SAGEMAKER_MODEL,
    actions,
    allow_statements,
    as_list,
    by_type,
    field,
    is_true,
    join_key,
    prop,
    resource_rule,
    resources,
    setting_rule,
    sid,
    stack_rule,
)

POLICY_CARRIERS = (*IDENTITY_POLICY_TYPES, *RESOURCE_POLICY_TYPES, KMS_KEY, IAM_ROLE)
# Services that invoke a Lambda function asynchronously (the function's own retries, then its DLQ/destination).
ASYNC_INVOKERS = frozenset({
    "events.amazonaws.com", "sns.amazonaws.com", "s3.amazonaws.com", "scheduler.amazonaws.com",
    "ses.amazonaws.com", "iot.amazonaws.com", "logs.amazonaws.com", "config.amazonaws.com",
})


@resource_rule("iam-no-wildcard-action",
               "No Allow statement in any IAM, key or resource policy grants a wildcard action.", POLICY_CARRIERS)
def iam_no_wildcard_action(props, cfg, args) -> Iterator[str]:
    for label, i, statement in allow_statements(args.resource_type, props):
        if "NotAction" in statement:
            yield (f"{args.name} {label} {sid(statement, i)} allows NotAction (everything but a list): "
                   "name the actions it grants in Action")
        wild = [a for a in actions(statement) if "*" in a]
        if wild:
            yield (f"{args.name} {label} {sid(statement, i)} allows {', '.join(wild)}: replace the wildcard with the "
                   "actions the principal calls")


@resource_rule("iam-scoped-resources",
               "Allow statements name their resources; \"*\" only for actions AWS cannot scope (a configurable allow-list).",
               (*IDENTITY_POLICY_TYPES, *RESOURCE_POLICY_TYPES, IAM_ROLE), config=("unscopedActions",))
def iam_scoped_resources(props, cfg, args) -> Iterator[str]:
    unscoped = set(as_list(cfg["unscopedActions"]))
    # In a key policy "Resource": "*" means this key; a trust policy names no resource.
    for label, i, statement in allow_statements(args.resource_type, props, kinds=("identity", "resource")):
        if "NotResource" in statement:
            yield f"{args.name} {label} {sid(statement, i)} uses NotResource: name the resources in Resource"
            continue
        if "*" in resources(statement):
            scoped = sorted(a for a in actions(statement) if a not in unscoped)
            if scoped:
                yield (f"{args.name} {label} {sid(statement, i)} grants {', '.join(scoped)} on every resource (\"*\"): "
                       "scope Resource to the ARNs it needs (only actions without resource-level permissions, "
                       "e.g. xray:PutTraceSegments, may use \"*\")")


@resource_rule("lambda-supported-python-runtime", "Lambda functions run a supported Python runtime.", LAMBDA_FUNCTION,
               config=("allowedRuntimes",))
def lambda_supported_python_runtime(props, cfg, args) -> Iterator[str]:
    if props.get("packageType") == "Image":
        args.not_applicable("container image functions bring their own runtime")
    runtime = props.get("runtime")
    allowed = [str(r) for r in as_list(cfg["allowedRuntimes"])]
    if runtime not in allowed:
        yield f"Lambda function {props.get('name', args.name)} runs {runtime!r}: use a supported Python runtime ({', '.join(allowed)})"


lambda_tracing = setting_rule(
    "lambda-tracing", "Lambda functions are traced with X-Ray (active tracing).", LAMBDA_FUNCTION,
    ("tracingConfig", "mode"), lambda mode: mode == "Active",
    "Lambda function {name} is not traced: set tracing_config mode 'Active' "
    "(and allow xray:PutTraceSegments, xray:PutTelemetryRecords in its role)",
)


def _function_keys(function: Any) -> set[str]:
    """Ways another resource may name a function: its name, its ARN (and the resource name, as the mocks name it)."""
    keys = {function.name}
    for key in ("name", "arn"):
        value = join_key(function, key)
        if isinstance(value, str) and value:
            keys.add(value)
    return keys


@stack_rule("lambda-async-dead-letter", "Lambda functions invoked asynchronously have a dead-letter target.")
def lambda_async_dead_letter(resources_, cfg) -> Iterator[tuple[str, Optional[str]]]:
    functions = by_type(resources_, LAMBDA_FUNCTION)
    async_invoked: dict[str, str] = {}
    for permission in by_type(resources_, LAMBDA_PERMISSION):
        if prop(permission, "principal") in ASYNC_INVOKERS:
            async_invoked[str(join_key(permission, "function"))] = str(prop(permission, "principal"))
    for target in by_type(resources_, EVENT_TARGET):
        arn = join_key(target, "arn")
        if isinstance(arn, str) and ":lambda:" in arn:
            async_invoked.setdefault(arn, "events.amazonaws.com")
    on_failure: set[str] = set()
    for conf in by_type(resources_, LAMBDA_EVENT_INVOKE_CONFIG):
        if field(prop(conf, "destinationConfig"), "onFailure", "destination"):
            on_failure.add(str(join_key(conf, "functionName")))
    for function in functions:
        keys = _function_keys(function)
        invokers = {async_invoked[k] for k in keys if k in async_invoked}
        if not invokers:
            continue
        if field(prop(function, "deadLetterConfig"), "targetArn") or keys & on_failure:
            continue
        yield (f"Lambda function {prop(function, 'name', function.name)} is invoked asynchronously by {', '.join(sorted(invokers))} "
               "and has no dead-letter target: set dead_letter_config.target_arn to an encrypted SQS queue (or an "
               "on-failure destination), so failed events are kept", function.urn)


lambda_reserved_concurrency = setting_rule(
    "lambda-reserved-concurrency", "Lambda functions have a reserved-concurrency limit.", LAMBDA_FUNCTION,
    ("reservedConcurrentExecutions",), lambda n: isinstance(n, (int, float)) and not isinstance(n, bool) and n > 0,
    "Lambda function {name} has no concurrency limit: set reserved_concurrent_executions above 0 (FunctionArgs "
    "reserved_concurrency, mlgov:lambdaConcurrency)",
)


@resource_rule("lambda-in-vpc", "With mlgov:network declared, every Lambda function runs in private subnets.",
               LAMBDA_FUNCTION, config=("lambdaNetwork",))
def lambda_in_vpc(props, cfg, args) -> Iterator[str]:
    if not is_true(cfg["lambdaNetwork"]):
        args.not_applicable("the stack declares no mlgov:network")
    vpc = props.get("vpcConfig")
    if not (as_list(field(vpc, "subnetIds")) and as_list(field(vpc, "securityGroupIds"))):
        yield (f"Lambda function {props.get('name', args.name)} runs outside the stack's network: set vpc_config with "
               "the subnet_ids and security_group_ids of mlgov:network (FunctionArgs network)")


sagemaker_model_network_isolation = setting_rule(
    "sagemaker-model-network-isolation", "SageMaker model containers run network-isolated.", SAGEMAKER_MODEL,
    ("enableNetworkIsolation",), is_true,
    "SageMaker model {name} can reach the network from its container: set enable_network_isolation=True "
    "(a model from the registry needs no outbound calls)",
    named_by=None,
)


POLICIES = [
    iam_no_wildcard_action,
    iam_scoped_resources,
    lambda_supported_python_runtime,
    lambda_tracing,
    lambda_async_dead_letter,
    lambda_reserved_concurrency,
    lambda_in_vpc,
    sagemaker_model_network_isolation,
]
