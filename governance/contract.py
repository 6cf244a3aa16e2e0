"""Every name the infrastructure and the Lambda runtime both use, defined once.

Pure Python (no boto3, no Pulumi): the components import it to write what the Lambdas read, the
Lambdas import it to read what the components wrote, the stack config validates ids with the same
patterns the runtime checks keys with. The member accounts' Lambda archive ships this file too
(`serving` imports it as `governance.contract`), so the two sides cannot drift.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

# --- identifiers --------------------------------------------------------------------------------

USE_CASE_ID_PATTERN = r"^[a-z0-9](-?[a-z0-9]){0,39}$"
# SageMaker: ModelPackageGroupName / EndpointName / VariantName: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$
SAGEMAKER_NAME_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
ACCOUNT_ID_PATTERN = r"^\d{12}$"
ORG_ID_PATTERN = r"^o-[a-z0-9]{10,32}$"
PRINCIPAL_ARN_PATTERN = r"^arn:aws[a-z-]*:(iam|sts)::(\d{12}):[A-Za-z0-9+=,.@_/:-]+$"
MODEL_PACKAGE_ARN_PATTERN = r"^arn:(aws[a-z-]*):sagemaker:([a-z0-9-]+):(\d{12}):model-package/([^/]+)/(\d+)$"
MAX_MODEL_VERSION = 999_999
# The ARN of every model package version of the hub registry starts with this; no other package is the hub's.
MODEL_PACKAGE_ARN_PREFIX = "arn:{partition}:sagemaker:{region}:{account}:model-package/"



def _whole(pattern: str) -> re.Pattern[str]:
    """The pattern anchored at the very end: Python's `$` also matches before a trailing newline."""
    return re.compile(pattern[:-1] + r"\Z" if pattern.endswith("$") else pattern)


USE_CASE_ID_RE = _whole(USE_CASE_ID_PATTERN)
GROUP_RE = _whole(SAGEMAKER_NAME_PATTERN)
ENDPOINT_RE = _whole(SAGEMAKER_NAME_PATTERN)
VARIANT_RE = _whole(SAGEMAKER_NAME_PATTERN)
ACCOUNT_ID_RE = _whole(ACCOUNT_ID_PATTERN)
ORG_ID_RE = _whole(ORG_ID_PATTERN)
PRINCIPAL_ARN_RE = _whole(PRINCIPAL_ARN_PATTERN)
MODEL_PACKAGE_ARN_RE = _whole(MODEL_PACKAGE_ARN_PATTERN)

# --- events -------------------------------------------------------------------------------------

SOURCE_SAGEMAKER = "aws.sagemaker"
DETAIL_TYPE_MODEL_PACKAGE = "SageMaker Model Package State Change"
DETAIL_TYPE_ENDPOINT = "SageMaker Endpoint State Change"
SOURCE_MEMBER = "mlgov.member"
DETAIL_TYPE_DEPLOYED = "Model Deployed"
DETAIL_TYPE_METRICS = "Model Metrics"
# A member account's endpoint was deleted: every version live on it is decommissioned there.
DETAIL_TYPE_DECOMMISSIONED = "Model Decommissioned"
MEMBER_DETAIL_TYPES = (DETAIL_TYPE_DEPLOYED, DETAIL_TYPE_METRICS, DETAIL_TYPE_DECOMMISSIONED)

# How far in the future an event's timestamps may be (clock skew between accounts) before it is refused.
DEFAULT_MAX_EVENT_SKEW_SECONDS = 300
MAX_EVENT_SKEW_SECONDS_LIMIT = 3600
# The earliest timestamp an event may carry (2000-01-01T00:00:00Z): anything older is not a real event.
MIN_EVENT_MS = 946_684_800_000
# How deep metrics and metadata may nest (a flat `{"auc": 0.9}` is depth 1); deeper is refused.
MAX_STRUCTURE_DEPTH = 4
# The longest free text an event may carry in one field (lifecycle descriptions, statuses, identities).
MAX_EVENT_TEXT_LENGTH = 2048

# Provenance faults (an event for a package that is not the hub's, or an ARN that differs from the one recorded)
# are counted as this CloudWatch metric (embedded metric format), and the hub alarms on it.
METRICS_NAMESPACE = "mlgov/governance"
PROVENANCE_FAULT_METRIC = "ProvenanceFault"
SYNC_SERVICE_NAME = "mlgov-sync"

