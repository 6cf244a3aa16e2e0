"""The sandbox's experiment: a local MLflow run registers through govctl.register and the sync handler records it."""
from __future__ import annotations

import hashlib
import json

from governance.contract import MLFLOW_RUN_ID_KEY
from govctl.experiments import LocalExperiment, sandbox_hub
from govctl.personas import PERSONAS


def test_a_local_run_becomes_a_synced_pending_version(bare, tmp_path) -> None:
    sb = bare
    hub = sandbox_hub(sb.hub.groups, sb.account, sb.hub.accounts["dev"], sb.region)
    assert hub.artifact_prefixes() == [f"s3://mlgov-artifacts-{sb.account}-{sb.region}/models/{sb.hub.accounts['dev']}/mlflow/"]
    experiment = LocalExperiment(tmp_path / "mlruns", hub)
    image = f"{sb.account}.dkr.ecr.{sb.region}.amazonaws.com/customer-churn-model:1"
    run_id = experiment.run("customer-churn-model", {"validation-auc": 0.81}, image=image)

    registration = experiment.register("customer-churn-model", run_id, sb.sm, sb.s3)

    described = sb.sm.describe_model_package(ModelPackageName=registration.model_package_arn)
    assert described["CustomerMetadataProperties"] == {MLFLOW_RUN_ID_KEY: run_id, "validation-auc": "0.81"}
    statistics = described["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert statistics["S3Uri"] == registration.metrics_report
    assert statistics["S3Uri"].startswith(f"{hub.artifact_prefixes()[0]}credit-risk/{run_id}/artifacts/")
    bucket, key = statistics["S3Uri"][len("s3://"):].split("/", 1)
    body = sb.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert statistics["ContentDigest"] == f"sha256:{hashlib.sha256(body).hexdigest()}"
    assert json.loads(body)["mlflow_metrics"] == {"validation-auc": {"value": 0.81, "standard_deviation": "NaN"}}
    assert described["ModelApprovalStatus"] == "PendingManualApproval"
    assert described["InferenceSpecification"]["Containers"][0]["ModelDataSource"]["S3DataSource"]["S3Uri"].startswith(hub.artifact_prefixes()[0] + "credit-risk/models/m-")
    result = sb.sync(sb.registry_event(described, created_by=PERSONAS["data-scientist"].arn))
    assert result["result"] == "written"
    assert LocalExperiment(tmp_path / "mlruns", hub).experiment_id == experiment.experiment_id  # reopened, not duplicated
