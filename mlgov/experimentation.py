"""`mlgov:experimentation`: the dev account's MLflow tracking server, only with values SageMaker offers.

A size or MLflow version AWS does not offer would fail only at `pulumi up`, minutes into creating the
server; here it is a config error naming the allowed values.
"""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from components.mlflow_offer import MAINTENANCE_WINDOW, MLFLOW_CLIENT_FOR_SERVER, MLFLOW_VERSIONS, TRACKING_SERVER_SIZES


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
