"""The consensus (derived gold) of every judged item, on every label space — the ``consensus`` table the items stage
derives gold from.

- Two labels (or a known positive label with more): the binary Dawid–Skene posterior of the reference label
  (:func:`evalaudit.labelers.dawid_skene.fit`); the consensus is the reference label when that posterior is at
  least 1/2, else the other label (on a failure mode with too few informative items for Dawid–Skene, the share of
  the reference label among the item's judgments, an exact tie resolved by the Dawid–Skene posterior).
- Nominal labels, and ordinal labels with at most :data:`MAX_DS_LABELS` categories: multi-class Dawid–Skene
  (:func:`evalaudit.labelers.dawid_skene.fit_multiclass`); the consensus is the label of highest posterior (the
  mode of the posterior over ordered categories, like crowd-kit's DawidSkene). On a failure mode with too few
  informative items the majority label, ties resolved by the Dawid–Skene posterior.
- Numeric labels with more distinct values: the item's mean judgment, as the nearest label on the scale
  (:func:`evalaudit.labelers.reference.mean_consensus`), with its standard error (``consensus_se``) — a confusion
  matrix per labeler over hundreds of values has too little data per cell to estimate.

Every item with judgments thus gets a consensus label; ``tie_resolved`` marks the items whose most frequent labels
tied and which the posterior decided (the summary counts them). ``posterior_consensus`` is the posterior of the
consensus label, ``posterior_listed`` the posterior of the items table's gold label (for the poison score).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from evalaudit.labelers import dawid_skene, reference
from evalaudit.labelers.judgments import item_blocks

#: ordered spaces with more labels than this get the mean instead of a K×K Dawid–Skene model
MAX_DS_LABELS = 20

CONSENSUS_SCHEMA = pa.schema([
    ("item_id", pa.string()), ("failure_mode", pa.string()), ("posterior_positive", pa.float64()),
    ("consensus_label", pa.string()), ("posterior_consensus", pa.float64()), ("posterior_listed", pa.float64()),
    ("consensus_value", pa.float64()), ("consensus_se", pa.float64()), ("tie_resolved", pa.bool_()),
    ("n_labels", pa.int64()), ("method", pa.string()),
])


def method_for(space) -> str:
    """Which consensus a label space gets: "binary" (exactly two unordered labels), "mean" (ordered with more
    than :data:`MAX_DS_LABELS` labels) or "multiclass"."""
    if space.ordered:
        return "mean" if space.n_values > MAX_DS_LABELS else "multiclass"
    return "binary" if space.n_values == 2 else "multiclass"


def binary_model(space) -> bool:
    """Whether the binary Dawid–Skene model (reference label vs the rest) is fitted: two unordered labels, or more
    with a known positive label (its leniency evidence and collusion test read it)."""
    return not space.ordered and (space.n_values == 2 or (space.n_values > 2 and space.positive is not None))


def _nan_array(x: np.ndarray) -> pa.Array:
    """Floats with NaN (and infinities) as nulls; a column of nothing but NaN as nulls without a data buffer."""
    x = np.asarray(x, dtype=float)
    finite = np.isfinite(x)
    if not finite.any():
        return pa.nulls(len(x), pa.float64())
    return pa.array(x, pa.float64(), mask=~finite)


def table(J, labels: tuple[str, ...], fm_names: np.ndarray, use_ds_item: np.ndarray, ds=None, multi=None
          ) -> pa.Table:
    """The consensus table (:data:`CONSENSUS_SCHEMA`), one row per item code. ``ds``: the binary Dawid–Skene
    result (its posterior is of the reference label ``J.reference``), ``multi``: the multi-class one; neither: the
    mean. ``use_ds_item``: per item, its failure mode has enough informative items for Dawid–Skene."""
    K = len(labels)
    n_item = np.bincount(J.item, minlength=J.n_items)
    if ds is not None or multi is not None:  # (the mean needs no item × label counts: K may be thousands)
        counts = _item_label_counts(J, K)
        top = counts.max(axis=1) if K else np.zeros(J.n_items)
        tied = (counts == top[:, None]).sum(axis=1) > 1
        if multi is None:  # (the multi-class majority reads them below)
            del counts, top
    hp = J.truth_code >= 0
    listed = J.listed_code
    post_pos = np.full(J.n_items, np.nan)
    value = np.full(J.n_items, np.nan)
    se = np.full(J.n_items, np.nan)
    if ds is not None:
        ref = J.reference
        other = 1 - ref
        maj = _majority(J)
        # an exact tie in the majority share is resolved by the Dawid–Skene posterior
        maj = np.where(maj == 0.5, ds.posterior, maj)
        post_pos = np.where(use_ds_item, ds.posterior, maj)
        del maj
        cons = np.where(post_pos >= 0.5, ref, other)
        p_cons = np.where(cons == ref, post_pos, 1 - post_pos)
        p_listed = np.where(listed < 0, np.nan, np.where(listed == ref, post_pos, 1 - post_pos))
        method = (use_ds_item, ("dawid_skene", "majority"))
        tie_resolved = tied & (n_item > 0) & ~hp
    elif multi is not None:
        best, _p_best = dawid_skene.decide(multi.posterior)
        # majority where Dawid–Skene is not trusted; a tie among the top labels goes to the higher posterior
        score = np.where(counts == top[:, None], 1.0 + multi.posterior, 0.0)
        maj = np.argmax(score, axis=1)
        cons = np.where(use_ds_item | hp, best, maj)
        p_cons = multi.posterior[np.arange(J.n_items), cons]
        p_listed = np.where(listed < 0, np.nan, multi.posterior[np.arange(J.n_items), np.maximum(listed, 0)])
        method = (use_ds_item, ("dawid_skene", "majority"))
        tie_resolved = tied & (n_item > 0) & ~hp
        if J.scale is not None:
            value = J.scale[cons]
    else:
        cons, value, se = reference.mean_consensus(J)
        p_cons = np.full(J.n_items, np.nan)
        p_listed = np.full(J.n_items, np.nan)
        method = np.full(J.n_items, "mean", dtype=object)
        tie_resolved = np.zeros(J.n_items, dtype=bool)
    names = pa.array(labels, pa.string())
    cons = np.asarray(cons, dtype=np.int64)
    # column by column, each per-item numpy array let go once it is an Arrow column (not all of them twice at
    # once); string columns taken from their few values by code (the same strings as from a per-item object array)
    columns = {"item_id": J.item_id, "failure_mode": pa.array(fm_names, pa.string()).take(pa.array(J.item_fm)),
               "posterior_positive": _nan_array(post_pos)}
    del post_pos
    columns["consensus_label"] = names.take(pa.array(cons, pa.int64(), mask=cons < 0))
    del cons
    columns["posterior_consensus"] = _nan_array(p_cons)
    del p_cons
    columns["posterior_listed"] = _nan_array(p_listed)
    del p_listed
    columns["consensus_value"] = _nan_array(value)
    del value
    columns["consensus_se"] = _nan_array(se)
    del se
    columns["tie_resolved"] = pa.array(tie_resolved, pa.bool_())
    del tie_resolved
    columns["n_labels"] = n_item.astype(np.int64)
    columns["method"] = _strings(method)
    return pa.table(columns, schema=CONSENSUS_SCHEMA)


def _strings(method) -> pa.Array:
    """``method`` (a per-item array of a few strings, or a boolean "Dawid–Skene used" per item) as strings."""
    if isinstance(method, tuple):
        use_ds, names = method
        return pa.array(names, pa.string()).take(pa.array(np.where(use_ds, 0, 1).astype(np.int8)))
    return pa.array(np.asarray(method, dtype=object), pa.string())


def _item_label_counts(J, K: int) -> np.ndarray:
    """Per item × label: judgments (int64), block by block of whole items (no per-judgment 8-byte key)."""
    counts = np.zeros((J.n_items, K), dtype=np.int64)
    for b, _, _, i0 in item_blocks(J):
        key = b.item.astype(np.int64)
        key *= K
        key += b.code
        counts[i0:i0 + b.n_items] = np.bincount(key, minlength=b.n_items * K).reshape(b.n_items, K)
    return counts


def _majority(J) -> np.ndarray:
    """:func:`evalaudit.labelers.dawid_skene.majority` block by block of whole items: each item's share sums its
    judgments in the same order as one bincount over all (the same bits), without a float copy of every label."""
    n = np.bincount(J.item, minlength=J.n_items).astype(float)
    pos = np.zeros(J.n_items)
    for b, _, _, i0 in item_blocks(J):
        pos[i0:i0 + b.n_items] = np.bincount(b.item, weights=b.y.astype(float), minlength=b.n_items)
    share = pos / np.maximum(n, 1)
    return np.where(J.truth >= 0, J.truth, share)
