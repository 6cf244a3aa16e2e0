"""The event pattern of every EventBridge rule the program declares, against real event shapes, through moto.

Each rule is created verbatim (its `eventPattern` from the offline plan) in moto's EventBridge, in the
account that puts the events (moto stamps the sender's account on an event, and cross-account delivery
re-stamps it, so an `account` clause is exercised by putting from a matching and a non-matching account),
with an SQS queue as its target. Samples: the `SageMaker Model Package State Change` and `SageMaker
Endpoint State Change` examples of the SageMaker EventBridge documentation, and the member reports as
`serving.events.entry` builds them (the shape `governance.events` accepts). Near misses differ in one
field: detail-type, source, group/endpoint, status or sender account.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from governance import events as hub_events
from serving import events as member_events

from .conftest import REGION, planned

RULE = "aws:cloudwatch/eventRule:EventRule"

# https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html (model package state change)
MODEL_PACKAGE_SAMPLE = {
    "version": "0", "id": "844e2571-85d4-695f-b930-0153b71dcb42", "detail-type": "SageMaker Model Package State Change",
    "source": "aws.sagemaker", "account": "123456789012", "time": "2021-02-24T17:00:14Z", "region": "us-east-2",
    "resources": ["arn:aws:sagemaker:us-east-2:123456789012:model-package/versionedmp-p-idy6c3e1fiqj/2"],
    "detail": {
        "ModelPackageGroupName": "versionedmp-p-idy6c3e1fiqj", "ModelPackageVersion": 2,
        "ModelPackageArn": "arn:aws:sagemaker:us-east-2:123456789012:model-package/versionedmp-p-idy6c3e1fiqj/2",
        "CreationTime": 1614186012994,
        "InferenceSpecification": {
            "Containers": [{"Image": "257758044811.dkr.ecr.us-east-2.amazonaws.com/sagemaker-xgboost:1.0-1-cpu-py3",
                            "ImageDigest": "sha256:4dc8a7e4a010a19bb9e0a6b063f355393f6e623603361bd8b105f554d4f0c004",
                            "ModelDataUrl": "s3://sagemaker-project-p-idy6c3e1fiqj/versionedmp-p-idy6c3e1fiqj/AbaloneTrain/pipelines-4r83jejmhorv-TrainAbaloneModel-xw869y8C4a/output/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
        "ModelPackageStatus": "Completed",
        "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
        "CertifyForMarketplace": False, "ModelApprovalStatus": "Rejected",
    },
}

# Same page: endpoint state change.
ENDPOINT_SAMPLE = {
    "version": "0", "id": "d2921b5a-b0ad-cace-a1e3-2d2b2e7b3b34", "detail-type": "SageMaker Endpoint State Change",
    "source": "aws.sagemaker", "account": "123456789012", "time": "2019-05-28T22:46:36Z", "region": "us-east-1",
    "resources": ["arn:aws:sagemaker:us-east-1:123456789012:endpoint/myendpoint"],
    "detail": {
        "EndpointName": "MyEndpoint", "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/myendpoint",
        "EndpointConfigName": "MyEndpointConfig",
        "ProductionVariants": [{"DesiredWeight": 1.0, "DesiredInstanceCount": 1.0}],
        "EndpointStatus": "IN_SERVICE", "CreationTime": 1592411992203.0, "LastModifiedTime": 1592411994287.0, "Tags": {},
    },
}


@dataclass(frozen=True)
class Put:
    """One PutEvents entry and the account that puts it."""
    account: str
    source: str
    detail_type: str
    detail: dict[str, Any]
    label: str

    def entry(self, bus: str | None) -> dict[str, Any]:
        return {"Source": self.source, "DetailType": self.detail_type, "Detail": json.dumps(self.detail),
                **({"EventBusName": bus} if bus else {})}


def _put(sample: dict[str, Any], account: str, label: str, **change: Any) -> Put:
    detail = copy.deepcopy(sample["detail"])
    detail.update(change.pop("detail", {}))
    return Put(account, change.pop("source", sample["source"]), change.pop("detail_type", sample["detail-type"]), detail, label)


def cases_for(pattern: dict[str, Any], home: str, hub: bool) -> tuple[list[Put], list[Put]]:
    """(deliveries, near misses) for a pattern; `home` is the account the rule lives in.

    The hub's rules must also filter: registry events of its onboarded groups only, member reports from
    the stage accounts only; a member's forward rule forwards only events about the hub's packages (ARN prefix).
    """
    detail_types = pattern.get("detail-type", [])
    detail = pattern.get("detail", {})
    if detail_types == [hub_events.DETAIL_TYPE_MODEL_PACKAGE]:
        groups = detail.get("ModelPackageGroupName") or ["credit-risk-xgb"]
        [prefix] = [p["prefix"] for p in detail["ModelPackageArn"]]  # every registry rule filters on the hub's ARN

        def package(g: str, arn_prefix: str = prefix, **more: Any) -> dict[str, Any]:
            return {"ModelPackageGroupName": g, "ModelPackageArn": f"{arn_prefix}{g}/2", **more}

        _, _, _, region, account, _ = prefix.split(":")
        hits = [_put(MODEL_PACKAGE_SAMPLE, home, f"registered into {g}", detail=package(g)) for g in groups]
        hits.append(_put(MODEL_PACKAGE_SAMPLE, home, "approved", detail=package(groups[0], ModelApprovalStatus="Approved")))
        misses = [
            _put(MODEL_PACKAGE_SAMPLE, home, "group state change", detail_type="SageMaker Model Package Group State Change",
                 detail=package(groups[0])),
            _put(MODEL_PACKAGE_SAMPLE, home, "other source", source="custom.sagemaker", detail=package(groups[0])),
            _put(MODEL_PACKAGE_SAMPLE, home, "a local group of the same name",
                 detail=package(groups[0], f"arn:aws:sagemaker:{region}:999999999999:model-package/")),
            _put(MODEL_PACKAGE_SAMPLE, home, "the hub account in another region",
                 detail=package(groups[0], f"arn:aws:sagemaker:ap-south-1:{account}:model-package/")),
            _put(MODEL_PACKAGE_SAMPLE, home, "a hub-like account id", detail=package(groups[0], prefix.replace(account, account[:-1] + "9"))),
        ]
        if hub:
            misses.append(_put(MODEL_PACKAGE_SAMPLE, home, "group not onboarded", detail=package("not-onboarded")))
            misses.append(_put(MODEL_PACKAGE_SAMPLE, home, "group name prefix", detail=package(groups[0] + "-v2")))
        return hits, misses
    if detail_types == ["SageMaker Endpoint State Change"]:
        names = detail.get("EndpointName") or ["MyEndpoint"]
        hits = [_put(ENDPOINT_SAMPLE, home, f"{n} in service", detail={"EndpointName": n}) for n in names]
        misses = [
            _put(ENDPOINT_SAMPLE, home, "other endpoint", detail={"EndpointName": "someone-elses-endpoint"}),
            _put(ENDPOINT_SAMPLE, home, "still creating", detail={"EndpointName": names[0], "EndpointStatus": "CREATING"}),
            _put(ENDPOINT_SAMPLE, home, "updating", detail={"EndpointName": names[0], "EndpointStatus": "UPDATING"}),
            _put(ENDPOINT_SAMPLE, home, "other detail-type", detail_type="SageMaker Endpoint Config State Change",
                 detail={"EndpointName": names[0]}),
        ]
        return hits, misses
    if set(detail_types) == set(hub_events.MEMBER_DETAIL_TYPES):
        senders = pattern.get("account") or [home]
        report = {"modelGroup": "credit-risk-xgb", "modelVersion": 1, "stage": "test", "endpointName": "mlgov-test-credit-risk-xgb-v1",
                  "variantName": "v1"}
        hits, misses = [], []
        for account in senders:
            for kind in (member_events.MODEL_DEPLOYED, member_events.MODEL_METRICS, member_events.MODEL_DECOMMISSIONED):
                extra = {"metrics": {"invocations": 12.0}} if kind == member_events.MODEL_METRICS else {}
                e = member_events.entry("arn:aws:events:eu-west-1:111111111111:event-bus/mlgov-governance", kind, {**report, **extra})
                hits.append(Put(account, e["Source"], e["DetailType"], json.loads(e["Detail"]), f"{kind} from {account}"))
        misses += [
            Put(senders[0], member_events.SOURCE, "Model Retired", report, "other detail-type"),
            Put(senders[0], "mlgov.members", member_events.MODEL_DEPLOYED, report, "other source"),
            Put(senders[0], hub_events.SOURCE_SAGEMAKER, member_events.MODEL_DEPLOYED, report, "aws.sagemaker source"),
        ]
        if hub:
            misses += [Put("222222222222", member_events.SOURCE, member_events.MODEL_DEPLOYED, report, "from the dev account"),
                       Put("999999999999", member_events.SOURCE, member_events.MODEL_METRICS, {**report, "metrics": {"x": 1.0}},
                           "from outside the organization")]
        return hits, misses
    raise AssertionError(f"no event samples for pattern {pattern}; add real samples for it to this test")


def declared_rules() -> list[tuple[str, str, dict[str, Any], str | None, str]]:
    """(stack, rule, pattern, bus, account) of every pattern rule in the sample stacks' plans."""
    out = []
    for stack in ("shared", "dev", "test", "prod"):
        p = planned(stack)
        account = _account(stack)
        for rule in p.plan.by_type(RULE):
            if "eventPattern" in rule.inputs:
                out.append((stack, rule.name, json.loads(rule.inputs["eventPattern"]), rule.inputs.get("eventBusName"), account))
    return out


