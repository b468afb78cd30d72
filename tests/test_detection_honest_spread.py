"""The honest spread of labelers (evalaudit.labelers.honest_spread): the variance components are recovered from
data drawn from the model, the conditional test is the multivariate normal's conditional distribution, honest rows
get uniform p-values, a biased row is found, and neither a biased row nor a labeler biased everywhere is excused by
its own level."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from evalaudit.labelers import honest_spread


def _draw(rng, n_lab=300, k=4, tau_u=0.015, tau_v=0.005, se_range=(0.01, 0.03)):
    group = np.repeat(np.arange(n_lab), k)
    se = rng.uniform(*se_range, n_lab)[group]  # a labeler's rows share a size, as a labeler's share does
    x = rng.normal(0, tau_u, n_lab)[group] + rng.normal(0, tau_v, len(group)) + rng.normal(0, se)
    return x, se, group


def test_components_recover_the_spread():
    rng = np.random.default_rng(1)
    tu, tv = [], []
    for _ in range(20):
        x, se, g = _draw(rng)
        a, b = honest_spread.components(x, se, g)
        tu.append(np.sqrt(a))
        tv.append(np.sqrt(b))
    assert abs(np.median(tu) - 0.015) < 0.003
    assert np.median(tv) < 0.009  # 0.005 under standard errors of 0.01-0.03: estimated, noisily, near it


def test_no_spread_is_the_theoretical_null():
    rng = np.random.default_rng(2)
    x, se, g = _draw(rng, tau_u=0.0, tau_v=0.0)
    r = honest_spread.test(x, se, g, tau=(0.0, 0.0))
    np.testing.assert_allclose(r["p"], 2 * stats.norm.sf(np.abs(x / se)))
    np.testing.assert_allclose(r["effect"], x)


def test_conditional_is_the_multivariate_normal_conditional():
    rng = np.random.default_rng(3)
    tu2, tv2 = 0.015**2, 0.006**2
    x = rng.normal(0, 0.02, 5)
    se = rng.uniform(0.01, 0.03, 5)
    g = np.zeros(5, dtype=np.int64)
    z, m, V = honest_spread.conditional_z(x, se, g, np.ones(5, bool), tu2, tv2)
    cov = tu2 + np.diag(tv2 + se**2)
    for i in range(5):
        o = [j for j in range(5) if j != i]
        w = cov[i, o] @ np.linalg.inv(cov[np.ix_(o, o)])
        assert m[i] == pytest.approx(w @ x[o], rel=1e-9)
        assert V[i] == pytest.approx(cov[i, i] - w @ cov[o, i], rel=1e-9)
        assert z[i] == pytest.approx((x[i] - m[i]) / np.sqrt(V[i]), rel=1e-9)


def test_honest_rows_are_uniform_and_a_biased_row_is_found():
    rng = np.random.default_rng(4)
    p_all, found = [], 0
    for _ in range(10):
        x, se, g = _draw(rng)
        x[0] += 0.12  # labeler 0 biased on one failure mode
        r = honest_spread.test(x, se, g)
        p_all.append(r["p"][4:])
        found += r["p"][0] < 0.05 / len(x)
        # its other rows are not pushed the other way by the biased one (it is nobody's reference)
        assert np.all(r["p"][1:4] > 0.01)
    assert stats.kstest(np.concatenate(p_all), "uniform").pvalue > 0.001
    assert found >= 6


def test_a_labeler_biased_everywhere_is_not_excused_by_its_own_level():
    rng = np.random.default_rng(5)
    x, se, g = _draw(rng, se_range=(0.005, 0.01))
    x[:4] += 0.08  # labeler 0 biased on every failure mode
    r = honest_spread.test(x, se, g)
    assert not r["own_reference"][:4].any()
    assert np.all(r["p"][:4] < 1e-3)
    assert r["own_reference"][4:].mean() > 0.9


def test_too_few_rows_keep_the_theoretical_null():
    assert honest_spread.components(np.ones(10), np.ones(10), np.arange(10)) == (0.0, 0.0)


def test_each_labeler_is_judged_against_the_other_labelers_spread():
    """components_without_each is components() on every other labeler's rows (the failure modes' medians from all
    rows, so compared without columns here), exactly below EXACT_WORK and by one Newton step above it; and a
    labeler's own biased row no longer widens the spread it is judged against."""
    rng = np.random.default_rng(6)
    x, se, g = _draw(rng, n_lab=40, tau_u=0.012, tau_v=0.0, se_range=(0.02, 0.03))
    se[:4] = 0.01  # a heavy labeler
    x[0] += 0.06  # biased on one failure mode
    tu, tv = honest_spread.components_without_each(x, se, g)
    for j in range(40):
        ref = honest_spread.components(np.where(g == j, np.nan, x), se, g)
        assert tu[j] == pytest.approx(ref[0], rel=1e-9, abs=1e-15)
        assert tv[j] == pytest.approx(ref[1], rel=1e-9, abs=1e-15)
    assert tv[0] < honest_spread.components(x, se, g)[1]
    old = honest_spread.EXACT_WORK
    try:
        honest_spread.EXACT_WORK = 0
        tu1, tv1 = honest_spread.components_without_each(x, se, g)
    finally:
        honest_spread.EXACT_WORK = old
    np.testing.assert_allclose(np.sqrt(tu1), np.sqrt(tu), atol=5e-4)
    np.testing.assert_allclose(np.sqrt(tv1), np.sqrt(tv), atol=5e-4)
    # with many labelers the one-step roots are the exact ones to within a hair
    x, se, g = _draw(rng, n_lab=300)
    tu, tv = honest_spread.components_without_each(x, se, g)
    honest_spread.EXACT_WORK = 0
    try:
        tu1, tv1 = honest_spread.components_without_each(x, se, g)
    finally:
        honest_spread.EXACT_WORK = old
    np.testing.assert_allclose(np.sqrt(tu1), np.sqrt(tu), atol=2e-5)
    np.testing.assert_allclose(np.sqrt(tv1), np.sqrt(tv), atol=2e-5)
