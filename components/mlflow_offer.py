"""What SageMaker's managed MLflow offers, and where a dev account's runs keep their artifacts in the hub bucket.

Pure (no Pulumi): `ExperimentTracking` checks its arguments against it, the stack config
(`mlgov.experimentation`) refuses bad values with it before any resource is declared, and govctl reads runs by it.
"""
from __future__ import annotations

import re

from governance.contract import mlflow_prefix

# CreateMlflowTrackingServer's TrackingServerSize enum; see
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateMlflowTrackingServer.html
TRACKING_SERVER_SIZES = ("Small", "Medium", "Large")
# The tracking server versions SageMaker offers, each with the MLflow client a notebook pairs with it; see
# https://docs.aws.amazon.com/sagemaker/latest/dg/mlflow-track-experiments.html
# ("For tracking server 2.13.x, use mlflow==2.13.2; 2.16.x, mlflow==2.16.2; 3.0.x, mlflow==3.0.0").
MLFLOW_CLIENT_FOR_SERVER = {"2.13": "2.13.2", "2.16": "2.16.2", "3.0": "3.0.0"}
MLFLOW_VERSIONS = tuple(MLFLOW_CLIENT_FOR_SERVER)
# WeeklyMaintenanceWindowStart's pattern in the same API reference: day, then UTC hour and minute.
MAINTENANCE_WINDOW = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun):([01]\d|2[0-3]):([0-5]\d)$")
TRACKING_SERVER_NAME = "mlgov-dev"
"""The dev stack's tracking server name; govctl derives the server's ARN from it when not given one."""


def tracking_server_arn(partition: str, region: str, account_id: str, name: str = TRACKING_SERVER_NAME) -> str:
    """The ARN AWS gives a tracking server: named by account, region and TrackingServerName."""
    return f"arn:{partition}:sagemaker:{region}:{account_id}:mlflow-tracking-server/{name}"


def artifact_prefix(dev_account_id: str) -> str:
    """Where a dev account's tracking server keeps artifacts in the hub bucket: `models/<account>/mlflow/`."""
    return mlflow_prefix(dev_account_id)


def artifact_store_uri(bucket_name: str, dev_account_id: str) -> str:
    return f"s3://{bucket_name}/{artifact_prefix(dev_account_id)}"
