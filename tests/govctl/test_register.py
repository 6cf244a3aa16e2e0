"""Registration from an MLflow run: a local MLflow tracking store (file backend) stands in for the dev account's
tracking server, its experiments' artifact location an s3:// URI under the hub bucket; moto plays SageMaker.

Every AWS call is counted with a botocore event hook: a registration is the run's reads (GetRun, GetLoggedModel on
the tracking server), one PutObject (the run's metrics report, when it logged metrics) and exactly one
CreateModelPackage; each refusal writes and creates nothing.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from governance.contract import MLFLOW_RUN_ID_KEY
from govctl.model_metrics import PROBLEM_TYPE_TAG, REPORT_PATH
from govctl.register import (
    IMAGE_TAG,
    LOG_MODEL_HISTORY_TAG,
    MAX_METADATA_ENTRIES,
    ArtifactsOutsideHub,
    BadRunTag,
    GroupNotOnboarded,
    Hub,
    LoggedModelNotFound,
    NoInferenceImage,
    ReportNotWritten,
    RunNotFound,
    customer_metadata,
    register_from_run,
)

ROOT = Path(__file__).resolve().parents[2]
DEV = "222222222222"
HUB_BUCKET = "mlgov-artifacts-111111111111-eu-west-1"
IMAGE = "111111111111.dkr.ecr.eu-west-1.amazonaws.com/credit-risk-xgb:1"
GROUPS = ("credit-risk-xgb", "fraud-detection")


@pytest.fixture
def mlflow_store(tmp_path, monkeypatch) -> str:
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # the file backend is what a laptop has; MLflow 3 asks to opt in
    return (tmp_path / "mlruns").as_uri()


class Recorded:
    """An MLflow client that records which tracking server API each call would be (each is one AWS request)."""

    def __init__(self, client: Any):
        self._client = client
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return attr(*args, **kwargs)
        return call


class Experiment:
    """A data scientist's experiment on the tracking store, logging runs the way MLflow 3 and MLflow 2 record models."""

    def __init__(self, store: str, artifact_location: str):
        from mlflow import MlflowClient

        self.client = MlflowClient(tracking_uri=store)
        self.id = self.client.create_experiment(f"credit-risk-{abs(hash(artifact_location))}", artifact_location=artifact_location)

    def run(self, metrics: dict[str, float] | None = None, *, models: int = 1, image: str | None = IMAGE,
            mlflow2: bool = False, tags: dict[str, str] | None = None) -> str:
        from mlflow.entities import LoggedModelOutput

        run = self.client.create_run(self.id, run_name="xgb-depth-6")
        run_id = run.info.run_id
        for name, value in (metrics if metrics is not None else {"validation-auc": 0.87, "ks": 0.41}).items():
            self.client.log_metric(run_id, name, value)
        if image:
            self.client.set_tag(run_id, IMAGE_TAG, image)
        for name, value in (tags or {}).items():
            self.client.set_tag(run_id, name, value)
        if mlflow2:
            history = [{"run_id": run_id, "artifact_path": f"model{i or ''}", "flavors": {}} for i in range(models)]
            self.client.set_tag(run_id, LOG_MODEL_HISTORY_TAG, json.dumps(history))
        else:
            logged = [self.client.create_logged_model(self.id, source_run_id=run_id, name=f"model{i}") for i in range(models)]
            if logged:
                self.client.log_outputs(run_id, [LoggedModelOutput(m.model_id, 0) for m in logged])
        self.client.set_terminated(run_id)
        return run_id


@pytest.fixture
def experiment(mlflow_store) -> Experiment:
    return Experiment(mlflow_store, f"s3://{HUB_BUCKET}/models/{DEV}/mlflow/1")


