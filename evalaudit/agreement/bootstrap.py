"""Item-bootstrap confidence intervals from pattern multiplicities.

An item bootstrap draws N items with replacement from a slice's N items. Items with the same label-count
pattern are interchangeable, so one resample is fully described by how many items it takes of each pattern,
and that vector is Multinomial(N, f / N) where f are the pattern multiplicities - exactly the item bootstrap
of Efron & Tibshirani (1993, ch. 6), drawn in O(patterns) instead of O(items). Every count-based coefficient
is then evaluated on all B resamples at once (:mod:`evalaudit.agreement.coefficients`).

Intervals are percentile intervals (Efron & Tibshirani 1993, §13.3) of the finite resample values; resamples
in which a coefficient is undefined (no pairable item drawn) are dropped and counted.

Why not scipy.stats.bootstrap: it resamples the raw observations (the items), which is what we avoid, and its
BCa jackknife needs one evaluation per item; the multinomial-over-patterns draw gives the same distribution at
a cost independent of the number of items.
"""

from __future__ import annotations

import zlib

import numpy as np

METHOD = "item-bootstrap percentile"


def rng_for(seed: int, *names: str) -> np.random.Generator:
    """A generator seeded by the run seed and a slice's name, so a slice's interval does not depend on which
    other slices exist or in which order they are computed."""
    key = [zlib.crc32("\x1f".join(names).encode("utf-8"))]
    return np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, *key]))


def resample_weights(items: np.ndarray, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """(n_resamples, P) multinomial draws of how many items each pattern contributes to a resample."""
    items = np.asarray(items, dtype=np.int64)
    total = int(items.sum())
    if total == 0:
        return np.zeros((n_resamples, len(items)), dtype=np.int64)
    return rng.multinomial(total, items / total, size=n_resamples)


def percentile_interval(values: np.ndarray, confidence: float) -> tuple[float, float, int]:
    """(low, high, number of finite resamples)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return float("nan"), float("nan"), 0
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(finite, [tail, 1.0 - tail])
    return float(low), float(high), int(finite.size)
