"""The sandbox's experimentation: an MLflow experiment on a local tracking store (file backend) whose runs
become versions through the same code as `govctl register`.

The experiment's artifact location is the hub bucket's `models/<dev account>/mlflow/` prefix, as on the
dev account's tracking server; runs record a logged model there without uploading anything (the sandbox
deploys no model), so the registration's checks, its metrics report (written to the sandbox's hub bucket) and
its one CreateModelPackage are the real ones.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Mapping

from governance.contract import hub_bucket_name, mlflow_prefix
from govctl.register import IMAGE_TAG, Hub, Registration, register_from_run

FILE_STORE_OPT_IN = "MLFLOW_ALLOW_FILE_STORE"  # MLflow 3 keeps its file backend behind this switch


def sandbox_hub(groups: Iterable[str], shared_account: str, dev_account: str, region: str) -> Hub:
    """The hub as the sandbox has it: one moto account for hub and dev, so groups are named, not ARNs."""
    return Hub(bucket=hub_bucket_name("mlgov", shared_account, region), dev_accounts=(dev_account,), groups={g: g for g in groups})


class LocalExperiment:
    """One MLflow experiment of the data scientist, on a tracking store under `store_dir`."""

    def __init__(self, store_dir: Path, hub: Hub, *, name: str = "credit-risk"):
        from mlflow import MlflowClient

        os.environ.setdefault(FILE_STORE_OPT_IN, "true")
        self.hub = hub
        self.client = MlflowClient(tracking_uri=Path(store_dir).resolve().as_uri())
        existing = self.client.get_experiment_by_name(name)
        location = f"s3://{hub.bucket}/{mlflow_prefix(hub.dev_accounts[0])}{name}"
        self.experiment_id = existing.experiment_id if existing else self.client.create_experiment(name, artifact_location=location)

    def run(self, group: str, metrics: Mapping[str, float], *, image: str, run_name: str | None = None) -> str:
        """A finished run that logged `metrics` and one model of `group`, tagged with the image serving it."""
        from mlflow.entities import LoggedModelOutput

        run_id = self.client.create_run(self.experiment_id, run_name=run_name or f"{group}-candidate").info.run_id
        for name, value in metrics.items():
            self.client.log_metric(run_id, name, value)
        self.client.set_tag(run_id, IMAGE_TAG, image)
        model = self.client.create_logged_model(self.experiment_id, source_run_id=run_id, name=group)
        self.client.log_outputs(run_id, [LoggedModelOutput(model.model_id, 0)])
        self.client.set_terminated(run_id)
        return run_id

    def register(self, group: str, run_id: str, sagemaker: Any, s3: Any, description: str | None = None) -> Registration:
        return register_from_run(group=group, run_id=run_id, hub=self.hub, mlflow_client=self.client, sagemaker=sagemaker,
                                 s3=s3, description=description)
