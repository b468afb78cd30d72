"""What the other labelers said about the same item: the leave-one-out reference every per-judgment comparison of
the labelers stage uses when it needs "the peers" rather than one peer.

- Categorical labels (binary, nominal): the *leave-one-out consensus* of a judgment is the most frequent label among
  the other eligible labelers' judgments of the same item; when several labels tie for most frequent, each counts
  for an equal share (so a tie neither confirms nor refutes the judgment wholesale). On a honeypot item the known
  answer is the reference instead.
- Ordered labels (ordinal, interval, ratio): the leave-one-out *mean* of the other eligible labelers' values (the
  category step at the ordinal level), or the known answer's value on a honeypot.

"Eligible": labelers found to be spammers or biased in a first pass never serve as anyone's reference (they are
still compared with the others). Vectorised: per-item label counts (or value sums) once, minus the judgment's own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Categorical:
    """Per judgment: whether it has a reference, the share of the reference that agrees with it (1, 0, or 1/m for
    an m-way tie that includes it), and the reference's share of each label (``ref_share[k]``, arrays of length
    N, summing to ``has``)."""

    has: np.ndarray
    agree: np.ndarray
    ref_share: list[np.ndarray]
    n_other: np.ndarray


def _eligible(J, exclude: np.ndarray | None) -> np.ndarray:
    return np.ones(len(J.item), dtype=bool) if exclude is None else ~exclude[J.worker]


def categorical(J, exclude: np.ndarray | None = None) -> Categorical:
    """The leave-one-out consensus label of every judgment (see the module docstring); ``exclude`` marks workers
    (labeler × failure mode codes) that serve as nobody's reference."""
    K, n = J.n_labels, len(J.item)
    elig = _eligible(J, exclude)
    item = J.item.astype(np.int64)
    cnt = np.bincount(item * K + J.code, weights=elig, minlength=J.n_items * K).reshape(J.n_items, K)
    own = elig.astype(np.float32)
    n_other = cnt.sum(axis=1)[item] - own
    # per label, the other labelers' count of it on the judgment's item (float32: exact for counts < 2^24)
    loo = [cnt[item, k].astype(np.float32) - own * (J.code == k) for k in range(K)]
    top = np.zeros(n, dtype=np.float32)
    for c in loo:
        np.maximum(top, c, out=top)
    is_top = [(c == top) & (top > 0) for c in loo]
    del loo
    n_top = np.zeros(n, dtype=np.float32)
    for t in is_top:
        n_top += t
    with np.errstate(invalid="ignore", divide="ignore"):
        inv = np.where(n_top > 0, 1.0 / n_top, 0.0)
    shares = [t * inv for t in is_top]
    has = n_other > 0
    truth = J.truth_code[J.item] if J.truth_code is not None else np.full(n, -1)
    hp = truth >= 0
    if hp.any():  # known answers are the reference on honeypots
        shares = [np.where(hp, (truth == k).astype(float), s) for k, s in enumerate(shares)]
        has = has | hp
    agree = np.zeros(n)
    for k in range(K):
        agree += np.where(J.code == k, shares[k], 0.0)
    return Categorical(has=has, agree=agree, ref_share=shares, n_other=n_other)


def loo_mean(J, exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per judgment: the mean value of the other eligible labelers' judgments of the item (the honeypot answer's
    value on a honeypot), and whether there is one."""
    elig = _eligible(J, exclude).astype(float)
    s = np.bincount(J.item, weights=J.value * elig, minlength=J.n_items)
    c = np.bincount(J.item, weights=elig, minlength=J.n_items)
    n_other = c[J.item] - elig
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n_other > 0, (s[J.item] - J.value * elig) / n_other, np.nan)
    if J.truth_code is not None:
        truth = J.truth_code[J.item]
        hp = truth >= 0
        if hp.any():
            mean = np.where(hp, J.scale[np.maximum(truth, 0)], mean)
    return mean, np.isfinite(mean)


def median_consensus(J) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per item: the median judgment's label code, the median value, and its standard error.

    The median of the item's values; with an even number of judgments, of the two middle judgments the one nearer
    the item's mean (the lower one on a tie), so the consensus is always a label someone gave. Standard error:
    ``1.2533 * 1.4826 * MAD / sqrt(n)`` (the asymptotic standard error of a median of normal data, with the
    normal-consistent median absolute deviation as the spread; NaN for one judgment). Honeypots keep their answer.
    Vectorised with one sort of (item, value)."""
    order = np.lexsort((J.value, J.item))
    it, val, code = J.item[order], J.value[order], J.code[order]
    n_item = np.bincount(it, minlength=J.n_items)
    start = np.concatenate([[0], np.cumsum(n_item)[:-1]])
    has = n_item > 0
    lo = start + np.maximum(n_item - 1, 0) // 2
    hi = start + n_item // 2
    lo, hi = np.where(has, lo, 0), np.where(has, hi, 0)
    mean = np.bincount(it, weights=val, minlength=J.n_items) / np.maximum(n_item, 1)
    pick = np.where(np.abs(val[hi] - mean) < np.abs(val[lo] - mean), hi, lo) if len(val) else lo
    med_code = np.where(has, code[pick] if len(code) else 0, -1)
    med = np.where(has, (val[lo] + val[hi]) / 2 if len(val) else 0.0, np.nan)
    dev = np.abs(val - med[it]) if len(val) else val
    # median absolute deviation per item: the same middle-position trick on the sorted deviations
    o2 = np.lexsort((dev, it))
    d2 = dev[o2]
    mad = np.where(has, (d2[lo] + d2[hi]) / 2 if len(d2) else 0.0, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.where(n_item > 1, 1.2533 * 1.4826 * mad / np.sqrt(n_item), np.nan)
    if J.truth_code is not None:
        hp = J.truth_code >= 0
        med_code = np.where(hp, J.truth_code, med_code)
        med = np.where(hp, J.scale[np.maximum(J.truth_code, 0)], med)
        se = np.where(hp, 0.0, se)
    return med_code.astype(np.int64), med, se
