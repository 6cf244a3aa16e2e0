"""Register a model version into the hub's shared group from an MLflow run: `govctl register`.

The dev account's tracking server keeps artifacts in the hub bucket (`models/<dev account>/mlflow/`), so
a run's logged model is already where the stage accounts read models from: registration is one
`CreateModelPackage` pointing at it, after reading the run. The version carries the run's metrics and
the run id (under `MLFLOW_RUN_ID_KEY`) as `CustomerMetadataProperties`, which the registry event hands to the
governance record, so version and run stay linked, and the metrics again as its `ModelMetrics`: a report among the
run's artifacts in the hub bucket (`govctl.model_metrics`), written with one PutObject before the package is created.

Each refusal is a `RegistrationError` (one line) raised before anything is written or created.
"""
from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import typer

from governance.contract import MAX_METADATA_VALUE_LENGTH, MLFLOW_RUN_ID_KEY, MODEL_PACKAGE_ARN_RE, InvokeSettings
from governance.contract import hub_bucket_name, mlflow_prefix
from govctl import model_metrics
from govctl.client import GovctlError

IMAGE_TAG = "mlgov.inferenceImage"
"""A run tag naming the inference image its model is served with (overridden by `--image`)."""
LOG_MODEL_HISTORY_TAG = "mlflow.log-model.history"  # where MLflow 2.x records a run's logged models
# CreateModelPackage's CustomerMetadataProperties: at most 50 entries, keys 1-128 and values 1-256
# characters of letters, spaces, digits and _.:/=+-@ (SageMaker API reference, CustomerMetadataMap).
MAX_METADATA_ENTRIES = 50
MAX_KEY_LENGTH = 128
_METADATA_PUNCTUATION = set("_.:/=+-@")


class RegistrationError(GovctlError):
    """A run that cannot become a version; nothing was created."""


class GroupNotOnboarded(RegistrationError):
    pass


class RunNotFound(RegistrationError):
    pass


class LoggedModelNotFound(RegistrationError):
    pass


class ArtifactsOutsideHub(RegistrationError):
    pass


class NoInferenceImage(RegistrationError):
    pass


class BadRunTag(RegistrationError):
    pass


class ReportNotWritten(RegistrationError):
    pass


@dataclass(frozen=True)
class Hub:
    """Where registration goes: the hub's artifact bucket, the dev accounts writing to it, the onboarded groups."""

    bucket: str
    dev_accounts: tuple[str, ...]
    groups: Mapping[str, str]
    """Onboarded group → what CreateModelPackage's ModelPackageGroupName takes (the group's ARN from a dev account)."""

    def artifact_prefixes(self) -> list[str]:
        return [f"s3://{self.bucket}/{mlflow_prefix(account)}" for account in self.dev_accounts]

    @classmethod
    def from_stack_config(cls, root: Path, stack: str = "shared", registry_name: str = "mlgov", partition: str = "aws") -> "Hub":
        """The hub as `Pulumi.<stack>.yaml` declares it (names as CentralRegistry derives them)."""
        from mlgov import offline
        from mlgov.config import parse
        from mlgov.program import namespace_config

        raw = offline.read_stack_config(stack, root)
        config = parse(namespace_config(raw))
        region, shared = str(raw["aws:region"]), config.organization.accounts.shared
        groups = {m.group: f"arn:{partition}:sagemaker:{region}:{shared}:model-package-group/{m.group.lower()}"
                  for u in config.use_cases for m in u.models}
        return cls(bucket=hub_bucket_name(registry_name, shared, region),
                   dev_accounts=tuple(config.organization.accounts.dev), groups=groups)


@dataclass(frozen=True)
class Registration:
    group: str
    version: int
    model_package_arn: str
    run_id: str
    model_artifacts: str
    """The logged model's S3 prefix, the container's ModelDataSource."""
    metadata: Mapping[str, str]
    dropped_metrics: tuple[str, ...] = ()
    """Metrics left out because CustomerMetadataProperties holds at most 50 entries."""
    metrics_report: Optional[str] = None
    """The S3 URI of the package's ModelMetrics report (None when the run logged no metric)."""


