"""An MLflow run's metrics as the model package's `ModelMetrics`: a model quality statistics report in the hub bucket.

SageMaker does not take metric values in `ModelMetrics`: each entry is a `MetricsSource`, a report in S3 named by
`S3Uri` with its `ContentType` and an optional `ContentDigest` (`sha256:<hex>`)
(https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ModelMetrics.html,
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_MetricsSource.html). The run's metrics go in as
`ModelQuality.Statistics`, written in Model Monitor's statistics shape: `{"<problem>_metrics": {name: {"value",
"standard_deviation"}}}` (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-metrics.html),
under the problem type the run tags, so Studio's model quality view reads it.

The report is one of the run's own artifacts (`<run artifact URI>/mlgov/model-quality-statistics.json`): the tracking
server keeps those under the hub bucket's `models/<dev account>/mlflow/` prefix, which the dev account may already
write (its `models/<dev account>/` grant), so the report is in the central account next to the model and is shown
with the run in MLflow. Its content depends on the run alone, so registering the run again writes the same bytes.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any, Mapping

REPORT_PATH = "mlgov/model-quality-statistics.json"
"""Where, among the run's artifacts, the report is written."""
REPORT_CONTENT_TYPE = "application/json"
PROBLEM_TYPE_TAG = "mlgov.problemType"
"""A run tag naming the problem type: its metrics go under Model Monitor's `<type>_metrics` key."""
PROBLEM_TYPES = ("regression", "binary_classification", "multiclass_classification")
UNTYPED_KEY = "mlflow_metrics"
"""The report's key for the metrics of a run that names no problem type."""


@dataclass(frozen=True)
class MetricsReport:
    uri: str
    """`s3://<hub bucket>/models/<dev>/mlflow/…/artifacts/mlgov/model-quality-statistics.json`."""
    body: bytes

    @property
    def bucket(self) -> str:
        return self.uri[len("s3://"):].split("/", 1)[0]

    @property
    def key(self) -> str:
        return self.uri[len("s3://"):].split("/", 1)[1]

    @property
    def digest(self) -> str:
        return f"sha256:{hashlib.sha256(self.body).hexdigest()}"

    def model_metrics(self) -> dict[str, Any]:
        """CreateModelPackage's `ModelMetrics`: the report as the package's model quality statistics."""
        return {"ModelQuality": {"Statistics": {"ContentType": REPORT_CONTENT_TYPE, "S3Uri": self.uri, "ContentDigest": self.digest}}}


def metrics_key(problem_type: str | None) -> str:
    """Model Monitor's key for a problem type's metrics; ValueError naming the allowed types for any other."""
    if problem_type is None:
        return UNTYPED_KEY
    if problem_type not in PROBLEM_TYPES:
        raise ValueError(f"{PROBLEM_TYPE_TAG} {problem_type!r} is not a problem type; allowed: {', '.join(PROBLEM_TYPES)}")
    return f"{problem_type}_metrics"


def metrics_report(run: Any) -> MetricsReport | None:
    """The run's metrics as a model quality statistics report among its artifacts; None when it logged no metric."""
    metrics: Mapping[str, float] = run.data.metrics
    if not metrics:
        return None
    key = metrics_key(run.data.tags.get(PROBLEM_TYPE_TAG))
    body = {
        "version": 0.0,
        "mlflow": {"runId": run.info.run_id, "experimentId": run.info.experiment_id},
        key: {name: {"value": _number(metrics[name]), "standard_deviation": "NaN"} for name in sorted(metrics)},
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return MetricsReport(uri=f"{run.info.artifact_uri.rstrip('/')}/{REPORT_PATH}", body=text.encode())


def _number(value: float) -> float | str:
    """JSON has no NaN or infinity: Model Monitor writes them as strings, and so does the report."""
    value = float(value)
    return value if math.isfinite(value) else str(value).replace("inf", "Infinity").replace("nan", "NaN")


def write(s3: Any, report: MetricsReport) -> None:
    """One PutObject; the bucket's default encryption (the hub key) applies."""
    s3.put_object(Bucket=report.bucket, Key=report.key, Body=report.body, ContentType=REPORT_CONTENT_TYPE)
