"""Monitoring reports beyond the latest window: a bounded history per version and stage, staleness and limits.

History: every report a stage record takes is also written to a ring of `HISTORY_SLOTS` items in the
model's partition (`MON#<version>#<stage>#<slot>`, slot = report count mod `HISTORY_SLOTS`), in the same
transaction as the record update guarded by its `rev`. The ring is bounded by construction (a slot is
overwritten, nothing is deleted or expired), a replayed report is refused before anything is written
(it is not newer than the record's latest), and two concurrent reports cannot take the same slot.

Assessment: a use case's CONFIG item carries its monitoring policy (written by Pulumi from
`mlgov:monitoring`); a deployed record with no report for longer than `staleAfterHours` is stale, and
each limit its latest metrics break is a breach. Both are computed when read, so a changed policy applies
at once and nothing is stored that could go out of date.

Drift evidence: a version's prediction-drift reference is recorded once, from a report of the test stage (which
only a test account may send, `evidence.StageAccounts`), on the test record with who sent it and when; a
`predictionPsi` counts only when it names that reference's digest, so a figure computed against anything else
(no reference yet, a replaced published copy) is kept in the report as refused, never checked against a limit.
"""
from __future__ import annotations

import math
import time
from datetime import datetime
from typing import Any, Mapping

from . import schema
from .contract import PREDICTION_PSI_METRIC, PREDICTION_REFERENCE_DIGEST_METRIC, PREDICTION_REFERENCE_METRIC
from .contract import drift_reference, reference_digest
from .domain import Stage, Status
from .records import dump_json, load_json
from .store import Key, Op, Store, put
from .writes import VersionWrite

HISTORY_SLOTS = 96
"""Reports kept per version and stage: a day of the reporter's default 15-minute windows."""
VIEW_REPORTS = 20
"""Reports the version view shows per stage, newest first."""
DEFAULT_STALE_AFTER_HOURS = schema.DEFAULT_STALE_AFTER_HOURS
PSI_METRIC = PREDICTION_PSI_METRIC
DEFAULT_PSI_MAX = schema.DEFAULT_PSI_MAX
DEFAULT_POLICY: dict[str, Any] = {
    schema.MONITORING_STALE_AFTER_HOURS: DEFAULT_STALE_AFTER_HOURS,
    schema.MONITORING_LIMITS: [{schema.THRESHOLD_METRIC: PSI_METRIC, schema.THRESHOLD_MAX: DEFAULT_PSI_MAX}],
}
MONITORED = (Status.deployed, Status.approved)


def slot_key(group: str, version: int, stage: Stage, seq: int) -> Key:
    """Where the `seq`-th report (1-based) of a stage record is kept."""
    return schema.model_pk(group), schema.monitoring_slot_sk(version, stage.value, (seq - 1) % HISTORY_SLOTS)


def record_report(vw: VersionWrite, stage: Stage, report: Mapping[str, Any], reported_ms: int, **stamped: Any) -> list[Op]:
    """Make `report` the record's latest monitoring metrics and add it to its history; returns the history put."""
    item = vw.items.get(stage) or {}
    seq = int(item.get(schema.MONITORING_SEQ, 0)) + 1
    text = dump_json(dict(report))
    vw.change(stage, **{schema.MONITORING_METRICS: text, schema.MONITORING_REPORTED_AT: reported_ms,
                        schema.MONITORING_SEQ: seq}, **stamped)
    pk, sk = slot_key(vw.group, vw.version, stage, seq)
    return [put({schema.PK: pk, schema.SK: sk, schema.MODEL_GROUP: vw.group, schema.MODEL_VERSION: vw.version,
                 schema.MODEL_STAGE: stage.value, schema.MONITORING_SEQ: seq, schema.MONITORING_METRICS: text,
                 schema.MONITORING_REPORTED_AT: reported_ms}, condition=None)]


def drift_evidence(vw: VersionWrite, stage: Stage, metrics: Mapping[str, Any], account: str | None, at: str) -> dict[str, Any]:
    """The report's metrics as they are recorded: a test account's report's reference becomes the version's (the first
    valid one, set on the test record with who and when) and leaves the metrics; a PSI not against it is refused.

    `account` is the member account a report came from (None: a person through the API, who sets no reference).
    """
    out = dict(metrics)
    offered = out.pop(PREDICTION_REFERENCE_METRIC, None)
    recorded = (vw.items.get(Stage.test) or {}).get(schema.PREDICTION_REFERENCE_DIGEST)
    if offered is not None and recorded is None:
        reference = drift_reference(offered)
        if stage is not Stage.test or account is None:
            out["predictionReferenceRefused"] = "only the test account's reporter sets a version's drift reference"
        elif reference is None:
            out["predictionReferenceRefused"] = "not a histogram: ascending finite edges, one more than non-negative integer counts"
        else:
            recorded = reference_digest(reference)
            vw.change(Stage.test, **{schema.PREDICTION_REFERENCE: dump_json(reference), schema.PREDICTION_REFERENCE_DIGEST: recorded,
                                     schema.PREDICTION_REFERENCE_BY: f"account:{account}", schema.PREDICTION_REFERENCE_AT: at})
    if PSI_METRIC in out:
        named = out.get(PREDICTION_REFERENCE_DIGEST_METRIC)
        if recorded is None or named != recorded:
            why = ("no drift reference is recorded for this version yet" if recorded is None
                   else "it was not computed against the version's recorded drift reference")
            out["predictionPsiRefused"] = {"value": out.pop(PSI_METRIC), "reason": why}
    return out


