"""A local, in-process AWS for the whole governance lifecycle: moto's threaded server on 127.0.0.1.

`Sandbox` creates the governance table from `governance.schema.TABLE`, writes the `CONFIG` items of
`Pulumi.shared.yaml` with the same builders (and the same arguments) as the Pulumi components, reads
the approvers from that file's `mlgov:approvers`, and puts the real `api` handler behind a local HTTP
endpoint that plays API Gateway with IAM authorization: it recomputes each request's SigV4 signature
with botocore for the persona's known secret, refuses unsigned, badly signed or replayed requests and callers
outside the organization (`mlgov:organization`) with 403, as the API's resource policy would, and
hands the handler a REST API Lambda proxy event whose `requestContext.identity.userArn` is the
persona's ARN (`govctl.fakeaws.gateway`). The `sync` and `metrics` handlers get the events EventBridge
would deliver (`govctl.fakeaws.events`).

moto handles one request at a time, as the tests' moto does (`govctl.fakeaws.moto`: real DynamoDB
serialises conflicting transactions); the API handler (a Powertools resolver holding the current event)
runs one request at a time, as one Lambda container does.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import boto3
from botocore.credentials import Credentials

from governance.contract import ecr_repository_uri, hub_image_repository_name
from govctl.client import Api, Target
from govctl.experiments import FILE_STORE_OPT_IN
from govctl.fakeaws import events, moto
from govctl.fakeaws.calls import CallCounter
from govctl.fakeaws.gateway import Gateway, Organization
from govctl.personas import PERSONAS, SANDBOX_REGION

ROOT = Path(__file__).resolve().parent.parent
TABLE_NAME = "mlgov-governance"
SERVICES = ("dynamodb", "sagemaker", "kms")
SIGNING_KEY_ALIAS = "alias/mlgov-audit-signing"
# What a sandbox run logs when the caller names no metrics: the training run's evaluation.
RUN_METRICS = {"auc": 0.88, "ks": 0.42}


class SandboxError(RuntimeError):
    pass


def project_root(root: Path) -> Path:
    """`root` if it holds the shared stack file, else the project govctl is installed from (its sample stacks)."""
    return Path(root) if (Path(root) / "Pulumi.shared.yaml").exists() else ROOT


# --- the stack config the sandbox is built from ---

@dataclass(frozen=True)
class HubConfig:
    region: str
    accounts: Mapping[str, Any]
    approvers: dict[str, list[str]]
    config_items: list[dict[str, Any]]
    groups: list[str]
    use_cases: list[str]
    organization: Organization
    validators: dict[str, list[str]] = field(default_factory=dict)
    stage_accounts: dict[str, list[str]] = field(default_factory=dict)
    group_use_cases: dict[str, str] = field(default_factory=dict)


def hub_config(root: Path = ROOT, stack: str = "shared") -> HubConfig:
    """Approvers and `CONFIG` items from `Pulumi.<stack>.yaml`, built as `CentralRegistry`/`SharedModelGroup` build them."""
    from mlgov import catalog, offline
    from mlgov.config import parse
    from mlgov.program import namespace_config

    raw = offline.read_stack_config(stack, root)
    config = parse(namespace_config(raw))
    region = str(raw.get("aws:region") or SANDBOX_REGION)
    items = [item for _pk, _sk, item in catalog.config_items(config)] + [catalog.hub_item(config, region)]
    groups = [m.group for uc in config.use_cases for m in uc.models]
    approvers = catalog.approvers(config)
    org = config.organization
    accounts = {"shared": org.accounts.shared, "dev": org.accounts.dev[0], "test": org.accounts.test[0],
                "prod": org.accounts.prod[0]}
    members = Organization.of(org.id, (org.accounts.shared, *org.accounts.dev, *org.accounts.test, *org.accounts.prod))
    return HubConfig(str(raw.get("aws:region") or SANDBOX_REGION), accounts, approvers, items, groups,
                     [uc.id for uc in config.use_cases], members, catalog.validators(config), catalog.stage_accounts(config),
                     {m.group: uc.id for uc in config.use_cases for m in uc.models})


# --- the sandbox ---

_ENV_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE",
             "AWS_DEFAULT_PROFILE", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ENDPOINT_URL", "AWS_ACCOUNT_ID_ENDPOINT_MODE",
             "MOTO_ACCOUNT_ID", "GOVERNANCE_TABLE", "AUDIT_SIGNING_KEY", "APPROVERS", "HUB_ACCOUNT_ID", "HUB_REGION", "VALIDATORS",
             "STAGE_ACCOUNTS", "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_LOG_LEVEL",
             "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_EC2_METADATA_DISABLED", FILE_STORE_OPT_IN)


class Sandbox:
    """The hub account on moto plus the governance API on 127.0.0.1; a context manager.

    One at a time per process: moto keeps its backends in module globals, so two sandboxes would share
    (and reset) one account.
    """

    _active: "Sandbox | None" = None

    def __init__(self, root: Path = ROOT, *, port: int = 0, moto_port: int = 0, quiet: bool = True):
        self.root = Path(root)
        self.hub = hub_config(self.root)
        self.region = self.hub.region
        self.account = self.hub.accounts["shared"]
        self.table = TABLE_NAME
        self.quiet = quiet
        self._port, self._moto_port = port, moto_port
        self.calls = CallCounter()
        self._api_lock = threading.Lock()
        self._saved_env: dict[str, str | None] = {}
        self._saved_session = None
        self._saved_levels: list[tuple[Any, Any]] = []
        self._clock_ms = 0
        self._mlflow_dir: str | None = None
        self._experiments: dict[str, Any] = {}
        self.runs: dict[tuple[str, int], str] = {}
        """The MLflow run each version this sandbox registered came from."""
        self.moto = None
        self.gateway: Gateway | None = None

    # --- lifecycle ---

    def __enter__(self) -> "Sandbox":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self) -> "Sandbox":
        if Sandbox._active is not None:
            raise SandboxError("a sandbox is already running in this process; stop it first")
        Sandbox._active = self
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> "Sandbox":
        from governance import runtime

        moto.install()
        self.moto = moto.server(self._moto_port)
        self.moto.start()
        host, port = self.moto.get_host_and_port()
        self.moto_url = f"http://{host}:{port}"
        self._set_env({
            "AWS_ACCESS_KEY_ID": "sandbox", "AWS_SECRET_ACCESS_KEY": "sandbox", "AWS_SESSION_TOKEN": None,
            "AWS_SECURITY_TOKEN": None, "AWS_PROFILE": None, "AWS_DEFAULT_PROFILE": None,
            "AWS_DEFAULT_REGION": self.region, "AWS_REGION": self.region, "AWS_ENDPOINT_URL": self.moto_url,
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled", "MOTO_ACCOUNT_ID": self.account, "GOVERNANCE_TABLE": self.table,
            "AUDIT_SIGNING_KEY": SIGNING_KEY_ALIAS,
            "APPROVERS": json.dumps(self.hub.approvers, sort_keys=True), "POWERTOOLS_SERVICE_NAME": "mlgov-governance",
            "HUB_ACCOUNT_ID": self.account, "HUB_REGION": self.region, "VALIDATORS": json.dumps(self.hub.validators, sort_keys=True),
            "STAGE_ACCOUNTS": json.dumps(self.hub.stage_accounts, sort_keys=True),
            "POWERTOOLS_LOG_LEVEL": "ERROR" if self.quiet else "INFO", "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_EC2_METADATA_DISABLED": "true", FILE_STORE_OPT_IN: "true",
        })
        self._saved_session = boto3.DEFAULT_SESSION
        boto3.setup_default_session(region_name=self.region)
        boto3.DEFAULT_SESSION.events.register("before-call.*.*", self.calls.hook)
        runtime.reset()
        self._quiet_logs()
        # Setup and inspection use their own session, so `calls` counts only what the handlers do.
        self.setup = boto3.session.Session(region_name=self.region)
        self.ddb = self.setup.client("dynamodb")
        self.sm = self.setup.client("sagemaker")
        self._create_table()
        self._create_signing_key()
        for item in self.hub.config_items:
            self.put_item(item)
        for group in self.hub.groups:
            self.sm.create_model_package_group(ModelPackageGroupName=group, ModelPackageGroupDescription=f"mlgov {group}")
        self.gateway = Gateway(self.invoke_api, region=self.region, account=self.account,
                               organization=self.hub.organization, port=self._port, quiet=self.quiet).start()
        self.endpoint = self.gateway.endpoint
        return self

    def stop(self) -> None:
        from governance import runtime

        if self.gateway is not None:
            self.gateway.stop()
            self.gateway = None
        if self.moto is not None:
            self.moto.stop()
            self.moto = None
            moto.reset(self.account, self.region, SERVICES)
        runtime.reset()
        self._experiments.clear()
        if self._mlflow_dir is not None:
            shutil.rmtree(self._mlflow_dir, ignore_errors=True)
            self._mlflow_dir = None
        boto3.DEFAULT_SESSION = self._saved_session
        for logger, level in self._saved_levels:
            logger.setLevel(level)
        self._saved_levels.clear()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()
        if Sandbox._active is self:
            Sandbox._active = None

    def _set_env(self, values: Mapping[str, str | None]) -> None:
        for key, value in values.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def _quiet_logs(self) -> None:
        from governance.handlers import api, metrics, sync

        level = logging.ERROR if self.quiet else logging.INFO
        for logger in (api.logger, sync.logger, metrics.logger, logging.getLogger("governance"), logging.getLogger("werkzeug")):
            self._saved_levels.append((logger, logger.log_level if hasattr(logger, "log_level") else logger.level))
            logger.setLevel(level)

    def _create_table(self) -> None:
        from governance import schema

        self.ddb.create_table(**schema.TABLE.create_table_request(self.table))

    def _create_signing_key(self) -> None:
        """The audit signing key CentralRegistry creates (ECC_NIST_P256, SIGN_VERIFY), under the alias the handlers use."""
        from governance import signing

        kms = self.setup.client("kms")
        key = kms.create_key(KeySpec=signing.KEY_SPEC, KeyUsage="SIGN_VERIFY", Description="mlgov audit signing (sandbox)")
        kms.create_alias(AliasName=SIGNING_KEY_ALIAS, TargetKeyId=key["KeyMetadata"]["KeyId"])

    # --- the handlers ---

    def invoke_api(self, event: dict[str, Any]) -> dict[str, Any]:
        from governance.handlers import api

        with self._api_lock:
            return api.handler(event, None)

    def sync(self, event: dict[str, Any]) -> dict[str, str]:
        from governance.handlers import sync

        with self._api_lock:
            return sync.handler(event, None)

    def report(self, event: dict[str, Any]) -> dict[str, str]:
        from governance.handlers import metrics

        with self._api_lock:
            return metrics.handler(event, None)

    def api(self, persona_name: str) -> Api:
        p = PERSONAS[persona_name]
        creds = Credentials(p.access_key, p.secret_key).get_frozen_credentials()
        return Api(Target(self.endpoint, self.region, creds, persona_name))

    # --- what EventBridge would deliver ---

    def _next_ms(self) -> int:
        self._clock_ms = max(int(time.time() * 1000), self._clock_ms + 1)
        return self._clock_ms

    def experiment(self, group: str) -> Any:
        """The data scientist's MLflow experiment for `group`, on a local tracking store that lives as long as the sandbox."""
        from govctl.experiments import LocalExperiment, sandbox_hub

        if group not in self._experiments:
            if self._mlflow_dir is None:
                self._mlflow_dir = tempfile.mkdtemp(prefix="mlgov-mlflow-")
            hub = sandbox_hub(self.hub.groups, self.account, self.hub.accounts["dev"], self.region)
            self._experiments[group] = LocalExperiment(Path(self._mlflow_dir), hub, name=group)
        return self._experiments[group]

    def register(self, group: str, persona_name: str = "data-scientist", description: str = "candidate",
                 metrics: Mapping[str, float] | None = None) -> int:
        """Steps 2-5: a data scientist's MLflow run becomes a version in the shared group through `govctl register`'s
        code (`govctl.register.register_from_run`); the registry event is synced. The run id is in `runs`."""
        experiment = self.experiment(group)
        image = f"{ecr_repository_uri(self.account, self.region, hub_image_repository_name('mlgov'))}:{group}-1"
        run_id = experiment.run(group, RUN_METRICS if metrics is None else metrics, image=image)
        registration = experiment.register(group, run_id, self.sm, description=description)
        described = self.sm.describe_model_package(ModelPackageName=registration.model_package_arn)
        result = self.sync(self.registry_event(described, created_by=PERSONAS[persona_name].arn))
        if result["result"] != "written":
            raise SandboxError(f"registering {group}: sync handler said {result}")
        version = int(described["ModelPackageVersion"])
        self.runs[(group, version)] = run_id
        return version

    def registry_event(self, described: Mapping[str, Any], *, created_by: str | None) -> dict[str, Any]:
        """`SageMaker Model Package State Change` as EventBridge delivers it: the detail is DescribeModelPackage."""
        detail = dict(described)
        if created_by:
            detail["CreatedBy"] = events.identity(created_by, "AROASANDBOX:registrar")
        return events.model_package_event(detail, account=self.account, region=self.region)

    def member_event(self, kind: str, group: str, version: int, stage: str, *, endpoint: str | None = None,
                     metrics: Mapping[str, Any] | None = None, variant: str | None = None) -> dict[str, Any]:
        reported_at = events.iso(self._next_ms())
        detail = events.member_detail(group, version, stage, endpoint=endpoint, reported_at=reported_at, variant=variant,
                                      metrics=metrics, use_case=self.hub.group_use_cases[group])
        return events.member_event(kind, detail, account=self.hub.accounts["test" if stage == "test" else "prod"],
                                   region=self.region, time=reported_at[:19] + "Z")

    def deployed(self, group: str, version: int, stage: str, *, endpoint: str | None = None, variant: str | None = None) -> None:
        result = self.report(self.member_event("Model Deployed", group, version, stage, endpoint=endpoint, variant=variant))
        if result["result"] != "written":
            raise SandboxError(f"deployment report for {group}/{version} at {stage}: {result}")

    def monitoring(self, group: str, version: int, stage: str, metrics: Mapping[str, Any], *, endpoint: str | None = None,
                   variant: str | None = None) -> None:
        result = self.report(self.member_event("Model Metrics", group, version, stage, endpoint=endpoint, variant=variant,
                                               metrics=metrics))
        if result["result"] != "written":
            raise SandboxError(f"metrics report for {group}/{version} at {stage}: {result}")

    # --- direct table access (setup, inspection, and tampering in tests) ---

    def put_item(self, item: Mapping[str, Any]) -> None:
        from governance.store import to_ddb

        self.ddb.put_item(TableName=self.table, Item=to_ddb(item))

    def items(self) -> list[dict[str, Any]]:
        """Every item, read from moto's backend in this process (inspection, not an AWS call: nothing scans)."""
        from governance.store import from_ddb

        out = [from_ddb(item) for item in moto.table_items(self.account, self.region, self.table)]
        return sorted(out, key=lambda i: (i["pk"], i["sk"]))

    def audit_items(self, group: str, version: int) -> list[dict[str, Any]]:
        return sorted((i for i in self.items() if i["pk"] == f"MODEL#{group}" and i["sk"].startswith("AUDIT#")
                       and int(i.get("modelVersion", 0)) == version), key=lambda i: int(i["seq"]))

    def tamper_audit(self, group: str, version: int, seq: int, **changes: Any) -> dict[str, Any]:
        """Edit an audit entry in place, as someone with table access might: the chain must show it."""
        entry = next((e for e in self.audit_items(group, version) if int(e["seq"]) == seq), None)
        if entry is None:
            raise SandboxError(f"{group}/{version} has no audit entry {seq}")
        entry.update(changes)
        self.put_item(entry)
        return entry

    # --- saving and restoring the whole account (tests: play the walkthrough once per process) ---

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of this sandbox's DynamoDB and SageMaker state."""
        return moto.snapshot(self.account, self.region, SERVICES)

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Put a `snapshot` (of a sandbox of the same config) back in place of this sandbox's state."""
        moto.restore(self.account, self.region, snapshot)
