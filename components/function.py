"""One Lambda function as mlgov deploys every one of them: hub handlers and member-account Lambdas alike.

Python 3.12 with the Powertools layer, X-Ray tracing, a KMS-encrypted log group with retention, its
own role (trusted by Lambda for this account only) granting the calls it is given plus what running
needs, and, when it runs asynchronously, a dead-letter queue for the invocations it gave up on.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.args import ComponentArgs
from components.dead_letters import dead_letter_queue
from components.policy_documents import document, service_role, statement
from components.private_network import FunctionNetwork

RUNTIME = "python3.12"
ARCHITECTURE = "x86_64"
POWERTOOLS_ACCOUNT = "017000801446"
POWERTOOLS_LAYER = "AWSLambdaPowertoolsPythonV3-python312-x86_64"
POWERTOOLS_LAYER_VERSION = 27
LOG_GROUP_PREFIX = "/aws/lambda/"
SOURCE_ROOT = Path(__file__).resolve().parent.parent
TYPE = "mlgov:function:Function"
DEFAULT_RESERVED_CONCURRENCY = 10
"""Executions reserved for a function whose caller names no other limit: a runaway caller cannot take the account's pool."""
# What Lambda needs to attach a function to private subnets: the actions of the AWS managed policy
# AWSLambdaVPCAccessExecutionRole (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaVPCAccessExecutionRole.html),
# scoped where EC2 allows it. The Describe actions have no resource-level permissions, so AWS only accepts "*" there
# (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html).
ENI_DESCRIBE_ACTIONS = ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets")
ENI_MANAGE_ACTIONS = ("ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses")


def powertools_layer_arn(region: str, version: int = POWERTOOLS_LAYER_VERSION, partition: str = "aws") -> str:
    return f"arn:{partition}:lambda:{region}:{POWERTOOLS_ACCOUNT}:layer:{POWERTOOLS_LAYER}:{version}"


@functools.lru_cache(maxsize=None)
def package_archive(*packages: str) -> pulumi.AssetArchive:
    """The Python sources of `packages` (directories, or single `.py` files, at the project root) alone: no tests,
    no caches. Read once per process: every function of a package ships the same archive.
    """
    assets: dict[str, pulumi.Asset] = {}
    for package in packages:
        source = SOURCE_ROOT / package
        for path in [source] if source.suffix == ".py" else sorted(source.rglob("*.py")):
            if "__pycache__" not in path.parts:
                assets[path.relative_to(SOURCE_ROOT).as_posix()] = pulumi.FileAsset(str(path))
    return pulumi.AssetArchive(assets)


@dataclass
class FunctionArgs(ComponentArgs):
    handler: str
    """Import path of the handler, e.g. `governance.handlers.sync.handler`."""
    code: pulumi.Archive
    """The deployment package (`package_archive(...)`)."""
    account_id: str
    """The account the function runs in: its role trusts Lambda on behalf of this account only."""
    region: str
    kms_key_arn: pulumi.Input[str]
    """Encrypts the environment, the log group and the dead-letter queue."""
    statements: Sequence[Mapping[str, Any]] = ()
    """IAM statements for exactly the AWS calls the handler makes, each scoped to its resources."""
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    function_name: Optional[str] = None
    """Physical name; None lets Pulumi name it after the resource."""
    role_name: Optional[str] = None
    """Physical role name; None lets Pulumi name it."""
    log_group_name: Optional[str] = None
    """Default `/aws/lambda/<function name>`; a stack that created its group elsewhere passes that name to keep it."""
    asynchronous: bool = False
    """Invoked by events: the invocations Lambda gives up on go to a dead-letter queue."""
    dead_letter_queue_arn: Optional[pulumi.Input[str]] = None
    """With `asynchronous`: a queue shared with the function's event routes instead of one of its own."""
    dead_letter_queue_name: Optional[str] = None
    """Physical name of its own queue; None lets Pulumi name it."""
    key_services: Sequence[str] = ()
    """Services (`dynamodb`, ...) through which the handler uses the key; SQS is added for the dead letters."""
    log_retention_days: int = 365
    timeout_seconds: int = 30
    memory_mb: int = 512
    powertools_layer_version: int = POWERTOOLS_LAYER_VERSION
    partition: str = "aws"
    alarm_actions: Sequence[pulumi.Input[str]] = ()
    aliases: Mapping[str, Sequence[pulumi.Input[Any]]] = field(default_factory=dict)
    """Earlier URNs or `pulumi.Alias`es of the parts (`function`, `logs`, `role`, `policy`, `dead_letters`) so they are kept."""
    reserved_concurrency: Optional[int] = None
    """Concurrent executions reserved for the function, which is also its ceiling; None: `DEFAULT_RESERVED_CONCURRENCY`."""
    network: Optional[FunctionNetwork] = None
    """Private subnets and security groups to run in; None runs it in Lambda's own network."""


