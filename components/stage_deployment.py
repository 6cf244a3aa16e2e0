"""One pinned model version (or an A/B pair, or a version with a shadow) served in a test or prod account.

Built from the hub registry's model package ARN, never from a copied artifact: the stage account's
RAM deploy share lets it create a model from the hub's version, and its execution role may only read
the hub's model artifacts and decrypt them. In front of the endpoint, an IAM-authorized HTTP API and
a small invoke Lambda; behind it, alarms and a reporter that tells the hub bus what was deployed and
how it performs. High-risk use cases always capture every request and response.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.http_api import IamHttpApi, IamHttpApiArgs
from components.hub_outputs import HubOutputs, check_deployment, model_package_arn
from components.dead_letters import dead_letter_queue
from components.member_account import service_trust
from components.policy_documents import document, statement
from mlgov.config import Deployment

SERVING_DIR = Path(__file__).resolve().parent.parent / "serving"
POWERTOOLS_ACCOUNT = "017000801446"
POWERTOOLS_LAYER = "AWSLambdaPowertoolsPythonV3-python312-x86_64"
POWERTOOLS_LAYER_VERSION = 27
LAMBDA_RUNTIME = "python3.12"
MODELS_PREFIX = "models"
CAPTURE_PREFIX = "capture"
STAGES = {"test": "test", "prod": "production"}
INVOKE_ROUTE = "POST /invocations"
ENDPOINT_STATE_CHANGE = "SageMaker Endpoint State Change"


def powertools_layer_arn(region: str, version: int = POWERTOOLS_LAYER_VERSION, partition: str = "aws") -> str:
    return f"arn:{partition}:lambda:{region}:{POWERTOOLS_ACCOUNT}:layer:{POWERTOOLS_LAYER}:{version}"


def serving_archive() -> pulumi.AssetArchive:
    """The `serving` package alone (its .py files), the whole code of both Lambdas."""
    return pulumi.AssetArchive({
        f"serving/{p.name}": pulumi.FileAsset(str(p)) for p in sorted(SERVING_DIR.glob("*.py"))
    })


def endpoint_name(stage: str, group: str, version: int) -> str:
    """A SageMaker endpoint name (≤ 63 characters), stable for a stage/group/version."""
    name = f"mlgov-{stage}-{group}-v{version}"
    if len(name) <= 63:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[:54].rstrip('-')}-{digest}"


@dataclass(frozen=True)
class VariantSpec:
    name: str
    version: int
    role: str  # champion | challenger | shadow
    weight: int  # traffic weight; for the shadow, the share of requests copied to it (percent)


def variants_of(deployment: Deployment) -> list[VariantSpec]:
    out = [VariantSpec(f"v{deployment.version}", deployment.version, "champion", deployment.weight)]
    if deployment.challenger:
        out.append(VariantSpec(f"v{deployment.challenger.version}", deployment.challenger.version, "challenger", deployment.challenger.weight))
    if deployment.shadow:
        out.append(VariantSpec(f"v{deployment.shadow.version}", deployment.shadow.version, "shadow", deployment.shadow.sampling_percentage))
    return out


@dataclass
class StageDeploymentArgs:
    deployment: Deployment
    stage: str
    """The account role, `test` or `prod` (reported to the hub as `test` / `production`)."""
    account_id: str
    region: str
    hub: HubOutputs
    key_arn: pulumi.Input[str]
    """This account's KMS key: endpoint volumes, Lambda environments, log groups."""
    partition: str = "aws"
    log_retention_days: int = 365
    max_body_bytes: int = 5 * 1024 * 1024
    content_types: Sequence[str] = ("application/json", "text/csv")
    throttling_burst_limit: int = 50
    throttling_rate_limit: float = 100.0
    metrics_schedule: str = "rate(15 minutes)"
    metrics_window_minutes: int = 15
    error_alarm_threshold: int = 5
    alarm_actions: Sequence[pulumi.Input[str]] = ()
    powertools_layer_version: int = POWERTOOLS_LAYER_VERSION
    tags: Mapping[str, str] = field(default_factory=dict)


