"""The hub's governance handlers (sync, api, metrics), the event routes that feed them and the governance API.

Each handler's role grants exactly the actions `governance.permissions` says it calls, scoped to the
hub's table, groups and bus; the API is declared from `governance.routes`, the table the api handler
serves, without importing the handler (no boto3 at plan time). The API is a REST API whose resource
policy admits the organization's principals only: approvers sit in other accounts of the organization.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.args import MovedArgs
from components.event_route import EventRoute, EventRouteArgs
from components.function import POWERTOOLS_LAYER_VERSION, Function, FunctionArgs, package_archive
from components.rest_api import IamRestApi, IamRestApiArgs
from components.moves import child_urn, was_beside
from components.policy_documents import statement
from components.private_network import FunctionNetwork
from governance import contract, routes
from governance.permissions import HANDLER_ACTIONS

HANDLERS = ("sync", "api", "metrics")
SIGNERS = ("sync", "api", "metrics")
"""The handlers that append audit entries, and so sign them."""
FORMER_FUNCTION_TYPE = "mlgov:governance_function:GovernanceFunction"
"""What each handler was declared as before `Function`; its parts keep their URNs through aliases."""
ROUTE_TYPE = "mlgov:event_route:EventRoute"
FORMER_API_TYPE = "mlgov:http_api:IamHttpApi"
"""The governance API was an HTTP API; the REST API component aliases it so that its log group is kept."""
RESERVED_CONCURRENCY = {"sync": 20, "api": 50, "metrics": 20}
"""Each handler's reserved executions: api serves people (the API stage throttles it at 50 burst), sync and metrics events."""
# The VPC endpoint service of each AWS service the handlers call (governance.permissions), and X-Ray for their traces.
ENDPOINT_SERVICES = {"dynamodb": "dynamodb", "sagemaker": "sagemaker.api", "events": "events", "kms": "kms", "s3": "s3"}
TRACING_SERVICE = "xray"


REGISTRY_REPAIR_SCHEDULE = "rate(1 minute)"
"""How often sync rewrites the registry of versions whose registry write failed."""
REGISTRY_WRITERS = ("api", "sync")
"""The handlers that write the registry (decisions, registrations, set-backs): their changes are governance's own."""


def role_name(prefix: str, handler: str) -> str:
    return f"{prefix}-{handler}-role"


def _json(value: Mapping[str, Sequence[str]]) -> str:
    return json.dumps({k: list(v) for k, v in value.items()}, sort_keys=True)


def endpoint_services() -> list[str]:
    """The endpoints private subnets need for the handlers to reach what they call."""
    called = {action.split(":")[0] for actions in HANDLER_ACTIONS.values() for action in actions}
    return sorted({ENDPOINT_SERVICES[service] for service in called} | {TRACING_SERVICE})


@dataclass
class GovernanceHandlersArgs(MovedArgs):
    prefix: str
    """Names the functions (`<prefix>-sync`), the routes and the API."""
    account_id: str
    region: str
    table_name: pulumi.Input[str]
    table_arn: pulumi.Input[str]
    bus_name: pulumi.Input[str]
    bus_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    groups: Sequence[str]
    """The hub's model package groups: the registry events sync hears of, the packages api may update."""
    stage_accounts: Sequence[str]
    """Test and prod accounts, whose deployment and metrics reports reach metrics."""
    organization_id: str
    """The organization (`o-...`) whose principals may call the governance API; the API denies everyone else."""
    approvers: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Principals allowed to decide, by stage (`development`, `test`, `production`) and `officers`."""
    partition: str = "aws"
    log_retention_days: int = 365
    powertools_layer_version: int = POWERTOOLS_LAYER_VERSION
    alarm_actions: Sequence[pulumi.Input[str]] = ()
    reserved_concurrency: Optional[Mapping[str, int]] = None
    """Reserved executions by handler (`sync`, `api`, `metrics`) over `RESERVED_CONCURRENCY`."""
    network: Optional[FunctionNetwork] = None
    """Private subnets the handlers run in; None: Lambda's own network."""
    signing_key_arn: Optional[pulumi.Input[str]] = None
    """The audit signing key (`SigningKey`): the writing handlers sign with it, api reads its public key."""
    checkpoint_bucket_arn: Optional[pulumi.Input[str]] = None
    """The audit checkpoint bucket (`AuditCheckpoints`): api reads the latest checkpoint when it verifies a trail."""
    checkpoint_bucket_name: Optional[pulumi.Input[str]] = None
    validators: Optional[Mapping[str, Sequence[str]]] = None
    """Principals who may record validation metrics, by stage; nobody when unset."""
    max_event_skew_seconds: Optional[int] = None
    """How far in the future an event's timestamps may be (default `contract.DEFAULT_MAX_EVENT_SKEW_SECONDS`)."""
    accounts_by_stage: Optional[Mapping[str, Sequence[str]]] = None
    """The member accounts that report for `test` and `production`; None: none may."""