class Function(pulumi.ComponentResource):
    function: aws.lambda_.Function
    role: aws.iam.Role
    log_group: aws.cloudwatch.LogGroup
    dead_letter_queue_arn: Optional[pulumi.Input[str]] = None

    def __init__(self, name: str, args: FunctionArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(TYPE, name, None, opts)
        tags = dict(args.tags)

        def part(key: str, parent: pulumi.Resource = self, **extra: Any) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=parent, aliases=list(args.aliases.get(key, ())) or None, **extra)

        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=args.log_group_name or f"{LOG_GROUP_PREFIX}{args.function_name or name}",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn,
            tags=tags,
            opts=part("logs"),
        )
        key_services = list(args.key_services)
        self.dead_letter_queue_arn = None
        if args.asynchronous:
            self.dead_letter_queue_arn = args.dead_letter_queue_arn
            if self.dead_letter_queue_arn is None:
                queue = dead_letter_queue(f"{name}-dlq", args.kms_key_arn, [], tags, part("dead_letters"),
                                          queue_name=args.dead_letter_queue_name, alarm_actions=args.alarm_actions)
                self.dead_letter_queue_arn = queue.arn
            key_services.append("sqs")
        self.role = service_role(
            f"{name}-role", "lambda.amazonaws.com", args.account_id,
            f"mlgov: {name} Lambda",
            tags=tags, opts=part("role"), role_name=args.role_name,
        )
        running = [
            statement("WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], self.log_group.arn.apply(lambda arn: f"{arn}:*")),
            # X-Ray has no resource-level permissions: AWS only accepts "*" here.
            statement("Tracing", ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], "*"),
        ]
        if self.dead_letter_queue_arn is not None:
            running.append(statement("OwnDeadLetterQueue", ["sqs:SendMessage"], self.dead_letter_queue_arn))
        if args.network is not None:
            running += eni_statements(args.network, args.region, args.account_id, args.partition)
        if key_services:
            running.append(statement(
                "UseKeyThroughServices", ["kms:Decrypt", "kms:GenerateDataKey"], args.kms_key_arn,
                conditions={"StringEquals": {"kms:ViaService": [f"{s}.{args.region}.amazonaws.com" for s in key_services]}},
            ))
        policy = aws.iam.RolePolicy(
            f"{name}-policy", role=self.role.id, policy=document([*args.statements, *running]), opts=part("policy", self.role),
        )
        dead_letters = self.dead_letter_queue_arn
        self.function = aws.lambda_.Function(
            name,
            name=args.function_name,
            runtime=RUNTIME,
            architectures=[ARCHITECTURE],
            handler=args.handler,
            code=args.code,
            role=self.role.arn,
            layers=[powertools_layer_arn(args.region, args.powertools_layer_version, args.partition)],
            timeout=args.timeout_seconds,
            memory_size=args.memory_mb,
            kms_key_arn=args.kms_key_arn,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=dict(args.environment)),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=self.log_group.name),
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            dead_letter_config=aws.lambda_.FunctionDeadLetterConfigArgs(target_arn=dead_letters) if dead_letters is not None else None,
            reserved_concurrent_executions=args.reserved_concurrency or DEFAULT_RESERVED_CONCURRENCY,
            vpc_config=aws.lambda_.FunctionVpcConfigArgs(
                subnet_ids=list(args.network.subnet_ids), security_group_ids=list(args.network.security_group_ids),
            ) if args.network is not None else None,
            tags=tags,
            opts=part("function", depends_on=[policy, self.log_group]),
        )
        self.arn = self.function.arn
        self.name = self.function.name
        self.register_outputs({"function_arn": self.function.arn, "function_name": self.function.name, "role_arn": self.role.arn})


def eni_statements(network: FunctionNetwork, region: str, account_id: str, partition: str = "aws") -> list[dict[str, Any]]:
    """The network interfaces Lambda creates for the function, only in its subnets and security groups."""
    ec2 = f"arn:{partition}:ec2:{region}:{account_id}"
    interfaces = f"{ec2}:network-interface/*"
    placed = [pulumi.Output.concat(f"{ec2}:subnet/", s) for s in network.subnet_ids]
    placed += [pulumi.Output.concat(f"{ec2}:security-group/", g) for g in network.security_group_ids]
    return [
        statement("CreateInterfacesInItsSubnets", ["ec2:CreateNetworkInterface"], [interfaces, *placed]),
        statement("ManageItsInterfaces", list(ENI_MANAGE_ACTIONS), interfaces),
        statement("DescribeInterfaces", list(ENI_DESCRIBE_ACTIONS), "*"),
    ]
