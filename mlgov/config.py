"""The one schema of every stack's `mlgov:` config, validated before any resource is declared.

A bad config becomes one `ConfigError` whose message names the key, the bad value and what is
allowed, so a platform engineer can fix `Pulumi.<stack>.yaml` without reading this file.
"""
from __future__ import annotations

import re
from enum import Enum
from typing import Annotated, Any, Literal, Mapping

from pydantic import BeforeValidator, Field, StrictFloat, StrictInt, ValidationError, field_validator, model_validator

from components.errors import ConfigError  # noqa: F401 - one class for the config and the components
from governance.contract import ACCOUNT_ID_RE, DEFAULT_MAX_EVENT_SKEW_SECONDS, GROUP_RE, MAX_EVENT_SKEW_SECONDS_LIMIT, ORG_ID_RE
from governance.contract import USE_CASE_ID_RE
from governance import obligations
from governance.domain import ModelRisk, RiskTier  # one definition for the stack config and the runtime
from governance.obligations import Obligation
from mlgov.access import Approvers, SharePermissions, Validators
from mlgov.experimentation import Experimentation
from mlgov.fields import Strict, as_list, check_range, matching
from mlgov.monitoring import Monitoring

NAMESPACE = "mlgov"

STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+){0,2}$")
INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")


class AccountRole(str, Enum):
    shared = "shared"
    dev = "dev"
    test = "test"
    prod = "prod"


DEFAULT_MODEL_RISK = {RiskTier.high: ModelRisk.high, RiskTier.limited: ModelRisk.medium, RiskTier.minimal: ModelRisk.low}


def _check_account(value: str) -> str:
    if not isinstance(value, str) or not ACCOUNT_ID_RE.match(value):
        raise ValueError("an AWS account id is exactly 12 digits, written as a string in quotes")
    return value


AccountId = Annotated[str, BeforeValidator(_check_account)]
OrgId = Annotated[str, matching(
    ORG_ID_RE, "an AWS Organizations id looks like o-abcd123456 (o- then 10 to 32 lowercase letters or digits)")]
GroupName = Annotated[str, matching(
    GROUP_RE, "SageMaker refuses this model package group name: 1 to 63 letters, digits and hyphens, "
    "starting and ending with a letter or digit")]
UseCaseId = Annotated[str, matching(
    USE_CASE_ID_RE, "a use case id is 1 to 40 lowercase letters, digits and single hyphens, e.g. credit-risk")]
AccountIds = Annotated[tuple[AccountId, ...], BeforeValidator(as_list), Field(min_length=1)]


class Accounts(Strict):
    """Account ids by role; a stage role may list several accounts."""

    shared: AccountId
    dev: AccountIds
    test: AccountIds
    prod: AccountIds

    @model_validator(mode="after")
    def _distinct(self) -> "Accounts":
        seen: dict[str, str] = {}
        for role in ("shared", "dev", "test", "prod"):
            ids = getattr(self, role)
            for account in (ids,) if isinstance(ids, str) else ids:
                if account in seen and seen[account] != role:
                    raise ValueError(f"account {account} is given for both {seen[account]} and {role}; each account has one role")
                seen[account] = role
        return self

    def of(self, role: AccountRole | str) -> tuple[str, ...]:
        ids = getattr(self, AccountRole(role).value)
        return (ids,) if isinstance(ids, str) else tuple(ids)

    def members(self) -> tuple[str, ...]:
        return (*self.dev, *self.test, *self.prod)

    def all(self) -> tuple[str, ...]:
        return (self.shared, *self.members())


class Organization(Strict):
    id: OrgId
    accounts: Accounts
    auto_accept_ram_shares: bool = Field(default=True, alias="autoAcceptRamShares")


