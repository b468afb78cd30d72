"""Leniency on ordered scales (ordinal, interval, ratio): how far a labeler's judgments sit toward the better end of
the scale compared with the other labelers of the same items.

This is the rater-severity facet of the many-facet Rasch model (Linacre 1989, *Many-facet Rasch measurement*),
approximated by a paired, item-anchored estimate rather than a fitted IRT model: per judgment the difference
``d = s (x - m)`` between the labeler's value ``x`` and the leave-one-out mean ``m`` of the other eligible labelers'
values on the same item (:func:`evalaudit.labelers.reference.loo_mean`; a honeypot's known answer instead), with
``s = +1`` when ``[labels] positive = "high"`` (or unset) and ``-1`` when it is ``"low"``. Item difficulty cancels
in the difference, as the item facet does in the Rasch model. Per labeler × failure mode: the mean of ``d`` (the
effect, in the scale's units at the interval/ratio level and in category steps at the ordinal level), a
one-sample t interval and two-sided t-test p-value (Student; scipy.stats.t). An honest labeler with additive noise
has expected ``d`` zero however accurate they are.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from evalaudit.labelers import reference
from evalaudit.labelers.evidence import evidence_table

METHOD = ("overlap: mean paired shift toward the better end of the scale vs the leave-one-out mean of the other "
          "labelers on the same items (one-sample t; the rater-severity facet of many-facet Rasch measurement, "
          "Linacre 1989, approximated by item-anchored differences)")


def direction(positive: str | None) -> float:
    """+1 when higher values are better (``positive = "high"`` or unset), -1 when lower are."""
    return -1.0 if positive == "low" else 1.0


def differences(J, positive: str | None, exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per judgment: the signed shift ``s (x - m)`` toward the better end, and whether it is defined."""
    m, has = reference.loo_mean(J, exclude)
    return np.where(has, direction(positive) * (J.value - np.nan_to_num(m)), 0.0), has


def evidence(J, positive: str | None, min_items: int, confidence: float, lab_names: np.ndarray,
             fm_names: np.ndarray, exclude: np.ndarray | None = None):
    """Leniency rows (evidence ``overlap``) from the paired shifts, labeler × failure modes with >= ``min_items``
    compared items."""
    d, has = differences(J, positive, exclude)
    w = has.astype(float)
    W = J.n_workers
    n = np.bincount(J.worker, weights=w, minlength=W)
    s1 = np.bincount(J.worker, weights=d * w, minlength=W)
    s2 = np.bincount(J.worker, weights=d * d * w, minlength=W)
    own = np.bincount(J.worker, weights=J.value * w, minlength=W)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / n
        var = np.maximum(s2 - n * mean**2, 0.0) / (n - 1)
        se = np.sqrt(var / n)
        df = np.maximum(n - 1, 1)
        tcrit = stats.t.isf((1 - confidence) / 2, df)
        tstat = np.where(se > 0, mean / se, np.where(mean == 0, 0.0, np.inf))
        p = 2 * stats.t.sf(np.abs(tstat), df)
        rate = own / n
    keep = n >= max(min_items, 2)
    return evidence_table(lab_names[J.worker_labeler][keep], fm_names[J.worker_fm][keep], "overlap", mean[keep],
                          (mean - tcrit * se)[keep], (mean + tcrit * se)[keep], p[keep], n[keep], rate[keep],
                          (rate - direction(positive) * mean)[keep], METHOD)


def scale_range(J) -> float:
    """The width of the scale (largest minus smallest label value; 1 when degenerate): severity thresholds for
    ordered labels are shares of it."""
    if J.scale is None or len(J.scale) < 2:
        return 1.0
    width = float(np.max(J.scale) - np.min(J.scale))
    return width if width > 0 else 1.0
