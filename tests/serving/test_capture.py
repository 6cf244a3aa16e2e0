"""Reading data capture: real line shapes, malformed lines skipped and counted, the window and the per-run caps (moto)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import boto3
from hypothesis import given, settings
from hypothesis import strategies as st

from serving import capture

from .capture_files import MALFORMED, base64_line, capture_line, hub_bucket, json_line, write_capture
from .conftest import REGION

PREFIX = "capture/444444444444/mlgov-prod-credit-risk-xgb/v1/"


def window() -> tuple[datetime, datetime]:
    now = datetime.now(timezone.utc)
    return now - timedelta(minutes=15), now + timedelta(minutes=1)


def test_predictions_of_every_capture_shape_are_read_and_malformed_lines_counted(aws) -> None:
    bucket = hub_bucket(REGION)
    write_capture(REGION, PREFIX, "a", [capture_line("0.1"), capture_line("0.2\n0.3"), *MALFORMED, base64_line(0.4), ""])
    write_capture(REGION, PREFIX, "b", [json_line(0.5), capture_line("[0.6, 0.7]", "application/json", "JSON")])
    write_capture(REGION, "capture/444444444444/mlgov-prod-credit-risk-xgb/v2/", "c", [capture_line("0.9")])
    read = capture.read_window(boto3.client("s3", region_name=REGION), bucket, PREFIX, *window())
    assert sorted(read.values) == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
    assert (read.objects, read.records, read.skipped, read.truncated) == (2, 5, len(MALFORMED), False)
    assert read.summary()["predictionCount"] == 7 and read.summary()["captureSkipped"] == len(MALFORMED)


def test_an_empty_capture_reads_nothing(aws) -> None:
    bucket = hub_bucket(REGION)
    read = capture.read_window(boto3.client("s3", region_name=REGION), bucket, PREFIX, *window())
    assert (read.values, read.objects, read.bytes, read.skipped) == ([], 0, 0, 0)


def test_files_written_before_the_window_are_left_to_the_run_that_covered_them(aws) -> None:
    bucket = hub_bucket(REGION)
    write_capture(REGION, PREFIX, "a", [capture_line("0.1")])
    later = datetime.now(timezone.utc) + timedelta(seconds=1)
    read = capture.read_window(boto3.client("s3", region_name=REGION), bucket, PREFIX, later, later + timedelta(minutes=15))
    assert read.objects == 0


def test_the_object_cap_stops_a_run_and_says_so(aws) -> None:
    bucket = hub_bucket(REGION)
    for name in ("a", "b", "c"):
        write_capture(REGION, PREFIX, name, [capture_line("0.1")])
    read = capture.read_window(boto3.client("s3", region_name=REGION), bucket, PREFIX, *window(), max_objects=2)
    assert (read.objects, read.values, read.truncated) == (2, [0.1, 0.1], True)


def test_the_byte_cap_reads_part_of_a_file_and_never_counts_the_cut_line(aws) -> None:
    bucket = hub_bucket(REGION)
    lines = [capture_line(f"0.{i}") for i in range(1, 10)]
    write_capture(REGION, PREFIX, "a", lines)
    budget = len(lines[0]) * 3 + 10
    read = capture.read_window(boto3.client("s3", region_name=REGION), bucket, PREFIX, *window(), max_bytes=budget)
    assert read.bytes <= budget and read.truncated
    assert (read.values, read.skipped) == ([0.1, 0.2, 0.3], 0)


def test_a_window_reads_each_hour_it_touches_and_at_most_two_days() -> None:
    end = datetime(2026, 3, 2, 12, 5, tzinfo=timezone.utc)
    assert capture.hour_prefixes("p/", end - timedelta(minutes=15), end) == ["p/2026/03/02/11/", "p/2026/03/02/12/"]
    assert len(capture.hour_prefixes("p/", end - timedelta(days=30), end)) == capture.MAX_HOURS


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.text(max_size=300),
    st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
                 lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
                 max_leaves=20).map(lambda v: json.dumps({"captureData": {"endpointOutput": {
                     "observedContentType": "application/json", "encoding": "JSON", "data": json.dumps(v)}}})),
))
def test_no_line_makes_the_parser_raise(line) -> None:
    values = capture.parse_line(line)
    assert values is None or (values and all(isinstance(v, float) for v in values))
