"""moto world for the governance runtime: the table from `governance.schema`, CONFIG items written with
the schema's own builders, handlers called directly with real event shapes, every AWS call recorded.

moto's DynamoDB applies a transaction as check-then-write without a lock (and restores a whole-table
backup on failure), so concurrent calls could interleave inside one "transaction". Real DynamoDB
serialises them; `_serialise_moto` gives moto the same property by handling one request at a time.
Client code still runs concurrently, so the races the tests create are real races between requests.
"""
from __future__ import annotations

import itertools
import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws

from governance import contract, runtime, schema
from govctl.fakeaws import events
from govctl.fakeaws.events import iso

REGION = "us-east-1"
ACCOUNT = "123456789012"
TABLE = "mlgov-governance"
SIGNING_KEY = "alias/mlgov-audit-signing"
CHECKPOINT_BUCKET = "mlgov-audit-checkpoints"


def principal(role: str, session: str) -> tuple[str, str]:
    """An IAM role of the hub account and one of its STS sessions (what API Gateway reports as the caller)."""
    return f"arn:aws:iam::{ACCOUNT}:role/{role}", f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}"


DS_ROLE, DS_SESSION = principal("DataScientist", "alice")
DEV_APPROVER, DEV_SESSION = principal("ModelOwner", "bob")
TEST_APPROVER, TEST_SESSION = principal("QaLead", "carol")
PROD_APPROVER, PROD_SESSION = principal("ProdApprover", "dave")
OFFICER, OFFICER_SESSION = principal("GovernanceOfficer", "erin")
OFFICER2_SESSION = principal("GovernanceOfficer", "frank")[1]
STRANGER_SESSION = principal("Intern", "zed")[1]

TEST_ACCOUNT = "222222222222"
PROD_ACCOUNT = "333333333333"

APPROVERS = {
    "development": [DEV_APPROVER],
    "test": [TEST_APPROVER],
    "production": [PROD_APPROVER],
    "officers": [OFFICER],
}

# Who records validation metrics (never the registrant), and which account reports for which stage.
VALIDATORS = {"development": [TEST_APPROVER], "test": [TEST_APPROVER], "production": [TEST_APPROVER]}
STAGE_ACCOUNTS = {"test": [TEST_ACCOUNT], "production": [PROD_ACCOUNT]}
SETTINGS = contract.GovernanceSettings(table_name=TABLE, approvers_json=json.dumps(APPROVERS), hub_account=ACCOUNT, hub_region=REGION,
                                       signing_key_id=SIGNING_KEY, checkpoint_bucket=CHECKPOINT_BUCKET,
                                       validators_json=json.dumps(VALIDATORS), stage_accounts_json=json.dumps(STAGE_ACCOUNTS))

# moto made to behave like the service under concurrency (and affordably): see govctl.fakeaws.moto.
from govctl.fakeaws.moto import install as _install_moto_patches

_install_moto_patches()


# --- call recording through botocore's event hooks ---

