"""The governance table's stream → checkpoints of verified chain heads, and a metric for unsigned changes.

A malformed stream record is refused and logged; an unsigned change is logged as an error and counted in
`mlgov/audit UnsignedChanges`, which the hub alarms on. Storage failures raise, so the event source
mapping retries (bisecting the batch) and finally sends the batch to its on-failure queue.
"""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from governance import checkpoints, contract, runtime

logger = Logger()
metrics = Metrics(namespace=contract.AUDIT_METRICS_NAMESPACE)


@metrics.log_metrics
def handler(event: Any, context: Any) -> dict[str, int]:
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        logger.warning("stream batch refused", reason="the event has no Records list")
        metrics.add_metric(name=contract.UNSIGNED_CHANGE_METRIC, unit=MetricUnit.Count, value=0)
        return {"checkpoints": 0, "unsignedChanges": 0, "refused": 1}
    store, signer, reader = runtime.checkpoint_consumer()
    report = checkpoints.process(records, store, signer.verifier(), reader)
    for reason in report.refused:
        logger.warning("stream record refused", reason=reason)
    for fault in report.faults:
        logger.error("unsigned change to the governance record", reason=fault)
    if report.checkpoints:
        logger.info("checkpoints written", keys=report.checkpoints)
    metrics.add_metric(name=contract.UNSIGNED_CHANGE_METRIC, unit=MetricUnit.Count, value=len(report.faults))
    return {"checkpoints": len(report.checkpoints), "unsignedChanges": len(report.faults), "refused": len(report.refused)}
