"""The config models' building blocks: unknown keys refused, ranges with a bound and in order."""
from __future__ import annotations

import re
from typing import Annotated

import pytest
from pydantic import ValidationError

from mlgov.fields import Strict, as_list, check_range, matching

VpcId = Annotated[str, matching(re.compile(r"^vpc-"), "looks like vpc-0a1b")]


class WithVpc(Strict):
    vpc: VpcId


def test_a_misspelt_key_is_refused_and_a_value_cannot_be_reassigned() -> None:
    class Example(Strict):
        name: str

    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        Example(name="a", nmae="b")
    with pytest.raises(ValidationError, match="frozen"):
        Example(name="a").name = "b"  # type: ignore[misc]


def test_a_single_string_is_read_as_a_list_of_one() -> None:
    assert as_list("222222222222") == ["222222222222"]
    assert as_list(["a", "b"]) == ["a", "b"]


def test_a_pattern_mismatch_is_the_given_message() -> None:
    assert WithVpc(vpc="vpc-1").vpc == "vpc-1"
    with pytest.raises(ValidationError, match="looks like vpc-0a1b"):
        WithVpc(vpc="subnet-1")


@pytest.mark.parametrize("low,high,expected", [
    (None, None, "limit on 'auc' needs a number for min, max or both"),
    (0.9, 0.1, "limit on 'auc' has min 0.9 above max 0.1"),
])
def test_a_range_needs_a_bound_and_min_not_above_max(low, high, expected) -> None:
    with pytest.raises(ValueError, match=re.escape(expected)):
        check_range("limit", "auc", low, high)
    check_range("limit", "auc", 0.1, 0.9)
    check_range("limit", "auc", None, 0.9)