# --- MLflow runs and the versions they become --------------------------------------------------

# The CustomerMetadataProperties key `govctl register` writes the run id under; the sync handler reads it.
MLFLOW_RUN_ID_KEY = "mlflow.runId"
# SageMaker's limit on a CustomerMetadataProperties value (API reference, CustomerMetadataMap).
MAX_METADATA_VALUE_LENGTH = 256

# --- accounts, stacks and stages ----------------------------------------------------------------

ACCOUNT_ROLES = ("shared", "dev", "test", "prod")
MODEL_STAGES = ("development", "test", "production")
# The model stage each stack deploys to; the hub and dev stacks deploy nothing.
STAGE_OF_ACCOUNT_ROLE: Mapping[str, str] = {"test": "test", "prod": "production"}
DEPLOYMENT_STAGES = tuple(STAGE_OF_ACCOUNT_ROLE.values())
ACCOUNT_ROLE_OF_STAGE: Mapping[str, str] = {stage: role for role, stage in STAGE_OF_ACCOUNT_ROLE.items()}

# --- the registry's view of governance (SageMaker ModelApprovalStatus and ModelLifeCycle) ------------
#
# Governance is the only writer of both (the hub's API role; the data scientists' role is denied them).
# ModelLifeCycle mirrors the governance record: Stage is a model stage (MODEL_STAGES), StageStatus a record
# status (LIFECYCLE_STATUSES), both within SageMaker's pattern [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}
# (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ModelLifeCycle.html).
# A test or prod stack deploys a version only while the registry shows it APPROVED and its lifecycle is one
# of DEPLOYABLE_LIFECYCLES[stage]: approved in the stage before, or live at this stage or a later one.

REGISTRY_APPROVED = "Approved"
REGISTRY_REJECTED = "Rejected"
REGISTRY_PENDING = "PendingManualApproval"
LIFECYCLE_STATUSES = ("pending", "approved", "rejected", "deployed", "retired")
LIVE_LIFECYCLE_STATUSES = ("pending", "deployed", "approved")


def lifecycle(stage: str, status: str, description: str | None = None) -> dict[str, str]:
    """A `ModelLifeCycle` as governance writes it and the gate reads it."""
    out = {"Stage": stage, "StageStatus": status}
    if description is not None:
        out["StageDescription"] = description
    return out


def _deployable(stage: str) -> frozenset[tuple[str, str]]:
    at = MODEL_STAGES.index(stage)
    return frozenset({(MODEL_STAGES[at - 1], "approved")} | {(s, st) for s in MODEL_STAGES[at:] for st in LIVE_LIFECYCLE_STATUSES})


DEPLOYABLE_LIFECYCLES: Mapping[str, frozenset[tuple[str, str]]] = {s: _deployable(s) for s in ("test", "production")}
"""Model stage deployed to → the (Stage, StageStatus) pairs of `ModelLifeCycle` that allow it."""

# --- S3 prefixes of the hub's artifact bucket ----------------------------------------------------

MODELS_PREFIX = "models/"
CAPTURE_PREFIX = "capture/"
# The prediction-drift metric the member reporter computes from data capture and the hub checks against its limit.
PREDICTION_PSI_METRIC = "predictionPsi"
MLFLOW_PREFIX = "mlflow/"


def model_package_arn_prefix(account: str, region: str, partition: str = "aws") -> str:
    """`arn:aws:sagemaker:<region>:<account>:model-package/`: the start of every hub package version's ARN."""
    return MODEL_PACKAGE_ARN_PREFIX.format(partition=partition, region=region, account=account)


def forwarded_model_package_pattern(account: str, region: str, partition: str = "aws") -> dict[str, Any]:
    """What a member account forwards to the hub: state changes of the hub's packages only (matched on the ARN)."""
    return {"source": [SOURCE_SAGEMAKER], "detail-type": [DETAIL_TYPE_MODEL_PACKAGE],
            "detail": {"ModelPackageArn": [{"prefix": model_package_arn_prefix(account, region, partition)}]}}


def endpoint_name(stage: str, use_case: str, group: str) -> str:
    """The endpoint a `test`/`prod` stack (account role `stage`) serves a group with (≤ 63 characters): one per use
    case, group and stage, kept across versions; a long name ends in a hash.

    The hub checks a member report's endpoint against this same function (`governance.evidence`).
    """
    name = f"mlgov-{stage}-{use_case}-{group}"
    if len(name) <= 63:
        return name
    return f"{name[:54].rstrip('-')}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def hub_bucket_name(registry_name: str, shared_account: str, region: str) -> str:
    """The hub artifact bucket's name: globally unique per registry, account and region."""
    return f"{registry_name}-artifacts-{shared_account}-{region}"


