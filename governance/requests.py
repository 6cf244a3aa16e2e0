"""What the API checks before the resolver's models see a request: the caller, and the body as strict JSON text.

The models in `governance.api_models` validate fields; this module refuses what no model should be handed:
an oversized body (413), a body that is not JSON (415), text that is not UTF-8 or holds lone surrogates, NaN or
Infinity, JSON nested deeper than anything the API takes (400).
"""
from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Mapping

from .api_models import DEFAULT_LIMIT, MAX_LIMIT
from .domain import BadInput, Forbidden, GovernanceError, principal_key

MAX_BODY_BYTES = 64 * 1024
# Slack over MAX_BODY_BYTES for JSON punctuation and escapes around the fields the models bound.
BODY_SLACK_BYTES = 4096
# Metrics may nest; nothing the API takes is deeper than this.
MAX_DEPTH = 32
JSON_TYPES = ("application/json",)


class PayloadTooLarge(GovernanceError):
    status_code, code = 413, "payload_too_large"


class UnsupportedMediaType(GovernanceError):
    status_code, code = 415, "unsupported_media_type"


def require_caller(caller: Any) -> str:
    if not isinstance(caller, str) or principal_key(caller) is None:
        raise Forbidden("no IAM caller identity on the request; the API requires IAM authorization")
    return caller


def caller_arn(raw_event: Mapping[str, Any]) -> str | None:
    """The IAM ARN API Gateway's IAM authorization put on a REST API proxy event (`requestContext.identity`)."""
    ctx = raw_event.get("requestContext")
    identity = ctx.get("identity") if isinstance(ctx, Mapping) else None
    arn = identity.get("userArn") if isinstance(identity, Mapping) else None
    return arn if isinstance(arn, str) else None


def _header(headers: Any, name: str) -> str | None:
    if not isinstance(headers, Mapping):
        return None
    return next((v for k, v in headers.items() if isinstance(k, str) and k.lower() == name and isinstance(v, str)), None)


def body_text(event: Mapping[str, Any]) -> str | None:
    """The request body as text, or None when there is none; refuses what is not JSON text of a bounded size."""
    raw = event.get("body")
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise BadInput("the request body is not text")
    media = (_header(event.get("headers"), "content-type") or "application/json").split(";")[0].strip().lower()
    if media not in JSON_TYPES:
        raise UnsupportedMediaType(f"the request body is {media or 'untyped'}; the API takes application/json only")
    if len(raw) > 2 * (MAX_BODY_BYTES + BODY_SLACK_BYTES):  # cheap bound before decoding anything
        raise PayloadTooLarge(f"the request body exceeds {MAX_BODY_BYTES // 1024} KB")
    data: bytes
    if event.get("isBase64Encoded") is True:
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise BadInput("the request body is not valid base64 text") from None
    else:
        try:
            data = raw.encode("utf-8")
        except UnicodeEncodeError:
            raise BadInput("the request body is not valid UTF-8 text (it holds a lone surrogate)") from None
    if len(data) > MAX_BODY_BYTES + BODY_SLACK_BYTES:
        raise PayloadTooLarge(f"the request body exceeds {MAX_BODY_BYTES // 1024} KB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"the request body is not valid UTF-8 text (byte {exc.start})") from None


def single_query(event: Mapping[str, Any]) -> None:
    """Every query parameter is given once: which of two values a repeated one means is a guess the API does not make."""
    multi = event.get("multiValueQueryStringParameters")
    if not isinstance(multi, Mapping):
        return
    for name, values in multi.items():
        if isinstance(values, list) and len(values) > 1:
            raise BadInput(f"query parameter {str(name)[:40]!r} is given {len(values)} times; give it once")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON here")


def _check_tree(value: Any) -> None:
    """No deeper than MAX_DEPTH, and every string (keys too) encodable as UTF-8: no lone surrogates from escapes."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BadInput(f"the request body is nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, str):
            if not _encodable(node):
                raise BadInput(f"the request body holds a lone surrogate ({node[:40]!r}); text must be valid Unicode")
        elif isinstance(node, dict):
            stack.extend((k, depth) for k in node)
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def json_body(text: str) -> Any:
    """A request body parsed strictly: a JSON object, no NaN or Infinity, bounded depth, valid Unicode."""
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise BadInput(f"the request body is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError:
        raise BadInput("the request body is not valid JSON") from None
    if not isinstance(value, dict):
        raise BadInput("the body must be a JSON object")
    _check_tree(value)
    return value


def limit(value: Any) -> int:
    """A page size already validated by the API's models (or given by code); None is the default."""
    if value is None or value == "":
        return DEFAULT_LIMIT
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LIMIT:
        raise BadInput(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return value
