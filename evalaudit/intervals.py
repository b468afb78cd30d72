"""Confidence intervals of proportions, elementwise over arrays of counts — the one home of each, read by the run's
stages (coverage, judges, the labelers' honeypot evidence, the report's seed chart) and by the batch checks
(:mod:`evalaudit.contracts.compare` re-exports them), so a stage needs no part of the contracts package.

- :func:`wilson`: Wilson's (1927) score interval of k/n, without continuity correction — the arithmetic of
  ``scipy.stats.binomtest(k, n).proportion_ci(method="wilson")`` (Newcombe 1998's formulas, the same bits; checked
  in the tests), vectorised, since scipy's is one proportion per call.
- :func:`newcombe`: Newcombe's (1998, Stat Med 17:873, method 10) hybrid score interval of a difference of two
  independent proportions, k1/n1 - k2/n2, from the two Wilson intervals. scipy has no interval for a difference and
  statsmodels is not a runtime dependency; the tests check it against Newcombe's Table II and statsmodels'
  ``confint_proportions_2indep(method="newcomb")``.
- :func:`clopper_pearson`: the exact interval of k/n (Clopper & Pearson 1934), from the beta quantiles.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats
from scipy.special import ndtri


def wilson(k: ArrayLike, n: ArrayLike, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson's (1927) score interval of k/n, without continuity correction, elementwise; nan where n = 0. The
    limits are scipy's ``binomtest(k, n).proportion_ci(confidence, method="wilson")``, operation for operation
    (so bit for bit): 0 when k = 0 and 1 when k = n."""
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    z = ndtri(0.5 + 0.5 * confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        denom = 2 * (n + z**2)
        center = (2 * n * p + z**2) / denom
        q = 1 - p
        delta = z / denom * np.sqrt(4 * n * p * q + z**2)
    empty = ~(n > 0)
    lo = np.where(empty, np.nan, np.where(k == 0, 0.0, center - delta))
    hi = np.where(empty, np.nan, np.where(k == n, 1.0, center + delta))
    return lo, hi


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
