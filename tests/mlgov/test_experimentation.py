"""`mlgov:experimentation`: what SageMaker offers is accepted, anything else is refused naming what is allowed."""
from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from components.mlflow_offer import artifact_store_uri
from mlgov.experimentation import MLFLOW_VERSIONS, TRACKING_SERVER_SIZES, Experimentation


def test_defaults_are_a_small_mlflow_3_server_patched_sunday_night() -> None:
    e = Experimentation()
    assert (e.size, e.mlflow_version, e.maintenance_window) == ("Small", "3.0", "Sun:02:00")
    assert e.mlflow_client == "3.0.0"


@pytest.mark.parametrize("size", TRACKING_SERVER_SIZES)
@pytest.mark.parametrize("version", MLFLOW_VERSIONS)
def test_every_offered_size_and_version_is_accepted(size: str, version: str) -> None:
    e = Experimentation.model_validate({"size": size, "mlflowVersion": version, "maintenanceWindow": "Wed:23:59"})
    assert (e.size, e.mlflow_version, e.maintenance_window) == (size, version, "Wed:23:59")


def test_notebooks_pin_the_client_aws_pairs_with_each_server() -> None:
    assert [Experimentation(mlflowVersion=v).mlflow_client for v in MLFLOW_VERSIONS] == ["2.13.2", "2.16.2", "3.0.0"]


def refusal(data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as info:
        Experimentation.model_validate(data)
    (error,) = info.value.errors()
    return str(error["msg"])


@pytest.mark.parametrize("data,message", [
    ({"size": "XLarge"}, "SageMaker offers no tracking server size 'XLarge'; allowed: Small, Medium, Large"),
    ({"size": "small"}, "SageMaker offers no tracking server size 'small'; allowed: Small, Medium, Large"),
    ({"mlflowVersion": "2.9"}, "SageMaker offers no MLflow tracking server version '2.9'; allowed: 2.13, 2.16, 3.0"),
    ({"mlflowVersion": 3.0}, "SageMaker offers no MLflow tracking server version 3.0; allowed: 2.13, 2.16, 3.0 (write it as a string"),
    ({"maintenanceWindow": "Sunday 02:00"}, "a weekly maintenance window is Ddd:HH:MM in UTC, e.g. Sun:02:00"),
    ({"maintenanceWindow": "Sun:24:00"}, "not 'Sun:24:00'"),
    ({"maintenanceWindow": "SUN:02:00"}, "not 'SUN:02:00'"),
])
def test_values_aws_does_not_offer_are_refused_naming_the_allowed_ones(data: dict[str, Any], message: str) -> None:
    assert message in refusal(data)


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(ValidationError, match="extra_forbidden|Extra inputs"):
        Experimentation.model_validate({"automaticModelRegistration": True})


def test_artifacts_go_under_the_dev_accounts_models_prefix() -> None:
    assert artifact_store_uri("hub-artifacts", "222222222222") == "s3://hub-artifacts/models/222222222222/mlflow/"