@pytest.fixture
def sagemaker():
    """moto's SageMaker with the hub's groups and moto's S3 with the hub bucket; `calls` counts every AWS call the two
    clients make, by operation (a botocore `before-call` hook)."""
    with mock_aws():
        client = boto3.client("sagemaker", region_name="eu-west-1")
        for group in GROUPS:
            client.create_model_package_group(ModelPackageGroupName=group)
        client.s3 = boto3.client("s3", region_name="eu-west-1")
        client.s3.create_bucket(Bucket=HUB_BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        client.calls = Counter()
        for c in (client, client.s3):
            c.meta.events.register("before-call", lambda model, **_: client.calls.update([model.name]))
        yield client


def hub() -> Hub:
    # moto looks a group up by name only; from a dev account the group is named by its ARN (see test_hub_from_the_stack_file).
    return Hub(bucket=HUB_BUCKET, dev_accounts=(DEV,), groups={g: g for g in GROUPS})


def register(experiment: Experiment, sagemaker, run_id: str, group: str = "credit-risk-xgb", **kwargs: Any):
    client = Recorded(experiment.client)
    try:
        return register_from_run(group=group, run_id=run_id, hub=hub(), mlflow_client=client, sagemaker=sagemaker, s3=sagemaker.s3,
                                 **kwargs), client
    finally:
        register.mlflow_calls = client.calls


def packages(sagemaker) -> list[dict]:
    out = []
    for group in GROUPS:
        for summary in sagemaker.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"]:
            out.append(sagemaker.describe_model_package(ModelPackageName=summary["ModelPackageArn"]))
    return out


def test_a_run_becomes_a_pending_version_linked_to_the_run(experiment, sagemaker) -> None:
    run_id = experiment.run({"validation-auc": 0.87, "ks": 0.41})
    registration, mlflow = register(experiment, sagemaker, run_id)

    assert sagemaker.calls == Counter({"CreateModelPackage": 1, "PutObject": 1})
    assert mlflow.calls == ["get_run", "get_logged_model"]
    assert (registration.group, registration.version, registration.run_id) == ("credit-risk-xgb", 1, run_id)
    (described,) = packages(sagemaker)
    assert described["ModelPackageArn"] == registration.model_package_arn
    assert described["ModelApprovalStatus"] == "PendingManualApproval"
    assert described["CustomerMetadataProperties"] == {MLFLOW_RUN_ID_KEY: run_id, "validation-auc": "0.87", "ks": "0.41"}
    (container,) = described["InferenceSpecification"]["Containers"]
    assert container["Image"] == IMAGE
    assert container["ModelDataSource"] == {"S3DataSource": {"S3Uri": registration.model_artifacts, "S3DataType": "S3Prefix",
                                                             "CompressionType": "None"}}
    assert registration.model_artifacts.startswith(f"s3://{HUB_BUCKET}/models/{DEV}/mlflow/1/models/m-")
    assert registration.model_artifacts.endswith("/artifacts/")


def report_of(sagemaker, described: dict) -> tuple[dict, bytes]:
    statistics = described["ModelMetrics"]["ModelQuality"]["Statistics"]
    bucket, key = statistics["S3Uri"][len("s3://"):].split("/", 1)
    return statistics, sagemaker.s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def test_the_runs_metrics_are_the_packages_model_quality_statistics_among_the_runs_artifacts(experiment, sagemaker) -> None:
    run_id = experiment.run({"validation-auc": 0.87, "ks": 0.41})
    registration, _ = register(experiment, sagemaker, run_id)

    (described,) = packages(sagemaker)
    statistics, body = report_of(sagemaker, described)
    assert statistics["S3Uri"] == registration.metrics_report == f"s3://{HUB_BUCKET}/models/{DEV}/mlflow/1/{run_id}/artifacts/{REPORT_PATH}"
    assert statistics["ContentType"] == "application/json"
    assert statistics["ContentDigest"] == f"sha256:{hashlib.sha256(body).hexdigest()}"
    assert json.loads(body) == {"version": 0.0, "mlflow": {"runId": run_id, "experimentId": experiment.id},
                                "mlflow_metrics": {"ks": {"value": 0.41, "standard_deviation": "NaN"},
                                                   "validation-auc": {"value": 0.87, "standard_deviation": "NaN"}}}
    assert [a.path for a in experiment.client.list_artifacts(run_id, "mlgov")] == [REPORT_PATH]  # MLflow shows it with the run


def test_a_run_tagged_with_its_problem_type_reports_under_model_monitors_key(experiment, sagemaker) -> None:
    run_id = experiment.run({"auc": 0.9, "loss": float("nan"), "gain": float("inf")}, tags={PROBLEM_TYPE_TAG: "binary_classification"})
    register(experiment, sagemaker, run_id)
    _, body = report_of(sagemaker, packages(sagemaker)[0])
    assert json.loads(body)["binary_classification_metrics"] == {  # strict JSON: non-finite values as Model Monitor writes them
        "auc": {"value": 0.9, "standard_deviation": "NaN"}, "gain": {"value": "Infinity", "standard_deviation": "NaN"},
        "loss": {"value": "NaN", "standard_deviation": "NaN"}}


def test_registering_a_run_again_writes_the_same_report(experiment, sagemaker) -> None:
    run_id = experiment.run()
    register(experiment, sagemaker, run_id)
    register(experiment, sagemaker, run_id)
    assert sagemaker.calls == Counter({"CreateModelPackage": 2, "PutObject": 2})
    first, second = (report_of(sagemaker, d)[0] for d in packages(sagemaker))
    assert first == second


def test_a_run_without_metrics_is_registered_without_model_metrics_or_a_write(experiment, sagemaker) -> None:
    registration, _ = register(experiment, sagemaker, experiment.run({}))
    assert sagemaker.calls == Counter({"CreateModelPackage": 1})
    (described,) = packages(sagemaker)
    assert not described.get("ModelMetrics") and registration.metrics_report is None


def test_an_mlflow_2_run_registers_the_model_its_history_names(experiment, sagemaker) -> None:
    run_id = experiment.run(mlflow2=True)
    registration, mlflow = register(experiment, sagemaker, run_id)
    assert mlflow.calls == ["get_run"]
    assert sagemaker.calls == Counter({"CreateModelPackage": 1, "PutObject": 1})
    assert registration.model_artifacts == f"s3://{HUB_BUCKET}/models/{DEV}/mlflow/1/{run_id}/artifacts/model/"


def test_one_of_several_logged_models_is_chosen_by_id(experiment, sagemaker) -> None:
    run_id = experiment.run(models=2)
    with pytest.raises(LoggedModelNotFound, match=r"logged 2 models \(m-.*\): pass --model-id"):
        register(experiment, sagemaker, run_id)
    model_id = experiment.client.get_run(run_id).outputs.model_outputs[1].model_id
    registration, _ = register(experiment, sagemaker, run_id, model_id=model_id)
    assert f"/models/{model_id}/artifacts/" in registration.model_artifacts
    assert sagemaker.calls == Counter({"CreateModelPackage": 1, "PutObject": 1})


def test_the_image_option_overrides_the_run_tag(experiment, sagemaker) -> None:
    registration, _ = register(experiment, sagemaker, experiment.run(image=None), image="override:2")
    (described,) = packages(sagemaker)
    assert described["InferenceSpecification"]["Containers"][0]["Image"] == "override:2"
    assert registration.version == 1


@pytest.mark.parametrize("case,error,message", [
    ("group", GroupNotOnboarded, "model group 'unknown-model' is not onboarded; onboarded groups: credit-risk-xgb, fraud-detection"),
    ("missing", RunNotFound, "MLflow run '0123456789abcdef0123456789abcdef' does not exist on this tracking server"),
    ("no-model", LoggedModelNotFound, "logged no model: log one with mlflow.<flavor>.log_model"),
    ("no-image", NoInferenceImage, f"names no inference image: set the run tag {IMAGE_TAG} or pass --image"),
    ("outside", ArtifactsOutsideHub, f"outside the hub bucket's MLflow prefixes (s3://{HUB_BUCKET}/models/{DEV}/mlflow/)"),
    ("other-account", ArtifactsOutsideHub, "outside the hub bucket's MLflow prefixes"),
    ("not-mlflow", ArtifactsOutsideHub, "outside the hub bucket's MLflow prefixes"),
    ("bad-tag", BadRunTag, f"'s tag {PROBLEM_TYPE_TAG} 'ranking' is not a problem type; allowed: regression, binary_classification, "
                           "multiclass_classification"),
])
def test_refusals_are_one_line_and_create_nothing(mlflow_store, experiment, sagemaker, case, error, message) -> None:
    elsewhere = {"outside": "s3://someone-elses-bucket/models/222222222222/mlflow/1",
                 "other-account": f"s3://{HUB_BUCKET}/models/999999999999/mlflow/1",
                 "not-mlflow": f"s3://{HUB_BUCKET}/models/{DEV}/elsewhere"}
    source = Experiment(mlflow_store, elsewhere[case]) if case in elsewhere else experiment
    run_id = ("0123456789abcdef0123456789abcdef" if case == "missing" else
              source.run(models=0) if case == "no-model" else source.run(image=None) if case == "no-image" else
              source.run(tags={PROBLEM_TYPE_TAG: "ranking"}) if case == "bad-tag" else source.run())
    group = "unknown-model" if case == "group" else "credit-risk-xgb"
    with pytest.raises(error) as info:
        register(source, sagemaker, run_id, group=group)
    assert message in str(info.value)
    assert "\n" not in str(info.value)
    assert sagemaker.calls == Counter()
    assert packages(sagemaker) == []
    if case == "group":
        assert register.mlflow_calls == []  # refused before reading the run


class ModelInTheHub(Recorded):
    """A run whose logged model is in the hub bucket while the run's own artifacts are elsewhere."""

    def get_logged_model(self, model_id: str) -> Any:
        from types import SimpleNamespace

        return SimpleNamespace(artifact_location=f"s3://{HUB_BUCKET}/models/{DEV}/mlflow/1/models/{model_id}/artifacts")


def test_a_run_whose_report_would_land_outside_the_hub_is_refused(mlflow_store, sagemaker) -> None:
    elsewhere = Experiment(mlflow_store, "s3://someone-elses-bucket/mlflow/1")
    run_id = elsewhere.run()
    with pytest.raises(ArtifactsOutsideHub, match=rf"^run {run_id}'s artifacts are at s3://someone-elses-bucket/mlflow/1/{run_id}/artifacts, "
                                                  rf"outside s3://{HUB_BUCKET}/models/{DEV}/mlflow/ where its model is"):
        register_from_run(group="credit-risk-xgb", run_id=run_id, hub=hub(), mlflow_client=ModelInTheHub(elsewhere.client),
                          sagemaker=sagemaker, s3=sagemaker.s3)
    assert sagemaker.calls == Counter() and packages(sagemaker) == []


def test_a_report_that_cannot_be_written_is_one_line_and_nothing_is_registered(experiment, sagemaker) -> None:
    sagemaker.s3.delete_bucket(Bucket=HUB_BUCKET)
    sagemaker.calls.clear()
    run_id = experiment.run()
    with pytest.raises(ReportNotWritten) as info:
        register(experiment, sagemaker, run_id)
    assert str(info.value) == (f"run {run_id}'s metrics report could not be written to s3://{HUB_BUCKET}/models/{DEV}/mlflow/1/"
                               f"{run_id}/artifacts/{REPORT_PATH} (NoSuchBucket: The specified bucket does not exist); nothing was registered")
    assert sagemaker.calls == Counter({"PutObject": 1}) and packages(sagemaker) == []


def test_metadata_respects_sagemakers_limits() -> None:
    metrics = {f"metric-{i:03d}": i / 3 for i in range(60)}
    metrics["loss (train)#1"] = 1e-05
    metrics["x" * 200] = float("nan")
    metadata, dropped = customer_metadata("r1", metrics)
    assert len(metadata) == MAX_METADATA_ENTRIES and metadata[MLFLOW_RUN_ID_KEY] == "r1"
    assert metadata["loss _train__1"] == "1e-05"
    assert metadata["metric-003"] == "1.0"
    assert len(dropped) == len(metrics) - (MAX_METADATA_ENTRIES - 1)
    assert all(1 <= len(k) <= 128 and 1 <= len(v) <= 256 for k, v in metadata.items())
    assert customer_metadata("r1", {"x" * 200: 1.0})[0] == {MLFLOW_RUN_ID_KEY: "r1", "x" * 128: "1.0"}


def test_a_metric_cannot_overwrite_the_run_id() -> None:
    metadata, dropped = customer_metadata("r1", {MLFLOW_RUN_ID_KEY: 9.0})
    assert metadata == {MLFLOW_RUN_ID_KEY: "r1"} and dropped == (MLFLOW_RUN_ID_KEY,)


def test_hub_from_the_stack_file() -> None:
    h = Hub.from_stack_config(ROOT)
    assert h.bucket == HUB_BUCKET
    assert h.dev_accounts == (DEV,)
    assert h.groups["credit-risk-xgb"] == "arn:aws:sagemaker:eu-west-1:111111111111:model-package-group/credit-risk-xgb"
    assert set(h.groups) == {"credit-risk-xgb", "fraud-detection", "customer-churn-model"}


def test_the_hub_prefixes_are_where_the_tracking_server_writes() -> None:
    from components.mlflow_offer import artifact_store_uri

    assert Hub.from_stack_config(ROOT).artifact_prefixes() == [artifact_store_uri(HUB_BUCKET, DEV)]


def test_the_command_registers_and_refuses_in_one_line(experiment, sagemaker, monkeypatch) -> None:
    import typer

    from govctl.cli import Group
    from govctl.options import Options
    from govctl.register import COMMANDS

    app = typer.Typer(cls=Group)
    for name, command in COMMANDS:
        app.command(name)(command)
    app.command("noop")(lambda: None)
    monkeypatch.setattr("govctl.register.Hub.from_stack_config", classmethod(lambda cls, root: hub() if root == ROOT else None))
    monkeypatch.setattr("boto3.Session.client", lambda self, service, **k: sagemaker.s3 if service == "s3" else sagemaker)
    store = experiment.client.tracking_uri
    run_id = experiment.run()

    def govctl(*args: str):
        return CliRunner().invoke(app, ["register", *args, "--tracking-server", store], obj=Options(root=ROOT))

    ok = govctl("--group", "credit-risk-xgb", "--run-id", run_id)
    assert ok.exit_code == 0, ok.output
    assert f"registered credit-risk-xgb v1 from run {run_id}" in ok.output
    assert ok.output.splitlines()[1] == ("model metrics: the run's metrics as ModelQuality statistics at "
                                         f"s3://{HUB_BUCKET}/models/{DEV}/mlflow/1/{run_id}/artifacts/{REPORT_PATH}")

    refused = govctl("--group", "credit-risk-xgb", "--run-id", "nope")
    assert refused.exit_code == 1
    assert refused.output.strip() == "error: MLflow run 'nope' does not exist on this tracking server"
    assert sagemaker.calls == Counter({"CreateModelPackage": 1, "PutObject": 1})


def test_a_tracking_uri_mlflow_cannot_use_is_one_line() -> None:
    from govctl.register import RegistrationError, tracking_client

    with pytest.raises(RegistrationError, match=r"^cannot reach MLflow at nosuch://server: .*unsupported URI") as info:
        tracking_client("nosuch://server")
    assert "\n" not in str(info.value)


DEV_SERVER = "arn:aws:sagemaker:eu-west-1:222222222222:mlflow-tracking-server/mlgov-dev"


def test_the_default_tracking_server_is_the_one_the_dev_stack_declares(tmp_path) -> None:
    from govctl.register import RegistrationError, dev_tracking_server

    assert dev_tracking_server(ROOT) == DEV_SERVER
    text = (ROOT / "Pulumi.dev.yaml").read_text()
    (tmp_path / "Pulumi.dev.yaml").write_text(text.split("  mlgov:experimentation:")[0] + "  mlgov:notifications: []\n")
    with pytest.raises(RegistrationError, match=r"^Pulumi.dev.yaml declares no MLflow tracking server \(mlgov:experimentation\): "
                                                r"pass --tracking-server or set MLFLOW_TRACKING_URI$"):
        dev_tracking_server(tmp_path)


def test_the_command_without_a_tracking_server_uses_the_dev_stacks(sagemaker, monkeypatch) -> None:
    import typer

    from govctl.cli import Group
    from govctl.options import Options
    from govctl.register import COMMANDS

    app = typer.Typer(cls=Group)
    for name, command in COMMANDS:
        app.command(name)(command)
    app.command("noop")(lambda: None)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setattr("boto3.Session.client", lambda self, service, **k: sagemaker.s3 if service == "s3" else sagemaker)
    result = CliRunner().invoke(app, ["register", "--group", "credit-risk-xgb", "--run-id", "r1"], obj=Options(root=ROOT))
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()  # no SageMaker plugin here: the ARN is what MLflow was asked to reach
    assert line.startswith(f"error: cannot reach MLflow at {DEV_SERVER}: ")
    assert line.endswith("install the SageMaker plugin: pip install 'mlgov[experimentation]'")
    assert sagemaker.calls == Counter()
