"""One governance handler as a Lambda function with its own role, log group and dead-letter queue.

The role grants the handler's AWS calls (given by the caller, scoped to resources) plus what
every function needs to run: its own log group, X-Ray, its dead-letter queue, and the key through
DynamoDB and SQS only.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.dead_letters import dead_letter_queue
from components.policy_documents import document, statement

GOVERNANCE_PACKAGE = Path(__file__).resolve().parent.parent / "governance"
POWERTOOLS_ACCOUNT = "017000801446"
RUNTIME = "python3.12"


def powertools_layer_arn(region: str, version: int, partition: str = "aws") -> str:
    return f"arn:{partition}:lambda:{region}:{POWERTOOLS_ACCOUNT}:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:{version}"


def package_archive(package_dir: Path = GOVERNANCE_PACKAGE) -> pulumi.AssetArchive:
    """The package's Python sources alone (no tests, no caches), under its own name in the zip."""
    files = sorted(p for p in package_dir.rglob("*.py") if "__pycache__" not in p.parts)
    return pulumi.AssetArchive({
        f"{package_dir.name}/{p.relative_to(package_dir).as_posix()}": pulumi.FileAsset(str(p)) for p in files
    })


def assume_role_policy(service: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    })


@dataclass
class GovernanceFunctionArgs:
    handler: str
    """Module under `governance.handlers` (sync, api, metrics)."""
    statements: Sequence[Mapping[str, Any]]
    """IAM statements for exactly the AWS calls the handler makes."""
    kms_key_arn: pulumi.Input[str]
    region: str
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    layers: Sequence[str] = ()
    function_name: Optional[str] = None
    log_retention_days: int = 365
    timeout_seconds: int = 30
    memory_mb: int = 512
    code: Optional[pulumi.Archive] = None
    alarm_actions: Sequence[pulumi.Input[str]] = ()
    tags: Mapping[str, str] = field(default_factory=dict)


class GovernanceFunction(pulumi.ComponentResource):
    function: aws.lambda_.Function

    def __init__(self, name: str, args: GovernanceFunctionArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlgov:governance_function:GovernanceFunction", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        function_name = args.function_name or name
        tags = dict(args.tags)

        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/lambda/{function_name}",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn,
            tags=tags,
            opts=child,
        )
        self.dead_letter_queue = dead_letter_queue(
            f"{name}-dlq", args.kms_key_arn, [], tags, child, queue_name=f"{function_name}-dlq", alarm_actions=args.alarm_actions,
        )
        self.role = aws.iam.Role(
            f"{name}-role",
            name=f"{function_name}-role",
            assume_role_policy=assume_role_policy("lambda.amazonaws.com"),
            tags=tags,
            opts=child,
        )
        runtime_statements = [
            statement("OwnLogGroup", ["logs:CreateLogStream", "logs:PutLogEvents"],
                      self.log_group.arn.apply(lambda arn: f"{arn}:*")),
            # X-Ray accepts no resource scope for these two actions.
            statement("Tracing", ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], "*"),
            statement("OwnDeadLetterQueue", ["sqs:SendMessage"], self.dead_letter_queue.arn),
            statement("KeyThroughDynamoDbAndSqs", ["kms:Decrypt", "kms:GenerateDataKey"], args.kms_key_arn,
                      conditions={"StringEquals": {"kms:ViaService": [f"dynamodb.{args.region}.amazonaws.com", f"sqs.{args.region}.amazonaws.com"]}}),
        ]
        self.role_policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=self.role.id,
            policy=document([*args.statements, *runtime_statements]),
            opts=child,
        )
        self.function = aws.lambda_.Function(
            f"{name}-function",
            name=function_name,
            runtime=RUNTIME,
            handler=f"governance.handlers.{args.handler}.handler",
            code=args.code or package_archive(),
            role=self.role.arn,
            layers=list(args.layers),
            timeout=args.timeout_seconds,
            memory_size=args.memory_mb,
            architectures=["x86_64"],
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            dead_letter_config=aws.lambda_.FunctionDeadLetterConfigArgs(target_arn=self.dead_letter_queue.arn),
            kms_key_arn=args.kms_key_arn,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables={
                "POWERTOOLS_SERVICE_NAME": f"mlgov-{args.handler}",
                "AWS_RETRY_MODE": "standard",
                "AWS_MAX_ATTEMPTS": "5",
                **args.environment,
            }),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=self.log_group.name),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.role_policy, self.log_group]),
        )
        self.register_outputs({
            "function_arn": self.function.arn,
            "function_name": self.function.name,
            "role_arn": self.role.arn,
            "dead_letter_queue_arn": self.dead_letter_queue.arn,
        })