def register_from_run(
    *,
    group: str,
    run_id: str,
    hub: Hub,
    mlflow_client: Any,
    sagemaker: Any,
    s3: Any,
    model_id: Optional[str] = None,
    image: Optional[str] = None,
    description: Optional[str] = None,
) -> Registration:
    """Read the run and its logged model and check them; then the metrics report's one PutObject (`s3`, when the run
    logged metrics) and exactly one CreateModelPackage (PendingManualApproval)."""
    if group not in hub.groups:
        raise GroupNotOnboarded(f"model group {group!r} is not onboarded; onboarded groups: {', '.join(sorted(hub.groups)) or 'none'}")
    run = _read_run(mlflow_client, run_id)
    location = _model_location(mlflow_client, run, model_id)
    prefix = next((p for p in hub.artifact_prefixes() if location.startswith(p)), None)
    if prefix is None:
        raise ArtifactsOutsideHub(f"run {run_id}'s model is at {location}, outside the hub bucket's MLflow prefixes "
                                  f"({', '.join(hub.artifact_prefixes())}): log it from the dev account's tracking server")
    image = image or run.data.tags.get(IMAGE_TAG)
    if not image:
        raise NoInferenceImage(f"run {run_id} names no inference image: set the run tag {IMAGE_TAG} or pass --image")
    try:
        report = model_metrics.metrics_report(run)
    except ValueError as exc:
        raise BadRunTag(f"run {run_id}'s tag {exc}") from None
    if report is not None and not report.uri.startswith(prefix):
        raise ArtifactsOutsideHub(f"run {run_id}'s artifacts are at {run.info.artifact_uri}, outside {prefix} where its model is: "
                                  "its metrics report would not be in the central account")
    metadata, dropped = customer_metadata(run_id, run.data.metrics)
    extra: dict[str, Any] = {}
    if report is not None:
        _write_report(s3, report, run_id)
        extra["ModelMetrics"] = report.model_metrics()
    response = sagemaker.create_model_package(
        ModelPackageGroupName=hub.groups[group],
        ModelPackageDescription=(description or f"MLflow run {run.info.run_name or run_id} ({run_id})")[:1024],
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={
            "Containers": [{"Image": image, "ModelDataSource": model_data_source(location)}],
            "SupportedContentTypes": list(InvokeSettings.DEFAULT_CONTENT_TYPES),
            "SupportedResponseMIMETypes": ["application/json"],
        },
        CustomerMetadataProperties=metadata,
        **extra,
    )
    arn = response["ModelPackageArn"]
    match = MODEL_PACKAGE_ARN_RE.match(arn)
    return Registration(group=group, version=int(match.group(5)) if match else 0, model_package_arn=arn, run_id=run_id,
                        model_artifacts=location, metadata=metadata, dropped_metrics=dropped,
                        metrics_report=report.uri if report else None)


def _write_report(s3: Any, report: model_metrics.MetricsReport, run_id: str) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        model_metrics.write(s3, report)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        reason = f"{error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")
        raise ReportNotWritten(f"run {run_id}'s metrics report could not be written to {report.uri} ({reason}); "
                               "nothing was registered") from None
    except BotoCoreError as exc:
        raise ReportNotWritten(f"run {run_id}'s metrics report could not be written to {report.uri} "
                               f"({str(exc).splitlines()[0]}); nothing was registered") from None


def model_data_source(prefix: str) -> dict[str, Any]:
    """An MLflow model is a folder of files: SageMaker serves it uncompressed from its S3 prefix.

    (`ModelDataUrl` must name a single .tar.gz, which MLflow does not write; see ModelPackageContainerDefinition
    in the SageMaker API reference.)
    """
    return {"S3DataSource": {"S3Uri": prefix, "S3DataType": "S3Prefix", "CompressionType": "None"}}


def _read_run(client: Any, run_id: str) -> Any:
    from mlflow.exceptions import MlflowException

    try:
        return client.get_run(run_id)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            raise RunNotFound(f"MLflow run {run_id!r} does not exist on this tracking server") from None
        raise


def _model_location(client: Any, run: Any, model_id: Optional[str]) -> str:
    """The logged model's artifact location: MLflow 3 logged models first, else MLflow 2's log-model history."""
    run_id = run.info.run_id
    outputs = run.outputs.model_outputs if run.outputs and run.outputs.model_outputs else []
    if outputs:
        ids = list(dict.fromkeys(o.model_id for o in outputs))
        chosen = _choose(run_id, ids, model_id)
        return _as_prefix(client.get_logged_model(chosen).artifact_location)
    history = json.loads(run.data.tags.get(LOG_MODEL_HISTORY_TAG) or "[]")
    paths = list(dict.fromkeys(entry["artifact_path"] for entry in history if entry.get("artifact_path")))
    if paths:
        return _as_prefix(f"{run.info.artifact_uri.rstrip('/')}/{_choose(run_id, paths, model_id)}")
    raise LoggedModelNotFound(f"run {run_id} logged no model: log one with mlflow.<flavor>.log_model in the run")


def _choose(run_id: str, candidates: Sequence[str], wanted: Optional[str]) -> str:
    if wanted is not None:
        if wanted not in candidates:
            raise LoggedModelNotFound(f"run {run_id} logged no model {wanted!r}; it logged: {', '.join(candidates)}")
        return wanted
    if len(candidates) > 1:
        raise LoggedModelNotFound(f"run {run_id} logged {len(candidates)} models ({', '.join(candidates)}): pass --model-id")
    return candidates[0]