def _account(stack: str) -> str:
    from mlgov import offline

    return offline.account_for(offline.read_stack_config(stack))


RULES = sorted(declared_rules(), key=lambda r: (r[0], r[1]))


def test_every_rule_has_a_pattern_or_a_schedule() -> None:
    for stack in ("shared", "dev", "test", "prod"):
        for rule in planned(stack).plan.by_type(RULE):
            assert ("eventPattern" in rule.inputs) != ("scheduleExpression" in rule.inputs), (stack, rule.name)
    kinds = {tuple(sorted(p.get("detail-type", []))) for _, _, p, _, _ in RULES}
    assert (hub_events.DETAIL_TYPE_MODEL_PACKAGE,) in kinds and tuple(sorted(hub_events.MEMBER_DETAIL_TYPES)) in kinds


class Moto:
    """moto EventBridge + SQS, per account (credentials of an assumed role in that account)."""

    def __init__(self) -> None:
        self.sts = boto3.client("sts", region_name=REGION)
        self.sessions: dict[str, boto3.session.Session] = {}

    def session(self, account: str) -> boto3.session.Session:
        if account not in self.sessions:
            c = self.sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/mlgov-check", RoleSessionName="pattern-check")["Credentials"]
            self.sessions[account] = boto3.session.Session(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                                                           aws_session_token=c["SessionToken"], region_name=REGION)
        return self.sessions[account]

    def install(self, account: str, name: str, pattern: dict[str, Any], bus: str | None) -> str:
        """The rule (verbatim pattern) in `account`, delivering to a new queue; returns the queue URL."""
        s = self.session(account)
        events, sqs = s.client("events"), s.client("sqs")
        if bus and bus != "default":
            try:
                events.create_event_bus(Name=bus)
            except events.exceptions.ResourceAlreadyExistsException:
                pass
        url = sqs.create_queue(QueueName=f"{name}-{account}"[:80])["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        bus_args = {"EventBusName": bus} if bus else {}
        events.put_rule(Name=name, EventPattern=json.dumps(pattern), **bus_args)
        events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": arn}], **bus_args)
        return url

    def delivered(self, account: str, url: str, put: Put, bus: str | None) -> list[dict[str, Any]]:
        s = self.session(put.account)
        response = s.client("events").put_events(Entries=[put.entry(bus)])
        assert response["FailedEntryCount"] == 0, response
        sqs = self.session(account).client("sqs")
        out = []
        while True:
            batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return out
            for m in batch:
                out.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def verify(stack: str, name: str, pattern: dict[str, Any], bus: str | None, home: str,
           cases_from: dict[str, Any] | None = None) -> None:
    """`pattern` installed, judged on the cases of `cases_from` (default: the pattern itself)."""
    hits, misses = cases_for(cases_from or pattern, home, hub=stack == "shared")
    with mock_aws():
        moto = Moto()
        queues = {account: moto.install(account, name, pattern, bus) for account in {p.account for p in hits + misses}}
        for put in hits:
            got = moto.delivered(put.account, queues[put.account], put, bus)
            assert [(e["source"], e["detail-type"], e["detail"]) for e in got] == [(put.source, put.detail_type, put.detail)], \
                f"{stack}/{name}: {put.label} was not delivered"
        for put in misses:
            got = moto.delivered(put.account, queues[put.account], put, bus)
            assert got == [], f"{stack}/{name}: near miss '{put.label}' was delivered"


@pytest.mark.parametrize("stack,name,pattern,bus,home", RULES, ids=[f"{r[0]}/{r[1]}" for r in RULES])
def test_rule_delivers_real_events_and_rejects_near_misses(stack, name, pattern, bus, home) -> None:
    verify(stack, name, pattern, bus, home)


def test_a_hub_rule_that_stopped_filtering_fails() -> None:
    [(stack, name, pattern, bus, home)] = [r for r in RULES if r[0] == "shared" and "detail" in r[2] and r[3] is None]
    broad = {**pattern, "detail": {k: v for k, v in pattern["detail"].items() if k != "ModelPackageGroupName"}}
    with pytest.raises(AssertionError, match="near miss 'group not onboarded' was delivered"):
        verify(stack, name, broad, bus, home, cases_from=pattern)
    [(stack, name, pattern, bus, home)] = [r for r in RULES if r[0] == "shared" and "account" in r[2]]
    with pytest.raises(AssertionError, match="near miss 'from the dev account' was delivered"):
        verify(stack, name, {k: v for k, v in pattern.items() if k != "account"}, bus, home)


def test_a_forward_rule_without_the_arn_filter_fails() -> None:
    [(stack, name, pattern, bus, home)] = [r for r in RULES if r[0] == "dev" and r[1].endswith("-forward")]
    broad = {**pattern, "detail": {"ModelPackageArn": [{"prefix": "arn:aws:sagemaker:"}]}}
    with pytest.raises(AssertionError, match="near miss 'a local group of the same name' was delivered"):
        verify(stack, name, broad, bus, home, cases_from=pattern)