def models_prefix(account_id: str) -> str:
    """Where a dev account writes its model artifacts."""
    return f"{MODELS_PREFIX}{account_id}/"


def mlflow_prefix(account_id: str) -> str:
    """Where a dev account's MLflow tracking server keeps its artifacts: under the account's models prefix."""
    return f"{models_prefix(account_id)}{MLFLOW_PREFIX}"


def capture_prefix(account_id: str) -> str:
    """Where a stage account's endpoints write data capture."""
    return f"{CAPTURE_PREFIX}{account_id}/"


# --- inference images ------------------------------------------------------------------------------

def hub_image_repository_name(registry_name: str) -> str:
    """The hub's ECR repository of custom inference images."""
    return f"{registry_name}-inference"


def ecr_repository_uri(account_id: str, region: str, repository: str) -> str:
    return f"{account_id}.dkr.ecr.{region}.amazonaws.com/{repository}"


# The accounts that publish SageMaker's prebuilt images. Deep Learning Containers come from one account in every
# commercial region; the built-in algorithms and framework images (XGBoost, scikit-learn, ...) from one account per
# region ("Docker Registry Paths and Example Code", e.g.
# https://docs.aws.amazon.com/sagemaker/latest/dg-ecr-paths/ecr-eu-west-1.html and .../ecr-us-east-1.html).
# Regions not listed accept Deep Learning Containers only until their algorithm account is added here.
DEEP_LEARNING_CONTAINERS_ACCOUNT = "763104351884"
SAGEMAKER_ALGORITHM_ACCOUNTS: Mapping[str, str] = {
    "eu-west-1": "141502667606",
    "eu-west-2": "764974769150",
    "eu-central-1": "492215442770",
    "us-east-1": "683313688378",
    "us-east-2": "257758044811",
}


def sagemaker_image_accounts(region: str) -> frozenset[str]:
    """The accounts whose images in `region` are SageMaker's own."""
    algorithms = SAGEMAKER_ALGORITHM_ACCOUNTS.get(region)
    return frozenset({DEEP_LEARNING_CONTAINERS_ACCOUNT, *([algorithms] if algorithms else [])})


# --- Lambda environments: each function's settings, written by its component, read by its handler --

class SettingsError(ValueError):
    """A Lambda's environment is missing or malformed (an operator problem, not a caller's)."""


def _require(env: Mapping[str, str], name: str) -> str:
    value = env.get(name)
    if not value:
        raise SettingsError(f"{name} is not set")
    return value


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} is {raw!r}; a whole number is required") from None


# --- tamper evidence: the audit signing key and the checkpoints kept outside the table ----------------

# The S3 prefix of chain-head checkpoints, one object per chain head: `checkpoints/<subject path>/<seq>.json`.
CHECKPOINTS_PREFIX = "checkpoints/"
CHECKPOINT_SEQ_DIGITS = 10
# Where the checkpoint consumer reports a change that arrived without a valid signed entry.
AUDIT_METRICS_NAMESPACE = "mlgov/audit"
UNSIGNED_CHANGE_METRIC = "UnsignedChanges"
DEFAULT_AUDIT_RETENTION_DAYS = 2557  # 7 years


def checkpoint_prefix(subject: str) -> str:
    """A chain's checkpoint folder: the subject's `#`-separated parts as path segments."""
    return CHECKPOINTS_PREFIX + "/".join(subject.split("#")) + "/"


def checkpoint_key(subject: str, seq: int) -> str:
    return f"{checkpoint_prefix(subject)}{seq:0{CHECKPOINT_SEQ_DIGITS}d}.json"


