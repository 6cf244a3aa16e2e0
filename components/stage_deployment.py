"""One pinned model version (or an A/B pair, or a version with a shadow) served in a test or prod account.

Built from the hub registry's model package ARN, never from a copied artifact: the stage account's
RAM deploy share lets it create a model from the hub's version, and its execution role may only read
the hub's model artifacts and decrypt them. In front of the endpoint, an IAM-authorized HTTP API and
a small invoke Lambda; behind it, alarms and a reporter that tells the hub bus what was deployed and
how it performs. High-risk use cases always capture every request and response.
"""
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.args import ComponentArgs
from components.dead_letters import admit_event_rules, dead_letter_queue
from components.event_route import EventRoute, EventRouteArgs
from components.function import POWERTOOLS_LAYER_VERSION, Function, FunctionArgs, package_archive
from components.http_api import IamHttpApi, IamHttpApiArgs
from components.hub_outputs import HubOutputs, check_deployment, model_package_arn
from components.moves import former, renamed, was, was_under
from components.policy_documents import service_role, statement
from components.private_network import FunctionNetwork
from components.drift_access import DriftAccess, drift_statements
from governance.contract import (
    CAPTURE_PREFIX, DETAIL_TYPE_ENDPOINT, MODELS_PREFIX, SOURCE_SAGEMAKER, STAGE_OF_ACCOUNT_ROLE, InvokeSettings,
    ReporterSettings, ReporterVariant, capture_prefix, endpoint_name,
)

TYPE = "mlgov:index:StageDeployment"
PREVIOUS_TYPE = "mlgov:stage_deployment:StageDeployment"
INVOKE_ROUTE = "POST /invocations"
LEGACY_LOG_GROUP_PREFIX = "/mlgov/lambda/"
# The member Lambdas' code: `serving` and the one module of names it shares with the hub.
SERVING_CODE = ("serving", "governance/__init__.py", "governance/contract.py")
"""Where the member Lambdas' log groups were created; kept, since a renamed log group is a new one."""
RESERVED_CONCURRENCY = {"invoke": 20, "reporter": 2}
"""Reserved executions: invoke answers the API (throttled at the stage), the reporter runs on a schedule and one event."""
ENDPOINT_SERVICES = ("events", "monitoring", "s3", "sagemaker.runtime", "xray")
"""What the member Lambdas call from private subnets: the endpoint, the hub bus, the endpoint's metrics, its data capture, and their traces."""


MAX_NAME = 63
"""SageMaker's limit on endpoint and endpoint configuration names."""
ROLLOUT_WAIT_SECONDS = 600
"""How long SageMaker watches the new fleet's alarms before it retires the old one (the baking period)."""


def _bounded(name: str, digest_of: str, keep: int) -> str:
    digest = hashlib.sha256(digest_of.encode()).hexdigest()[:8]
    return f"{name[:keep].rstrip('-')}-{digest}"


def endpoint_config_name(endpoint: str, config: Mapping[str, Any]) -> str:
    """An endpoint configuration's name: the endpoint's, then a digest of everything the configuration holds.

    Endpoint configurations are immutable: a new version, new weights or new instances are a new name, so
    Pulumi creates the new configuration before the endpoint moves to it, then deletes the old one.
    """
    digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:12]
    return f"{endpoint[:MAX_NAME - 13].rstrip('-')}-{digest}"


@dataclass(frozen=True)
class VariantSpec:
    name: str
    """Production (or shadow) variant name, e.g. `v3`."""
    version: int
    """The hub group's model package version it serves."""
    role: str
    """`champion`, `challenger` or `shadow`."""
    weight: int
    """Traffic weight; for the shadow, the share of requests copied to it (percent)."""


