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

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset

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
    return pa.concat_tables(blocks(J, labels, fm_names, use_ds_item, ds, multi))


#: rows per record batch of the scratch file :func:`write` makes: the items stage's scan of it holds a few batches at
#: a time (a block of items, about 250k rows and 22 MB, per batch held up to 0.4 GiB of Arrow memory at 30M
#: judgments)
CHUNK_ROWS = 1 << 16


def write(path: Path, J, labels: tuple[str, ...], fm_names: np.ndarray, use_ds_item: np.ndarray, ds=None,
          multi=None) -> pyarrow.dataset.Dataset:
    """:func:`table` written to ``path`` (Arrow IPC, uncompressed) block by block, and a dataset over the file:
    `evalaudit run`'s items stage reads the consensus one part of the item_id range at a time, so the whole
    table (about 90 bytes per item: 0.7 GiB at 30M judgments over 7.5M items) is never in memory."""
    with pa.ipc.new_file(str(path), CONSENSUS_SCHEMA) as writer:
        for block in blocks(J, labels, fm_names, use_ds_item, ds, multi):
            writer.write_table(block, max_chunksize=CHUNK_ROWS)
    return pyarrow.dataset.dataset(path, format="ipc")


def ties_resolved(consensus: pa.Table | pyarrow.dataset.Dataset) -> int:
    """How many items' tied top labels the posterior decided (``tie_resolved``), from the table or its file."""
    if isinstance(consensus, pyarrow.dataset.Dataset):
        consensus = consensus.to_table(columns=["tie_resolved"])
    return int(pc.sum(consensus["tie_resolved"]).as_py() or 0)


def blocks(J, labels: tuple[str, ...], fm_names: np.ndarray, use_ds_item: np.ndarray, ds=None, multi=None
           ) -> Iterator[pa.Table]:
    """The consensus table's rows in item code order, one table per block of whole items
    (:func:`evalaudit.labelers.judgments.item_blocks`): everything after the per-item counts is element by element,
    so the blocks hold the numbers of the whole table while only one block's per-item arrays and strings exist."""
    names = pa.array(labels, pa.string())
    failure_modes = pa.array(fm_names, pa.string())
    mean = reference.mean_consensus(J) if ds is None and multi is None else None
    for b, _, _, i0 in item_blocks(J):
        yield _block(J, b, i0, len(labels), names, failure_modes, use_ds_item, ds, multi, mean)


def _block(J, b, i0: int, K: int, names: pa.Array, failure_modes: pa.Array, use_ds_item: np.ndarray, ds, multi,
           mean: tuple[np.ndarray, np.ndarray, np.ndarray] | None) -> pa.Table:
    """The consensus rows of the items ``i0 .. i0 + b.n_items`` (``b``: their judgments, items counted from 0)."""
    n = b.n_items
    at = slice(i0, i0 + n)
    n_item = np.bincount(b.item, minlength=n)
    if mean is None:  # (the mean needs no item × label counts: K may be thousands)
        counts = _item_label_counts(b, K)
        top = counts.max(axis=1) if K else np.zeros(n)
        tied = (counts == top[:, None]).sum(axis=1) > 1
        if multi is None:  # (the multi-class majority reads them below)
            del counts, top
    hp = J.truth_code[at] >= 0
    listed = J.listed_code[at]
    post_pos = np.full(n, np.nan)
    value = np.full(n, np.nan)
    se = np.full(n, np.nan)
    if ds is not None:
        ref = J.reference
        other = 1 - ref
        posterior = ds.posterior[at]
        maj = _majority(b, n_item, J.truth[at])
        # an exact tie in the majority share is resolved by the Dawid–Skene posterior
        maj = np.where(maj == 0.5, posterior, maj)
        post_pos = np.where(use_ds_item[at], posterior, maj)
        del maj
        cons = np.where(post_pos >= 0.5, ref, other)
        p_cons = np.where(cons == ref, post_pos, 1 - post_pos)
        p_listed = np.where(listed < 0, np.nan, np.where(listed == ref, post_pos, 1 - post_pos))
        method = (use_ds_item[at], ("dawid_skene", "majority"))
        tie_resolved = tied & (n_item > 0) & ~hp
    elif multi is not None:
        posterior = multi.posterior[at]
        best, _p_best = dawid_skene.decide(posterior)
        # majority where Dawid–Skene is not trusted; a tie among the top labels goes to the higher posterior
        score = np.where(counts == top[:, None], 1.0 + posterior, 0.0)
        maj = np.argmax(score, axis=1)
        cons = np.where(use_ds_item[at] | hp, best, maj)
        p_cons = posterior[np.arange(n), cons]
        p_listed = np.where(listed < 0, np.nan, posterior[np.arange(n), np.maximum(listed, 0)])
        method = (use_ds_item[at], ("dawid_skene", "majority"))
        tie_resolved = tied & (n_item > 0) & ~hp
        if J.scale is not None:
            value = J.scale[cons]
    else:
        cons, value, se = (a[at] for a in mean)
        p_cons = np.full(n, np.nan)
        p_listed = np.full(n, np.nan)
        method = np.full(n, "mean", dtype=object)
        tie_resolved = np.zeros(n, dtype=bool)
    cons = np.asarray(cons, dtype=np.int64)
    # column by column, each per-item numpy array let go once it is an Arrow column (not all of them twice at
    # once); string columns taken from their few values by code (the same strings as from a per-item object array)
    columns = {"item_id": J.item_id.slice(i0, n), "failure_mode": failure_modes.take(pa.array(J.item_fm[at])),
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


def _item_label_counts(b, K: int) -> np.ndarray:
    """Per item × label of a block of whole items: judgments (int64)."""
    key = b.item.astype(np.int64)
    key *= K
    key += b.code
    return np.bincount(key, minlength=b.n_items * K).reshape(b.n_items, K)


def _majority(b, n_item: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """:func:`evalaudit.labelers.dawid_skene.majority` on a block of whole items (``n_item``: their judgments,
    ``truth``: their honeypot answers): each item's share sums its judgments in the order of one bincount over
    every judgment (the same bits)."""
    pos = np.bincount(b.item, weights=b.y.astype(float), minlength=b.n_items)
    share = pos / np.maximum(n_item.astype(float), 1)
    return np.where(truth >= 0, truth, share)