class Threshold(Strict):
    """A validation metric a version must meet before approval past development (`min <= value <= max`)."""

    metric: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
    min: StrictFloat | None = None
    max: StrictFloat | None = None

    @model_validator(mode="after")
    def _bounded(self) -> "Threshold":
        check_range("threshold", self.metric, self.min, self.max)
        return self

    def as_item(self) -> dict[str, Any]:
        return {k: v for k, v in {"metric": self.metric, "min": self.min, "max": self.max}.items() if v is not None}


class Model(Strict):
    group: GroupName
    description: str = ""
    risk: ModelRisk | None = None


class UseCase(Strict):
    id: UseCaseId
    name: Annotated[str, Field(min_length=1, max_length=128)]
    risk_tier: RiskTier = Field(alias="riskTier")
    owner: Annotated[str, Field(min_length=1, max_length=128)]
    line_of_business: Annotated[str, Field(min_length=1, max_length=128)] = Field(alias="lineOfBusiness")
    project: Annotated[str, Field(min_length=1, max_length=128)]
    models: Annotated[tuple[Model, ...], Field(min_length=1)]
    approval_thresholds: tuple[Threshold, ...] = Field(default=(), alias="approvalThresholds")
    share_permissions: SharePermissions = Field(default_factory=SharePermissions, alias="sharePermissions")
    transparency_statement: Annotated[str, Field(min_length=1, max_length=4000, pattern=r"\S")] | None = Field(
        default=None, alias="transparencyStatement")
    """What the system's users are told about it (EU AI Act, limited tier): required before production approval."""

    @field_validator("risk_tier", mode="before")
    @classmethod
    def _not_unacceptable(cls, value: Any) -> Any:
        if isinstance(value, str) and value.lower() == "unacceptable":
            raise ValueError(
                "risk tier 'unacceptable' is refused: the EU AI Act prohibits such AI systems, so they may not be onboarded"
            )
        return value

    @model_validator(mode="after")
    def _unique_groups(self) -> "UseCase":
        _reject_duplicates([m.group for m in self.models], "model group")
        _reject_duplicates([t.metric for t in self.approval_thresholds], "threshold metric")
        if Obligation.thresholds in obligations.of_tier(self.risk_tier) and not self.approval_thresholds:
            raise ValueError(f"a {self.risk_tier.value}-risk use case needs approvalThresholds: its versions are approved against them")
        return self

    def model_risk(self, model: Model) -> ModelRisk:
        return model.risk or DEFAULT_MODEL_RISK[self.risk_tier]


class Variant(Strict):
    version: Annotated[StrictInt, Field(ge=1)]
    weight: Annotated[StrictInt, Field(ge=0, le=100)]


class Shadow(Strict):
    version: Annotated[StrictInt, Field(ge=1)]
    sampling_percentage: Annotated[StrictInt, Field(ge=1, le=100)] = Field(default=100, alias="samplingPercentage")


class Deployment(Strict):
    """A model version pinned to this stage; `challenger` makes an A/B pair, `shadow` a shadow test."""

    use_case: str = Field(alias="useCase")
    group: str
    version: Annotated[StrictInt, Field(ge=1)]
    instance_type: str = Field(default="ml.m5.large", alias="instanceType")
    instance_count: Annotated[StrictInt, Field(ge=1, le=100)] = Field(default=1, alias="instanceCount")
    weight: Annotated[StrictInt, Field(ge=0, le=100)] = 100
    challenger: Variant | None = None
    shadow: Shadow | None = None
    data_capture: bool = Field(default=False, alias="dataCapture")
    """Capture requests and responses to the hub bucket; always on (100%) for high-risk use cases."""
    latency_alarm_ms: Annotated[StrictInt, Field(ge=1, le=60_000)] = Field(default=1000, alias="latencyAlarmMs")

    @field_validator("instance_type")
    @classmethod
    def _instance(cls, value: str) -> str:
        if not INSTANCE_TYPE.match(value):
            raise ValueError("a SageMaker instance type looks like ml.m5.large")
        return value

    @model_validator(mode="after")
    def _weights(self) -> "Deployment":
        total = self.weight + (self.challenger.weight if self.challenger else 0)
        if total != 100:
            raise ValueError(f"variant weights must sum to 100; they sum to {total}")
        versions = [self.version] + [v.version for v in (self.challenger, self.shadow) if v]
        _reject_duplicates(versions, "version in one deployment")
        if self.challenger and self.shadow:
            raise ValueError(
                "challenger and shadow cannot be combined in one deployment: SageMaker accepts a shadow variant only "
                "beside a single production variant; run the A/B test and the shadow test as separate deployments"
            )
        return self


