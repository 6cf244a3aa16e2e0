"""Building blocks of the config models: a strict frozen base, pattern-checked strings, numeric ranges."""
from __future__ import annotations

import re
from typing import Any

from pydantic import AfterValidator, BaseModel, ConfigDict


class Strict(BaseModel):
    """Unknown keys are refused (a misspelt key is an error, not a silent default); values cannot be reassigned."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def as_list(value: Any) -> Any:
    """A single string where a list is expected is read as a list of one."""
    return [value] if isinstance(value, str) else value


def matching(pattern: re.Pattern[str], message: str) -> AfterValidator:
    """A string that must match `pattern` (the runtime's own, from `governance.contract`), else `message`."""
    def check(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(message)
        return value
    return AfterValidator(check)


def check_range(what: str, metric: str, low: float | None, high: float | None) -> None:
    """A `min`/`max` pair on a metric: at least one bound, and `min` not above `max`."""
    if low is None and high is None:
        raise ValueError(f"{what} on {metric!r} needs a number for min, max or both")
    if low is not None and high is not None and low > high:
        raise ValueError(f"{what} on {metric!r} has min {low} above max {high}")
