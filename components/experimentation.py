"""Experimentation in a dev account: a SageMaker managed MLflow tracking server whose artifacts land in the hub.

The server's artifact store is the hub artifact bucket under `models/<dev account>/mlflow/`, encrypted
with the hub key, so a run's artifacts are in the central account from the first run and registering a
version from a run (`govctl register`) needs no copy. Three grants, each as narrow as AWS allows:

- the server's own role (SageMaker assumes it for this account only) may write and read that prefix and use
  the hub key for it through S3, nothing else;
- the data scientists' role may call the MLflow API of this server only, and read back that prefix (the
  artifacts a run logged, `mlflow.pyfunc.load_model`);
- automatic registration into the dev account's own registry stays off: versions are registered into
  the hub's groups, where governance records them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional

import pulumi
import pulumi_aws as aws

from components.policy_documents import service_role
from components.policy_documents import document, statement
from components.registry_key import decrypt_through_s3
from components.mlflow_offer import MLFLOW_VERSIONS, TRACKING_SERVER_SIZES, artifact_prefix, artifact_store_uri

# The MLflow API actions a data scientist uses, every one AWS lists ("IAM actions supported for MLflow" in
# https://docs.aws.amazon.com/sagemaker/latest/dg/mlflow-create-tracking-server-iam.html, which shows
# `sagemaker-mlflow:*` on "*" and says to replace it with the tracking server's ARN and specific actions).
# Each takes the `mlflow-tracking-server` resource type (Service Authorization Reference,
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_sagemaker-mlflow.html), so all are
# scoped to this server's ARN. `sagemaker-mlflow:AccessUI` is left out: it has no resource type, so it could
# only be granted on "*"; the UI is reached through the presigned URL below.
MLFLOW_API_ACTIONS = tuple(f"sagemaker-mlflow:{a}" for a in (
    "CreateExperiment", "SearchExperiments", "GetExperiment", "GetExperimentByName", "DeleteExperiment",
    "RestoreExperiment", "UpdateExperiment", "CreateRun", "DeleteRun", "RestoreRun", "GetRun", "LogMetric",
    "LogBatch", "LogModel", "LogInputs", "SetExperimentTag", "SetTag", "DeleteTag", "LogParam", "GetMetricHistory",
    "SearchRuns", "ListArtifacts", "UpdateRun", "CreateRegisteredModel", "GetRegisteredModel",
    "RenameRegisteredModel", "UpdateRegisteredModel", "DeleteRegisteredModel", "GetLatestModelVersions",
    "CreateModelVersion", "GetModelVersion", "UpdateModelVersion", "DeleteModelVersion", "SearchModelVersions",
    "GetDownloadURIForModelVersionArtifacts", "TransitionModelVersionStage", "SearchRegisteredModels",
    "SetRegisteredModelTag", "DeleteRegisteredModelTag", "DeleteModelVersionTag", "DeleteRegisteredModelAlias",
    "SetRegisteredModelAlias", "GetModelVersionByAlias", "FinalizeLoggedModel", "GetLoggedModel",
    "DeleteLoggedModel", "SearchLoggedModels", "SetLoggedModelTags", "DeleteLoggedModelTag",
    "ListLoggedModelArtifacts", "LogLoggedModelParams", "LogOutputs",
))
# Opening the MLflow UI from Studio or the console: both take the tracking server as resource.
SERVER_UI_ACTIONS = ("sagemaker:CreatePresignedMlflowTrackingServerUrl", "sagemaker:DescribeMlflowTrackingServer")
# What the hub key policy grants a dev account (RegistryKey's DEV_KEY_ACTIONS); kms:Decrypt only through S3 in the
# hub bucket (RegistryKey's DevAccountsDecryptThroughS3InTheArtifactBucket), granted apart with the same conditions.
ARTIFACT_KEY_ACTIONS = ("kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey")


@dataclass
class ExperimentTrackingArgs:
    name: str
    """The tracking server's name (part of its ARN): 1-256 letters, digits and hyphens."""
    hub_bucket_name: pulumi.Input[str]
    """The hub's artifact bucket (hub output `bucketName`)."""
    hub_key_arn: pulumi.Input[str]
    """The hub's KMS key the bucket encrypts with (hub output `keyArn`)."""
    dev_account_id: str
    """The dev account the server runs in; its artifacts go under `models/<this account>/mlflow/`."""
    data_scientist_role_name: pulumi.Input[str]
    """The role data scientists work as (MemberAccount's `data_scientist_role.name`): it gets the MLflow API of this server."""
    size: str = "Small"
    """One of TRACKING_SERVER_SIZES (components.mlflow_offer, which cites AWS)."""
    mlflow_version: str = "3.0"
    """One of MLFLOW_VERSIONS."""
    maintenance_window: str = "Sun:02:00"
    """Weekly maintenance start, UTC, `Ddd:HH:MM` (e.g. Sun:02:00)."""
    partition: str = "aws"
    tags: Mapping[str, str] = field(default_factory=dict)


