"""Prediction drift: PSI's properties (hypothesis) and predictions read from SageMaker data capture in S3 (moto)."""
from __future__ import annotations

import base64
import json

import boto3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from serving import drift

values = st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=1, max_size=200)


@settings(max_examples=200, deadline=None)
@given(values, values, st.integers(min_value=1, max_value=20))
def test_psi_is_never_negative(reference, observed, bins):
    assert drift.psi(drift.histogram(reference, bins), observed) >= 0


@settings(max_examples=200, deadline=None)
@given(values, st.integers(min_value=1, max_value=20))
def test_psi_of_the_reference_itself_is_zero(reference, bins):
    assert drift.psi(drift.histogram(reference, bins), reference) == pytest.approx(0, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=50), min_size=2, max_size=10).filter(lambda c: sum(c) > 0))
def test_empty_bins_are_floored_at_epsilon_and_stay_finite(counts):
    edges = list(range(len(counts) + 1))
    reference = {"edges": edges, "counts": counts}
    observed = [0.5] * 10                                   # everything in the first bin, others empty
    value = drift.psi(reference, observed)
    assert value >= 0 and value < len(counts) * 10          # bounded by ln(1/EPSILON) per bin


def test_a_shifted_distribution_passes_the_rule_of_thumb():
    reference = drift.histogram([i / 100 for i in range(100)], 10)
    assert drift.psi(reference, [i / 100 for i in range(100)]) < 0.01
    assert drift.psi(reference, [0.5 + i / 200 for i in range(100)]) > 0.2


@pytest.mark.parametrize("reference, observed", [
    ({"edges": [0, 1], "counts": [0]}, [0.5]),
    ({"edges": [0, 1, 2], "counts": [1]}, [0.5]),
    ({"edges": [1, 0], "counts": [1]}, [0.5]),
    ({"edges": [0, 1], "counts": [1]}, []),
])
def test_empty_or_malformed_sides_are_refused(reference, observed):
    with pytest.raises(ValueError):
        drift.psi(reference, observed)


def capture_line(output: str, content_type: str = "text/csv", encoding: str = "CSV") -> str:
    """One SageMaker data-capture record (JSON Lines), as the endpoint writes it."""
    return json.dumps({
        "captureData": {
            "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": "1,2,3", "encoding": "CSV"},
            "endpointOutput": {"observedContentType": content_type, "mode": "OUTPUT", "data": output, "encoding": encoding},
        },
        "eventMetadata": {"eventId": "e", "inferenceTime": "2024-09-02T10:00:00Z"},
        "eventVersion": "0",
    })


def test_predictions_are_read_from_captured_jsonl_in_s3():
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(Bucket="hub", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        prefix = "capture/333333333333/ep/AllTraffic/2024/09/02/"
        s3.put_object(Bucket="hub", Key=prefix + "10/a.jsonl", Body="\n".join([
            capture_line("0.1"), capture_line("0.2\n0.3"), "{not json",
            capture_line(base64.b64encode(b"0.4").decode(), encoding="BASE64"),
        ]))
        s3.put_object(Bucket="hub", Key=prefix + "11/b.jsonl",
                      Body=capture_line(json.dumps({"predictions": [0.5, 0.6]}), "application/json", "JSON"))
        values, last = drift.captured_predictions(s3, "hub", prefix)
        assert values == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6] and last == prefix + "11/b.jsonl"
        assert drift.captured_predictions(s3, "hub", prefix, start_after=prefix + "10/a.jsonl")[0] == [0.5, 0.6]
        assert drift.psi(drift.histogram(values, 5), values) == pytest.approx(0, abs=1e-12)
