"""The governance table's layout: one definition shared by the runtime and the infrastructure.

`components/governance_table.py` builds the DynamoDB table from `TABLE`, and Pulumi writes the
`CONFIG` items through the builders below, so the keys the handlers read are, by construction,
the keys the stack declares. Pure Python: no boto3, importable from Pulumi programs and Lambdas.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

PK = "pk"
SK = "sk"

CONFIG_SK = "CONFIG"
STATE_SK = "STATE"
AUDIT_PREFIX = "AUDIT#"

# Attribute names of the model stage record: the governance attributes of the source design.
USE_CASE_ID = "useCaseId"
USE_CASE_NAME = "useCaseName"
USE_CASE_STAGE = "useCaseStage"
MODEL_GROUP = "modelGroup"
MODEL_VERSION = "modelVersion"
MODEL_OWNER = "modelOwner"
MODEL_LINE_OF_BUSINESS = "modelLineOfBusiness"
MODEL_PROJECT = "modelProject"
MODEL_STAGE = "modelStage"
MODEL_STATUS = "modelStatus"
MODEL_RISK = "modelRisk"
VALIDATION_METRICS = "validationMetrics"
MONITORING_METRICS = "monitoringMetrics"
AUDIT_TIMESTAMP = "auditTimestamp"
AUDIT_USER = "auditUser"
MODEL_PACKAGE_ARN = "modelPackageArn"
REV = "rev"

# Further attributes of a stage record (the development record also holds the registry mirror and
# the head of the version's audit chain).
REGISTERED_BY = "registeredBy"
APPROVALS = "approvals"
LAST_REJECTION = "lastRejection"
ENDPOINT_NAME = "endpointName"
MONITORING_REPORTED_AT = "monitoringReportedAt"
REGISTRY_STATUS = "registryStatus"
REGISTRY_MODIFIED_AT = "registryModifiedAt"
REGISTRY_LIFECYCLE = "registryLifeCycle"
MLFLOW_RUN_ID = "mlflowRunId"  # the MLflow run the version was registered from (development record only)
DECISION_LOG = "decisionLog"  # the version's decisions (who, when, why) the registry's model card shows (development record)
COMPLIANCE = "compliance"  # JSON: where the registration's artifacts and images are, and what is wrong with them
APPROVAL_RULE = "approvalRule"  # why a version needs more approvers than usual (development record only)
CHAIN_SEQ = "chainSeq"
CHAIN_HASH = "chainHash"
# Monitoring history: the count of reports a stage record has taken (its latest is MONITORING_METRICS), and
# the ring of `MON#<version>#<stage>#<slot>` items in the model partition holding the last reports.
MONITORING_SEQ = "monitoringSeq"
MONITORING_PREFIX = "MON#"
# `USECASE#<id>/CONFIG`: the use case's monitoring policy (staleness window, metric limits).
CONFIG_MONITORING = "monitoring"
MONITORING_STALE_AFTER_HOURS = "staleAfterHours"
MONITORING_LIMITS = "limits"
# Its defaults where `mlgov:monitoring` says nothing: a day without a report is stale; a PSI above 0.2 (the
# usual rule of thumb) is a significant shift of the prediction distribution.
DEFAULT_STALE_AFTER_HOURS = 24
DEFAULT_PSI_MAX = 0.2

# `USECASE#<id>/STATE` (with USE_CASE_ID, REV, the chain head and the audit stamp).
STATE_STAGE = "stage"
STATE_STAGE_STATUS = "stageStatus"
STATE_APPROVED = "approved"

# `USECASE#<id>/CONFIG` and `GROUP#<group>/CONFIG` (with USE_CASE_ID, MODEL_GROUP, USE_CASE_NAME).
CONFIG_NAME = "name"
CONFIG_RISK_TIER = "riskTier"
CONFIG_OWNER = "owner"
CONFIG_LINE_OF_BUSINESS = "lineOfBusiness"
CONFIG_PROJECT = "project"
CONFIG_MODEL_GROUPS = "modelGroups"
CONFIG_THRESHOLDS = "thresholds"
CONFIG_RISK = "risk"
CONFIG_TRANSPARENCY_STATEMENT = "transparencyStatement"
THRESHOLD_METRIC = "metric"
THRESHOLD_MIN = "min"
THRESHOLD_MAX = "max"

# Audit entries: the hashed fields, then the hash itself.
ENTRY_SUBJECT = "subject"
ENTRY_SEQ = "seq"
ENTRY_AT = "at"
ENTRY_ACTION = "action"
ENTRY_STAGE = "stage"
ENTRY_FROM = "from"
ENTRY_TO = "to"
ENTRY_ACTOR = "actor"
ENTRY_REASON = "reason"
ENTRY_SOURCE = "source"
ENTRY_DETAIL = "detail"
ENTRY_PREV_HASH = "prevHash"
# What the record(s) the chain governs look like once the entry is applied (JSON), so a record can be checked
# against its trail.
ENTRY_STATE = "recordState"
ENTRY_HASH = "hash"
ENTRY_HASHED_FIELDS: tuple[str, ...] = (
    ENTRY_SUBJECT, ENTRY_SEQ, ENTRY_AT, ENTRY_ACTION, ENTRY_STAGE, ENTRY_FROM, ENTRY_TO, ENTRY_ACTOR, ENTRY_REASON,
    ENTRY_SOURCE, ENTRY_DETAIL, ENTRY_PREV_HASH, ENTRY_STATE,
)
# The signature over the hashes of every entry one transaction appended (`cosigned`), with the KMS key that made it.
ENTRY_SIGNATURE = "sig"
ENTRY_SIGNING_KEY = "sigKey"
ENTRY_COSIGNED = "cosigned"
ENTRY_SIGNATURE_FIELDS: tuple[str, ...] = (ENTRY_SIGNATURE, ENTRY_SIGNING_KEY, ENTRY_COSIGNED)

GOVERNANCE_ATTRIBUTES: tuple[str, ...] = (
    USE_CASE_ID, USE_CASE_NAME, USE_CASE_STAGE, MODEL_GROUP, MODEL_VERSION, MODEL_OWNER,
    MODEL_LINE_OF_BUSINESS, MODEL_PROJECT, MODEL_STAGE, MODEL_STATUS, MODEL_RISK,
    VALIDATION_METRICS, MONITORING_METRICS, AUDIT_TIMESTAMP, AUDIT_USER,
)


@dataclass(frozen=True)
class Index:
    """A global secondary index: its name and the string key attributes it is built on."""

    name: str
    partition_key: str
    sort_key: str


@dataclass(frozen=True)
class TableSchema:
    partition_key: str
    sort_key: str
    indexes: tuple[Index, ...]

    def attribute_definitions(self) -> list[dict[str, str]]:
        """Every key attribute of the table and its indexes (all strings), in a stable order."""
        names: list[str] = [self.partition_key, self.sort_key]
        for index in self.indexes:
            for attr in (index.partition_key, index.sort_key):
                if attr not in names:
                    names.append(attr)
        return [{"name": n, "type": "S"} for n in names]

    def create_table_request(self, table_name: str) -> dict[str, Any]:
        """The DynamoDB CreateTable request for this layout (sandbox, tests, benchmarks; Pulumi builds its own)."""
        def keys(partition: str, sort: str) -> list[dict[str, str]]:
            return [{"AttributeName": partition, "KeyType": "HASH"}, {"AttributeName": sort, "KeyType": "RANGE"}]

        return {
            "TableName": table_name,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": a["name"], "AttributeType": a["type"]} for a in self.attribute_definitions()],
            "KeySchema": keys(self.partition_key, self.sort_key),
            "GlobalSecondaryIndexes": [
                {"IndexName": i.name, "KeySchema": keys(i.partition_key, i.sort_key), "Projection": {"ProjectionType": "ALL"}}
                for i in self.indexes
            ],
        }


# Officer queues and the dashboard: STAGE#<stage>#STATUS#<status>, oldest first.
BY_STAGE_STATUS = Index(name="by-stage-status", partition_key="gsi1pk", sort_key="gsi1sk")
# "All models of a use case": USECASE#<id>.
BY_USE_CASE = Index(name="by-use-case", partition_key="gsi2pk", sort_key="gsi2sk")

TABLE = TableSchema(partition_key=PK, sort_key=SK, indexes=(BY_STAGE_STATUS, BY_USE_CASE))


def use_case_pk(use_case_id: str) -> str:
    return f"USECASE#{use_case_id}"


def group_pk(group: str) -> str:
    return f"GROUP#{group}"


def model_pk(group: str) -> str:
    return f"MODEL#{group}"


def stage_record_sk(version: int, stage: str) -> str:
    return f"V#{version:06d}#{stage}"


def version_prefix(version: int) -> str:
    return f"V#{version:06d}#"


def monitoring_slot_sk(version: int, stage: str, slot: int) -> str:
    """One slot of a stage record's monitoring history ring (no index key: never listed by a query)."""
    return f"{MONITORING_PREFIX}{version:06d}#{stage}#{slot:03d}"