@dataclass(frozen=True)
class GovernanceSettings:
    """The hub handlers (sync, api, metrics): the table, who may decide and give evidence, the hub's identity, the audit key.

    `hub_account`/`hub_region`: whose model packages the registry events may be about (sync refuses every
    event when they are unset). `validators_json`: `{"test": [ARNs], "production": [ARNs]}`, who may record
    validation metrics. `stage_accounts_json`: `{"test": [ids], "production": [ids]}`, who may report
    deployments and monitoring metrics. `max_event_skew_seconds`: how far in the future a timestamp may be.
    `signing_key_id`: the KMS key every audit entry is signed with. `registry_writers`: the handler roles
    (comma-separated ARNs) whose registry changes are governance's own, not outside changes.
    """

    TABLE = "GOVERNANCE_TABLE"
    APPROVERS = "APPROVERS"
    HUB_ACCOUNT = "HUB_ACCOUNT_ID"
    HUB_REGION = "HUB_REGION"
    HUB_PARTITION = "HUB_PARTITION"
    VALIDATORS = "VALIDATORS"
    STAGE_ACCOUNTS = "STAGE_ACCOUNTS"
    MAX_EVENT_SKEW = "MAX_EVENT_SKEW_SECONDS"
    SIGNING_KEY = "AUDIT_SIGNING_KEY"
    CHECKPOINT_BUCKET = "AUDIT_CHECKPOINT_BUCKET"
    REGISTRY_WRITERS = "REGISTRY_WRITERS"

    table_name: Any
    approvers_json: Any = "{}"
    hub_account: Any = None
    hub_region: Any = None
    hub_partition: str = "aws"
    validators_json: Any = "{}"
    stage_accounts_json: Any = "{}"
    max_event_skew_seconds: int = DEFAULT_MAX_EVENT_SKEW_SECONDS
    signing_key_id: Any = ""
    checkpoint_bucket: Any = ""
    registry_writers: Any = ""

    def to_env(self) -> dict[str, Any]:
        env = {self.TABLE: self.table_name, self.APPROVERS: self.approvers_json, self.HUB_PARTITION: self.hub_partition,
               self.VALIDATORS: self.validators_json, self.STAGE_ACCOUNTS: self.stage_accounts_json,
               self.MAX_EVENT_SKEW: str(self.max_event_skew_seconds), self.SIGNING_KEY: self.signing_key_id,
               self.REGISTRY_WRITERS: self.registry_writers}
        if self.hub_account is not None:
            env[self.HUB_ACCOUNT] = self.hub_account
        if self.hub_region is not None:
            env[self.HUB_REGION] = self.hub_region
        if self.checkpoint_bucket:
            env[self.CHECKPOINT_BUCKET] = self.checkpoint_bucket
        return env

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "GovernanceSettings":
        """The signing key is required: a handler never writes an unsigned entry."""
        skew = _int(env, cls.MAX_EVENT_SKEW, DEFAULT_MAX_EVENT_SKEW_SECONDS)
        if not 0 <= skew <= MAX_EVENT_SKEW_SECONDS_LIMIT:
            raise SettingsError(f"{cls.MAX_EVENT_SKEW} is {skew}; 0 to {MAX_EVENT_SKEW_SECONDS_LIMIT} seconds")
        account = env.get(cls.HUB_ACCOUNT) or None
        if account is not None and not ACCOUNT_ID_RE.match(account):
            raise SettingsError(f"{cls.HUB_ACCOUNT} is {account!r}; a 12-digit account id is required")
        return cls(table_name=_require(env, cls.TABLE), approvers_json=env.get(cls.APPROVERS) or "{}",
                   hub_account=account, hub_region=env.get(cls.HUB_REGION) or env.get("AWS_REGION") or None,
                   hub_partition=env.get(cls.HUB_PARTITION) or "aws", validators_json=env.get(cls.VALIDATORS) or "{}",
                   stage_accounts_json=env.get(cls.STAGE_ACCOUNTS) or "{}", max_event_skew_seconds=skew,
                   signing_key_id=_require(env, cls.SIGNING_KEY), checkpoint_bucket=env.get(cls.CHECKPOINT_BUCKET) or "",
                   registry_writers=env.get(cls.REGISTRY_WRITERS) or "")

    def writers(self) -> tuple[str, ...]:
        return tuple(w.strip() for w in str(self.registry_writers).split(",") if w.strip())


@dataclass(frozen=True)
class CheckpointSettings:
    """The checkpoint consumer: the table it re-reads, the key it verifies with, the bucket it writes to."""

    TABLE = GovernanceSettings.TABLE
    SIGNING_KEY = GovernanceSettings.SIGNING_KEY
    CHECKPOINT_BUCKET = GovernanceSettings.CHECKPOINT_BUCKET

    table_name: Any
    signing_key_id: Any
    checkpoint_bucket: Any

    def to_env(self) -> dict[str, Any]:
        return {self.TABLE: self.table_name, self.SIGNING_KEY: self.signing_key_id, self.CHECKPOINT_BUCKET: self.checkpoint_bucket}

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "CheckpointSettings":
        return cls(table_name=_require(env, cls.TABLE), signing_key_id=_require(env, cls.SIGNING_KEY),
                   checkpoint_bucket=_require(env, cls.CHECKPOINT_BUCKET))