@dataclass
class StageDeploymentArgs(ComponentArgs):
    use_case: str
    """The use case the group belongs to (checked against the hub's outputs)."""
    group: str
    """The hub's model package group."""
    version: int
    """The pinned (champion) version; with `variants`, names the endpoint."""
    variants: Sequence[VariantSpec]
    """The champion first, then an optional challenger or shadow."""
    stage: str
    """The account role, `test` or `prod` (reported to the hub as `test` / `production`)."""
    account_id: str
    region: str
    hub: HubOutputs
    key_arn: pulumi.Input[str]
    """This account's KMS key: endpoint volumes, Lambda environments, log groups."""
    instance_type: Optional[str] = "ml.m5.large"
    instance_count: Optional[int] = 1
    data_capture: Optional[bool] = False
    """Capture requests and responses to the hub bucket; always on for high-risk use cases."""
    latency_alarm_ms: Optional[int] = 1000
    partition: Optional[str] = "aws"
    log_retention_days: Optional[int] = 365
    max_body_bytes: Optional[int] = InvokeSettings.DEFAULT_MAX_BODY_BYTES
    content_types: Optional[Sequence[str]] = InvokeSettings.DEFAULT_CONTENT_TYPES
    throttling_burst_limit: Optional[int] = 50
    throttling_rate_limit: Optional[float] = 100.0
    metrics_schedule: Optional[str] = "rate(15 minutes)"
    metrics_window_minutes: Optional[int] = 15
    error_alarm_threshold: Optional[int] = 5
    alarm_actions: Optional[Sequence[pulumi.Input[str]]] = ()
    powertools_layer_version: Optional[int] = POWERTOOLS_LAYER_VERSION
    lambda_concurrency: Optional[Mapping[str, int]] = None
    """Reserved executions by Lambda (`invoke`, `reporter`) over `RESERVED_CONCURRENCY`."""
    network: Optional[FunctionNetwork] = None
    """Private subnets the Lambdas run in (the account's `MemberAccount.network`); None: Lambda's own network."""
    rollout_wait_seconds: Optional[int] = ROLLOUT_WAIT_SECONDS
    """Blue/green rollouts: how long the new fleet takes all traffic under the alarms before the old fleet goes (0..3600)."""