def _as_prefix(location: str) -> str:
    return location if location.endswith("/") else location + "/"


def customer_metadata(run_id: str, metrics: Mapping[str, float]) -> tuple[dict[str, str], tuple[str, ...]]:
    """The run id and the run's metrics as CustomerMetadataProperties, within SageMaker's limits."""
    out = {MLFLOW_RUN_ID_KEY: run_id}
    dropped: list[str] = []
    for name in sorted(metrics):
        key = _metadata_text(name, MAX_KEY_LENGTH)
        if not key or key in out:
            dropped.append(name)
        elif len(out) >= MAX_METADATA_ENTRIES:
            dropped.append(name)
        else:
            out[key] = _metadata_text(repr(float(metrics[name])), MAX_METADATA_VALUE_LENGTH)
    return out, tuple(dropped)


def _metadata_text(text: str, limit: int) -> str:
    """Characters SageMaker refuses in metadata become `_`; the text is cut to the limit."""
    def allowed(ch: str) -> bool:
        return ch in _METADATA_PUNCTUATION or unicodedata.category(ch)[0] in "LNZ"

    return "".join(ch if allowed(ch) else "_" for ch in text)[:limit]


def tracking_client(tracking_uri: str) -> Any:
    """An MLflow client for a tracking server ARN (SageMaker's `sagemaker-mlflow` plugin signs the calls) or any URI."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        return MlflowClient(tracking_uri=tracking_uri)
    except MlflowException as exc:
        hint = "; install the SageMaker plugin: pip install 'mlgov[experimentation]'" if tracking_uri.startswith("arn:") else ""
        raise RegistrationError(f"cannot reach MLflow at {tracking_uri}: {str(exc).splitlines()[0]}{hint}") from None


def dev_tracking_server(root: Path, stack: str = "dev", partition: str = "aws") -> str:
    """The tracking server `Pulumi.<stack>.yaml` declares, by the ARN AWS gives it; one line when it declares none."""
    from components.mlflow_offer import tracking_server_arn
    from mlgov import offline
    from mlgov.config import parse
    from mlgov.program import namespace_config

    raw = offline.read_stack_config(stack, root)
    config = parse(namespace_config(raw))
    if config.experimentation is None:
        raise RegistrationError(f"Pulumi.{stack}.yaml declares no MLflow tracking server (mlgov:experimentation): "
                                "pass --tracking-server or set MLFLOW_TRACKING_URI")
    return tracking_server_arn(partition, str(raw["aws:region"]), config.organization.accounts.dev[0])


def register_command(
    ctx: typer.Context,
    group: str = typer.Option(..., "--group", help="the hub model group to register into (an onboarded group)"),
    run_id: str = typer.Option(..., "--run-id", help="the MLflow run whose logged model becomes the version"),
    tracking_server: Optional[str] = typer.Option(
        None, "--tracking-server", envvar="MLFLOW_TRACKING_URI",
        help="the tracking server's ARN or URI (env MLFLOW_TRACKING_URI; default: the one Pulumi.dev.yaml declares)"),
    model_id: Optional[str] = typer.Option(None, "--model-id", help="which logged model, when the run logged several"),
    image: Optional[str] = typer.Option(None, "--image", help=f"inference image URI (default: the run tag {IMAGE_TAG})"),
) -> None:
    """Register an MLflow run's logged model into the hub's group, pending approval, linked to the run."""
    import boto3

    from govctl.options import of

    opts = of(ctx)
    hub = Hub.from_stack_config(opts.root)
    session = boto3.Session(profile_name=opts.profile) if opts.profile else boto3.Session()
    region = opts.region or _region_of(next(iter(hub.groups.values()), ""))
    registration = register_from_run(
        group=group, run_id=run_id, hub=hub, mlflow_client=tracking_client(tracking_server or dev_tracking_server(opts.root)),
        sagemaker=session.client("sagemaker", region_name=region), s3=session.client("s3", region_name=region),
        model_id=model_id, image=image,
    )
    typer.echo(f"registered {registration.group} v{registration.version} from run {registration.run_id} "
               f"({registration.model_package_arn}), pending approval in development")
    if registration.metrics_report:
        typer.echo(f"model metrics: the run's metrics as ModelQuality statistics at {registration.metrics_report}")
    if registration.dropped_metrics:
        typer.echo(f"note: {len(registration.dropped_metrics)} metric(s) not recorded (SageMaker keeps 50 metadata entries): "
                   f"{', '.join(registration.dropped_metrics)}", err=True)


COMMANDS = (("register", register_command),)


def _region_of(arn: str) -> Optional[str]:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else None
