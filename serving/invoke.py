"""The invoke proxy: HTTP API (payload 2.0, IAM-authorized) → SageMaker `InvokeEndpoint`.

The caller's content type is passed to the endpoint as is; what the endpoint could not read is
refused here with a 4xx (never a 500), so the model's error metrics only count the model's errors.
A failing endpoint is a 502: the proxy worked, what it proxies did not.
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping

import boto3
from aws_lambda_powertools import Logger
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from governance.contract import InvokeSettings

logger = Logger(service="mlgov-invoke")

TEXT_TYPES = ("application/json", "text/")


@dataclass(frozen=True)
class Request:
    body: bytes
    content_type: str
    accept: str | None


class BadRequest(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", **(headers or {})},
        "body": json.dumps(body) if not isinstance(body, str) else body,
        "isBase64Encoded": False,
    }


def error(status: int, message: str) -> dict[str, Any]:
    return response(status, {"message": message})


def parse_request(event: Mapping[str, Any], settings: InvokeSettings) -> Request:
    """The request to forward, or `BadRequest` (400 malformed, 413 too large, 415 content type not served)."""
    if not isinstance(event, Mapping):
        raise BadRequest(400, "request is not an HTTP API event")
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    content_type = headers.get("content-type", "").strip()
    media_type = content_type.split(";", 1)[0].strip().lower()
    if not media_type:
        raise BadRequest(415, f"a content-type header is required; allowed: {', '.join(settings.content_types)}")
    if media_type not in settings.content_types:
        raise BadRequest(415, f"content-type {media_type!r} is not served by this endpoint; allowed: {', '.join(settings.content_types)}")
    raw = event.get("body")
    if raw is None or raw == "":
        raise BadRequest(400, "the request body is empty")
    if not isinstance(raw, str):
        raise BadRequest(400, "the request body is not text or base64")
    # Refuse before decoding: base64 is 4/3 of the bytes it encodes.
    if len(raw) > settings.max_body_bytes * 4 // 3 + 4:
        raise BadRequest(413, f"the request body is over {settings.max_body_bytes} bytes")
    if event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest(400, "the request body is marked base64 but is not valid base64") from None
    else:
        body = raw.encode("utf-8")
    if len(body) > settings.max_body_bytes:
        raise BadRequest(413, f"the request body is over {settings.max_body_bytes} bytes")
    if media_type == "application/json":
        try:
            json.loads(body)
        except (UnicodeDecodeError, ValueError):
            raise BadRequest(400, "the request body is not valid JSON") from None
    return Request(body=body, content_type=content_type, accept=headers.get("accept") or None)


def invoke(client: Any, settings: InvokeSettings, request: Request) -> dict[str, Any]:
    """Call the endpoint; its answer is returned as is (text as text, anything else as base64)."""
    params: dict[str, Any] = {"EndpointName": settings.endpoint_name, "Body": request.body, "ContentType": request.content_type}
    if request.accept:
        params["Accept"] = request.accept
    try:
        result = client.invoke_endpoint(**params)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "Unknown")
        logger.warning("endpoint failed", extra={"endpoint": settings.endpoint_name, "code": code, "reason": str(exc)})
        return error(502, f"the model endpoint failed ({code})")
    except BotoCoreError as exc:
        logger.warning("endpoint unreachable", extra={"endpoint": settings.endpoint_name, "reason": str(exc)})
        return error(502, "the model endpoint could not be reached")
    payload = result["Body"].read()
    content_type = result.get("ContentType") or "application/octet-stream"
    headers = {"content-type": content_type}
    if result.get("InvokedProductionVariant"):
        headers["x-mlgov-variant"] = result["InvokedProductionVariant"]
    if content_type.lower().startswith(TEXT_TYPES):
        try:
            return {"statusCode": 200, "headers": headers, "body": payload.decode("utf-8"), "isBase64Encoded": False}
        except UnicodeDecodeError:
            pass
    return {"statusCode": 200, "headers": headers, "body": base64.b64encode(payload).decode("ascii"), "isBase64Encoded": True}


def handle(event: Mapping[str, Any], client: Any, settings: InvokeSettings) -> dict[str, Any]:
    try:
        request = parse_request(event, settings)
    except BadRequest as exc:
        logger.info("request refused", extra={"status": exc.status, "reason": exc.message})
        return error(exc.status, exc.message)
    return invoke(client, settings, request)


@lru_cache(maxsize=1)
def _client() -> Any:
    # Lambda's API Gateway integration times out at 29 s: one retry at most, and no read longer than that.
    return boto3.client("sagemaker-runtime", config=Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=3, read_timeout=25))


@logger.inject_lambda_context
def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, _client(), InvokeSettings.from_env())
