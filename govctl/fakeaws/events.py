"""The events the handlers receive, shaped as AWS delivers them; the names come from `governance.contract`.

EventBridge: `SageMaker Model Package State Change` (sync handler), `SageMaker Endpoint State Change` and
the scheduler's `Scheduled Event` (member reporter), the members' `Model Deployed` / `Model Metrics`
(metrics handler). API Gateway: the REST API Lambda proxy event with IAM authorization (api handler).
"""
from __future__ import annotations

import base64
import uuid
from datetime import datetime, timezone
from typing import Any, Mapping
from urllib.parse import parse_qsl, urlencode

from governance import contract


def iso(ms: int, millis: bool = True) -> str:
    """Epoch milliseconds as EventBridge writes times: `...T..:..:..(.mmm)Z`."""
    dt = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z" if millis else dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def jsonable(value: Any) -> Any:
    """A boto3 response as it appears in an event's JSON detail (datetimes as ISO-8601 with milliseconds)."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def envelope(source: str, detail_type: str, detail: Mapping[str, Any], *, account: str, region: str, time: str,
             resources: list[str] | None = None, event_id: str | None = None) -> dict[str, Any]:
    """An EventBridge event around `detail`."""
    return {"version": "0", "id": event_id or str(uuid.uuid4()), "detail-type": detail_type, "source": source,
            "account": account, "time": time, "region": region, "resources": list(resources or []), "detail": dict(detail)}


def model_package_event(detail: Mapping[str, Any], *, account: str, region: str, time: str | None = None,
                        event_id: str | None = None) -> dict[str, Any]:
    """`SageMaker Model Package State Change`: the detail is the package as DescribeModelPackage shows it."""
    detail = {k: jsonable(v) for k, v in detail.items() if k != "ResponseMetadata"}
    if time is None:
        changed = detail.get("LastModifiedTime") or detail.get("CreationTime")
        time = iso(changed, millis=False) if isinstance(changed, int) else str(changed)[:19] + "Z"
    return envelope(contract.SOURCE_SAGEMAKER, contract.DETAIL_TYPE_MODEL_PACKAGE, detail, account=account, region=region,
                    time=time, resources=[detail["ModelPackageArn"]], event_id=event_id)


def model_package_detail(group: str, version: int, *, account: str, region: str, status: str = "PendingManualApproval",
                         created: int | str, modified: int | str | None = None, created_by: str | None = None,
                         modified_by: str | None = None, lifecycle: Mapping[str, str] | None = None,
                         arn: str | None = None) -> dict[str, Any]:
    """A registered package as DescribeModelPackage shows it; times as ISO-8601 strings or epoch milliseconds."""
    arn = arn or f"arn:aws:sagemaker:{region}:{account}:model-package/{group.lower()}/{version}"
    detail: dict[str, Any] = {
        "ModelPackageGroupName": group, "ModelPackageVersion": version, "ModelPackageArn": arn, "ModelPackageName": group,
        "CreationTime": created,
        "InferenceSpecification": {"Containers": [{"Image": f"{account}.dkr.ecr.{region}.amazonaws.com/{group}:{version}",
                                                   "ModelDataUrl": f"s3://artifacts/{group}/model.tar.gz"}],
                                   "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
        "ModelPackageStatus": "Completed", "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
        "CertifyForMarketplace": False, "ModelApprovalStatus": status, "LastModifiedTime": created if modified is None else modified,
    }
    if created_by:
        detail["CreatedBy"] = identity(created_by, "AROAEXAMPLE:creator")
    if modified_by:
        detail["LastModifiedBy"] = identity(modified_by, "AROAEXAMPLE:modifier")
    if lifecycle is not None:
        detail["ModelLifeCycle"] = dict(lifecycle)
    return detail


def identity(arn: str, principal_id: str) -> dict[str, Any]:
    """The `CreatedBy` / `LastModifiedBy` of a model package."""
    return {"IamIdentity": {"Arn": arn, "PrincipalId": principal_id}}


def member_detail(group: str, version: int, stage: str, *, endpoint: str | None = None, reported_at: str | None = None,
                  variant: str | None = None, metrics: Mapping[str, Any] | None = None, use_case: str = "credit-risk") -> dict[str, Any]:
    """What a member account reports about a deployed version (see `governance.events`); by default from the
    endpoint the stage's stack serves the group with (`contract.endpoint_name`)."""
    default = contract.endpoint_name(contract.ACCOUNT_ROLE_OF_STAGE.get(stage, stage), use_case, group)
    detail: dict[str, Any] = {"modelGroup": group, "modelVersion": version, "stage": stage, "endpointName": endpoint or default}
    if reported_at is not None:
        detail["reportedAt"] = reported_at
    if variant:
        detail["variantName"] = variant
    if metrics is not None:
        detail["metrics"] = dict(metrics)
    return detail


