"""moto for the serving Lambdas: fake credentials, one region, the account id in ARNs not resolved by endpoint."""
from __future__ import annotations

import json
from dataclasses import dataclass

import boto3
import pytest
from moto import mock_aws

REGION = "eu-west-1"
ACCOUNT = "123456789012"  # moto's default account


@pytest.fixture(autouse=True)
def aws_env(monkeypatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def aws():
    with mock_aws():
        yield


@dataclass
class LambdaContext:
    function_name: str = "test-fn"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:test-fn"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def context() -> LambdaContext:
    return LambdaContext()


@dataclass
class HubBus:
    """The hub's bus in moto, with a rule that copies every event to a queue so tests can read what was put."""

    arn: str
    queue_url: str

    def received(self) -> list[dict]:
        sqs = boto3.client("sqs", region_name=REGION)
        out: list[dict] = []
        while True:
            batch = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return out
            for message in batch:
                out.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def hub_bus(aws) -> HubBus:
    events = boto3.client("events", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    bus_arn = events.create_event_bus(Name="mlgov-governance")["EventBusArn"]
    queue_url = sqs.create_queue(QueueName="hub-copy")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="copy", EventBusName="mlgov-governance", EventPattern=json.dumps({"source": ["mlgov.member"]}))
    events.put_targets(Rule="copy", EventBusName="mlgov-governance", Targets=[{"Id": "q", "Arn": queue_arn}])
    return HubBus(bus_arn, queue_url)