@dataclass(frozen=True)
class InvokeSettings:
    """The member invoke proxy: which endpoint it fronts and what bodies it accepts."""

    ENDPOINT_NAME = "ENDPOINT_NAME"
    MAX_BODY_BYTES = "MAX_BODY_BYTES"
    ALLOWED_CONTENT_TYPES = "ALLOWED_CONTENT_TYPES"
    DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024  # under InvokeEndpoint's and Lambda's 6 MB limits
    DEFAULT_CONTENT_TYPES = ("application/json", "text/csv")

    endpoint_name: Any
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    content_types: tuple[str, ...] = DEFAULT_CONTENT_TYPES

    def to_env(self) -> dict[str, Any]:
        return {self.ENDPOINT_NAME: self.endpoint_name, self.MAX_BODY_BYTES: str(self.max_body_bytes),
                self.ALLOWED_CONTENT_TYPES: ",".join(self.content_types)}

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "InvokeSettings":
        types = tuple(t.strip().lower() for t in env.get(cls.ALLOWED_CONTENT_TYPES, "").split(",") if t.strip())
        return cls(endpoint_name=_require(env, cls.ENDPOINT_NAME),
                   max_body_bytes=_int(env, cls.MAX_BODY_BYTES, cls.DEFAULT_MAX_BODY_BYTES),
                   content_types=types or cls.DEFAULT_CONTENT_TYPES)


@dataclass(frozen=True)
class ReporterVariant:
    name: str
    version: int
    role: str  # champion | challenger | shadow


@dataclass(frozen=True)
class ReporterSettings:
    """The member reporter: which endpoint and versions it reports, to which hub bus."""

    ENDPOINT_NAME = "ENDPOINT_NAME"
    HUB_BUS_ARN = "HUB_BUS_ARN"
    MODEL_GROUP = "MODEL_GROUP"
    USE_CASE_ID = "USE_CASE_ID"
    STAGE = "STAGE"
    ACCOUNT_ID = "ACCOUNT_ID"
    VARIANTS = "VARIANTS"
    WINDOW_MINUTES = "METRICS_WINDOW_MINUTES"

    endpoint_name: Any
    bus_arn: Any
    model_group: str
    use_case_id: str
    stage: str
    account_id: Any
    variants: tuple[ReporterVariant, ...] = field(default_factory=tuple)
    window_minutes: int = 15

    def to_env(self) -> dict[str, Any]:
        variants = json.dumps([{"name": v.name, "version": v.version, "role": v.role} for v in self.variants], sort_keys=True)
        return {self.ENDPOINT_NAME: self.endpoint_name, self.HUB_BUS_ARN: self.bus_arn, self.MODEL_GROUP: self.model_group,
                self.USE_CASE_ID: self.use_case_id, self.STAGE: self.stage, self.ACCOUNT_ID: self.account_id,
                self.VARIANTS: variants, self.WINDOW_MINUTES: str(self.window_minutes)}

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "ReporterSettings":
        stage = _require(env, cls.STAGE)
        if stage not in DEPLOYMENT_STAGES:
            raise SettingsError(f"{cls.STAGE} is {stage!r}; one of {DEPLOYMENT_STAGES}")
        try:
            variants = tuple(ReporterVariant(str(v["name"]), int(v["version"]), str(v["role"]))
                             for v in json.loads(_require(env, cls.VARIANTS)))
        except (ValueError, TypeError, KeyError) as exc:
            raise SettingsError(f"{cls.VARIANTS} is malformed: {exc}") from None
        return cls(endpoint_name=_require(env, cls.ENDPOINT_NAME), bus_arn=_require(env, cls.HUB_BUS_ARN),
                   model_group=_require(env, cls.MODEL_GROUP), use_case_id=_require(env, cls.USE_CASE_ID),
                   stage=stage, account_id=_require(env, cls.ACCOUNT_ID), variants=variants,
                   window_minutes=_int(env, cls.WINDOW_MINUTES, 15))