class StageDeployment(pulumi.ComponentResource):
    endpoint: aws.sagemaker.Endpoint

    def __init__(self, name: str, args: StageDeploymentArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlgov:stage_deployment:StageDeployment", name, None, opts)
        if args.stage not in STAGES:
            raise ValueError(f"{name}: a stage deployment runs in the test or prod account, not {args.stage!r}")
        d = args.deployment
        self._args, self._name = args, name
        self.variants = variants_of(d)
        self.endpoint_name = endpoint_name(args.stage, d.group, d.version)
        self._tags = {
            "mlgov:component": "stage-deployment", "mlgov:use-case": d.use_case, "mlgov:model-group": d.group,
            "mlgov:model-version": str(d.version), "mlgov:stage": STAGES[args.stage], **args.tags,
        }
        hub = args.hub
        # The hub decides what may be deployed: an unknown group or a use case mismatch fails here, with the
        # deployment named, before anything depending on the model package ARN is sent to AWS.
        checked = pulumi.Output.all(
            arns=hub.group_arns, use_cases=hub.group_use_cases, tiers=hub.use_case_risk_tiers,
            region=hub.region, account=hub.shared_account_id,
        ).apply(self._check)
        self.high_risk = checked.apply(lambda c: c["highRisk"])
        self.capture = checked.apply(lambda c: c["highRisk"] or d.data_capture)
        self.model_package_arns = checked.apply(lambda c: c["packages"])
        self.bucket_arn = pulumi.Output.from_input(hub.bucket_name).apply(lambda b: f"arn:{args.partition}:s3:::{b}")

        self.execution_role = self._execution_role()
        self.models = {v.name: self._model(v) for v in self.variants}
        self.endpoint_config = self._endpoint_config()
        self.endpoint = aws.sagemaker.Endpoint(
            f"{name}-endpoint",
            name=self.endpoint_name,
            endpoint_config_name=self.endpoint_config.name,
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.invoke_function = self._function(
            "invoke", "serving.invoke.handler",
            {
                "ENDPOINT_NAME": self.endpoint_name,
                "MAX_BODY_BYTES": str(args.max_body_bytes),
                "ALLOWED_CONTENT_TYPES": ",".join(args.content_types),
                "POWERTOOLS_SERVICE_NAME": "mlgov-invoke",
            },
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
        self.alarms = self._alarms()
        self.reporter = self._reporter()
        self.register_outputs({
            "endpoint_name": self.endpoint.name,
            "endpoint_arn": self.endpoint.arn,
            "url": self.api.url,
            "model_package_arns": self.model_package_arns,
        })

    # -- the hub's verdict -------------------------------------------------------------------------------
    def _check(self, hub: Mapping[str, Any]) -> dict[str, Any]:
        d, a = self._args.deployment, self._args
        check_deployment(d, hub["arns"], hub["use_cases"])
        return {
            "highRisk": hub["tiers"].get(d.use_case) == "high",
            "packages": {
                v.name: model_package_arn(hub["region"], hub["account"], d.group, v.version, a.partition) for v in self.variants
            },
        }

    # -- SageMaker -----------------------------------------------------------------------------------------
    def _execution_role(self) -> aws.iam.Role:
        a = self._args
        role = aws.iam.Role(
            f"{self._name}-execution",
            description=f"mlgov: SageMaker runs {a.deployment.group} from the hub registry with this role",
            assume_role_policy=json.dumps(service_trust("sagemaker.amazonaws.com", a.account_id), sort_keys=True),
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        logs = f"arn:{a.partition}:logs:{a.region}:{a.account_id}:log-group:/aws/sagemaker/Endpoints/{self.endpoint_name}"

        def statements(inputs: list[Any]) -> list[dict[str, Any]]:
            bucket_arn, key_arn, hub_region, hub_account, capture = inputs
            out = [
                statement("ReadHubModelArtifacts", ["s3:GetObject"], f"{bucket_arn}/{MODELS_PREFIX}/*"),
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
                    statement("WriteDataCapture", ["s3:PutObject"], f"{bucket_arn}/{CAPTURE_PREFIX}/{a.account_id}/*"),
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
            tags={**self._tags, "mlgov:variant": variant.name, "mlgov:variant-role": variant.role},
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _endpoint_config(self) -> aws.sagemaker.EndpointConfiguration:
        a, d = self._args, self._args.deployment

        def variant_args(v: VariantSpec, shadow: bool) -> dict[str, Any]:
            return {
                "variant_name": v.name,
                "model_name": self.models[v.name].name,
                "initial_instance_count": d.instance_count,
                "instance_type": d.instance_type,
                "initial_variant_weight": v.weight,
            }

        production = [variant_args(v, False) for v in self.variants if v.role != "shadow"]
        shadows = [variant_args(v, True) for v in self.variants if v.role == "shadow"]
        capture_uri = pulumi.Output.from_input(a.hub.bucket_name).apply(lambda b: f"s3://{b}/{CAPTURE_PREFIX}/{a.account_id}")

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
        return aws.sagemaker.EndpointConfiguration(
            f"{self._name}-endpoint-config",
            kms_key_arn=a.key_arn,
            production_variants=production,
            shadow_production_variants=shadows or None,
            data_capture_config=pulumi.Output.all(self.capture, data_capture).apply(lambda c: c[1] if c[0] else None),
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self),
        )

    # -- Lambdas -------------------------------------------------------------------------------------------
    def _function(
        self,
        part: str,
        handler: str,
        env: Mapping[str, pulumi.Input[str]],
        statements: list[Any],
        timeout: int,
        dead_letters: Optional[aws.sqs.Queue] = None,
    ) -> aws.lambda_.Function:
        """A python3.12 Lambda running `serving`, traced, with its own role and KMS-encrypted log group."""
        a = self._args
        if dead_letters is not None:
            statements = [
                *statements,
                statement("OwnDeadLetterQueue", ["sqs:SendMessage"], dead_letters.arn),
                statement("EncryptDeadLetters", ["kms:Decrypt", "kms:GenerateDataKey"], a.key_arn,
                          conditions={"StringEquals": {"kms:ViaService": f"sqs.{a.region}.amazonaws.com"}}),
            ]
        fn_name = f"{self._name}-{part}"
        log_group = aws.cloudwatch.LogGroup(
            f"{fn_name}-logs",
            name=f"/mlgov/lambda/{fn_name}",
            retention_in_days=a.log_retention_days,
            kms_key_id=a.key_arn,
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        role = aws.iam.Role(
            f"{fn_name}-role",
            description=f"mlgov: {fn_name} Lambda",
            assume_role_policy=json.dumps(service_trust("lambda.amazonaws.com", a.account_id), sort_keys=True),
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        policy = aws.iam.RolePolicy(
            f"{fn_name}-policy",
            role=role.id,
            policy=document([
                *statements,
                statement("WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], log_group.arn.apply(lambda arn: f"{arn}:*")),
                # X-Ray has no resource-level permissions: AWS only accepts "*" here.
                statement("Tracing", ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], "*"),
            ]),
            opts=pulumi.ResourceOptions(parent=role),
        )
        return aws.lambda_.Function(
            fn_name,
            runtime=LAMBDA_RUNTIME,
            architectures=["x86_64"],
            handler=handler,
            code=serving_archive(),
            role=role.arn,
            layers=[powertools_layer_arn(a.region, a.powertools_layer_version, a.partition)],
            timeout=timeout,
            memory_size=256,
            kms_key_arn=a.key_arn,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=dict(env)),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=log_group.name),
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            dead_letter_config=aws.lambda_.FunctionDeadLetterConfigArgs(target_arn=dead_letters.arn) if dead_letters is not None else None,
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy, log_group]),
        )

    def _reporter(self) -> aws.lambda_.Function:
        a, d = self._args, self._args.deployment
        variants = json.dumps([{"name": v.name, "version": v.version, "role": v.role} for v in self.variants])
        triggers = {
            "metrics-schedule": dict(schedule_expression=a.metrics_schedule,
                                     description=f"mlgov: report {self.endpoint_name}'s metrics to the hub"),
            "deployed": dict(
                event_pattern=json.dumps({
                    "source": ["aws.sagemaker"],
                    "detail-type": [ENDPOINT_STATE_CHANGE],
                    "detail": {"EndpointName": [self.endpoint_name], "EndpointStatus": ["IN_SERVICE"]},
                }, sort_keys=True),
                description=f"mlgov: report {self.endpoint_name} deployed to the hub",
            ),
        }
        rules = {
            part: aws.cloudwatch.EventRule(f"{self._name}-{part}", tags=self._tags, opts=pulumi.ResourceOptions(parent=self), **rule_args)
            for part, rule_args in triggers.items()
        }
        # One queue keeps both what EventBridge could not deliver to the reporter and what the reporter failed on.
        self.dead_letter_queue = dead_letter_queue(
            f"{self._name}-reporter-dead-letters", a.key_arn, [r.arn for r in rules.values()], self._tags,
            pulumi.ResourceOptions(parent=self),
        )
        reporter = self._function(
            "reporter", "serving.collector.handler",
            {
                "ENDPOINT_NAME": self.endpoint_name,
                "HUB_BUS_ARN": a.hub.bus_arn,
                "MODEL_GROUP": d.group,
                "USE_CASE_ID": d.use_case,
                "STAGE": STAGES[a.stage],
                "ACCOUNT_ID": a.account_id,
                "VARIANTS": variants,
                "METRICS_WINDOW_MINUTES": str(a.metrics_window_minutes),
                "POWERTOOLS_SERVICE_NAME": "mlgov-collector",
            },
            [
                statement("PutOnHubBus", ["events:PutEvents"], a.hub.bus_arn),
                # GetMetricData has no resource-level permissions: AWS only accepts "*" here.
                statement("ReadEndpointMetrics", ["cloudwatch:GetMetricData"], "*"),
            ],
            timeout=60,
            dead_letters=self.dead_letter_queue,
        )
        for part, rule in rules.items():
            aws.lambda_.Permission(
                f"{self._name}-{part}-invoke",
                action="lambda:InvokeFunction",
                function=reporter.name,
                principal="events.amazonaws.com",
                source_arn=rule.arn,
                opts=pulumi.ResourceOptions(parent=rule),
            )
            aws.cloudwatch.EventTarget(
                f"{self._name}-{part}-target",
                rule=rule.name,
                arn=reporter.arn,
                retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(maximum_event_age_in_seconds=3600, maximum_retry_attempts=8),
                dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(arn=self.dead_letter_queue.arn),
                opts=pulumi.ResourceOptions(parent=rule),
            )
        return reporter

    # -- alarms --------------------------------------------------------------------------------------------
    def _alarms(self) -> list[aws.cloudwatch.MetricAlarm]:
        a, d = self._args, self._args.deployment
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
                alarm_description=f"{self.endpoint_name}/{v.name}: p90 model latency above {d.latency_alarm_ms} ms",
                namespace="AWS/SageMaker", metric_name="ModelLatency", dimensions=dims,
                extended_statistic="p90", period=300, evaluation_periods=3, datapoints_to_alarm=2,
                threshold=d.latency_alarm_ms * 1000,  # SageMaker reports ModelLatency in microseconds
                comparison_operator="GreaterThanThreshold", treat_missing_data="notBreaching",
                alarm_actions=list(a.alarm_actions), ok_actions=list(a.alarm_actions),
                tags=self._tags, opts=pulumi.ResourceOptions(parent=self),
            ))
        return alarms
