"""The truth-free detection limit of benchmarks/bench_detection.py (docs/labelers.md, "Power against the limit"):
its null p-values by importance sampling agree with direct simulation of the null, and where the design reduces it to
a known test (single-label items, no honeypots: the count of pass answers, a binomial with known rate) its power is
that test's power."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from benchmarks import bench_detection as bd
from evalaudit.labelers import simulate


def _tables(overlap: float, honeypots: float, seed: int = 3, effect: float = 0.05) -> tuple[dict, simulate.Scenario]:
    sc = simulate.Scenario(n_items=8_000, n_labelers=20, overlap=overlap, honeypot_share=honeypots, seed=seed,
                           heavy_weight=3.0, faults=[simulate.Fault("labeler_leniency", 0, 0, effect)])
    return simulate.generate(sc, with_truth=True)[0], sc


@pytest.mark.parametrize("overlap,honeypots", [(0.3, 0.05), (0.0, 0.0)])
def test_importance_sampled_tail_matches_the_null_simulated_directly(overlap, honeypots):
    tables, sc = _tables(overlap, honeypots)
    draw = bd.likelihood_ratio_draws(tables, 0.04, sc.base_rate, np.random.default_rng(0))
    alt, null = draw(10_000, True), np.sort(draw(100_000, False))
    p_is = bd.null_tail(alt)
    p_direct = (len(null) - np.searchsorted(null, alt, side="left")) / len(null)
    # compare in the tail that decides detection, where the direct estimate has a few hundred null draws behind it
    # (in the null's bulk, far from the alternative, importance sampling has few draws and is not used)
    ok = (p_direct > 2e-3) & (p_direct < 0.2)
    assert ok.sum() > 300
    np.testing.assert_allclose(p_is[ok], p_direct[ok], rtol=0.15, atol=1e-3)


def test_single_label_items_reduce_to_the_binomial_test():
    tables, sc = _tables(0.0, 0.0)
    lt = tables["labeler_truth"]
    se, sp = lt["sensitivity"][0].as_py(), lt["specificity"][0].as_py()
    lab = tables["labels"]
    n = sum(1 for w, f in zip(lab["labeler_id"].to_pylist(), lab["failure_mode"].to_pylist(), strict=True)
            if (w, f) == ("L000", "fm0"))
    effect, n_tests = 0.06, 80
    p0 = sc.base_rate * se + (1 - sc.base_rate) * (1 - sp)
    rng = np.random.default_rng(1)
    limit = bd.truth_free_limit(tables, effect, sc.base_rate, n_tests, rng, reps=20_000)
    # the same power from the exact binomial test of the pass count (the likelihood ratio is monotone in it)
    x = np.random.default_rng(2).binomial(n, p0 + effect, 20_000)
    exact = bd.bh_power(stats.binom.sf(x - 1, n, p0), n_tests, np.random.default_rng(3))
    assert 0.05 < exact < 0.95  # a design where the comparison means something
    assert limit == pytest.approx(exact, abs=0.03)


def test_the_limit_grows_with_the_effect_and_is_a_probability():
    tables, sc = _tables(0.3, 0.03)
    powers = [bd.truth_free_limit(tables, e, sc.base_rate, 80, np.random.default_rng(4), reps=4_000)
              for e in (0.02, 0.06, 0.15)]
    assert all(0.0 <= x <= 1.0 for x in powers)
    assert powers[0] < powers[1] < powers[2]
    assert powers[2] > 0.9
