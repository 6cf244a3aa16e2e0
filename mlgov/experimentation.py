"""`mlgov:experimentation`: the dev account's MLflow tracking server, only with values SageMaker offers.

A size or MLflow version AWS does not offer would fail only at `pulumi up`, minutes into creating the
server; here it is a config error naming the allowed values.
"""
from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from governance.contract import models_prefix

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
MLFLOW_PREFIX = "mlflow/"


def artifact_prefix(dev_account_id: str) -> str:
    """Where a dev account's tracking server keeps artifacts in the hub bucket: `models/<account>/mlflow/`."""
    return f"{models_prefix(dev_account_id)}{MLFLOW_PREFIX}"


def artifact_store_uri(bucket_name: str, dev_account_id: str) -> str:
    return f"s3://{bucket_name}/{artifact_prefix(dev_account_id)}"


class Experimentation(BaseModel):
    """The tracking server of a dev stack: how big, which MLflow, when AWS may patch it."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    size: str = "Small"
    mlflow_version: str = Field(default="3.0", alias="mlflowVersion")
    maintenance_window: str = Field(default="Sun:02:00", alias="maintenanceWindow")

    @field_validator("size")
    @classmethod
    def _size(cls, value: str) -> str:
        if value not in TRACKING_SERVER_SIZES:
            raise ValueError(f"SageMaker offers no tracking server size {value!r}; allowed: {', '.join(TRACKING_SERVER_SIZES)}")
        return value

    @field_validator("mlflow_version", mode="before")
    @classmethod
    def _version(cls, value: object) -> object:
        if not isinstance(value, str) or value not in MLFLOW_VERSIONS:
            raise ValueError(f"SageMaker offers no MLflow tracking server version {value!r}; allowed: {', '.join(MLFLOW_VERSIONS)} "
                             "(write it as a string: \"3.0\")")
        return value

    @field_validator("maintenance_window")
    @classmethod
    def _window(cls, value: str) -> str:
        if not MAINTENANCE_WINDOW.match(value):
            raise ValueError(f"a weekly maintenance window is Ddd:HH:MM in UTC, e.g. Sun:02:00 (Ddd one of Mon, Tue, Wed, Thu, "
                             f"Fri, Sat, Sun), not {value!r}")
        return value

    @property
    def mlflow_client(self) -> str:
        """The `mlflow` package version a notebook should install to talk to this server."""
        return MLFLOW_CLIENT_FOR_SERVER[self.mlflow_version]