class StageDeployment(pulumi.ComponentResource):
    endpoint_name: str
    endpoint_arn: pulumi.Output[str]
    url: pulumi.Output[str]
    """The IAM-authorized invoke API (`POST /invocations`)."""
    model_package_arns: pulumi.Output[dict[str, str]]
    """The hub's model package each variant serves, by variant name."""

    def __init__(self, name: str, args: StageDeploymentArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(TYPE, name, None, renamed(TYPE, PREVIOUS_TYPE, opts))
        if args.stage not in STAGE_OF_ACCOUNT_ROLE:
            raise ValueError(f"{name}: a stage deployment runs in the test or prod account, not {args.stage!r}")
        self._args, self._name = args, name
        self.variants = list(args.variants)
        self.endpoint_name = endpoint_name(args.stage, args.use_case, args.group)
        self._tags = {
            "mlgov:component": "stage-deployment", "mlgov:use-case": args.use_case, "mlgov:model-group": args.group,
            "mlgov:stage": STAGE_OF_ACCOUNT_ROLE[args.stage], **args.tags,
        }
        # Only what serves a version carries it: a rollout retags the models, configuration and endpoint, nothing else.
        self._serving_tags = {**self._tags, "mlgov:model-version": str(args.version)}
        hub = args.hub
        # The hub decides what may be deployed: an unknown group or a use case mismatch fails here, with the
        # deployment named, before anything depending on the model package ARN is sent to AWS.
        checked = pulumi.Output.all(
            arns=hub.group_arns, use_cases=hub.group_use_cases, tiers=hub.use_case_risk_tiers,
            region=hub.region, account=hub.shared_account_id,
        ).apply(self._check)
        self.high_risk = checked.apply(lambda c: c["highRisk"])
        self.capture = checked.apply(lambda c: c["highRisk"] or args.data_capture)
        self.model_package_arns = checked.apply(lambda c: c["packages"])
        self.bucket_arn = pulumi.Output.from_input(hub.bucket_name).apply(lambda b: f"arn:{args.partition}:s3:::{b}")

        self.execution_role = self._execution_role()
        self.models = {v.name: self._model(v) for v in self.variants}
        self.endpoint_config = self._endpoint_config()
        self.alarms = self._alarms()
        self.endpoint = aws.sagemaker.Endpoint(
            f"{name}-endpoint",
            name=self.endpoint_name,
            endpoint_config_name=self.endpoint_config.name,
            deployment_config=self._rollout(),
            tags=self._serving_tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.invoke_function = self._function(
            "invoke", "serving.invoke.handler",
            InvokeSettings(self.endpoint_name, args.max_body_bytes, tuple(args.content_types)).to_env(),
            [statement("InvokeTheEndpoint", ["sagemaker:InvokeEndpoint"], self.endpoint.arn)],
            timeout=29,
        )
        self.api = IamHttpApi(
            f"{name}-http",
            IamHttpApiArgs(
                function_name=self.invoke_function.name,
                function_arn=self.invoke_function.arn,
                routes=[INVOKE_ROUTE],
                log_kms_key_arn=args.key_arn,
                log_retention_days=args.log_retention_days,
                throttling_burst_limit=args.throttling_burst_limit,
                throttling_rate_limit=args.throttling_rate_limit,
                tags=self._tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.reporter = self._reporter()
        self.endpoint_arn = self.endpoint.arn
        self.url = self.api.url
        self.register_outputs({
            "endpoint_name": self.endpoint.name,
            "endpoint_arn": self.endpoint_arn,
            "url": self.url,
            "model_package_arns": self.model_package_arns,
        })

    # -- the hub's verdict -------------------------------------------------------------------------------
    def _check(self, hub: Mapping[str, Any]) -> dict[str, Any]:
        a = self._args
        check_deployment(a.use_case, a.group, a.version, hub["arns"], hub["use_cases"])
        return {
            "highRisk": hub["tiers"].get(a.use_case) == "high",
            "packages": {
                v.name: model_package_arn(hub["region"], hub["account"], a.group, v.version, a.partition) for v in self.variants
            },
        }

    # -- SageMaker -----------------------------------------------------------------------------------------
    def _execution_role(self) -> aws.iam.Role:
        a = self._args
        role = service_role(
            f"{self._name}-execution", "sagemaker.amazonaws.com", a.account_id,
            f"mlgov: SageMaker runs {a.group} from the hub registry with this role",
            tags=self._tags, opts=pulumi.ResourceOptions(parent=self),
        )
        logs = f"arn:{a.partition}:logs:{a.region}:{a.account_id}:log-group:/aws/sagemaker/Endpoints/{self.endpoint_name}"

        def statements(inputs: list[Any]) -> list[dict[str, Any]]:
            bucket_arn, key_arn, hub_region, hub_account, capture = inputs
            out = [
                statement("ReadHubModelArtifacts", ["s3:GetObject"], f"{bucket_arn}/{MODELS_PREFIX}*"),
                statement("DecryptWithHubKey", ["kms:Decrypt", "kms:DescribeKey"], key_arn),
                statement("PullHubImages", ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                          f"arn:{a.partition}:ecr:{hub_region}:{hub_account}:repository/*"),
                # GetAuthorizationToken has no resource-level permissions: AWS only accepts "*" here.
                statement("EcrLogin", ["ecr:GetAuthorizationToken"], "*"),
                statement("WriteEndpointLogs", ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                          [logs, f"{logs}:*"]),
            ]
            if capture:
                out += [
                    statement("WriteDataCapture", ["s3:PutObject"], f"{bucket_arn}/{capture_prefix(a.account_id)}*"),
                    statement("EncryptDataCapture", ["kms:Encrypt", "kms:GenerateDataKey"], key_arn),
                ]
            return out

        policy = pulumi.Output.all(self.bucket_arn, a.hub.key_arn, a.hub.region, a.hub.shared_account_id, self.capture).apply(
            lambda inputs: json.dumps({"Version": "2012-10-17", "Statement": statements(inputs)}, sort_keys=True)
        )
        aws.iam.RolePolicy(f"{self._name}-execution-policy", role=role.id, policy=policy, opts=pulumi.ResourceOptions(parent=role))
        return role

    def _model(self, variant: VariantSpec) -> aws.sagemaker.Model:
        return aws.sagemaker.Model(
            f"{self._name}-model-{variant.name}",
            execution_role_arn=self.execution_role.arn,
            primary_container=aws.sagemaker.ModelPrimaryContainerArgs(
                model_package_name=self.model_package_arns.apply(lambda arns, n=variant.name: arns[n]),
            ),
            enable_network_isolation=True,
            tags={**self._tags, "mlgov:model-version": str(variant.version), "mlgov:variant": variant.name,
                  "mlgov:variant-role": variant.role},
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _endpoint_config(self) -> aws.sagemaker.EndpointConfiguration:
        a = self._args

        def variant_args(v: VariantSpec, shadow: bool) -> dict[str, Any]:
            return {
                "variant_name": v.name,
                "model_name": self.models[v.name].name,
                "initial_instance_count": a.instance_count,
                "instance_type": a.instance_type,
                "initial_variant_weight": v.weight,
            }

        production = [variant_args(v, False) for v in self.variants if v.role != "shadow"]
        shadows = [variant_args(v, True) for v in self.variants if v.role == "shadow"]
        capture_uri = pulumi.Output.from_input(a.hub.bucket_name).apply(lambda b: f"s3://{b}/{CAPTURE_PREFIX}{a.account_id}")

        def capture_config(inputs: list[Any]) -> dict[str, Any]:
            uri, key_arn = inputs
            return {
                "enable_capture": True,
                "initial_sampling_percentage": 100,
                "destination_s3_uri": uri,
                "kms_key_id": key_arn,
                "capture_options": [{"capture_mode": "Input"}, {"capture_mode": "Output"}],
                "capture_content_type_header": {"csv_content_types": ["text/csv"], "json_content_types": ["application/json"]},
            }

        data_capture = pulumi.Output.all(capture_uri, a.hub.key_arn).apply(capture_config)
        inputs = pulumi.Output.from_input({
            "kms_key_arn": a.key_arn,
            "production_variants": production,
            "shadow_production_variants": shadows or None,
            "data_capture_config": pulumi.Output.all(self.capture, data_capture).apply(lambda c: c[1] if c[0] else None),
        })
        return aws.sagemaker.EndpointConfiguration(
            f"{self._name}-endpoint-config",
            name=pulumi.Output.all(inputs, self.model_package_arns).apply(lambda i: endpoint_config_name(self.endpoint_name, {**i[0], "packages": i[1]})),
            kms_key_arn=inputs.apply(lambda i: i["kms_key_arn"]),
            production_variants=inputs.apply(lambda i: i["production_variants"]),
            shadow_production_variants=inputs.apply(lambda i: i["shadow_production_variants"]),
            data_capture_config=inputs.apply(lambda i: i["data_capture_config"]),
            tags=self._serving_tags,
            # A new name is a new configuration, created before the endpoint moves to it (Pulumi's default order).
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=False),
        )

    def _rollout(self) -> dict[str, Any]:
        """Blue/green with automatic rollback: SageMaker shifts traffic to the new fleet and rolls back if one of this
        deployment's alarms fires while it watches (https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-blue-green.html).

        All at once: a canary must be at most half a variant's instances, which one instance cannot be.
        """
        return {
            "blue_green_update_policy": {
                "traffic_routing_configuration": {"type": "ALL_AT_ONCE", "wait_interval_in_seconds": self._args.rollout_wait_seconds},
            },
            "auto_rollback_configuration": {"alarms": [{"alarm_name": alarm.name} for alarm in self.alarms]},
        }

    # -- Lambdas -------------------------------------------------------------------------------------------
    def _function(self, part: str, handler: str, env: Mapping[str, pulumi.Input[str]], statements: list[Any], timeout: int,
                  dead_letters: Optional[aws.sqs.Queue] = None) -> Function:
        """A `serving` Lambda; its parts were once direct children of this component, and keep their URNs."""
        a = self._args
        fn = f"{self._name}-{part}"
        return Function(
            fn,
            FunctionArgs(
                handler=handler,
                code=package_archive(*SERVING_CODE),
                account_id=a.account_id,
                region=a.region,
                kms_key_arn=a.key_arn,
                statements=statements,
                environment={**env, "POWERTOOLS_SERVICE_NAME": f"mlgov-{handler.split('.')[1]}"},
                log_group_name=f"{LEGACY_LOG_GROUP_PREFIX}{fn}",
                asynchronous=dead_letters is not None,
                dead_letter_queue_arn=dead_letters.arn if dead_letters is not None else None,
                log_retention_days=a.log_retention_days,
                timeout_seconds=timeout,
                memory_mb=256,
                powertools_layer_version=a.powertools_layer_version,
                partition=a.partition,
                alarm_actions=a.alarm_actions,
                tags=self._tags,
                aliases={"function": [was(self, fn)], "logs": [was(self, f"{fn}-logs")], "role": [was(self, f"{fn}-role")]},
                reserved_concurrency={**RESERVED_CONCURRENCY, **(a.lambda_concurrency or {})}[part],
                network=a.network,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _reporter(self) -> Function:
        """Tells the hub bus what was deployed (once in service) and how it performs (on a schedule)."""
        a = self._args
        # One queue keeps both what EventBridge could not deliver to the reporter and what the reporter failed on.
        queue_name = f"{self._name}-reporter-dead-letters"
        self.dead_letter_queue = dead_letter_queue(queue_name, a.key_arn, [], self._tags, pulumi.ResourceOptions(parent=self),
                                                  alarm_actions=list(a.alarm_actions or ()))
        settings = ReporterSettings(
            endpoint_name=self.endpoint_name, bus_arn=a.hub.bus_arn, model_group=a.group, use_case_id=a.use_case,
            stage=STAGE_OF_ACCOUNT_ROLE[a.stage], account_id=a.account_id,
            variants=tuple(ReporterVariant(v.name, v.version, v.role) for v in self.variants), window_minutes=a.metrics_window_minutes,
            capture_bucket=pulumi.Output.all(self.capture, a.hub.bucket_name).apply(lambda c: c[1] if c[0] else ""),
        )
        reporter = self._function(
            "reporter", "serving.collector.handler", settings.to_env(),
            [
                statement("PutOnHubBus", ["events:PutEvents"], a.hub.bus_arn),
                # GetMetricData has no resource-level permissions: AWS only accepts "*" here.
                statement("ReadEndpointMetrics", ["cloudwatch:GetMetricData"], "*"),
                *drift_statements(DriftAccess(self.bucket_arn, a.hub.key_arn, a.hub.region, a.account_id, self.endpoint_name,
                                              a.group, [v.version for v in self.variants], STAGE_OF_ACCOUNT_ROLE[a.stage], self.capture)),
            ],
            timeout=60,
            dead_letters=self.dead_letter_queue,
        )
        triggers = {
            "metrics-schedule": dict(schedule_expression=a.metrics_schedule,
                                     description=f"mlgov: report {self.endpoint_name}'s metrics to the hub"),
            "deployed": dict(
                event_pattern={
                    "source": [SOURCE_SAGEMAKER],
                    "detail-type": [DETAIL_TYPE_ENDPOINT],
                    "detail": {"EndpointName": [self.endpoint_name], "EndpointStatus": ["IN_SERVICE"]},
                },
                description=f"mlgov: report {self.endpoint_name} deployed to the hub",
            ),
        }
        routes = []
        for part, trigger in triggers.items():
            route = f"{self._name}-{part}"
            old_rule = was_under(self, "aws:cloudwatch/eventRule:EventRule", route)
            routes.append(EventRoute(
                route,
                EventRouteArgs(
                    function_arn=reporter.arn, function_name=reporter.name, kms_key_arn=a.key_arn,
                    dead_letter_queue=self.dead_letter_queue, tags=self._tags,
                    aliases={"rule": [pulumi.Alias(parent=former(self))], "invoke": [pulumi.Alias(parent=old_rule)],
                             "target": [pulumi.Alias(parent=old_rule)]},
                    **trigger,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            ))
        admit_event_rules(f"{queue_name}-policy", self.dead_letter_queue, [r.rule.arn for r in routes])
        return reporter

    # -- alarms --------------------------------------------------------------------------------------------
    def _alarms(self) -> list[aws.cloudwatch.MetricAlarm]:
        a = self._args
        alarms = []
        for v in self.variants:
            dims = {"EndpointName": self.endpoint_name, "VariantName": v.name}
            alarms.append(aws.cloudwatch.MetricAlarm(
                f"{self._name}-{v.name}-5xx",
                alarm_description=f"{self.endpoint_name}/{v.name}: the model returns server errors",
                namespace="AWS/SageMaker", metric_name="Invocation5XXErrors", dimensions=dims,
                statistic="Sum", period=300, evaluation_periods=1, threshold=a.error_alarm_threshold,
                comparison_operator="GreaterThanOrEqualToThreshold", treat_missing_data="notBreaching",
                alarm_actions=list(a.alarm_actions), ok_actions=list(a.alarm_actions),
                tags=self._tags, opts=pulumi.ResourceOptions(parent=self),
            ))
            alarms.append(aws.cloudwatch.MetricAlarm(
                f"{self._name}-{v.name}-latency",
                alarm_description=f"{self.endpoint_name}/{v.name}: p90 model latency above {a.latency_alarm_ms} ms",
                namespace="AWS/SageMaker", metric_name="ModelLatency", dimensions=dims,
                extended_statistic="p90", period=300, evaluation_periods=3, datapoints_to_alarm=2,
                threshold=a.latency_alarm_ms * 1000,  # SageMaker reports ModelLatency in microseconds
                comparison_operator="GreaterThanThreshold", treat_missing_data="notBreaching",
                alarm_actions=list(a.alarm_actions), ok_actions=list(a.alarm_actions),
                tags=self._tags, opts=pulumi.ResourceOptions(parent=self),
            ))
        return alarms