class GovernanceHandlers(pulumi.ComponentResource):
    functions: dict[str, Function]
    api: IamRestApi

    def __init__(self, name: str, args: GovernanceHandlersArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlgov:governance_handlers:GovernanceHandlers", name, None, opts)
        self._args = args
        p = args.prefix
        writers = ",".join(f"arn:{args.partition}:iam::{args.account_id}:role/{role_name(p, h)}" for h in REGISTRY_WRITERS)
        settings = contract.GovernanceSettings(
            args.table_name, _json(args.approvers), hub_account=args.account_id, hub_region=args.region, hub_partition=args.partition,
            validators_json=_json(args.validators or {}), stage_accounts_json=_json(args.accounts_by_stage or {}),
            max_event_skew_seconds=contract.DEFAULT_MAX_EVENT_SKEW_SECONDS if args.max_event_skew_seconds is None
            else args.max_event_skew_seconds,
            signing_key_id=args.signing_key_arn, checkpoint_bucket=args.checkpoint_bucket_name, registry_writers=writers)
        self.functions = {handler: self._function(handler, settings.to_env()) for handler in HANDLERS}
        sync, metrics, api = (self.functions[h] for h in ("sync", "metrics", "api"))
        registry_pattern = {
            "source": [contract.SOURCE_SAGEMAKER],
            "detail-type": [contract.DETAIL_TYPE_MODEL_PACKAGE],
            "detail": {"ModelPackageGroupName": sorted(args.groups),
                       "ModelPackageArn": [{"prefix": contract.model_package_arn_prefix(args.account_id, args.region, args.partition)}]},
        }
        member_pattern = {
            "source": [contract.SOURCE_MEMBER],
            "detail-type": list(contract.MEMBER_DETAIL_TYPES),
            "account": list(args.stage_accounts),
        }
        # The hub's own default bus carries the registry's events; member accounts forward theirs to the
        # governance bus (MemberAccount). Both reach sync, which is idempotent, so a copy seen twice is harmless.
        for route, pattern, bus, target, description in (
            ("registry-events", registry_pattern, None, sync, "Model package state changes of the hub's groups from the hub registry -> sync"),
            ("forwarded-registry-events", registry_pattern, args.bus_name, sync,
             "Model package state changes of the hub's groups from the member accounts -> sync"),
            ("member-events", member_pattern, args.bus_name, metrics, "Deployments and metrics reported by member accounts -> metrics"),
        ):
            EventRoute(
                f"{p}-{route}",
                EventRouteArgs(
                    function_arn=target.arn, function_name=target.name, kms_key_arn=args.kms_key_arn, event_pattern=pattern,
                    event_bus_name=bus, rule_name=f"{p}-{route}", description=description,
                    alarm_actions=args.alarm_actions, tags=args.tags, aliases=self._former_rule(f"{p}-{route}"),
                ),
                opts=self._moved(ROUTE_TYPE, f"{p}-{route}"),
            )
        EventRoute(
            f"{p}-registry-repair",
            EventRouteArgs(function_arn=sync.arn, function_name=sync.name, kms_key_arn=args.kms_key_arn,
                           schedule_expression=REGISTRY_REPAIR_SCHEDULE, rule_name=f"{p}-registry-repair",
                           description="Rewrites the registry from the record where a registry write failed -> sync",
                           alarm_actions=args.alarm_actions, tags=args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.api = IamRestApi(
            f"{p}-governance-api",
            IamRestApiArgs(
                function_arn=api.arn,
                function_name=api.name,
                routes=routes.route_keys(),
                organization_id=args.organization_id,
                log_kms_key_arn=args.kms_key_arn,
                log_retention_days=args.log_retention_days,
                throttling_burst_limit=50,
                throttling_rate_limit=25.0,
                alarm_actions=args.alarm_actions,
                tags=args.tags,
            ),
            opts=self._api_moved(f"{p}-governance-api"),
        )
        self.provenance_alarm = self._provenance_alarm()
        self.register_outputs({"api_url": self.api.url})

    def _provenance_alarm(self) -> aws.cloudwatch.MetricAlarm:
        """Any registry event about a package that is not the hub's (or re-naming a recorded version) alerts at once."""
        a = self._args
        return aws.cloudwatch.MetricAlarm(
            f"{a.prefix}-provenance-faults",
            alarm_description="mlgov: a registry event named a model package outside the hub registry, or another ARN for a "
                              "recorded version; it was refused (see the sync function's error log)",
            namespace=contract.METRICS_NAMESPACE, metric_name=contract.PROVENANCE_FAULT_METRIC,
            dimensions={"service": contract.SYNC_SERVICE_NAME}, statistic="Sum", period=60, evaluation_periods=1,
            threshold=1, comparison_operator="GreaterThanOrEqualToThreshold", treat_missing_data="notBreaching",
            alarm_actions=list(a.alarm_actions), tags=a.tags, opts=pulumi.ResourceOptions(parent=self),
        )

    def _former_rule(self, route: str) -> dict[str, list[Any]]:
        """The route's rule was `<route>-rule` when the routes were the hub's own children."""
        if not self._args.moved_from_parent:
            return {}
        former = was_beside(self, ROUTE_TYPE, route)
        return {"rule": [former.apply(lambda urn: child_urn(urn, "aws:cloudwatch/eventRule:EventRule", f"{route}-rule"))]}

    def _api_moved(self, name: str) -> pulumi.ResourceOptions:
        """The REST API takes the place of the HTTP API it replaces: the access log group (same name, same type under
        the aliased component) keeps its URN, so the logs written so far are kept; the HTTP API's own parts go."""
        opts = self._moved(FORMER_API_TYPE, name)
        return pulumi.ResourceOptions(parent=self, aliases=[*(opts.aliases or []), pulumi.Alias(type_=FORMER_API_TYPE)])

    def _moved(self, type_: str, name: str) -> pulumi.ResourceOptions:
        aliases = [was_beside(self, type_, name)] if self._args.moved_from_parent else None
        return pulumi.ResourceOptions(parent=self, aliases=aliases)

    def _function(self, handler: str, environment: Mapping[str, Any]) -> Function:
        a = self._args
        name = f"{a.prefix}-{handler}"
        aliases: dict[str, list[Any]] = {}
        if a.moved_from_parent:
            former = was_beside(self, FORMER_FUNCTION_TYPE, name)
            aliases = {
                "policy": [former.apply(lambda urn: child_urn(urn, "aws:iam/rolePolicy:RolePolicy", f"{name}-policy"))],
                "function": [former.apply(lambda urn: child_urn(urn, "aws:lambda/function:Function", f"{name}-function"))],
            }
        return Function(
            name,
            FunctionArgs(
                handler=f"governance.handlers.{handler}.handler",
                code=package_archive("governance"),
                account_id=a.account_id,
                region=a.region,
                kms_key_arn=a.kms_key_arn,
                statements=self._statements(handler),
                environment={"POWERTOOLS_SERVICE_NAME": f"mlgov-{handler}", "AWS_RETRY_MODE": "standard", "AWS_MAX_ATTEMPTS": "5",
                             **environment},
                function_name=name,
                role_name=role_name(a.prefix, handler),
                asynchronous=True,
                dead_letter_queue_name=f"{name}-dlq",
                key_services=["dynamodb", "s3"] if handler == "api" else ["dynamodb"],
                log_retention_days=a.log_retention_days,
                powertools_layer_version=a.powertools_layer_version,
                partition=a.partition,
                alarm_actions=a.alarm_actions,
                tags=a.tags,
                aliases=aliases,
                reserved_concurrency={**RESERVED_CONCURRENCY, **(a.reserved_concurrency or {})}[handler],
                network=a.network,
            ),
            opts=pulumi.ResourceOptions(parent=self, aliases=[was_beside(self, FORMER_FUNCTION_TYPE, name)] if a.moved_from_parent else None),
        )

    def _statements(self, handler: str) -> list[dict[str, Any]]:
        """Exactly the actions `governance.permissions` says the handler calls, each scoped to its resources."""
        a = self._args
        table_arn = pulumi.Output.from_input(a.table_arn)
        scopes = {
            "dynamodb": [table_arn, table_arn.apply(lambda arn: f"{arn}/index/*")],
            "sagemaker": [f"arn:{a.partition}:sagemaker:{a.region}:{a.account_id}:model-package/{g.lower()}/*" for g in sorted(a.groups)],
            "events": [a.bus_arn],
        }
        if a.signing_key_arn is not None:
            scopes["kms"] = [a.signing_key_arn]
        if a.checkpoint_bucket_arn is not None:
            bucket = pulumi.Output.from_input(a.checkpoint_bucket_arn)
            scopes["s3"] = [bucket, bucket.apply(lambda arn: f"{arn}/{contract.CHECKPOINTS_PREFIX}*")]
        by_service: dict[str, list[str]] = {}
        for action in sorted(HANDLER_ACTIONS[handler]):
            service = action.split(":")[0]
            if service not in scopes:
                raise ValueError(f"{handler} calls {action}, and no resource scope is known for {service}")
            by_service.setdefault(service, []).append(action)
        return [statement(f"{handler.capitalize()}{service.capitalize()}", actions, scopes[service])
                for service, actions in by_service.items()]
