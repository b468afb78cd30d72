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
    (labeler × failure mode codes) that serve as nobody's reference.

    The per-item label counts are integers (counted as such: the float counts a weighted count gives, exactly),
    read per label from a label-major float32 copy (float32: exact for counts < 2^24), and a tie's share comes
    from a table of 1/m (the same float32 quotients as dividing per judgment)."""
    K, n = J.n_labels, len(J.item)
    elig = _eligible(J, exclude)
    item, code = J.item, J.code
    # the item × label key in 32 bits when it fits (made for the count alone, not held beside it)
    key = item.astype(np.int32 if J.n_items * K < 2**31 else np.int64)
    key *= K
    key += code
    cnt = np.bincount(key if exclude is None else key[elig], minlength=J.n_items * K).reshape(J.n_items, K)
    del key
    per_label = cnt.T.astype(np.float32)  # (label, item): one label's counts contiguous
    del cnt
    total = per_label[0].copy()  # (float32 sums of whole counts below 2^24: exact)
    for k in range(1, K):
        total += per_label[k]
    own = elig.astype(np.float32)
    n_other = total.astype(np.float64)[item] - own
    del total
    # per label, the other labelers' count of it on the judgment's item
    loo = []
    for k in range(K):
        c = per_label[k][item]
        c -= own * (code == k)
        loo.append(c)
    del per_label
    top = np.zeros(n, dtype=np.float32)
    for c in loo:
        np.maximum(top, c, out=top)
    some = top > 0
    is_top = [(c == top) & some for c in loo]
    del loo, some
    n_top = np.zeros(n, dtype=np.int8 if K < 127 else np.int32)
    for t in is_top:
        n_top += t
    inverse = np.zeros(K + 1, dtype=np.float32)  # 1/m for an m-way tie, 0 for none
    inverse[1:] = 1.0 / np.arange(1, K + 1, dtype=np.float32)
    inv = inverse[n_top]
    del n_top
    shares = [t * inv for t in is_top]
    has = n_other > 0
    if J.truth_code is not None:
        truth = J.truth_code[J.item]
        hp = truth >= 0
        if hp.any():  # known answers are the reference on honeypots
            shares = [np.where(hp, (truth == k).astype(float), s) for k, s in enumerate(shares)]
            has = has | hp
        del truth, hp
    # the share of the judgment's own label (0 for a code outside the labels): the sum over labels of
    # where(code == k, share_k, 0) in float64 is that one term, exactly
    if len(code) and 0 < K <= _CHOOSE_MAX and code.min() >= 0 and code.max() < K:
        agree = np.choose(code, shares).astype(np.float64)
    else:
        agree = np.zeros(n)
        for k in range(K):
            agree += np.where(code == k, shares[k], 0.0)
    return Categorical(has=has, agree=agree, ref_share=shares, n_other=n_other)


#: the most labels :func:`categorical` picks a judgment's own share from with ``np.choose`` (its limit on choices)
_CHOOSE_MAX = 32


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


def mean_consensus(J) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per item: the label code of the consensus, the consensus value, and its standard error.

    The value is the mean of the item's judgments — the least-squares consensus, efficient when labelers' scores
    scatter around the item's true score (on the SNOW 2008 valence scores, tests/fixtures/realdata, it correlates
    0.85 with the expert score where the median reaches 0.73). The label is the one on the scale nearest that mean
    (the lower on a tie), so gold is always a value of the label space. Standard error: the sample standard
    deviation / sqrt(n) (NaN for one judgment). Honeypots keep their answer. Vectorised with bincount."""
    n_item = np.bincount(J.item, minlength=J.n_items)
    has = n_item > 0
    total = np.bincount(J.item, weights=J.value, minlength=J.n_items)
    mean = np.where(has, total / np.maximum(n_item, 1), np.nan)
    sq = np.bincount(J.item, weights=(J.value - np.nan_to_num(mean)[J.item]) ** 2, minlength=J.n_items)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.where(n_item > 1, np.sqrt(sq / np.maximum(n_item - 1, 1)) / np.sqrt(n_item), np.nan)
    scale = np.asarray(J.scale, dtype=float)
    code = np.full(J.n_items, -1, dtype=np.int64)
    if len(scale) and has.any():
        right = np.clip(np.searchsorted(scale, mean[has]), 1, len(scale) - 1) if len(scale) > 1 else np.zeros(
            int(has.sum()), dtype=np.int64)
        left = np.maximum(right - 1, 0)
        nearer_right = np.abs(scale[right] - mean[has]) < np.abs(scale[left] - mean[has])
        code[has] = np.where(nearer_right, right, left)
    if J.truth_code is not None:
        hp = J.truth_code >= 0
        code = np.where(hp, J.truth_code, code)
        mean = np.where(hp, scale[np.maximum(J.truth_code, 0)] if len(scale) else np.nan, mean)
        se = np.where(hp, 0.0, se)
    return code.astype(np.int64), mean, se