HUB_FUNCTIONS = ("sync", "api", "metrics")
MEMBER_FUNCTIONS = ("invoke", "reporter")
VPC_ID = re.compile(r"^vpc-[0-9a-f]{8,17}$")
SUBNET_ID = re.compile(r"^subnet-[0-9a-f]{8,17}$")
SECURITY_GROUP_ID = re.compile(r"^sg-[0-9a-f]{8,17}$")
ROUTE_TABLE_ID = re.compile(r"^rtb-[0-9a-f]{8,17}$")
Concurrency = Annotated[StrictInt, Field(ge=1, le=1000)]


class Network(Strict):
    """Private subnets for the stack's Lambdas (`mlgov:network`), with the VPC endpoints they need."""

    vpc_id: Annotated[str, matching(VPC_ID, "a VPC id looks like vpc-0a1b2c3d4e5f60718")] = Field(alias="vpcId")
    subnet_ids: Annotated[tuple[Annotated[str, matching(SUBNET_ID, "a subnet id looks like subnet-0a1b2c3d4e5f60718")], ...],
                          BeforeValidator(as_list), Field(min_length=1)] = Field(alias="subnetIds")
    security_group_ids: tuple[Annotated[str, matching(SECURITY_GROUP_ID, "a security group id looks like sg-0a1b2c3d4e5f60718")], ...] = Field(
        default=(), alias="securityGroupIds")
    """Empty: mlgov creates one allowing HTTPS out to the endpoints only."""
    route_table_ids: tuple[Annotated[str, matching(ROUTE_TABLE_ID, "a route table id looks like rtb-0a1b2c3d4e5f60718")], ...] = Field(
        default=(), alias="routeTableIds")
    """The private subnets' route tables: the hub reaches DynamoDB through a gateway endpoint attached to them."""
    create_endpoints: bool = Field(default=True, alias="createEndpoints")


EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
HTTPS_URL = re.compile(r"^https://[^\s/]+\S*$")


class Notification(Strict):
    """A subscription to the account's alarm topic (`mlgov:notifications`): an e-mail address or an HTTPS endpoint."""

    protocol: Literal["email", "https"]
    endpoint: str

    @model_validator(mode="after")
    def _endpoint(self) -> "Notification":
        if self.protocol == "email" and not EMAIL.match(self.endpoint):
            raise ValueError(f"{self.endpoint!r} is not an e-mail address (name@domain.tld)")
        if self.protocol == "https" and not HTTPS_URL.match(self.endpoint):
            raise ValueError(f"{self.endpoint!r} is not an https:// URL: alarms are delivered over TLS only")
        return self