def reference_of(item: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A test record's drift reference with its provenance, as views show it; None when none is recorded."""
    item = item or {}
    if not item.get(schema.PREDICTION_REFERENCE_DIGEST):
        return None
    return {"histogram": load_json(item.get(schema.PREDICTION_REFERENCE)), "digest": item[schema.PREDICTION_REFERENCE_DIGEST],
            "reportedBy": item.get(schema.PREDICTION_REFERENCE_BY), "reportedAt": item.get(schema.PREDICTION_REFERENCE_AT)}


def drift_summary(record: Mapping[str, Any], reference: Mapping[str, Any] | None,
                  reports: list[Mapping[str, Any]]) -> dict[str, Any] | None:
    """A stage's prediction drift as the evidence pack shows it: the reference it is measured against (with who reported
    it when), the latest PSI and whether it is beyond the use case's limit, and the PSI of each report in its history
    (newest first; refused figures counted); None for development (never deployed) or a stage with no drift evidence."""
    if record.get(schema.MODEL_STAGE) == Stage.development.value:
        return None
    series = [{"reportedAt": r.get("reportedAt"), PSI_METRIC: (r.get("metrics") or {})[PSI_METRIC]}
              for r in reports if PSI_METRIC in (r.get("metrics") or {})]
    refused = sum(1 for r in reports if "predictionPsiRefused" in (r.get("metrics") or {}))
    latest = ((record.get(schema.MONITORING_METRICS) or {}).get("metrics") or {}).get(PSI_METRIC)
    if reference is None and not series and not refused:
        return None
    beyond = next((b for b in (record.get("monitoring") or {}).get("breaches") or [] if b.get(schema.THRESHOLD_METRIC) == PSI_METRIC), None)
    return {"reference": reference, "latest": latest, "beyondLimit": beyond, "history": series, "refusedReports": refused}


def history(store: Store, group: str, version: int, items: Mapping[Stage, Mapping[str, Any] | None],
            last: int = VIEW_REPORTS) -> dict[str, list[dict[str, Any]]]:
    """The last `last` reports of each stage record that has any, newest first; one BatchGetItem (none if no reports)."""
    wanted: dict[Key, tuple[Stage, int]] = {}
    for stage, item in items.items():
        seq = int((item or {}).get(schema.MONITORING_SEQ, 0))
        for n in range(seq, max(seq - min(last, HISTORY_SLOTS), 0), -1):
            wanted[slot_key(group, version, stage, n)] = (stage, n)
    if not wanted:
        return {}
    raw = store.batch_get(list(wanted))
    out: dict[str, list[dict[str, Any]]] = {}
    for key, (stage, n) in wanted.items():
        slot = raw.get(key)
        if slot is not None and int(slot.get(schema.MONITORING_SEQ, 0)) == n:
            out.setdefault(stage.value, []).append(load_json(slot[schema.MONITORING_METRICS]))
    return out


def policy_of(use_case_item: Mapping[str, Any] | None) -> dict[str, Any]:
    """A use case's monitoring policy from its CONFIG item; the defaults where the item has none."""
    stored = (use_case_item or {}).get(schema.CONFIG_MONITORING)
    return {**DEFAULT_POLICY, **stored} if isinstance(stored, Mapping) else dict(DEFAULT_POLICY)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(value)  # DynamoDB numbers come back as Decimal
        except (TypeError, ValueError):
            return None
    return float(value) if math.isfinite(float(value)) else None


def breaches(metrics: Mapping[str, Any] | None, limits: Any) -> list[dict[str, Any]]:
    """Each limit the metrics are beyond: `{metric, value, min?, max?}`; a metric not reported breaks nothing."""
    out = []
    for limit in limits or ():
        name = limit.get(schema.THRESHOLD_METRIC)
        value = _number((metrics or {}).get(name))
        if value is None:
            continue
        low, high = _number(limit.get(schema.THRESHOLD_MIN)), _number(limit.get(schema.THRESHOLD_MAX))
        if (low is not None and value < low) or (high is not None and value > high):
            out.append({schema.THRESHOLD_METRIC: name, "value": value,
                        **{k: b for k, b in ((schema.THRESHOLD_MIN, low), (schema.THRESHOLD_MAX, high)) if b is not None}})
    return out


def assess(item: Mapping[str, Any], policy: Mapping[str, Any], now_ms: int | None = None) -> dict[str, Any] | None:
    """`{stale, lastReportAt, breaches}` for a deployed record (status deployed or approved with an endpoint); None otherwise.

    Stale: no report for longer than the policy's window, counted from the latest report or, before the
    first, from the record's last change (its deployment at the latest).
    """
    if item.get(schema.MODEL_STATUS) not in {s.value for s in MONITORED} or not item.get(schema.ENDPOINT_NAME):
        return None
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    window_ms = float(policy.get(schema.MONITORING_STALE_AFTER_HOURS, DEFAULT_STALE_AFTER_HOURS)) * 3_600_000
    latest = load_json(item.get(schema.MONITORING_METRICS)) or {}
    reported = item.get(schema.MONITORING_REPORTED_AT)
    since = int(reported) if reported is not None else _iso_ms(item.get(schema.AUDIT_TIMESTAMP))
    return {
        "stale": since is None or now_ms - since > window_ms,
        "lastReportAt": latest.get("reportedAt"),
        "staleAfterHours": policy.get(schema.MONITORING_STALE_AFTER_HOURS, DEFAULT_STALE_AFTER_HOURS),
        "breaches": breaches(latest.get("metrics"), policy.get(schema.MONITORING_LIMITS)),
    }


def _iso_ms(value: Any) -> int | None:
    try:
        return int(datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None