def audit_sk(iso_time: str, event_id: str) -> str:
    return f"{AUDIT_PREFIX}{iso_time}#{event_id}"


def stage_status_key(stage: str, status: str) -> str:
    return f"STAGE#{stage}#STATUS#{status}"


# --- added for the runtime (handler-owned items and index keys) ---

# `HUB/CONFIG`: what the hub stack declares today (written by Pulumi, replaced on every `pulumi up`): the use
# cases still in its config — a use case whose CONFIG item is retained but not listed here was removed from
# config, i.e. offboarded — and where registrations must put their artifacts and custom images.
HUB_PK = "HUB"
HUB_USE_CASES = "useCases"
HUB_ARTIFACT_BUCKET = "artifactBucket"
HUB_IMAGE_REPOSITORY = "imageRepository"

# `by-stage-status` partition that lists every use case CONFIG item (the catalogue).
USE_CASE_CATALOG = "CATALOG#USECASE"
# `GROUP#<group>/USECASE`: the handlers' mirror of the group's use case name and stage, kept in the same
# transaction as every use case stage change, so the sync handler reads it with the group CONFIG.
USE_CASE_MIRROR_SK = "USECASE"


def stage_record_gsi1sk(at: str, group: str, version: int) -> str:
    """Queue order: oldest first by the time the record entered its status."""
    return f"{at}#{group}#{version:06d}"