@dataclass
class Calls:
    records: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hook(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        service = model.service_model.service_name if hasattr(model, "service_model") else "?"
        with self.lock:
            self.records.append((service, model.name, params))

    def names(self) -> list[str]:
        return [f"{s}:{op}" for s, op, _ in self.records]

    def count(self, op: str | None = None) -> int:
        return len(self.records) if op is None else sum(1 for n in self.names() if n == op)

    def transact_item_kinds(self) -> set[str]:
        kinds: set[str] = set()
        for service, op, params in self.records:
            if op == "TransactWriteItems":
                for action in params["TransactItems"]:
                    kinds |= set(action)
        return kinds

    def clear(self) -> None:
        with self.lock:
            self.records.clear()


ALL_CALLS = Calls()


@pytest.fixture(autouse=True)
def _environment(monkeypatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION, "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "POWERTOOLS_SERVICE_NAME": "mlgov-governance", "POWERTOOLS_LOG_LEVEL": "WARNING",
        **SETTINGS.to_env(),
    }.items():
        monkeypatch.setenv(key, value)
    runtime.reset()
    yield
    runtime.reset()


def _serializer_item(item: dict[str, Any]) -> dict[str, Any]:
    from governance.store import to_ddb
    return to_ddb(item)


class World:
    """The hub account under moto: table, registry, handlers, and a recorder of the handlers' calls."""

    def __init__(self) -> None:
        # Setup/inspection clients come from their own session so the recorder sees only handler calls.
        self.setup = boto3.session.Session(region_name=REGION)
        self.ddb = self.setup.client("dynamodb")
        self.sm = self.setup.client("sagemaker")
        boto3.setup_default_session(region_name=REGION)
        self.calls = Calls()
        for hook in (self.calls.hook, ALL_CALLS.hook):
            boto3.DEFAULT_SESSION.events.register("provide-client-params.*.*", _named(hook))
        self._event_ids = itertools.count(1)
        self._create_table()
        self.kms = self.setup.client("kms")
        key = self.kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
        self.kms.create_alias(AliasName=SIGNING_KEY, TargetKeyId=key)
        self.s3 = self.setup.client("s3")
        self.s3.create_bucket(Bucket=CHECKPOINT_BUCKET, ObjectLockEnabledForBucket=True)

    def _create_table(self) -> None:
        self.ddb.create_table(**schema.TABLE.create_table_request(TABLE),
                              StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})

    # --- CONFIG items, written as Pulumi writes them (the schema builders) ---

    def put_config(self, item: dict[str, Any]) -> None:
        self.ddb.put_item(TableName=TABLE, Item=_serializer_item(item))

    def onboard(self, use_case_id: str = "credit-risk", *, groups: tuple[str, ...] = ("credit-risk-xgb",), risk_tier: str = "high",
                risk: str | None = None, thresholds: tuple[dict[str, Any], ...] = ({"metric": "auc", "min": 0.8},),
                name: str = "Credit risk", with_name: bool = True) -> None:
        self.put_config(schema.use_case_config_item(
            use_case_id=use_case_id, name=name, risk_tier=risk_tier, owner="ds-lead@example.com",
            line_of_business="retail-lending", project="credit-decisioning", groups=groups, thresholds=thresholds))
        model_risk = risk or {"high": "high", "limited": "medium", "minimal": "low"}[risk_tier]
        for group in groups:
            self.put_config(schema.group_config_item(
                group=group, use_case_id=use_case_id, owner="ds-lead@example.com", line_of_business="retail-lending",
                project="credit-decisioning", risk=model_risk, **({"use_case_name": name} if with_name else {})))
            self.sm.create_model_package_group(ModelPackageGroupName=group)

    def approve_use_case(self, use_case_id: str = "credit-risk") -> None:
        """Approve a POC use case into DEVELOPMENT (model approvals wait for it: the stage gates)."""
        code, body = self.api("POST", f"/use-cases/{use_case_id}/decision", {"action": "approve"}, caller=DEV_SESSION)
        assert code == 200, body

    # --- the registry and its events ---

    def register_package(self, group: str) -> dict[str, Any]:
        """Register a version in moto's registry; returns DescribeModelPackage."""
        arn = self.sm.create_model_package(
            ModelPackageGroupName=group, ModelPackageDescription="credit risk candidate",
            ModelApprovalStatus="PendingManualApproval",
            InferenceSpecification={"Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgb:1",
                                                    "ModelDataUrl": f"s3://artifacts/{group}/model.tar.gz"}],
                                    "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
        )["ModelPackageArn"]
        return self.sm.describe_model_package(ModelPackageName=arn)

    def _ensure_package(self, group: str, version: int) -> None:
        """Versions up to `version` exist in moto's registry (if the group does), so the handlers' registry writes land."""
        sm = getattr(self, "sm", None)  # absent when a test only builds events
        if sm is None:
            return
        try:
            sm.describe_model_package_group(ModelPackageGroupName=group)
        except sm.exceptions.ClientError:
            return
        have = len(sm.list_model_packages(ModelPackageGroupName=group, MaxResults=100)["ModelPackageSummaryList"])
        for _ in range(have, version):
            self.register_package(group)

    def package_event(self, group: str, version: int, *, status: str = "PendingManualApproval", created_ms: int = 1_724_904_598_000,
                      modified_ms: int | None = None, epoch: bool = False, lifecycle: dict[str, str] | None = None,
                      created_by: str | None = DS_SESSION, modified_by: str | None = None, event_id: str | None = None,
                      arn: str | None = None) -> dict[str, Any]:
        """A `SageMaker Model Package State Change` event as EventBridge delivers it (of a package moto's registry holds)."""
        if arn is None:
            self._ensure_package(group, version)
        modified_ms = created_ms if modified_ms is None else modified_ms
        fmt = (lambda ms: ms) if epoch else iso
        detail = events.model_package_detail(group, version, account=ACCOUNT, region=REGION, status=status,
                                             created=fmt(created_ms), modified=fmt(modified_ms), created_by=created_by,
                                             modified_by=modified_by, lifecycle=lifecycle, arn=arn)
        return events.model_package_event(
            detail, account=ACCOUNT, region=REGION, time=iso(modified_ms, millis=False),
            event_id=event_id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"{group}/{version}/{status}/{modified_ms}")))

    def member_event(self, kind: str, group: str, version: int, stage: str, *, endpoint: str | None = None,
                     metrics: dict[str, Any] | None = None, reported_ms: int | None = None, account: str | None = None,
                     variant: str | None = None) -> dict[str, Any]:
        detail = events.member_detail(group, version, stage, endpoint=endpoint, variant=variant, metrics=metrics,
                                      reported_at=None if reported_ms is None else iso(reported_ms))
        return events.member_event(kind, detail, account=account or (TEST_ACCOUNT if stage == "test" else PROD_ACCOUNT),
                                   region=REGION, time="2024-09-02T10:00:00Z")

    # --- handlers ---

    def sync(self, event: Any) -> dict[str, str]:
        from governance.handlers import sync
        return sync.handler(event, None)

    def report(self, event: Any) -> dict[str, str]:
        from governance.handlers import metrics
        return metrics.handler(event, None)

    def api(self, method: str, path: str, body: Any = None, *, caller: str | None = OFFICER_SESSION,
            query: dict[str, str] | None = None, raw_body: str | None = None, base64_body: bool = False) -> tuple[int, Any]:
        from governance.handlers import api
        event = api_event(method, path, body, caller=caller, query=query, raw_body=raw_body, base64_body=base64_body)
        response = api.handler(event, None)
        return response["statusCode"], json.loads(response["body"]) if response.get("body") else None

    def stream_records(self) -> list[dict[str, Any]]:
        """The table stream's records since the last call, as Lambda's event source mapping delivers them."""
        streams = self.setup.client("dynamodbstreams")
        arn = self.ddb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
        if getattr(self, "_stream_arn", None) != arn:
            self._stream_arn, self._stream_seen = arn, {}
        out = []
        for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            sid = shard["ShardId"]
            after = self._stream_seen.get(sid)
            iterator = streams.get_shard_iterator(
                StreamArn=arn, ShardId=sid, **({"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after} if after
                                               else {"ShardIteratorType": "TRIM_HORIZON"}))["ShardIterator"]
            records = streams.get_records(ShardIterator=iterator, Limit=1000)["Records"]
            if records:
                self._stream_seen[sid] = records[-1]["dynamodb"]["SequenceNumber"]
            out += records
        return out

    def checkpoint(self, records: list[dict[str, Any]] | None = None) -> dict[str, int]:
        """Run the checkpoint consumer on the stream's new records (or on `records`)."""
        from governance.handlers import checkpoint
        return checkpoint.handler({"Records": self.stream_records() if records is None else records}, None)

    # --- inspection (moto's backend, not an AWS call: no Scan anywhere) ---

    def snapshot(self) -> list[tuple[str, str, str]]:
        from moto.dynamodb.models import dynamodb_backends
        table = dynamodb_backends[ACCOUNT][REGION].tables[TABLE]
        out = []
        for item in table.all_items():
            data = item.to_json()["Attributes"]
            out.append((data[schema.PK]["S"], data[schema.SK]["S"], json.dumps(data, sort_keys=True)))
        return sorted(out)

    def items(self) -> list[dict[str, Any]]:
        from governance.store import from_ddb
        return [from_ddb(json.loads(raw)) for _, _, raw in self.snapshot()]

    def item(self, pk: str, sk: str) -> dict[str, Any] | None:
        for item in self.items():
            if item[schema.PK] == pk and item[schema.SK] == sk:
                return item
        return None

    def record(self, group: str, version: int, stage: str) -> dict[str, Any] | None:
        return self.item(schema.model_pk(group), schema.stage_record_sk(version, stage))

    def state(self, use_case_id: str = "credit-risk") -> dict[str, Any] | None:
        return self.item(schema.use_case_pk(use_case_id), schema.STATE_SK)


def _named(hook):
    def wrapper(params, model=None, **kwargs):
        if model is not None:
            hook(model, params)
    return wrapper


def api_event(method: str, path: str, body: Any = None, *, caller: str | None, query: dict[str, str] | None = None,
              raw_body: str | None = None, base64_body: bool = False, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """An API Gateway REST API proxy event with IAM authorization (the caller's identity) when `caller` is given."""
    from governance.routes import match

    text = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
    found = match(method, path)
    identity = events.iam_identity(caller, principal_org_id="o-abcdefghij", user_id="AROAEXAMPLE:session", account=ACCOUNT) if caller else None
    return events.rest_api_event(
        method, path, identity=identity, account=ACCOUNT, host="api123.execute-api.us-east-1.amazonaws.com", query=query or {},
        body=text, base64_body=base64_body, api_id="api123", headers=headers,
        resource=found[0].path if found else None, path_parameters=found[1] if found else None)


@pytest.fixture
def world():
    with mock_aws():
        runtime.reset()
        w = World()
        yield w
        runtime.reset()
        boto3.DEFAULT_SESSION = None


@pytest.fixture(autouse=True)
def _no_scans():
    """No code path scans the table: checked after every test."""
    start = len(ALL_CALLS.records)
    yield
    scans = [n for n in ALL_CALLS.names()[start:] if n.endswith(":Scan")]
    assert not scans, f"Scan called: {scans}"
