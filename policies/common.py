"""What the rules share: resource type tokens, policy-document reading, tags, config with defaults.

Everything here works on what CrossGuard hands a policy: `props` may be a plain dict (the offline check)
or the pack's unknown-checking proxies (`collections.abc.Mapping` / `Sequence`, not `dict` / `list`),
so nothing tests for `dict` or `list` directly.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Callable, Iterable, Iterator, Optional

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from .guidance import GUIDANCE, url

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY

# --- resource type tokens (pulumi-aws 7) ---
MODEL_PACKAGE_GROUP = "aws:sagemaker/modelPackageGroup:ModelPackageGroup"
SAGEMAKER_MODEL = "aws:sagemaker/model:Model"
ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
TABLE_ITEM = "aws:dynamodb/tableItem:TableItem"
TABLE = "aws:dynamodb/table:Table"
RESOURCE_SHARE = "aws:ram/resourceShare:ResourceShare"
RESOURCE_ASSOCIATION = "aws:ram/resourceAssociation:ResourceAssociation"
PRINCIPAL_ASSOCIATION = "aws:ram/principalAssociation:PrincipalAssociation"
RAM_PERMISSION = "aws:ram/permission:Permission"
BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
BUCKET_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_VERSIONING = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
BUCKET_ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKET_LOGGING = ("aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2")
KMS_KEY = "aws:kms/key:Key"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
SQS_QUEUE = "aws:sqs/queue:Queue"
SQS_QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
EVENT_BUS_POLICY = "aws:cloudwatch/eventBusPolicy:EventBusPolicy"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
SNS_TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
IAM_ROLE = "aws:iam/role:Role"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_POLICY = "aws:iam/policy:Policy"
IAM_USER_POLICY = "aws:iam/userPolicy:UserPolicy"
IAM_GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
LAMBDA_FUNCTION = "aws:lambda/function:Function"
LAMBDA_PERMISSION = "aws:lambda/permission:Permission"
LAMBDA_EVENT_INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
HTTP_ROUTE = "aws:apigatewayv2/route:Route"
HTTP_STAGE = "aws:apigatewayv2/stage:Stage"
REST_API = "aws:apigateway/restApi:RestApi"
REST_API_POLICY = "aws:apigateway/restApiPolicy:RestApiPolicy"
REST_METHOD = "aws:apigateway/method:Method"
REST_STAGE = "aws:apigateway/stage:Stage"
REST_METHOD_SETTINGS = "aws:apigateway/methodSettings:MethodSettings"

# --- the governance vocabulary (kept in step with the components by tests/policies/test_pack.py) ---
USE_CASE_TAG = "mlgov:use-case"
RISK_TIER_TAG = "mlgov:risk-tier"
OWNER_TAG = "mlgov:owner"
MODEL_GROUP_TAG = "mlgov:model-group"
MODEL_VERSION_TAG = "mlgov:model-version"
STAGE_TAG = "mlgov:stage"
RISK_TIERS = ("high", "limited", "minimal")
PROHIBITED_RISK_TIER = "unacceptable"
# Marks a bucket receiving S3 server access logs: it does not log itself, and is encrypted with SSE-S3 (AWS documents
# SSE-S3 as the default encryption of a server access logging destination).
PURPOSE_TAG = "mlgov:purpose"
ACCESS_LOGS_PURPOSE = "s3-server-access-logs"

REGISTER_PERMISSION = "AWSRAMPermissionSageMakerModelPackageGroupAllowRegister"
DEPLOY_PERMISSION = "AWSRAMPermissionSageMakerModelPackageGroupAllowDeploy"
MODEL_PACKAGE_GROUP_RESOURCE_TYPE = "sagemaker:ModelPackageGroup"
# What a custom RAM permission on a model package group may grant, and the subset that only reads/deploys.
MODEL_PACKAGE_GROUP_ACTIONS = frozenset({
    "sagemaker:DescribeModelPackageGroup", "sagemaker:ListModelPackages", "sagemaker:DescribeModelPackage",
    "sagemaker:CreateModelPackage", "sagemaker:UpdateModelPackage", "sagemaker:CreateModel", "sagemaker:ListTags",
})
REGISTER_ACTIONS = frozenset({"sagemaker:CreateModelPackage", "sagemaker:UpdateModelPackage"})
DEPLOY_ACTIONS = MODEL_PACKAGE_GROUP_ACTIONS - REGISTER_ACTIONS
# Of those, what writes a version's approval status and lifecycle stage: the hub's governance API alone, never a share.
GOVERNANCE_ONLY_ACTIONS = frozenset({"sagemaker:UpdateModelPackage"})

# --- policy config: one vocabulary for every rule, each rule declaring the keys it reads ---
DEFAULTS: dict[str, Any] = {
    "organizationId": "",
    "sharedAccount": "",
    "devAccounts": [],
    "testAccounts": [],
    "prodAccounts": [],
    "highRiskUseCases": [],
    "requiredGroupTags": [USE_CASE_TAG, RISK_TIER_TAG, OWNER_TAG],
    "requiredDeploymentTags": [USE_CASE_TAG, MODEL_GROUP_TAG, MODEL_VERSION_TAG, STAGE_TAG],
    "managedPermissions": [REGISTER_PERMISSION, DEPLOY_PERMISSION],
    "allowedRuntimes": ["python3.11", "python3.12", "python3.13"],
    # Actions AWS only authorizes with "Resource": "*" (no resource-level permissions).
    "unscopedActions": [
        "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets",
        "ecr:GetAuthorizationToken", "cloudwatch:GetMetricData", "cloudwatch:PutMetricData",
        "sts:GetCallerIdentity", "logs:DescribeLogGroups", "sagemaker:ListModelPackageGroups",
        "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
    ],
    "minLogRetentionDays": 90,
    "lambdaNetwork": False,
}
SCHEMAS: dict[str, dict[str, Any]] = {
    "organizationId": {"type": "string", "description": "AWS Organizations id (o-...)"},
    "sharedAccount": {"type": "string", "description": "the hub (shared services) account id"},
    "devAccounts": {"type": "array", "items": {"type": "string"}},
    "testAccounts": {"type": "array", "items": {"type": "string"}},
    "prodAccounts": {"type": "array", "items": {"type": "string"}},
    "highRiskUseCases": {"type": "array", "items": {"type": "string"}, "description": "use case ids of risk tier high"},
    "requiredGroupTags": {"type": "array", "items": {"type": "string"}},
    "requiredDeploymentTags": {"type": "array", "items": {"type": "string"}},
    "managedPermissions": {"type": "array", "items": {"type": "string"}},
    "allowedRuntimes": {"type": "array", "items": {"type": "string"}},
    "unscopedActions": {"type": "array", "items": {"type": "string"}},
    "minLogRetentionDays": {"type": "integer", "minimum": 1},
    "lambdaNetwork": {"type": "boolean", "description": "the stack declares mlgov:network: every Lambda runs in its subnets"},
}


def schema(*keys: str) -> PolicyConfigSchema:
    """The config schema of a rule reading `keys`, each with its default."""
    return PolicyConfigSchema(properties={k: {**SCHEMAS[k], "default": DEFAULTS[k]} for k in keys})


def settings(args: ResourceValidationArgs | StackValidationArgs) -> dict[str, Any]:
    """The rule's config over the defaults (the CLI fills schema defaults too; the offline check may not)."""
    return {**DEFAULTS, **dict(args.get_config() or {})}