def stage_record_gsi2sk(group: str, version: int, stage: str) -> str:
    return f"{model_pk(group)}#{stage_record_sk(version, stage)}"


def _attr(value: Any) -> dict[str, Any]:
    """A Python value as a DynamoDB attribute value (the wire format TableItem expects)."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, float)):
        return {"N": repr(value) if isinstance(value, float) else str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, Mapping):
        return {"M": {k: _attr(v) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"L": [_attr(v) for v in value]}
    if value is None:
        return {"NULL": True}
    raise TypeError(f"cannot store {type(value).__name__} in the governance table")


def to_item_json(item: Mapping[str, Any]) -> str:
    """An item as the DynamoDB-JSON string `aws.dynamodb.TableItem(item=...)` takes."""
    return json.dumps({k: _attr(v) for k, v in item.items()}, sort_keys=True)


def use_case_config_item(
    *,
    use_case_id: str,
    name: str,
    risk_tier: str,
    owner: str,
    line_of_business: str,
    project: str,
    groups: Iterable[str],
    thresholds: Iterable[Mapping[str, Any]],
    transparency_statement: str | None = None,
    monitoring: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The `USECASE#<id>/CONFIG` item: declared in stack config, written by Pulumi only."""
    item = {
        PK: use_case_pk(use_case_id),
        SK: CONFIG_SK,
        USE_CASE_ID: use_case_id,
        CONFIG_NAME: name,
        CONFIG_RISK_TIER: risk_tier,
        CONFIG_OWNER: owner,
        CONFIG_LINE_OF_BUSINESS: line_of_business,
        CONFIG_PROJECT: project,
        CONFIG_MODEL_GROUPS: sorted(groups),
        CONFIG_THRESHOLDS: [dict(t) for t in thresholds],
        # Lists every use case through an index (no Scan): the catalogue partition of `by-stage-status`.
        BY_STAGE_STATUS.partition_key: USE_CASE_CATALOG,
        BY_STAGE_STATUS.sort_key: use_case_pk(use_case_id),
    }
    if transparency_statement is not None:
        item[CONFIG_TRANSPARENCY_STATEMENT] = transparency_statement
    if monitoring is not None:
        item[CONFIG_MONITORING] = dict(monitoring)
    return item


def hub_config_item(*, use_case_ids: Iterable[str], artifact_bucket: str, image_repository: str) -> dict[str, Any]:
    """The `HUB/CONFIG` item: the use cases the hub stack declares, its artifact bucket and its image repository URI."""
    return {PK: HUB_PK, SK: CONFIG_SK, HUB_USE_CASES: sorted(use_case_ids), HUB_ARTIFACT_BUCKET: artifact_bucket,
            HUB_IMAGE_REPOSITORY: image_repository}


def group_config_item(
    *,
    group: str,
    use_case_id: str,
    owner: str,
    line_of_business: str,
    project: str,
    risk: str,
    use_case_name: str | None = None,
) -> dict[str, Any]:
    """The `GROUP#<group>/CONFIG` item the sync handler reads to fill a new stage record.

    `use_case_name` (optional) lets the sync handler stamp the use case name on a new record without a
    second read; without it the record carries the name the handlers last mirrored (or the id).
    """
    item = {
        PK: group_pk(group),
        SK: CONFIG_SK,
        MODEL_GROUP: group,
        USE_CASE_ID: use_case_id,
        CONFIG_OWNER: owner,
        CONFIG_LINE_OF_BUSINESS: line_of_business,
        CONFIG_PROJECT: project,
        CONFIG_RISK: risk,
        BY_USE_CASE.partition_key: use_case_pk(use_case_id),
        BY_USE_CASE.sort_key: group_pk(group),
    }
    if use_case_name is not None:
        item[USE_CASE_NAME] = use_case_name
    return item


# --- the two lifecycles: use case send-back, deployments per endpoint ---

# `USECASE#<id>/STATE`: the rejection that sent the use case back (JSON; absent once approved forward again).
STATE_SENT_BACK = "sentBack"
# Stage record: where the version was deployed at that stage (JSON list of {endpointName, account, variantName,
# since, until, ended, replacedBy}); entries without `until` are live.
DEPLOYMENTS = "deployments"
# `ENDPOINT#<account>#<endpoint>/LIVE`: the versions a member account's endpoint serves (JSON list), guarded by `rev`.
ENDPOINT_LIVE_SK = "LIVE"
ENDPOINT_LIVE = "live"
ENDPOINT_ACCOUNT = "account"


def endpoint_pk(account: str, endpoint: str) -> str:
    return f"ENDPOINT#{account}#{endpoint}"