class StackConfig(Strict):
    """Everything under `mlgov:` in `Pulumi.<stack>.yaml`."""

    account_role: AccountRole = Field(alias="accountRole")
    organization: Organization
    use_cases: tuple[UseCase, ...] = Field(default=(), alias="useCases")
    deployments: tuple[Deployment, ...] = ()
    approvers: Approvers = Field(default_factory=Approvers)
    hub_stack: str | None = Field(default=None, alias="hubStack")
    log_retention_days: Literal[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] = Field(
        default=365, alias="logRetentionDays"
    )
    experimentation: Experimentation | None = None
    """The dev account's MLflow tracking server; set only in the dev stack."""
    lambda_concurrency: dict[str, Concurrency] = Field(default_factory=dict, alias="lambdaConcurrency")
    """Reserved concurrent executions by Lambda: `sync`, `api`, `metrics` (shared), `invoke`, `reporter` (test, prod)."""
    access_log_retention_days: Annotated[StrictInt, Field(ge=1, le=3653)] = Field(default=365, alias="accessLogRetentionDays")
    audit_retention_days: Annotated[StrictInt, Field(ge=365, le=36500)] = Field(default=2557, alias="auditRetentionDays")
    """Days each audit checkpoint is kept under S3 Object Lock (COMPLIANCE): at least a year, default 7 years."""
    network: Network | None = None
    notifications: tuple[Notification, ...] = ()
    """Who the account's alarms reach: subscriptions to its alarm topic."""
    validators: Validators = Field(default_factory=Validators)
    """Who records validation metrics, by stage (shared stack)."""
    max_event_skew_seconds: Annotated[StrictInt, Field(ge=0, le=MAX_EVENT_SKEW_SECONDS_LIMIT)] = Field(
        default=DEFAULT_MAX_EVENT_SKEW_SECONDS, alias="maxEventSkewSeconds")
    """How far in the future an event's timestamps may be before the hub refuses it (shared stack)."""
    monitoring: Monitoring | None = None
    """The hub's monitoring policy (shared stack): staleness window and metric limits per use case."""

    @field_validator("hub_stack")
    @classmethod
    def _stack(cls, value: str | None) -> str | None:
        if value is not None and not STACK_NAME.match(value):
            raise ValueError("a stack reference looks like <org>/<project>/<stack>, e.g. acme/mlgov/shared")
        return value

    @model_validator(mode="after")
    def _by_role(self) -> "StackConfig":
        role = self.account_role
        _reject_duplicates([u.id for u in self.use_cases], "use case id")
        _reject_duplicates([m.group for u in self.use_cases for m in u.models], "model group")
        if role is AccountRole.shared:
            if not self.use_cases:
                raise ValueError("the shared stack needs at least one entry under useCases")
        elif self.use_cases:
            raise ValueError(f"useCases belong in the shared stack's config, not in the {role.value} stack's")
        if self.deployments and role not in (AccountRole.test, AccountRole.prod):
            raise ValueError(f"deployments are pinned in the test and prod stacks only, not in the {role.value} stack")
        _reject_duplicates([(d.group, d.version) for d in self.deployments], "deployment of group/version")
        groups = [d.group for d in self.deployments]
        for group in {g for g in groups if groups.count(g) > 1}:
            raise ValueError(f"group {group!r} is deployed twice: a stage serves a group from one endpoint, kept across versions; "
                             "give its one deployment the version, and a challenger or a shadow")
        for d in self.deployments:
            if role is AccountRole.test and (d.challenger or d.shadow):
                raise ValueError(
                    f"deployment {d.group} v{d.version}: A/B (challenger) and shadow variants are tested in the prod stack; "
                    "the test stack deploys one version per endpoint"
                )
        kinds = HUB_FUNCTIONS if role is AccountRole.shared else MEMBER_FUNCTIONS
        unknown = sorted(set(self.lambda_concurrency) - set(kinds))
        if unknown:
            raise ValueError(f"lambdaConcurrency names {', '.join(unknown)}; the {role.value} stack's Lambdas are {', '.join(kinds)}")
        if (role is AccountRole.shared and self.network is not None and self.network.create_endpoints
                and not self.network.route_table_ids):
            raise ValueError("network.routeTableIds is required on the shared stack with createEndpoints: the hub's "
                             "handlers reach DynamoDB through a gateway endpoint attached to the private subnets' route tables")
        if self.experimentation is not None and role is not AccountRole.dev:
            raise ValueError(
                f"experimentation (the MLflow tracking server) belongs in the dev stack's config, not in the {role.value} stack's"
            )
        if role is not AccountRole.shared and (self.validators != Validators()
                                               or self.max_event_skew_seconds != DEFAULT_MAX_EVENT_SKEW_SECONDS):
            raise ValueError(f"validators and maxEventSkewSeconds belong in the shared stack's config, not in the {role.value} stack's")
        if role is not AccountRole.shared and self.hub_stack is None:
            raise ValueError(f"the {role.value} stack needs hubStack: the shared stack it reads, e.g. acme/mlgov/shared")
        return self

    @model_validator(mode="after")
    def _monitoring(self) -> "StackConfig":
        if self.monitoring is not None:
            if self.account_role is not AccountRole.shared:
                raise ValueError(f"monitoring belongs in the shared stack's config (the hub flags versions), "
                                 f"not in the {self.account_role.value} stack's")
            self.monitoring.check_use_cases({u.id for u in self.use_cases})
        return self

    def monitoring_policy(self, use_case_id: str) -> dict[str, Any]:
        """The use case's monitoring policy as its CONFIG item carries it (the defaults without `mlgov:monitoring`)."""
        return (self.monitoring or Monitoring()).policy(use_case_id)

    def use_case(self, use_case_id: str) -> UseCase:
        for use_case in self.use_cases:
            if use_case.id == use_case_id:
                return use_case
        raise KeyError(use_case_id)