# The config keys of a rule that needs to know the organization (see `org_accounts`).
ORGANIZATION_CONFIG = ("organizationId", "sharedAccount", "devAccounts", "testAccounts", "prodAccounts")


def org_accounts(cfg: Mapping[str, Any]) -> set[str]:
    out = {str(a) for role in ("devAccounts", "testAccounts", "prodAccounts") for a in as_list(cfg.get(role))}
    if cfg.get("sharedAccount"):
        out.add(str(cfg["sharedAccount"]))
    return out


# --- small readers ---

def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or isinstance(value, Mapping):
        return [value]
    if isinstance(value, Sequence):
        return list(value)
    return [value]


def tags(props: Mapping[str, Any]) -> Mapping[str, Any]:
    value = props.get("tags")
    return value if isinstance(value, Mapping) else {}


def missing_tags(props: Mapping[str, Any], required: Any) -> list[str]:
    """The `required` tag keys a resource lacks or leaves blank."""
    present = tags(props)
    return [k for k in as_list(required) if not str(present.get(k, "")).strip()]


def field(value: Any, *path: str) -> Any:
    """The value at `path` inside nested objects (`field(props, "tracingConfig", "mode")`), None when a step is
    not an object: a setting left out and a setting of the wrong shape both read as not set."""
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


AWS_MANAGED_KEY_ALIASES = ("alias/aws/",)


def customer_key(value: Any) -> bool:
    """A KMS key id/ARN/alias of a customer-managed key: anything named but an `alias/aws/...` AWS-managed key."""
    return isinstance(value, str) and bool(value) and not value.startswith(AWS_MANAGED_KEY_ALIASES)


def is_true(value: Any) -> bool:
    """Exactly True: the rules never take 1 or "true" for a flag that is set."""
    return value is True


def is_false(value: Any) -> bool:
    return value is False


