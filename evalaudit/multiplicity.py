"""Corrections for many tests at once: the one Benjamini–Hochberg of the audit and of the batch checks.

A run tests every labeler against every failure mode (and every label), and a batch check tests every labeler in
the batch; without a correction the tails of honest variation would be reported as findings. Both layers import
this module, so the two agree on what a q-value is, including for a test that could not be made (a NaN p-value).
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def bh(p_values) -> np.ndarray:
    """Benjamini–Hochberg (1995) adjusted p-values (q-values) through ``scipy.stats.false_discovery_control``.

    NaN p-values (a test that could not be made) stay NaN and do not count towards the number of tests, so an
    untestable row neither earns a q-value nor dilutes the others'."""
    p = np.asarray(p_values, dtype=float)
    q = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        q[ok] = stats.false_discovery_control(np.clip(p[ok], 0.0, 1.0), method="bh")
    return q