def member_event(kind: str, detail: Mapping[str, Any], *, account: str, region: str, time: str) -> dict[str, Any]:
    """`Model Deployed` or `Model Metrics` from a member account, as the hub bus delivers it."""
    if kind not in contract.MEMBER_DETAIL_TYPES:
        raise ValueError(f"unknown member detail-type {kind!r}")
    return envelope(contract.SOURCE_MEMBER, kind, detail, account=account, region=region, time=time)


def endpoint_state_change(endpoint: str, status: str = "IN_SERVICE", *, account: str, region: str, time: str,
                          event_id: str | None = None) -> dict[str, Any]:
    """`SageMaker Endpoint State Change` as the member account's default bus delivers it."""
    detail = {"EndpointName": endpoint, "EndpointStatus": status,
              "EndpointArn": f"arn:aws:sagemaker:{region}:{account}:endpoint/{endpoint}"}
    return envelope(contract.SOURCE_SAGEMAKER, contract.DETAIL_TYPE_ENDPOINT, detail, account=account, region=region,
                    time=time, event_id=event_id)


def scheduled_event(*, account: str, region: str, time: str, event_id: str | None = None) -> dict[str, Any]:
    """The scheduler's `Scheduled Event`."""
    return envelope("aws.events", "Scheduled Event", {}, account=account, region=region, time=time, event_id=event_id)


def rest_api_event(method: str, path: str, *, identity: Mapping[str, Any] | None, account: str, host: str,
                   query: str | Mapping[str, str] = "", headers: Mapping[str, str] | None = None, body: str | None = None,
                   base64_body: bool = False, source_ip: str = "127.0.0.1", request_time: datetime | None = None,
                   api_id: str = "sandbox", stage: str = "api", resource: str | None = None,
                   path_parameters: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The API Gateway REST API Lambda proxy event (payload 1.0); `identity` (see `iam_identity`) for a signed request.

    As REST APIs deliver it: `path` still percent-encoded, `pathParameters` decoded, repeated query parameters
    in `multiValueQueryStringParameters` (the single-value map keeps the last one).
    """
    raw_query = query if isinstance(query, str) else urlencode(dict(query), safe="")
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for k, v in parse_qsl(raw_query, keep_blank_values=True):
        single[k] = v
        multi.setdefault(k, []).append(v)
    now = request_time or datetime.now(timezone.utc)
    given = headers if headers is not None else {"Content-Type": "application/json", "Host": host}
    multi_headers: dict[str, list[str]] = {}
    for k, v in given.items():
        multi_headers.setdefault(k, []).append(v)
    who = {"accessKey": None, "accountId": None, "caller": None, "cognitoAuthenticationProvider": None,
           "cognitoAuthenticationType": None, "cognitoIdentityId": None, "cognitoIdentityPoolId": None,
           "principalOrgId": None, "sourceIp": source_ip, "user": None,
           "userAgent": next((v for k, v in given.items() if k.lower() == "user-agent"), ""), "userArn": None}
    who.update(identity or {})
    resource = resource or path
    context: dict[str, Any] = {
        "accountId": account, "apiId": api_id, "domainName": host, "domainPrefix": host.split(".")[0],
        "extendedRequestId": str(uuid.uuid4()), "httpMethod": method, "identity": who, "path": f"/{stage}{path}",
        "protocol": "HTTP/1.1", "requestId": str(uuid.uuid4()), "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "requestTimeEpoch": int(now.timestamp() * 1000), "resourceId": "sandbox", "resourcePath": resource, "stage": stage,
    }
    return {
        "resource": resource, "path": path, "httpMethod": method, "headers": dict(given), "multiValueHeaders": multi_headers,
        "queryStringParameters": single or None, "multiValueQueryStringParameters": multi or None,
        "pathParameters": dict(path_parameters) if path_parameters else None, "stageVariables": None,
        "requestContext": context,
        "body": (base64.b64encode(body.encode("utf-8", "surrogateescape")).decode() if base64_body else body)
        if body is not None else None,
        "isBase64Encoded": base64_body,
    }


def iam_identity(arn: str, *, access_key: str = "ASIAEXAMPLE", principal_org_id: str = "o-a1b2c3d4e5",
                 user_id: str | None = None, account: str | None = None) -> dict[str, str]:
    """`requestContext.identity` of a request signed by the principal `arn` (forged callers need not be ARNs)."""
    parts = arn.split(":")
    if user_id is None:
        name = arn.rsplit("/", 2)
        user_id = f"AROA{name[-2].upper().replace('-', '')[:16]}:{name[-1]}" if len(name) == 3 else "AROAEXAMPLE:session"
    account = account or (parts[4] if len(parts) > 4 else "")
    return {"accessKey": access_key, "accountId": account, "caller": user_id, "principalOrgId": principal_org_id,
            "user": user_id, "userArn": arn}
