"""Prediction drift: PSI's properties (hypothesis), the reference histogram, and PSI on synthetic shifted scores."""
from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from governance.contract import drift_reference
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


def synthetic(shift: float, n: int = 2000, seed: int = 7) -> list[float]:
    """Scores of a classifier: a Beta(2, 5) sample moved by `shift` (clipped to [0, 1])."""
    rng = random.Random(seed)
    return [min(1.0, max(0.0, rng.betavariate(2, 5) + shift)) for _ in range(n)]


def test_a_reference_on_deciles_tells_a_shifted_sample_from_a_fresh_unshifted_one():
    reference = drift.reference_histogram(synthetic(0.0))
    assert len(reference["counts"]) == drift.REFERENCE_BINS and sum(reference["counts"]) == 2000
    unshifted, shifted = drift.psi(reference, synthetic(0.0, seed=8)), drift.psi(reference, synthetic(0.1, seed=8))
    assert unshifted < 0.1 < 0.2 < shifted


@settings(max_examples=200, deadline=None)
@given(values, st.integers(min_value=1, max_value=20))
def test_a_reference_is_always_a_valid_histogram_with_zero_psi_against_its_own_values(data, bins):
    reference = drift.reference_histogram(data, bins)
    assert drift_reference(reference) == reference and sum(reference["counts"]) == len(data)
    assert drift.psi(reference, data) == pytest.approx(0, abs=1e-12)


def test_a_constant_output_gets_one_bin():
    assert drift.reference_histogram([0.7] * 50) == {"edges": [0.7, 1.7], "counts": [50]}


def test_a_range_too_narrow_to_split_still_gives_a_valid_histogram():
    reference = drift.histogram([-1e6, -999999.9999999999], 2)
    assert all(b > a for a, b in zip(reference["edges"], reference["edges"][1:]))
    assert drift.psi(reference, [0.0]) >= 0
