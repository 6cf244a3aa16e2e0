"""The governance API's requests as pydantic models: the resolver validates them, the OpenAPI document shows them.

Path and query parameters use the patterns of `governance.contract`, so what the API accepts is what the
infrastructure and the table keys accept. `describe` turns a validation error into the API's one-line message.
"""
from __future__ import annotations

from typing import Any, Literal, Mapping, Optional, Sequence

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator, model_validator

from .contract import MAX_MODEL_VERSION, SAGEMAKER_NAME_PATTERN
from .domain import BadInput, Stage, Status
from .events import check_metrics

MAX_REASON = 1024
DEFAULT_LIMIT, MAX_LIMIT = 50, 100
MAX_TOKEN = 2048
VALIDATION, MONITORING = "validation", "monitoring"

# What each path and query parameter is, and what it may be: the message a caller gets for a bad one.
PARAMETERS: dict[str, tuple[str, str]] = {
    "use_case_id": ("use case id", "1 to 40 lowercase letters, digits and single hyphens"),
    "group": ("model group", "1 to 63 letters, digits and hyphens"),
    "version": ("model version", f"a whole number from 1 to {MAX_MODEL_VERSION}"),
    "limit": ("limit", f"a whole number from 1 to {MAX_LIMIT}"),
    "next": ("next token", f"the `next` value of the previous page (at most {MAX_TOKEN} characters)"),
    "stage": ("stage", "one of " + ", ".join(s.value for s in Stage)),
    "status": ("status", "one of " + ", ".join(s.value for s in Status)),
}


# The route parameters the bodies are bound to (governance.handlers.api): a location naming one is the whole body.
BODY_PARAMETERS = ("decision", "report")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


def _reason(value: Optional[str], *, required: bool) -> str:
    if value is None or not value.strip():
        if required:
            raise ValueError("a reason is required")
        return ""
    return value.strip()


class ModelDecision(_Body):
    """Approve, reject or retire a version at a stage; `expectedRev` is the record's rev the caller decided on."""

    stage: Stage
    action: Literal["approve", "reject", "retire"]
    reason: Optional[StrictStr] = Field(None, max_length=MAX_REASON, description="required to reject or retire")
    expected_rev: Optional[StrictInt] = Field(None, alias="expectedRev", ge=0)

    @model_validator(mode="after")
    def _reason_given(self) -> "ModelDecision":
        object.__setattr__(self, "reason", _reason(self.reason, required=self.action != "approve"))
        return self


class UseCaseDecision(_Body):
    """Approve a use case one stage forward, reject it from QA or PREPRODUCTION back to DEVELOPMENT, or retire it."""

    action: Literal["approve", "reject", "retire"]
    reason: Optional[StrictStr] = Field(None, max_length=MAX_REASON, description="required to reject or retire")

    @model_validator(mode="after")
    def _reason_given(self) -> "UseCaseDecision":
        object.__setattr__(self, "reason", _reason(self.reason, required=self.action != "approve"))
        return self


class MetricsReport(_Body):
    """Validation metrics (approval evidence), or monitoring metrics with the endpoint they were measured on."""

    kind: Literal["validation", "monitoring"]
    stage: Stage
    metrics: dict[str, Any] = Field(description="a non-empty JSON object of at most 64 KB, finite numbers only")
    endpoint: Optional[StrictStr] = Field(None, alias="endpointName", pattern=SAGEMAKER_NAME_PATTERN,
                                          description="required for monitoring metrics")
    variant: Optional[StrictStr] = Field(None, alias="variantName", pattern=SAGEMAKER_NAME_PATTERN)

    @field_validator("metrics", mode="before")
    @classmethod
    def _metrics(cls, value: Any) -> Any:
        try:
            return check_metrics(value)
        except BadInput as exc:
            raise ValueError(exc.message) from None

    @model_validator(mode="after")
    def _endpoint_for_monitoring(self) -> "MetricsReport":
        if self.kind == VALIDATION and (self.endpoint is not None or self.variant is not None):
            raise ValueError("endpointName and variantName belong to monitoring metrics")
        if self.kind == MONITORING and self.endpoint is None:
            raise ValueError("endpointName is required for monitoring metrics")
        return self


class Page(BaseModel):
    """A page of a listing: at most `limit` items, continuing after the page whose `next` token is given."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    limit: Optional[int] = Field(None, ge=1, le=MAX_LIMIT, description=f"default {DEFAULT_LIMIT}")
    next: Optional[str] = Field(None, min_length=1, max_length=MAX_TOKEN, pattern=r"^[A-Za-z0-9_-]+$",
                                description="the `next` of the previous page")


class QueueQuery(Page):
    """The officer queue: stage records at a stage in a status, oldest first."""

    stage: Stage
    status: Status


class ErrorBody(BaseModel):
    """Every refusal: a code (`bad_request`, `forbidden`, ...) and a message naming the problem."""

    error: str
    message: str


def fields(model: type[BaseModel]) -> list[str]:
    """A body model's field names as the caller spells them."""
    return sorted(f.alias or name for name, f in model.model_fields.items())


def describe(error: Mapping[str, Any], allowed: Sequence[str] = ()) -> str:
    """One pydantic/Powertools validation error as the sentence the caller reads (`allowed`: the body's fields)."""
    loc = [str(p) for p in error.get("loc", ())]
    where, field = (loc[0] if loc else ""), (loc[-1] if len(loc) > 1 else "")
    kind, msg = error.get("type", ""), str(error.get("msg", "is invalid"))
    if kind == "json_invalid":
        return "the request body is not valid JSON"
    if kind == "value_error":
        msg = msg.removeprefix("Value error, ")
        return msg if len(loc) <= 2 else f"{field}: {msg}"
    whole_body = where == "body" and (len(loc) == 1 or len(loc) == 2 and field in BODY_PARAMETERS)
    if whole_body and kind in ("missing", "model_type", "model_attributes_type", "dict_type"):
        return "the request needs a JSON body" if kind == "missing" else "the body must be a JSON object"
    if kind == "extra_forbidden":
        return f"unknown field {field!r}" + (f"; allowed: {', '.join(allowed)}" if allowed else "")
    if where in ("path", "query") and field in PARAMETERS:
        name, allowed = PARAMETERS[field]
        if kind == "missing":
            return f"query parameter {field!r} is required: {allowed}"
        return f"{name} must be {allowed}, not {error.get('input')!r}"
    if kind == "missing":
        return f"{field} is required"
    return f"{field} {error.get('input')!r} is invalid: {msg}"
