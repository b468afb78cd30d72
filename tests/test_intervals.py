"""The intervals of proportions (evalaudit.intervals), the one home the stages and the batch checks share: Wilson
bit for bit scipy's binomtest Wilson, vectorised; Newcombe's difference interval against statsmodels and mirrored
when its sides swap; Clopper–Pearson against scipy's exact interval; contracts.compare re-exports the same
functions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest
from statsmodels.stats.proportion import confint_proportions_2indep

from evalaudit import intervals
from evalaudit.contracts import compare

CONFIDENCES = st.sampled_from([0.8, 0.9, 0.95, 0.99])


@st.composite
def proportions(draw, max_n: int = 10**7):
    n = draw(st.integers(1, max_n))
    k = draw(st.one_of(st.just(0), st.just(n), st.integers(0, n)))
    return k, n


@settings(max_examples=300, deadline=None)
@given(proportions(), CONFIDENCES)
def test_wilson_is_scipys_binomtest_wilson_bit_for_bit(kn, confidence):
    k, n = kn
    ref = binomtest(k, n).proportion_ci(confidence, method="wilson")
    lo, hi = intervals.wilson(k, n, confidence)
    assert (float(lo), float(hi)) == (ref.low, ref.high)


@settings(max_examples=40, deadline=None)
@given(st.lists(proportions(5000), min_size=1, max_size=30), CONFIDENCES)
def test_wilson_on_arrays_is_wilson_of_each_element(kns, confidence):
    k, n = (np.array(x) for x in zip(*kns, strict=True))
    lo, hi = intervals.wilson(k, n, confidence)
    for i, (ki, ni) in enumerate(kns):
        assert (lo[i], hi[i]) == tuple(float(x) for x in intervals.wilson(ki, ni, confidence))
        assert 0.0 <= lo[i] <= ki / ni <= hi[i] <= 1.0


def test_empty_proportions_have_no_interval():
    for fn in (intervals.wilson, intervals.clopper_pearson):
        lo, hi = fn([0, 3], [0, 10])
        assert math.isnan(lo[0]) and math.isnan(hi[0]) and 0 < lo[1] < 0.3 < hi[1] < 1


@pytest.mark.parametrize("x1, n1, x2, n2", [(5, 100, 20, 100), (0, 50, 7, 300), (40, 40, 10, 12), (3, 9, 3, 9)])
def test_newcombe_matches_statsmodels(x1, n1, x2, n2):
    lo, hi = intervals.newcombe(x1, n1, x2, n2)
    ref_lo, ref_hi = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")
    assert (float(lo), float(hi)) == (pytest.approx(ref_lo, abs=1e-12), pytest.approx(ref_hi, abs=1e-12))


@settings(max_examples=100, deadline=None)
@given(proportions(10**6), proportions(10**6), CONFIDENCES)
def test_newcombe_mirrors_when_the_sides_swap(a, b, confidence):
    lo, hi = intervals.newcombe(*a, *b, confidence)
    lo_swapped, hi_swapped = intervals.newcombe(*b, *a, confidence)
    assert (float(lo), float(hi)) == (-float(hi_swapped), -float(lo_swapped))
    assert -1.0 <= lo <= a[0] / a[1] - b[0] / b[1] <= hi <= 1.0


@settings(max_examples=40, deadline=None)
@given(proportions(2000), CONFIDENCES)
def test_clopper_pearson_is_scipys_exact_interval(kn, confidence):
    k, n = kn
    ref = binomtest(k, n).proportion_ci(confidence, method="exact")
    lo, hi = intervals.clopper_pearson(k, n, confidence)
    assert (float(lo), float(hi)) == (pytest.approx(ref.low, abs=1e-9), pytest.approx(ref.high, abs=1e-9))


def test_the_batch_checks_use_the_same_functions():
    assert (compare.wilson, compare.newcombe, compare.clopper_pearson) == (
        intervals.wilson, intervals.newcombe, intervals.clopper_pearson)
