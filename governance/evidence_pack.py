"""The EU AI Act evidence pack of one use case: everything an auditor needs, as one JSON document.

`assemble` reads only through the governance service's own queries (the use case and its models by
index, each version by key, the audit trails and their verification), so the pack says what the API
says. Approvals carry who, when and why from the audit trail (the record keeps only who); every trail is
included entry by entry with its hashes, so `reverify` (or any SHA-256 tool) re-checks the chains
offline from the JSON alone. Pure Python: no boto3, runs in the API Lambda and in govctl.
"""
from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Callable, Iterable, Mapping

from . import audit, monitoring, obligations, rules, schema
from .dashboard import pages
from .domain import ModelRisk, RiskTier, Threshold

FORMAT = "mlgov-evidence-pack/1"
STAGES = ("development", "test", "production")
PAGE = 100
APPROVE_ACTIONS = ("approve", "approve-partial")
DEPLOY_ACTIONS = ("deploy",)
# Entries that record an endpoint being removed (the member account's deletion, or a retirement's).
DECOMMISSION_ACTIONS = ("decommission", "decommissioned", "endpoint-deleted", "undeploy")
MODEL_CARD_KEYS = ("modelCard", "modelCardArn", "modelCards", "modelCardName")


def plain(value: Any) -> Any:
    """DynamoDB's Decimals as ints/floats, all the way down, so the pack's numbers are JSON numbers."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    return value


def _ordered(entries: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    def seq(e: Mapping[str, Any]) -> tuple[int, str]:
        s = e.get(schema.ENTRY_SEQ)
        return (int(s) if isinstance(s, (int, float, Decimal)) else -1, str(e.get(schema.ENTRY_AT) or ""))
    return [plain(e) for e in sorted(entries, key=seq)]


def verification(verdict: Mapping[str, Any]) -> dict[str, Any]:
    """A verifier's answer in the pack's shape: ok, entries, every problem, and the signing key's fingerprint if known."""
    problems = list(verdict.get("problems") or ([verdict["firstBroken"]] if verdict.get("firstBroken") else []))
    fingerprint = verdict.get("publicKeyFingerprint") or verdict.get("keyFingerprint")
    return {"ok": bool(verdict.get("ok")), "entries": verdict.get("entries"), "problems": plain(problems),
            "publicKeyFingerprint": fingerprint}


def _trail(gov: Any, use_case_id: str, group: str | None = None, version: int | None = None) -> dict[str, Any]:
    entries, _ = pages(lambda t: gov.audit_page(use_case_id, group, version, limit=PAGE, token=t), "entries")
    return {"entries": _ordered(entries), "verification": verification(gov.verify_trail(use_case_id, group, version))}


def _thresholds(uc: Mapping[str, Any]) -> list[Threshold]:
    return [Threshold(t[schema.THRESHOLD_METRIC], plain(t.get(schema.THRESHOLD_MIN)), plain(t.get(schema.THRESHOLD_MAX)))
            for t in plain(uc.get(schema.CONFIG_THRESHOLDS) or [])]


