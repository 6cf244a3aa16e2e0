"""What a registration and an approval must comply with beyond the lifecycle: where the version's artifacts
and images are, whether its use case is still onboarded, and its tier's obligations.

A registration is recorded whatever it carries (the registry already holds it), with a finding: artifacts
outside the hub bucket's `models/<registering account>/` prefix, or an image that is neither SageMaker's own
nor in the hub's image repository, make it non-compliant, and a non-compliant version is never approved, so
test and prod never meet a version they cannot deploy. Pure Python, no boto3; nothing here raises on what an
event carries.
"""
from __future__ import annotations

import re
from typing import Any, Mapping

from . import obligations, schema
from .contract import MODEL_PACKAGE_ARN_RE, PRINCIPAL_ARN_RE, models_prefix, sagemaker_image_accounts
from .domain import Action, Conflict, ModelRisk, RiskTier, Stage
from .records import load_json

ECR_IMAGE = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/([a-z0-9._/-]+)(?::[\w.-]+|@sha256:[0-9a-f]{64})$")


def registrant_account(event: Mapping[str, Any], created_by: str | None) -> str | None:
    """Who registered: the account of `CreatedBy.IamIdentity.Arn`, else the event's account when a member account
    forwarded it (the package itself lives in the hub's account)."""
    match = PRINCIPAL_ARN_RE.match(created_by) if isinstance(created_by, str) else None
    if match:
        return match.group(2)
    detail = event.get("detail")
    arn = detail.get("ModelPackageArn") if isinstance(detail, Mapping) else None
    package = MODEL_PACKAGE_ARN_RE.match(arn) if isinstance(arn, str) else None
    account = event.get("account")
    if package and isinstance(account, str) and account != package.group(3):
        return account
    return None


def _containers(detail: Mapping[str, Any]) -> list[Mapping[str, Any]] | None:
    spec = detail.get("InferenceSpecification")
    containers = spec.get("Containers") if isinstance(spec, Mapping) else None
    if not isinstance(containers, list) or not containers:
        return None
    return [c if isinstance(c, Mapping) else {} for c in containers]


def _artifact_uris(container: Mapping[str, Any]) -> list[Any]:
    uris = [container["ModelDataUrl"]] if "ModelDataUrl" in container else []
    source = container.get("ModelDataSource")
    s3 = source.get("S3DataSource") if isinstance(source, Mapping) else None
    if isinstance(s3, Mapping) and "S3Uri" in s3:
        uris.append(s3["S3Uri"])
    return uris


def image_problem(image: Any, *, region: str, hub_repository: str) -> str | None:
    """Why test and prod could not pull `image`, or None: it is SageMaker's own in this region, or in the hub's repository."""
    if not isinstance(image, str) or not image:
        return "a container names no image"
    if image.startswith((f"{hub_repository}:", f"{hub_repository}@")):
        return None
    match = ECR_IMAGE.match(image)
    if match and match.group(2) == region and match.group(1) in sagemaker_image_accounts(region):
        return None
    return (f"image {image} is neither a SageMaker-provided image of {region} nor in the hub's image repository "
            f"{hub_repository}: test and prod could not pull it")


def assess(event: Mapping[str, Any], *, created_by: str | None, hub: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The registration's finding (`compliant`, `problems`, `account`), or None when the hub has not declared where
    artifacts and images belong (no `HUB/CONFIG` item: a hub stack from before it was written)."""
    if hub is None or not hub.get(schema.HUB_ARTIFACT_BUCKET):
        return None
    detail = event.get("detail") if isinstance(event.get("detail"), Mapping) else {}
    region = event.get("region") if isinstance(event.get("region"), str) else ""
    account = registrant_account(event, created_by)
    bucket, repository = hub[schema.HUB_ARTIFACT_BUCKET], str(hub.get(schema.HUB_IMAGE_REPOSITORY) or "")
    problems: list[str] = []
    containers = _containers(detail)
    if containers is None:
        problems.append("the package has no InferenceSpecification.Containers: there is nothing test or prod could deploy")
        containers = []
    prefix = f"s3://{bucket}/{models_prefix(account)}" if account else None
    if account is None:
        problems.append("the registering account is unknown (no CreatedBy.IamIdentity.Arn): its artifact prefix cannot be checked")
    for i, container in enumerate(containers):
        for uri in _artifact_uris(container):
            if prefix is not None and not (isinstance(uri, str) and uri.startswith(prefix)):
                problems.append(f"container {i}: artifacts {uri!s:.300} are not under {prefix}")
        problem = image_problem(container.get("Image"), region=region, hub_repository=repository)
        if problem:
            problems.append(f"container {i}: {problem:.400}")
    return {"compliant": not problems, "problems": problems[:20], "account": account}


def finding(dev_item: Mapping[str, Any]) -> dict[str, Any] | None:
    value = load_json(dev_item.get(schema.COMPLIANCE))
    return value if isinstance(value, Mapping) else None


def offboarded(hub: Mapping[str, Any] | None, use_case_id: str) -> bool:
    """Whether the use case was removed from the hub stack's config (its CONFIG item is retained, the hub no longer lists it)."""
    return hub is not None and use_case_id not in (hub.get(schema.HUB_USE_CASES) or ())


def check_approval(*, action: Action, stage: Stage, use_case_id: str, use_case_item: Mapping[str, Any], model_risk: ModelRisk,
                   hub: Mapping[str, Any] | None, dev_item: Mapping[str, Any]) -> None:
    """Conflict naming the reason when an approval must not happen: an offboarded use case, a non-compliant
    registration, or an unmet obligation of the use case's tier."""
    if action is not Action.approve:
        return
    if offboarded(hub, use_case_id):
        raise Conflict(f"use case {use_case_id!r} was removed from the hub stack's config: it is retired and admits no approval")
    found = finding(dev_item)
    if found is not None and not found.get("compliant", False):
        raise Conflict("the version's registration is non-compliant and cannot be approved: " + "; ".join(map(str, found.get("problems") or [])))
    tier = RiskTier(use_case_item.get(schema.CONFIG_RISK_TIER, RiskTier.minimal.value))
    obligations.check_transparency(stage=stage, duties=obligations.of(tier, model_risk),
                                   statement=use_case_item.get(schema.CONFIG_TRANSPARENCY_STATEMENT))