def ids(cfg: Mapping[str, Any], key: str) -> set[str]:
    """A config list (account ids, permission names) as a set of strings."""
    return {str(a) for a in as_list(cfg[key])}


def document(value: Any) -> Optional[Mapping[str, Any]]:
    """A policy document from a JSON string or an object; None when there is none or it is not JSON."""
    if value is None or value == "":
        return None
    if isinstance(value, Mapping):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return None
        return parsed if isinstance(parsed, Mapping) else None
    return None


def statements(doc: Optional[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    if not doc:
        return []
    return [s for s in as_list(doc.get("Statement")) if isinstance(s, Mapping)]


def sid(statement: Mapping[str, Any], index: int) -> str:
    return str(statement.get("Sid") or f"statement {index}")


def actions(statement: Mapping[str, Any]) -> list[str]:
    return [str(a) for a in as_list(statement.get("Action"))]


def resources(statement: Mapping[str, Any]) -> list[str]:
    return [str(r) for r in as_list(statement.get("Resource"))]


def is_allow(statement: Mapping[str, Any]) -> bool:
    return statement.get("Effect") == "Allow"


# Where each resource type keeps its policy documents: (label, property) pairs.
IDENTITY_POLICY_TYPES = (IAM_ROLE_POLICY, IAM_POLICY, IAM_USER_POLICY, IAM_GROUP_POLICY)
RESOURCE_POLICY_TYPES = (BUCKET_POLICY, SQS_QUEUE_POLICY, EVENT_BUS_POLICY, SNS_TOPIC_POLICY, REST_API, REST_API_POLICY)


def policy_documents(resource_type: str, props: Mapping[str, Any]) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(kind, label, document) of every policy document a resource carries.

    kind: `identity` (what a principal may do), `resource` (who may use this resource), `key` (a KMS key
    policy, where "Resource": "*" means this key) or `trust` (a role's assume-role policy).
    """
    if resource_type in IDENTITY_POLICY_TYPES:
        doc = document(props.get("policy"))
        if doc is not None:
            yield "identity", "policy", doc
    elif resource_type in RESOURCE_POLICY_TYPES:
        doc = document(props.get("policy"))
        if doc is not None:
            yield "resource", "policy", doc
    elif resource_type == KMS_KEY:
        doc = document(props.get("policy"))
        if doc is not None:
            yield "key", "policy", doc
    elif resource_type == IAM_ROLE:
        doc = document(props.get("assumeRolePolicy"))
        if doc is not None:
            yield "trust", "assumeRolePolicy", doc
        for i, inline in enumerate(as_list(props.get("inlinePolicies"))):
            if isinstance(inline, Mapping):
                doc = document(inline.get("policy"))
                if doc is not None:
                    yield "identity", f"inlinePolicies[{inline.get('name') or i}]", doc


def allow_statements(
    resource_type: str, props: Mapping[str, Any], kinds: Sequence[str] = ("identity", "resource", "key", "trust"),
) -> Iterator[tuple[str, int, Mapping[str, Any]]]:
    """(label, index, statement) of every Allow statement in the resource's documents of `kinds`: what a rule on
    grants judges (a Deny, e.g. s3:* without TLS, narrows, it does not grant)."""
    for kind, label, doc in policy_documents(resource_type, props):
        if kind not in kinds:
            continue
        for i, statement in enumerate(statements(doc)):
            if is_allow(statement):
                yield label, i, statement


def aws_principals(statement: Mapping[str, Any]) -> list[str]:
    principal = statement.get("Principal")
    if principal == "*":
        return ["*"]
    if isinstance(principal, Mapping):
        return [str(p) for p in as_list(principal.get("AWS"))]
    return []


def principal_account(principal: str) -> Optional[str]:
    """The account of `123456789012` or `arn:aws:iam::123456789012:...`; None for anything else."""
    if principal.isdigit() and len(principal) == 12:
        return principal
    parts = principal.split(":")
    if len(parts) >= 6 and parts[0] == "arn" and parts[2] in ("iam", "sts") and parts[4].isdigit():
        return parts[4]
    return None


def condition_values(statement: Mapping[str, Any], key: str) -> list[str]:
    """Values a statement's Condition requires for `key` (any StringEquals-like operator), case-insensitive key."""
    out: list[str] = []
    condition = statement.get("Condition")
    if not isinstance(condition, Mapping):
        return out
    for operator, block in condition.items():
        if not isinstance(block, Mapping) or not str(operator).startswith(("StringEquals", "StringLike", "ForAnyValue:StringEquals")):
            continue
        for k, v in block.items():
            if str(k).lower() == key.lower():
                out += [str(x) for x in as_list(v)]
    return out


# --- stack-wide joins (resource outputs: ARNs and names as the engine computed them) ---

def prop(resource: Any, key: str, default: Any = None) -> Any:
    """A property of a stack resource, or `default` when it is missing.

    A value not known yet (preview) raises pulumi_policy's UnknownValueError: the engine then reports that the
    policy could not run during preview instead of a violation judged on a value nobody knows yet.
    """
    return resource.props.get(key, default)


def join_key(resource: Any, key: str) -> Any:
    """A property used only to join resources (an ARN, a name): None when missing or not known yet, so the
    caller falls back to another link (the parent)."""
    try:
        return resource.props.get(key)
    except UnknownValueError:
        return None


def by_type(resources: Iterable[Any], *types: str) -> list[Any]:
    return [r for r in resources if r.resource_type in types]


def parent_urn(resource: Any) -> Optional[str]:
    parent = getattr(resource, "parent", None)
    if parent is not None:
        return parent.urn
    opts = getattr(resource, "opts", None)
    return getattr(opts, "parent", None) if opts is not None else None


# --- building rules ---
#
# Rules are declared as decorated checks, so a rule's name, level and config keys stand right above the code that
# judges it, and the validate/report plumbing of CrossGuard is written once here.

ResourceCheck = Callable[[Mapping[str, Any], dict[str, Any], ResourceValidationArgs], Iterable[str]]
StackCheck = Callable[[list[Any], dict[str, Any]], Iterable[tuple[str, Optional[str]]]]


def _rule(
    kind: type,
    name: str,
    description: str,
    enforcement: EnforcementLevel,
    config: Sequence[str],
    violations: Callable[[Any, Any], Iterable[tuple[str, Optional[str]]]],
) -> Callable[[Any], Any]:
    """The decorator making a check a policy of `kind`: `violations(check, args)` runs the check on what
    CrossGuard hands the policy and yields (message, urn or None for the resource under validation).
    Severity, remediation steps and documentation URL come from `guidance.GUIDANCE` (tests/policies/test_pack.py
    checks that every rule of the pack has an entry)."""
    severity, remediation = GUIDANCE.get(name, (None, None))

    def build(check: Any) -> Any:
        def validate(args: Any, report_violation: ReportViolation) -> None:
            for message, urn in violations(check, args):
                report_violation(message, urn)

        return kind(
            name=name,
            description=description,
            validate=validate,
            enforcement_level=enforcement,
            config_schema=schema(*config) if config else None,
            severity=severity,
            remediation_steps=remediation,
            url=url(name) if name in GUIDANCE else None,
        )

    return build


def resource_rule(
    name: str,
    description: str,
    types: Sequence[str] | str,
    *,
    enforcement: EnforcementLevel = MANDATORY,
    config: Sequence[str] = (),
) -> Callable[[ResourceCheck], ResourceValidationPolicy]:
    """Makes `check(props, config, args)`, yielding one message per violation, the rule on resources of `types`."""
    wanted = (types,) if isinstance(types, str) else tuple(types)

    def violations(check: ResourceCheck, args: ResourceValidationArgs) -> Iterator[tuple[str, Optional[str]]]:
        if args.resource_type in wanted:
            for message in check(args.props, settings(args), args):
                yield message, None

    return _rule(ResourceValidationPolicy, name, description, enforcement, config, violations)


def stack_rule(
    name: str,
    description: str,
    *,
    enforcement: EnforcementLevel = MANDATORY,
    config: Sequence[str] = (),
) -> Callable[[StackCheck], StackValidationPolicy]:
    """Makes `check(resources, config)`, yielding (message, urn of the offending resource), a stack rule."""

    def violations(check: StackCheck, args: StackValidationArgs) -> Iterable[tuple[str, Optional[str]]]:
        return check(list(args.resources), settings(args))

    return _rule(StackValidationPolicy, name, description, enforcement, config, violations)


def setting_rule(
    name: str,
    description: str,
    types: Sequence[str] | str,
    path: Sequence[str],
    ok: Callable[[Any], bool],
    message: str,
    *,
    named_by: Optional[str] = "name",
) -> ResourceValidationPolicy:
    """A rule that needs one setting: the value at `path` (see `field`) passes `ok`, else `message`.

    Many rules differ only in the type, the property and the words; this keeps them one line of a table each.
    `{name}` in `message` is the resource's `named_by` property (its logical name when missing, or always when
    `named_by` is None), read only when there is a violation, as a hand-written check would.
    """

    def check(props: Mapping[str, Any], cfg: dict[str, Any], args: ResourceValidationArgs) -> Iterator[str]:
        if not ok(field(props, *path)):
            yield message.format(name=args.name if named_by is None else props.get(named_by, args.name))

    return resource_rule(name, description, types)(check)
