"""The statistics that judge a batch against the store's own history (docs/contracts.md, "Relative checks").

Plain functions on counts and arrays — they know nothing of configuration, expectations or the run — so each can be
pinned to a reference implementation or a published example in the tests:

- :func:`wilson`, :func:`newcombe` (Newcombe 1998, method 10, for a difference of two proportions) and
  :func:`clopper_pearson`: the intervals of proportions, from :mod:`evalaudit.intervals` (their one home).
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
from evalaudit.intervals import clopper_pearson, newcombe, wilson

__all__ = ["AlphaEstimate", "alpha_drop", "alpha_with_se", "clopper_pearson", "honeypot_lower",
           "newcombe", "welch", "wilson"]


def honeypot_lower(k_batch: ArrayLike, n_batch: ArrayLike, k_ref: ArrayLike, n_ref: ArrayLike) -> np.ndarray:
    """One-sided p-values of Fisher's exact test (Fisher 1935) that the batch's honeypot accuracy k_batch/n_batch
    is lower than the reference's k_ref/n_ref, elementwise: with the margins of the 2×2 table (correct/wrong ×
    batch/history) fixed, the batch's correct count is hypergeometric, and p = P(X <= k_batch) — what
    ``scipy.stats.fisher_exact(table, alternative="less")`` returns (checked in the tests), for thousands of
    labelers at once."""
    kb, nb, kr, nr = (np.asarray(x, dtype=np.int64) for x in (k_batch, n_batch, k_ref, n_ref))
    return np.asarray(stats.hypergeom.cdf(kb, nb + nr, kb + kr, nb), dtype=float)


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
