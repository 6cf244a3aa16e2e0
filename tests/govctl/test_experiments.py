"""The sandbox's experiment: a local MLflow run registers through govctl.register and the sync handler records it."""
from __future__ import annotations

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

    registration = experiment.register("customer-churn-model", run_id, sb.sm)

    described = sb.sm.describe_model_package(ModelPackageName=registration.model_package_arn)
    assert described["CustomerMetadataProperties"] == {MLFLOW_RUN_ID_KEY: run_id, "validation-auc": "0.81"}
    assert described["ModelApprovalStatus"] == "PendingManualApproval"
    assert described["InferenceSpecification"]["Containers"][0]["ModelDataSource"]["S3DataSource"]["S3Uri"].startswith(hub.artifact_prefixes()[0] + "credit-risk/models/m-")
    result = sb.sync(sb.registry_event(described, created_by=PERSONAS["data-scientist"].arn))
    assert result["result"] == "written"
    assert LocalExperiment(tmp_path / "mlruns", hub).experiment_id == experiment.experiment_id  # reopened, not duplicated
