"""The governance vocabulary: stages, statuses, risk tiers, records, callers and the errors rules raise.

Pure Python (no boto3) so the rules can be tested and reasoned about without AWS.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Mapping

from .contract import ENDPOINT_RE, GROUP_RE, MAX_MODEL_VERSION, USE_CASE_ID_RE


class Stage(str, Enum):
    """Model stages, in promotion order."""

    development = "development"
    test = "test"
    production = "production"


STAGES: tuple[Stage, ...] = (Stage.development, Stage.test, Stage.production)


class Status(str, Enum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    deployed = "deployed"
    retired = "retired"


class UseCaseStage(str, Enum):
    POC = "POC"
    DEVELOPMENT = "DEVELOPMENT"
    QA = "QA"
    PREPRODUCTION = "PREPRODUCTION"
    PRODUCTION = "PRODUCTION"
    RETIRED = "RETIRED"


USE_CASE_STAGES: tuple[UseCaseStage, ...] = tuple(UseCaseStage)

# The model stage whose approvals (of every model of the use case) move a use case out of a stage.
ADVANCES_ON: dict[UseCaseStage, Stage] = {
    UseCaseStage.DEVELOPMENT: Stage.development,
    UseCaseStage.QA: Stage.test,
    UseCaseStage.PREPRODUCTION: Stage.production,
}

# Stage gates between the two lifecycles: approving a model at a stage needs its use case at least here.
GATE: dict[Stage, UseCaseStage] = {
    Stage.development: UseCaseStage.DEVELOPMENT,
    Stage.test: UseCaseStage.QA,
    Stage.production: UseCaseStage.PREPRODUCTION,
}


class UseCaseAction(str, Enum):
    """The explicit use case decisions."""

    approve = "approve"  # advance exactly one stage
    reject = "reject"    # from QA or PREPRODUCTION back to DEVELOPMENT, with a reason
    retire = "retire"    # ends the use case and every version of its models


class RiskTier(str, Enum):
    """EU AI Act tiers; `unacceptable` never reaches the table (refused at onboarding)."""

    high = "high"
    limited = "limited"
    minimal = "minimal"


class ModelRisk(str, Enum):
    high = "high"
    medium = "medium"
    low = "low"


class Action(str, Enum):
    """What a decision (or a member-account report) does to a stage record."""

    approve = "approve"
    reject = "reject"
    retire = "retire"
    deploy = "deploy"
    undeploy = "undeploy"  # the member account took the version off an endpoint (replaced or decommissioned)


class RegistryStatus(str, Enum):
    """`ModelApprovalStatus` values of the SageMaker Model Registry."""

    pending = "PendingManualApproval"
    approved = "Approved"
    rejected = "Rejected"


# --- errors: each maps to one HTTP status in the API and one log line in the event handlers ---

class GovernanceError(Exception):
    status_code = 500
    code = "error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BadInput(GovernanceError):
    status_code, code = 400, "bad_request"


class Forbidden(GovernanceError):
    status_code, code = 403, "forbidden"


class NotFound(GovernanceError):
    status_code, code = 404, "not_found"


class Conflict(GovernanceError):
    """A stale request or a transition the lifecycle does not allow."""

    status_code, code = 409, "conflict"


# --- identifiers: validated before they become keys, so no caller-controlled text reaches a key unchecked ---

MAX_VERSION = MAX_MODEL_VERSION


def check_use_case_id(value: Any) -> str:
    if not isinstance(value, str) or not USE_CASE_ID_RE.match(value):
        raise BadInput(f"use case id {value!r} is invalid: 1 to 40 lowercase letters, digits and single hyphens")
    return value


def check_group(value: Any) -> str:
    if not isinstance(value, str) or not GROUP_RE.match(value):
        raise BadInput(f"model group {value!r} is invalid: 1 to 63 letters, digits and hyphens")
    return value


def check_version(value: Any) -> int:
    if isinstance(value, bool):
        raise BadInput(f"model version {value!r} is not a whole number")
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 6:
        value = int(value)
    if not isinstance(value, int) or not 1 <= value <= MAX_VERSION:
        raise BadInput(f"model version {value!r} is invalid: a whole number from 1 to {MAX_VERSION}")
    return value


def check_stage(value: Any) -> Stage:
    try:
        return Stage(value)
    except (ValueError, TypeError):
        raise BadInput(f"stage {value!r} is invalid; allowed: development, test, production") from None


def check_status(value: Any) -> Status:
    try:
        return Status(value)
    except (ValueError, TypeError):
        raise BadInput(f"status {value!r} is invalid; allowed: {', '.join(s.value for s in Status)}") from None


def check_endpoint(value: Any) -> str:
    if not isinstance(value, str) or not ENDPOINT_RE.match(value):
        raise BadInput(f"endpoint name {value!r} is invalid: 1 to 63 letters, digits and hyphens")
    return value


# --- principals ---

_ASSUMED_ROLE = re.compile(r"^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([^/]+)/[^/]+$")
_IAM = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}):(role|user)/(?:[^/]+/)*([^/]+)$")


def principal_key(arn: str) -> str | None:
    """An IAM principal reduced to `partition:account:kind/name`, so an STS session matches its configured role.

    `arn:aws:sts::1:assumed-role/R/s` and `arn:aws:iam::1:role/path/R` both become `aws:1:role/R`.
    Anything else (malformed, federated users, root) gives None and matches nobody.
    """
    if not isinstance(arn, str):
        return None
    m = _ASSUMED_ROLE.match(arn)
    if m:
        return f"{m.group(1)}:{m.group(2)}:role/{m.group(3)}"
    m = _IAM.match(arn)
    if m:
        return f"{m.group(1)}:{m.group(2)}:{m.group(3)}/{m.group(4)}"
    return None


@dataclass(frozen=True)
class Approvers:
    """Who may decide at each stage (IAM role/user ARNs), and the governance officers."""

    development: frozenset[str] = frozenset()
    test: frozenset[str] = frozenset()
    production: frozenset[str] = frozenset()
    officers: frozenset[str] = frozenset()

    @staticmethod
    def from_mapping(data: Mapping[str, Any]) -> "Approvers":
        if not isinstance(data, Mapping):
            raise ValueError("APPROVERS must be a JSON object")
        unknown = set(data) - {"development", "test", "production", "officers"}
        if unknown:
            raise ValueError(f"APPROVERS has unknown keys {sorted(unknown)}")
        out: dict[str, frozenset[str]] = {}
        for key in ("development", "test", "production", "officers"):
            values = data.get(key, [])
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise ValueError(f"APPROVERS.{key} must be a list of ARNs")
            keys = set()
            for v in values:
                k = principal_key(v)
                if k is None:
                    raise ValueError(f"APPROVERS.{key}: {v!r} is not an IAM role or user ARN")
                keys.add(k)
            out[key] = frozenset(keys)
        return Approvers(**out)

    def for_stage(self, stage: Stage) -> frozenset[str]:
        return getattr(self, stage.value)

    def is_officer(self, arn: str) -> bool:
        return principal_key(arn) in self.officers

    def may_decide(self, stage: Stage, arn: str) -> bool:
        key = principal_key(arn)
        return key is not None and (key in self.for_stage(stage) or key in self.officers)


# --- records ---

@dataclass(frozen=True)
class Threshold:
    metric: str
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class UseCaseConfig:
    """`USECASE#<id>/CONFIG`, written by Pulumi."""

    use_case_id: str
    name: str
    risk_tier: RiskTier
    owner: str
    line_of_business: str
    project: str
    groups: tuple[str, ...]
    thresholds: tuple[Threshold, ...] = ()


@dataclass(frozen=True)
class GroupConfig:
    """`GROUP#<group>/CONFIG`, written by Pulumi."""

    group: str
    use_case_id: str
    owner: str
    line_of_business: str
    project: str
    risk: ModelRisk
    use_case_name: str | None = None


@dataclass(frozen=True)
class UseCaseState:
    """`USECASE#<id>/STATE`; absent means the use case was just onboarded (POC, nothing approved)."""

    stage: UseCaseStage = UseCaseStage.POC
    rev: int = 0
    approved: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # model stage -> groups ever approved there
    chain_seq: int = 0
    chain_hash: str | None = None
    exists: bool = False
    sent_back: Mapping[str, Any] | None = None  # set by a rejection: no auto-advance until approved forward again

    def approved_groups(self, stage: Stage) -> frozenset[str]:
        return frozenset(self.approved.get(stage.value, ()))


@dataclass(frozen=True)
class StageRecord:
    """The governance state of one model version at one stage (the fields the rules look at)."""

    stage: Stage
    status: Status
    rev: int
    registered_by: str | None = None
    approvals: tuple[str, ...] = ()
    validation_metrics: Mapping[str, Any] | None = None
    monitoring_reported_at: int | None = None
