"""Prediction drift: the Population Stability Index of an endpoint's captured predictions against a reference.

The reference is a histogram (`{"edges": [...], "counts": [...]}`, `len(edges) == len(counts) + 1`) of the
predictions recorded at test: the test reporter bins the first window of its endpoint's capture with at least
`MIN_REFERENCE_PREDICTIONS` predictions on decile edges (`reference_histogram`), publishes it and reports it;
the hub records it on the version's test record. The observed values are read from SageMaker's data-capture
JSON Lines (`serving.capture`) and binned on the same edges, values outside them counting in the first or last bin.

PSI = Σ (o - r) · ln(o / r) over bins, with o and r the observed and reference shares. A bin empty on
either side would make the logarithm undefined, so every share is floored at `EPSILON` first; PSI is
then ≥ 0 and exactly 0 for identical distributions.
"""
from __future__ import annotations

import base64
import csv
import io
import json
import math
from typing import Any, Iterable, Iterator, Mapping, Sequence

from governance.contract import PREDICTION_PSI_METRIC

EPSILON = 1e-4
"""The floor of a bin's share: an empty bin counts as 0.01 % (the common choice; it caps one bin's PSI term)."""
METRIC = PREDICTION_PSI_METRIC
MIN_REFERENCE_PREDICTIONS = 100
"""Predictions a test window needs before they become a version's reference: fewer would make every bin noise."""
REFERENCE_BINS = 10


def _shares(counts: Sequence[float]) -> list[float]:
    total = float(sum(counts))
    if total <= 0:
        raise ValueError("a distribution needs at least one value")
    return [max(c / total, EPSILON) for c in counts]


def bin_counts(edges: Sequence[float], values: Iterable[float]) -> list[int]:
    """Counts of `values` in the bins between `edges` (ascending); outliers land in the first or last bin."""
    counts = [0] * (len(edges) - 1)
    for v in values:
        i = 0
        while i < len(counts) - 1 and v >= edges[i + 1]:
            i += 1
        counts[i] += 1
    return counts


def psi(reference_bins: Mapping[str, Sequence[float]], observed_values: Iterable[float]) -> float:
    """PSI of `observed_values` against a reference histogram; ValueError if either side is empty or malformed."""
    edges, ref = list(reference_bins["edges"]), list(reference_bins["counts"])
    if len(ref) < 1 or len(edges) != len(ref) + 1 or any(b <= a for a, b in zip(edges, edges[1:])):
        raise ValueError("a reference histogram needs ascending edges, one more than its counts")
    values = [float(v) for v in observed_values if math.isfinite(float(v))]
    r, o = _shares(ref), _shares(bin_counts(edges, values))
    return max(0.0, sum((oi - ri) * math.log(oi / ri) for oi, ri in zip(o, r)))


def histogram(values: Iterable[float], bins: int = 10) -> dict[str, list[float]]:
    """A reference histogram of `values` on `bins` equal-width bins over their range."""
    data = sorted(float(v) for v in values if math.isfinite(float(v)))
    if not data:
        raise ValueError("a histogram needs at least one value")
    low, high = data[0], data[-1]
    if high == low:
        high = low + 1.0
    # A range narrower than floating point can split gives repeated edges: they merge (fewer, wider bins).
    edges = sorted({low + (high - low) * i / bins for i in range(bins + 1)} | {high})
    if len(edges) < 2:
        edges = [low, low + 1.0]
    return {"edges": edges, "counts": bin_counts(edges, data)}


def reference_histogram(values: Iterable[float], bins: int = REFERENCE_BINS) -> dict[str, list[float]]:
    """A reference on quantile edges (deciles by default), so each bin holds about the same share at test and
    PSI weighs shifts evenly; repeated quantiles merge, a constant output gets one bin."""
    data = sorted(float(v) for v in values if math.isfinite(float(v)))
    if not data:
        raise ValueError("a reference needs at least one value")
    quantiles = [data[min(len(data) - 1, (len(data) * i) // bins)] for i in range(1, bins)]
    edges = sorted({data[0], *quantiles, data[-1]})
    if len(edges) < 2:
        edges = [data[0], data[0] + 1.0]
    return {"edges": edges, "counts": bin_counts(edges, data)}


def predictions(record: Mapping[str, Any]) -> list[float]:
    """The numbers of one data-capture record's endpoint output (CSV or JSON, as captured, maybe base64)."""
    output = ((record.get("captureData") or {}).get("endpointOutput")) or {}
    text = output.get("data") or ""
    if output.get("encoding") == "BASE64":
        text = base64.b64decode(text).decode("utf-8", "replace")
    if "json" in str(output.get("observedContentType", "")).lower():
        return list(_numbers(json.loads(text)))
    return [float(x) for row in csv.reader(io.StringIO(text)) for x in row if _is_number(x)]


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _numbers(value: Any) -> Iterator[float]:
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)) and math.isfinite(value):
        yield float(value)
    elif isinstance(value, list):
        for v in value:
            yield from _numbers(v)
    elif isinstance(value, Mapping):
        for key in ("predictions", "prediction", "score", "scores"):
            if key in value:
                yield from _numbers(value[key])
                return