class ExperimentTracking(pulumi.ComponentResource):
    server: aws.sagemaker.MlflowTrackingServer
    server_role: aws.iam.Role

    def __init__(self, name: str, args: ExperimentTrackingArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlgov:experimentation:ExperimentTracking", name, None, opts)
        if args.size not in TRACKING_SERVER_SIZES:
            raise ValueError(f"{name}: tracking server size {args.size!r} is not offered; allowed: {', '.join(TRACKING_SERVER_SIZES)}")
        if args.mlflow_version not in MLFLOW_VERSIONS:
            raise ValueError(f"{name}: MLflow version {args.mlflow_version!r} is not offered; allowed: {', '.join(MLFLOW_VERSIONS)}")
        self._args = args
        self._name = name
        self._tags = {"mlgov:component": "experiment-tracking", **args.tags}
        self.server_role = self._server_role()
        self.server = aws.sagemaker.MlflowTrackingServer(
            f"{name}-tracking-server",
            tracking_server_name=args.name,
            artifact_store_uri=pulumi.Output.from_input(args.hub_bucket_name).apply(
                lambda bucket: artifact_store_uri(bucket, args.dev_account_id)),
            role_arn=self.server_role.arn,
            tracking_server_size=args.size,
            mlflow_version=args.mlflow_version,
            weekly_maintenance_window_start=args.maintenance_window,
            automatic_model_registration=False,
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self._server_policy]),
        )
        self.data_scientist_policy = aws.iam.RolePolicy(
            f"{name}-data-scientist-mlflow",
            role=args.data_scientist_role_name,
            policy=document([
                statement("UseThisTrackingServer", MLFLOW_API_ACTIONS, self.server.arn),
                statement("OpenThisTrackingServerUi", SERVER_UI_ACTIONS, self.server.arn),
                *self._read_artifacts(),
            ]),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({
            "tracking_server_arn": self.server.arn,
            "tracking_server_url": self.server.tracking_server_url,
            "server_role_arn": self.server_role.arn,
        })

    def _server_role(self) -> aws.iam.Role:
        a = self._args
        role = service_role(
            f"{self._name}-server-role", "sagemaker.amazonaws.com", a.dev_account_id,
            "mlgov: the MLflow tracking server writes its artifacts under its prefix of the hub bucket",
            tags=self._tags, opts=pulumi.ResourceOptions(parent=self),
        )
        bucket_arn = self._bucket_arn()
        prefix = artifact_prefix(a.dev_account_id)
        via_s3 = pulumi.Output.from_input(a.hub_key_arn).apply(lambda arn: f"s3.{arn.split(':')[3]}.amazonaws.com")
        self._server_policy = aws.iam.RolePolicy(
            f"{self._name}-server-role-policy",
            role=role.id,
            policy=document([
                statement("WriteMlflowArtifacts", ["s3:PutObject"], bucket_arn.apply(lambda arn: f"{arn}/{prefix}*")),
                statement("ListMlflowArtifacts", ["s3:ListBucket"], bucket_arn,
                          conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}}),
                statement("EncryptWithHubKeyThroughS3", ARTIFACT_KEY_ACTIONS, a.hub_key_arn,
                          conditions={"StringEquals": {"kms:ViaService": via_s3}}),
                *self._read_artifacts(),
            ]),
            opts=pulumi.ResourceOptions(parent=role),
        )
        return role

    def _bucket_arn(self) -> pulumi.Output[str]:
        return pulumi.Output.from_input(self._args.hub_bucket_name).apply(lambda b: f"arn:{self._args.partition}:s3:::{b}")

    def _read_artifacts(self) -> list[dict]:
        """Read back the prefix (the MLflow UI, `load_model`) and decrypt as S3 does for it and for multipart uploads.

        The hub grants the same (its bucket policy and key policy); a cross-account caller needs both sides.
        """
        a = self._args
        bucket_arn = self._bucket_arn()
        region = pulumi.Output.from_input(a.hub_key_arn).apply(lambda arn: arn.split(":")[3])
        return [
            statement("ReadMlflowArtifacts", ["s3:GetObject"], bucket_arn.apply(lambda arn: f"{arn}/{artifact_prefix(a.dev_account_id)}*")),
            statement("DecryptMlflowArtifactsThroughS3", ["kms:Decrypt"], a.hub_key_arn, conditions=decrypt_through_s3(region, bucket_arn)),
        ]