def _reject_duplicates(values: list[Any], what: str) -> None:
    seen: set[Any] = set()
    for value in values:
        if value in seen:
            shown = "/".join(map(str, value)) if isinstance(value, tuple) else value
            raise ValueError(f"duplicate {what} {shown!r}; each must be unique")
        seen.add(value)


def _key_path(loc: tuple[Any, ...], data: Mapping[str, Any]) -> str:
    """`('useCases', 0, 'riskTier')` → `mlgov:useCases[0].riskTier`, naming list entries by id where they have one."""
    path = ""
    node: Any = data
    for i, part in enumerate(loc):
        if isinstance(part, int):
            label = str(part)
            if isinstance(node, list) and part < len(node) and isinstance(node[part], Mapping):
                ident = node[part].get("id") or node[part].get("group")
                if isinstance(ident, str):
                    label = f"{part}:{ident}"
            path += f"[{label}]"
        else:
            path += f"{NAMESPACE}:{part}" if i == 0 else f".{part}"
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    return path or f"{NAMESPACE}"


def _describe(error: Mapping[str, Any], data: Mapping[str, Any]) -> str:
    loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
    key = _key_path(loc, data)
    kind = error["type"]
    value = error.get("input")
    msg = str(error["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        return f"{key}: unknown key (value {value!r}); check the spelling against the README's config reference"
    if kind == "missing":
        return f"{key}: required key is missing"
    if kind == "enum":
        allowed = error.get("ctx", {}).get("expected", "")
        return f"{key}: {value!r} is not allowed; allowed: {allowed}"
    if kind == "literal_error":
        return f"{key}: {value!r} is not allowed; allowed: {error.get('ctx', {}).get('expected', '')}"
    if kind in {"float_type", "int_type", "float_parsing", "int_parsing"}:
        return f"{key}: {value!r} is not a number; write a number without quotes"
    if kind == "too_short":
        return f"{key}: needs at least {error.get('ctx', {}).get('min_length', 1)} entry (got {value!r})"
    if kind in {"bool_type", "bool_parsing"}:
        return f"{key}: {value!r} is not true or false"
    if isinstance(value, (Mapping, list, tuple)) and kind.startswith("value_error"):
        return f"{key}: {msg}"
    return f"{key}: {msg} (got {value!r})"


def parse(data: Mapping[str, Any]) -> StackConfig:
    """Validate the `mlgov:` namespace (keys without the prefix) into a `StackConfig`, or raise one `ConfigError`."""
    try:
        return StackConfig.model_validate(dict(data))
    except ValidationError as exc:
        problems = list(dict.fromkeys(_describe(e, data) for e in exc.errors()))
        head = "invalid stack config: " + problems[0]
        rest = "".join(f"\n  also: {p}" for p in problems[1:])
        raise ConfigError(head + rest) from None
