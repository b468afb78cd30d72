"""The statistics that judge a batch against the store's own history (docs/contracts.md, "Relative checks").

Plain functions on counts and arrays — they know nothing of configuration, expectations or the run — so each can be
pinned to a reference implementation or a published example in the tests:

- :func:`wilson` and :func:`newcombe`: the Wilson (1927) score interval of a proportion and Newcombe's (1998,
  method 10) hybrid score interval for a difference of two independent proportions. Hand-written (a few lines)
  because scipy has neither for a difference and statsmodels is not a runtime dependency; tests check them
  against Newcombe's Table II and, where statsmodels is installed (dev), against ``confint_proportions_2indep``.
- :func:`clopper_pearson`: the exact interval of a proportion (Clopper & Pearson 1934), from
  ``scipy.stats.binomtest``.
- :func:`honeypot_lower`: one-sided Fisher exact test (Fisher 1935; ``scipy.stats.fisher_exact``) that a labeler's
  honeypot accuracy in the batch is lower than in the reference history.
- :func:`alpha_drop`: a one-sided z-test on the difference between the batch's Krippendorff's alpha and the
  history's, each with an item-bootstrap standard error (Hayes & Krippendorff 2007 bootstrap the items the same
  way): the batch fails when ``alpha_batch - alpha_history + margin`` is below zero by more than chance, i.e. when
  the one-sided upper confidence bound of the difference lies below ``-margin``.
- :func:`welch`: Welch's (1947) t interval and test on the difference of two means from their moments, for
  the mean label of ordered and numeric label spaces.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from evalaudit.agreement import bootstrap
from evalaudit.agreement import coefficients as coef
from evalaudit.agreement.patterns import Patterns


def _z(confidence: float) -> float:
    """The two-sided normal quantile of ``confidence`` (1.96 for 0.95)."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson(k: ArrayLike, n: ArrayLike, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson's (1927) score interval of k/n, without continuity correction, elementwise; nan where n = 0."""
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    z = _z(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        den = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / den
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def newcombe(k1: ArrayLike, n1: ArrayLike, k2: ArrayLike, n2: ArrayLike, confidence: float = 0.95
             ) -> tuple[np.ndarray, np.ndarray]:
    """Newcombe's (1998) hybrid score interval (method 10) for k1/n1 - k2/n2, elementwise: the Wilson limits of
    each proportion combined in quadrature. Unlike the Wald interval it stays inside [-1, 1] and behaves for rates
    near 0 or 1, which eval labels' positive rates often are."""
    k1, n1, k2, n2 = (np.asarray(x, dtype=float) for x in (k1, n1, k2, n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson(k1, n1, confidence)
    l2, u2 = wilson(k2, n2, confidence)
    d = p1 - p2
    return d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def clopper_pearson(k: ArrayLike, n: ArrayLike, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """The exact (Clopper–Pearson 1934) interval of k/n, elementwise, from the beta quantiles (the interval
    ``scipy.stats.binomtest(k, n).proportion_ci(method="exact")`` gives, checked in the tests); nan where n = 0."""
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    tail = (1 - confidence) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(k > 0, stats.beta.ppf(tail, k, n - k + 1), 0.0)
        hi = np.where(k < n, stats.beta.ppf(1 - tail, k + 1, n - k), 1.0)
    empty = ~(n > 0)
    return np.where(empty, np.nan, lo), np.where(empty, np.nan, hi)


def honeypot_lower(k_batch: ArrayLike, n_batch: ArrayLike, k_ref: ArrayLike, n_ref: ArrayLike) -> np.ndarray:
    """One-sided p-values of Fisher's exact test (Fisher 1935) that the batch's honeypot accuracy k_batch/n_batch
    is lower than the reference's k_ref/n_ref, elementwise: with the margins of the 2×2 table (correct/wrong ×
    batch/history) fixed, the batch's correct count is hypergeometric, and p = P(X <= k_batch) — what
    ``scipy.stats.fisher_exact(table, alternative="less")`` returns (checked in the tests), for thousands of
    labelers at once."""
    kb, nb, kr, nr = (np.asarray(x, dtype=np.int64) for x in (k_batch, n_batch, k_ref, n_ref))
    return np.asarray(stats.hypergeom.cdf(kb, nb + nr, kb + kr, nb), dtype=float)


def bh(p_values: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg (1995) adjusted p-values (``scipy.stats.false_discovery_control``): with many labelers
    in a batch, an honest batch fails no more than the stated share of the time."""
    p = np.asarray(p_values, dtype=float)
    return stats.false_discovery_control(p, method="bh") if p.size else p


@dataclass(frozen=True)
class AlphaEstimate:
    """Krippendorff's alpha of a set of judgments with its item-bootstrap spread."""

    value: float
    se: float
    ci_low: float
    ci_high: float
    n_items: int  # pairable items (two or more labels)
    n_labels: int  # labels on pairable items


def alpha_with_se(patterns: Patterns, delta2: np.ndarray | None, n_resamples: int, confidence: float,
                  rng: np.random.Generator) -> AlphaEstimate | None:
    """Alpha of the pairable items of ``patterns`` and its bootstrap standard error and percentile interval
    (the multinomial-over-patterns item bootstrap of :mod:`evalaudit.agreement.bootstrap`). None without a
    pairable item."""
    pair = patterns.m >= 2
    if not pair.any():
        return None
    counts, items = patterns.counts[pair], patterns.items[pair]
    value = float(coef.alpha(counts, items[None, :].astype(float), delta2)[0])
    draws = coef.alpha(counts, bootstrap.resample_weights(items, n_resamples, rng).astype(float), delta2)
    finite = draws[np.isfinite(draws)]
    se = float(finite.std(ddof=1)) if finite.size > 1 else math.nan
    lo, hi, _ = bootstrap.percentile_interval(draws, confidence)
    return AlphaEstimate(value, se, lo, hi, int(items.sum()), int((items * counts.sum(axis=1)).sum()))


def alpha_drop(batch: AlphaEstimate, history: AlphaEstimate, margin: float) -> tuple[float, float]:
    """(difference alpha_batch - alpha_history, one-sided p-value of H0: difference >= -margin).

    z = (difference + margin) / sqrt(se_batch² + se_history²) (the two estimates come from disjoint judgments,
    so independent); p = Φ(z). A small p says the batch agrees less than its history by more than the margin,
    beyond what the batch's size explains."""
    diff = batch.value - history.value
    se = math.sqrt(np.nan_to_num(batch.se) ** 2 + np.nan_to_num(history.se) ** 2)
    if se == 0:
        return diff, 0.0 if diff + margin < 0 else 1.0
    return diff, float(NormalDist().cdf((diff + margin) / se))


def welch(mean1: ArrayLike, var1: ArrayLike, n1: ArrayLike, mean2: ArrayLike, var2: ArrayLike, n2: ArrayLike,
          confidence: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(low, high, two-sided p) of Welch's (1947) t interval and test for mean1 - mean2, elementwise, from the
    samples' means, variances (ddof 1) and sizes — the interval scipy's ``ttest_ind(equal_var=False)
    .confidence_interval`` gives (checked in the tests), without the raw samples."""
    m1, v1, n1, m2, v2, n2 = (np.asarray(x, dtype=float) for x in (mean1, var1, n1, mean2, var2, n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        a, b = v1 / n1, v2 / n2
        se = np.sqrt(a + b)
        dof = (a + b) ** 2 / (a * a / (n1 - 1) + b * b / (n2 - 1))
        d = m1 - m2
        t = d / se
    dof = np.where(np.isfinite(dof) & (dof > 0), dof, 1.0)
    q = stats.t.ppf(0.5 + confidence / 2, dof)
    p = 2 * stats.t.sf(np.abs(t), dof)
    degenerate = ~(se > 0)  # no spread on either side: the difference is exact
    p = np.where(degenerate, np.where(d != 0, 0.0, 1.0), p)
    return np.where(degenerate, d, d - q * se), np.where(degenerate, d, d + q * se), p
