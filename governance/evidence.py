"""Who may give the evidence a decision rests on, and where a registry event must come from.

- Provenance: a registry event counts only for a package of the hub (its ARN names the hub's partition,
  region and account; the envelope's account and region are not looked at: a forwarded event keeps the
  sender's), and the ARN first recorded for a version is never replaced. Anything else is a provenance
  fault: refused, logged and counted (`contract.PROVENANCE_FAULT_METRIC`).
- Validation metrics (approval evidence) come only from the stage's configured validators, never from
  whoever registered the version.
- Member reports come only from the accounts configured for their stage, about the endpoint that stage's
  stack serves the group with: `contract.endpoint_name(stage, use case, group)` (the hub does not see the
  member stacks' pins, but the name depends only on what it knows).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from .contract import ACCOUNT_ID_RE, ACCOUNT_ROLE_OF_STAGE, DEFAULT_MAX_EVENT_SKEW_SECONDS, DEPLOYMENT_STAGES
from .contract import MODEL_STAGES
from .contract import endpoint_name, model_package_arn_prefix
from .domain import Forbidden, Stage, principal_key
from .events import MemberEvent, RegistryEvent
from .schema import USE_CASE_ID

PROVENANCE = "provenance"
"""The fault name of an event refused for where it comes from (metric `contract.PROVENANCE_FAULT_METRIC`)."""


@dataclass(frozen=True)
class Hub:
    """The hub registry's identity: only its packages are governed here."""

    account: str | None
    region: str | None
    partition: str = "aws"

    def provenance_fault(self, ev: RegistryEvent, recorded_arn: str | None) -> str | None:
        """Why `ev` is not about the hub's package of record (None: it is)."""
        if not self.account or not self.region:
            return "the hub's account and region are not configured, so no registry event can be trusted"
        if (ev.partition, ev.region, ev.account) != (self.partition, self.region, self.account):
            return (f"{ev.arn} is a package of {ev.partition}:{ev.region}:{ev.account}, not of the hub registry "
                    f"({model_package_arn_prefix(self.account, self.region, self.partition)}...)")
        if recorded_arn is not None and ev.arn != recorded_arn:
            return f"{ev.group}/{ev.version} was recorded as {recorded_arn}; an event naming {ev.arn} cannot replace it"
        return None


def _principals(data: Mapping[str, Any], key: str, what: str) -> frozenset[str]:
    values = data.get(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValueError(f"{what}.{key} must be a list of IAM role or user ARNs")
    keys = {principal_key(v) for v in values}
    if None in keys:
        raise ValueError(f"{what}.{key}: every entry must be an IAM role or user ARN")
    return frozenset(k for k in keys if k is not None)


@dataclass(frozen=True)
class Validators:
    """Who may record validation metrics, by stage (principal keys, so a session matches its role)."""

    by_stage: Mapping[str, frozenset[str]]

    @staticmethod
    def from_mapping(data: Any) -> "Validators":
        if not isinstance(data, Mapping):
            raise ValueError("VALIDATORS must be a JSON object")
        unknown = set(data) - set(MODEL_STAGES)
        if unknown:
            raise ValueError(f"VALIDATORS has unknown keys {sorted(unknown)}; allowed: {', '.join(MODEL_STAGES)}")
        return Validators({stage: _principals(data, stage, "VALIDATORS") for stage in MODEL_STAGES})

    def check(self, stage: Stage, caller: str, registered_by: str | None) -> None:
        """Forbidden unless `caller` is a validator of `stage` and did not register the version."""
        key = principal_key(caller)
        if key is None or key not in self.by_stage.get(stage.value, frozenset()):
            raise Forbidden(f"{caller} is not a validator for the {stage.value} stage; validation metrics are recorded "
                            "only by the principals configured under mlgov:validators")
        if registered_by is not None and principal_key(registered_by) == key:
            raise Forbidden("separation of duties: whoever registered a version cannot record its validation metrics")


@dataclass(frozen=True)
class StageAccounts:
    """Which member accounts report for which stage (`test`, `production`)."""

    by_stage: Mapping[str, frozenset[str]]

    @staticmethod
    def from_mapping(data: Any) -> "StageAccounts":
        if not isinstance(data, Mapping):
            raise ValueError("STAGE_ACCOUNTS must be a JSON object")
        unknown = set(data) - set(DEPLOYMENT_STAGES)
        if unknown:
            raise ValueError(f"STAGE_ACCOUNTS has unknown keys {sorted(unknown)}; allowed: {', '.join(DEPLOYMENT_STAGES)}")
        out: dict[str, frozenset[str]] = {}
        for stage in DEPLOYMENT_STAGES:
            ids = data.get(stage, [])
            if not isinstance(ids, list) or not all(isinstance(i, str) and ACCOUNT_ID_RE.match(i) for i in ids):
                raise ValueError(f"STAGE_ACCOUNTS.{stage} must be a list of 12-digit account ids")
            out[stage] = frozenset(ids)
        return StageAccounts(out)

    def refusal(self, ev: MemberEvent) -> str | None:
        """Why a member report may not touch the record (None: it may).

        `ev.account` is the envelope's `account`, which EventBridge sets to the account the event came from on
        cross-account delivery; a sender cannot choose it
        (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html: "account: The
        12-digit number identifying an AWS account"; PutEvents has no account field,
        https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsRequestEntry.html).
        """
        allowed = self.by_stage.get(ev.stage.value, frozenset())
        if ev.account not in allowed:
            return (f"account {ev.account} is not a {ev.stage.value} account (configured: {', '.join(sorted(allowed)) or 'none'}); "
                    f"only the {ev.stage.value} account reports on {ev.stage.value} records")
        return None


def endpoint_refusal(ev: MemberEvent, use_case_id: str | None) -> str | None:
    """Why a report's endpoint is not the one the stage's stack serves the group with (None: it is)."""
    expected = endpoint_name(ACCOUNT_ROLE_OF_STAGE[ev.stage.value], use_case_id or "", ev.group)
    if ev.endpoint != expected:
        return f"endpoint {ev.endpoint!r} is not one the {ev.stage.value} stage declares for {ev.group} (it serves it from {expected!r})"
    return None


def report_refusal(ev: MemberEvent, record: Mapping[str, Any] | None) -> str | None:
    """Why a member report cannot apply to the stage record it names (None: it can): no such record, or an
    endpoint other than the one the stage serves the record's use case and group from."""
    if record is None:
        return f"{ev.group}/{ev.version} has no {ev.stage.value} record to report on"
    if refusal := endpoint_refusal(ev, record.get(USE_CASE_ID)):
        return f"{ev.group}/{ev.version} {ev.stage.value}: report refused: {refusal}"
    return None


@dataclass(frozen=True)
class Evidence:
    """Everything the handlers check a sender against, from the hub's config (`contract.GovernanceSettings`).

    The default trusts nobody: no hub identity (every registry event is a provenance fault), no validators,
    no stage accounts.
    """

    hub: Hub = Hub(None, None)
    validators: Validators = Validators({})
    stage_accounts: StageAccounts = StageAccounts({})
    max_skew_ms: int = DEFAULT_MAX_EVENT_SKEW_SECONDS * 1000