def threshold_checks(thresholds: Iterable[Threshold], metrics: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Each threshold with the recorded value and whether it is met (None: no validation metrics recorded)."""
    out = []
    for t in thresholds:
        value = (metrics or {}).get(t.metric)
        number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        met = None if metrics is None else bool(number and (t.min is None or value >= t.min) and (t.max is None or value <= t.max))
        out.append({schema.THRESHOLD_METRIC: t.metric, schema.THRESHOLD_MIN: t.min, schema.THRESHOLD_MAX: t.max,
                    "value": value, "met": met})
    return out


def _approvals(entries: list[Mapping[str, Any]], stage: str) -> list[dict[str, Any]]:
    return [{"stage": stage, "who": e.get(schema.ENTRY_ACTOR), "when": e.get(schema.ENTRY_AT), "why": e.get(schema.ENTRY_REASON) or "",
             "final": e.get(schema.ENTRY_ACTION) == "approve", "seq": e.get(schema.ENTRY_SEQ)}
            for e in entries if e.get(schema.ENTRY_STAGE) == stage and e.get(schema.ENTRY_ACTION) in APPROVE_ACTIONS]


def _stage(record: Mapping[str, Any], entries: list[Mapping[str, Any]], thresholds: list[Threshold], high_risk: bool,
           is_officer: Callable[[str], bool] | None, test_metrics: Any = None) -> dict[str, Any]:
    stage = record[schema.MODEL_STAGE]
    approvals = _approvals(entries, stage)
    approvers = [str(a) for a in record.get(schema.APPROVALS) or []]
    required = 2 if high_risk and stage == "production" else 1
    distinct = len(set(approvers))
    validation = plain(record.get(schema.VALIDATION_METRICS))
    # A production approval without its own validation metrics is judged on the test stage's (as the service does).
    judged, source = (test_metrics, "test") if validation is None and stage == "production" and test_metrics is not None else (validation, stage)
    return {
        "stage": stage, "status": record.get(schema.MODEL_STATUS), "rev": plain(record.get(schema.REV)),
        "lastChange": {"at": record.get(schema.AUDIT_TIMESTAMP), "by": record.get(schema.AUDIT_USER)},
        "approvers": approvers, "approvals": approvals,
        "fourEyes": {"required": required, "distinctApprovers": distinct, "met": distinct >= required},
        "officerApproved": None if is_officer is None else any(is_officer(a) for a in approvers),
        "validationMetrics": validation,
        "thresholdChecks": threshold_checks(thresholds, judged) if stage != "development" else [],
        "thresholdMetricsFrom": source if stage != "development" else None,
        "monitoring": plain(record.get(schema.MONITORING_METRICS)),
        "monitoringReports": sum(1 for e in entries if e.get(schema.ENTRY_STAGE) == stage and e.get(schema.ENTRY_ACTION) == "monitoring-metrics"),
        schema.ENDPOINT_NAME: record.get(schema.ENDPOINT_NAME),
        "lastRejection": plain(record.get(schema.LAST_REJECTION)),
    }


def _where(entry: Mapping[str, Any]) -> dict[str, Any]:
    detail = entry.get(schema.ENTRY_DETAIL) or {}
    detail = detail if isinstance(detail, Mapping) else {}
    return {"stage": entry.get(schema.ENTRY_STAGE), "at": entry.get(schema.ENTRY_AT), "by": entry.get(schema.ENTRY_ACTOR),
            schema.ENDPOINT_NAME: detail.get(schema.ENDPOINT_NAME), "account": detail.get("account"),
            "variantName": detail.get("variantName"), "reason": entry.get(schema.ENTRY_REASON) or ""}


def _model_cards(records: list[Mapping[str, Any]]) -> list[Any]:
    return [plain(r[k]) for r in records for k in MODEL_CARD_KEYS if r.get(k)]


def version_evidence(gov: Any, use_case_id: str, group: str, version: int, thresholds: list[Threshold], high_risk: bool,
                     is_officer: Callable[[str], bool] | None) -> dict[str, Any]:
    view = gov.get_version(use_case_id, group, version)
    trail = _trail(gov, use_case_id, group, version)
    entries = trail["entries"]
    records = sorted(view.get("records") or [], key=lambda r: STAGES.index(r[schema.MODEL_STAGE]))
    dev = next((r for r in records if r[schema.MODEL_STAGE] == "development"), {})
    test_metrics = plain(next((r.get(schema.VALIDATION_METRICS) for r in records if r[schema.MODEL_STAGE] == "test"), None))
    reference, history = next((r.get("driftReference") for r in records if r[schema.MODEL_STAGE] == "test"), None), view.get("monitoringHistory") or {}
    return {
        schema.MODEL_GROUP: group, schema.MODEL_VERSION: version, "currentStage": view.get("currentStage"),
        schema.REGISTRY_STATUS: view.get(schema.REGISTRY_STATUS), schema.MLFLOW_RUN_ID: view.get(schema.MLFLOW_RUN_ID),
        schema.MODEL_PACKAGE_ARN: dev.get(schema.MODEL_PACKAGE_ARN), schema.MODEL_RISK: dev.get(schema.MODEL_RISK),
        "registrationCompliance": plain(dev.get(schema.COMPLIANCE)),
        "registeredBy": next((e.get(schema.ENTRY_ACTOR) for e in entries if e.get(schema.ENTRY_ACTION) == "register"), None),
        "stagePath": [{"seq": e.get(schema.ENTRY_SEQ), "at": e.get(schema.ENTRY_AT), "stage": e.get(schema.ENTRY_STAGE),
                       "action": e.get(schema.ENTRY_ACTION), "from": e.get(schema.ENTRY_FROM), "to": e.get(schema.ENTRY_TO),
                       "by": e.get(schema.ENTRY_ACTOR), "reason": e.get(schema.ENTRY_REASON) or ""}
                      for e in entries if e.get(schema.ENTRY_FROM) != e.get(schema.ENTRY_TO)],
        "stages": [{**_stage(r, entries, thresholds, high_risk, is_officer, test_metrics),
                    "drift": plain(monitoring.drift_summary(r, reference, history.get(r[schema.MODEL_STAGE], [])))} for r in records],
        "deployments": [_where(e) for e in entries if e.get(schema.ENTRY_ACTION) in DEPLOY_ACTIONS],
        "decommissions": [_where(e) for e in entries if e.get(schema.ENTRY_ACTION) in DECOMMISSION_ACTIONS],
        "modelCards": _model_cards(records),
        "audit": trail,
    }


def duties(tier: str, model_risks: Iterable[str]) -> list[str]:
    """The obligations of the use case's tier and of its models' risks, from the obligations table."""
    found = set(obligations.TIER_OBLIGATIONS.get(_tier(tier), frozenset()))
    for risk in model_risks:
        found |= obligations.MODEL_RISK_OBLIGATIONS[_risk(risk)]
    return sorted(o.value for o in found)


def obligations_met(names: Iterable[str], uc: Mapping[str, Any], models: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each obligation with whether the record shows it met (True/False), or None when the record cannot show it."""
    past_dev = [(v, s) for m in models for v in m["versions"] for s in v["stages"]
                if s["stage"] != "development" and s["status"] in ("approved", "deployed") and s["approvers"]]
    production = [(v, s) for v, s in past_dev if s["stage"] == "production" and s["status"] == "approved"]
    versions = [v for m in models for v in m["versions"]]
    out = []
    for name in names:
        met: bool | None
        if name == obligations.Obligation.thresholds.value:
            checks = [c for _, s in past_dev for c in s["thresholdChecks"]]
            met, evidence = all(c["met"] for c in checks), f"{len(checks)} threshold check(s) on {len(past_dev)} approval(s) past development"
        elif name == obligations.Obligation.officer.value:
            known = [s["officerApproved"] for _, s in past_dev]
            met = None if any(k is None for k in known) else all(known)
            evidence = f"{sum(1 for k in known if k)} of {len(known)} approval(s) past development include an officer"
        elif name == obligations.Obligation.four_eyes.value:
            met = all(s["fourEyes"]["met"] for _, s in production)
            evidence = f"{len(production)} production approval(s), each with ≥ 2 distinct approvers" if met else \
                "a production approval has fewer than 2 distinct approvers"
        elif name == obligations.Obligation.model_card.value:
            with_card = sum(1 for v in versions if v["modelCards"])
            met = with_card == len(versions) if versions else None
            evidence = f"{with_card} of {len(versions)} version(s) reference a model card"
        elif name == obligations.Obligation.transparency.value:
            statement = uc.get(schema.CONFIG_TRANSPARENCY_STATEMENT)
            met, evidence = bool(statement), str(statement or "no transparency statement recorded")
        else:
            met, evidence = None, "enforced outside the governance record (infrastructure and policy pack)"
        out.append({"obligation": name, "description": obligations.DESCRIPTION[obligations.Obligation(name)], "met": met,
                    "evidence": evidence})
    return out


def assemble(gov: Any, use_case_id: str, *, generated_by: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """The evidence pack of one use case, as plain JSON-able data (NotFound/BadInput as the service raises them)."""
    first = gov.get_use_case(use_case_id, limit=PAGE)
    records = list(first.get("models") or [])
    token = first.get("next")
    while token:
        page = gov.get_use_case(use_case_id, limit=PAGE, token=token)
        records.extend(page.get("models") or [])
        token = page.get("next")
    uc = plain({k: v for k, v in first.items() if k not in ("models", "next")})
    tier = uc.get(schema.CONFIG_RISK_TIER) or "minimal"
    thresholds = _thresholds(uc)
    approvers = getattr(gov, "approvers", None)
    is_officer = approvers.is_officer if approvers is not None and hasattr(approvers, "is_officer") else None
    risks = {(r[schema.MODEL_GROUP], int(r[schema.MODEL_VERSION])): r.get(schema.MODEL_RISK) for r in records}
    groups = sorted({*uc.get(schema.CONFIG_MODEL_GROUPS, []), *(g for g, _ in risks)})
    models = []
    for group in groups:
        versions = sorted(v for g, v in risks if g == group)
        models.append({schema.MODEL_GROUP: group, "versions": [
            version_evidence(gov, use_case_id, group, v, thresholds, rules.is_high_risk(_tier(tier), _risk(risks[group, v])),
                             is_officer) for v in versions]})
    use_case_trail = _trail(gov, use_case_id)
    names = duties(tier, {r for r in risks.values() if r})
    trails = [use_case_trail["verification"], *(v["audit"]["verification"] for m in models for v in m["versions"])]
    return {
        "format": FORMAT,
        "generatedAt": (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "generatedBy": generated_by,
        "useCase": uc,
        "riskTier": tier,
        "obligations": obligations_met(names, uc, models),
        "models": models,
        "useCaseAudit": use_case_trail,
        "summary": {
            "models": len(models), "versions": sum(len(m["versions"]) for m in models),
            "approvals": sum(len(s["approvals"]) for m in models for v in m["versions"] for s in v["stages"]),
            "auditEntries": sum(t["entries"] or 0 for t in trails), "trails": len(trails),
            "trailsVerified": sum(1 for t in trails if t["ok"]), "trailsBroken": sum(1 for t in trails if not t["ok"]),
        },
        "howToVerify": ("Each audit entry's hash is SHA-256 over the JSON of its hashed fields "
                        f"({', '.join(audit.HASHED_FIELDS)}; sorted keys, no spaces, ASCII, detail as compact sorted JSON), "
                        "and each entry's prevHash is the hash before it (the first links to 64 zeros)."),
    }


def _tier(tier: str) -> RiskTier:
    try:
        return RiskTier(tier)
    except ValueError:
        return RiskTier.minimal


def _risk(risk: Any) -> ModelRisk:
    try:
        return ModelRisk(risk)
    except ValueError:
        return ModelRisk.low


def stored_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A pack entry as the table stored it (detail back to its compact JSON text), for hashing."""
    out = dict(entry)
    detail = entry.get(schema.ENTRY_DETAIL)
    out[schema.ENTRY_DETAIL] = json.dumps(detail if detail is not None else {}, sort_keys=True, separators=(",", ":"))
    return out


def reverify(pack: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Re-check every trail of a pack from its JSON alone (links and hashes): subject → {ok, entries, problem}."""
    trails = {f"use case {pack['useCase'][schema.USE_CASE_ID]}": pack["useCaseAudit"]}
    for m in pack["models"]:
        for v in m["versions"]:
            trails[f"{m[schema.MODEL_GROUP]} v{v[schema.MODEL_VERSION]}"] = v["audit"]
    out = {}
    for subject, trail in trails.items():
        result = audit.verify([stored_entry(e) for e in trail["entries"]])
        out[subject] = {"ok": result.ok, "entries": result.entries, "problem": result.problem}
    return out
