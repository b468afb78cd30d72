"""The labelers stage's working set: each labeler's latest judgment per item, fetched once through the named query
``labelers_judgments`` and offered back to the engine as the view ``labelers_judgments`` (so the evidence queries
read the de-duplicated judgments), plus integer codes for the numpy work (Dawid–Skene EM, drift).

Repeated judgments of one item by one labeler: the latest (``labeled_at``) wins — a labeler who re-grades an item
changed their mind, and counting both would weight that item twice in every per-labeler rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from evalaudit.engine import Engine

JUDGMENTS_VIEW = "labelers_judgments"
ITEMS_VIEW = "labelers_items"

_ITEMS_EMPTY = pa.schema([("item_id", pa.string()), ("is_gold", pa.int32()), ("honeypot_positive", pa.int32())])


@dataclass
class Judgments:
    """De-duplicated judgments as parallel numpy arrays (one entry per judgment) with their code books.

    ``item`` codes an item × failure mode (the unit Dawid–Skene infers a truth for); ``worker`` codes a labeler ×
    failure mode (the unit that gets a confusion matrix and a leniency test). The numpy arrays are sorted by
    ``item`` (then labeler); ``table`` (the registered view: labeler, failure mode, time, duration) keeps the
    query's row order."""

    table: pa.Table
    y: np.ndarray  # int8 0/1: label is the positive label
    item: np.ndarray  # int32 code of item × failure mode
    worker: np.ndarray  # int32 code of labeler × failure mode
    week: np.ndarray  # int32 week number (days since 1970-01-05, a Monday, // 7)
    item_fm: np.ndarray  # per item code: failure mode code
    item_id: pa.Array  # per item code: item_id
    worker_labeler: np.ndarray  # per worker code: labeler code
    worker_fm: np.ndarray  # per worker code: failure mode code
    labelers: pa.Array  # labeler code -> labeler_id
    failure_modes: pa.Array  # failure mode code -> name
    truth: np.ndarray  # per item code: honeypot answer 1/0, -1 when not a honeypot
    gold: np.ndarray  # per item code: 1 when the item is gold (see ``load``), else 0
    batch: np.ndarray  # int32 batch code per judgment, -1 when the judgment names no batch
    ts: np.ndarray  # int64 microseconds since the epoch per judgment (labeled_at)
    n_raw: int  # judgments before repeated ones were dropped

    @property
    def n_items(self) -> int:
        return len(self.item_fm)

    @property
    def n_workers(self) -> int:
        return len(self.worker_fm)


def _latest(key: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Row indices keeping, for each key (labeler × item × failure mode), the row with the latest ``ts``."""
    order = np.lexsort((ts, key))
    k = key[order]
    last = np.ones(len(k), dtype=bool)
    last[:-1] = k[1:] != k[:-1]
    return np.sort(order[last])


def codes(column: pa.ChunkedArray | pa.Array, canonical: bool = False) -> tuple[np.ndarray, pa.Array]:
    """Integer codes and their dictionary; ``canonical`` numbers the values in sorted order, so codes (and
    everything ordered by them) do not depend on the input's row order."""
    # one chunk first: encoding a many-chunk result chunk by chunk and unifying dictionaries is ~40x slower
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    enc = pc.dictionary_encode(column)
    codes = enc.indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    dictionary = enc.dictionary
    if canonical and len(dictionary):
        order = pc.array_sort_indices(dictionary).to_numpy()
        rank = np.empty(len(order), dtype=np.int32)
        rank[order] = np.arange(len(order), dtype=np.int32)
        codes, dictionary = rank[codes], dictionary.take(pa.array(order))
    return codes, dictionary


def _compact(major: np.ndarray, minor: np.ndarray, n_minor: int) -> tuple[np.ndarray, np.ndarray]:
    """Dense codes for the pairs (major, minor) that occur; returns (code per row, first row of each code)."""
    key = major.astype(np.int64) * n_minor + minor
    present = np.zeros(int(key.max()) + 1 if len(key) else 0, dtype=bool)
    present[key] = True
    mapping = np.cumsum(present, dtype=np.int32) - 1
    code = mapping[key]
    first = np.full(int(present.sum()), -1, dtype=np.int64)
    first[code[::-1]] = np.arange(len(code) - 1, -1, -1)  # any row of each code (here: the first)
    return code, first


def load(engine: Engine, positive: str) -> Judgments:
    """Fetch the latest judgment per labeler × item × failure mode, register the views this stage's queries read
    (``labelers_judgments``, ``labelers_items``) and encode the judgments for numpy."""
    if engine.has_table("items"):
        items = engine.query("labelers_items", positive=positive)
    else:
        items = _ITEMS_EMPTY.empty_table()
    engine.register(ITEMS_VIEW, items)
    table = engine.query("labelers_judgments", positive=positive)
    item_raw, item_dict = codes(table["item_id"])
    lab, labelers = codes(table["labeler_id"], canonical=True)
    fm, fms = codes(table["failure_mode"], canonical=True)
    ts = table["labeled_at"].cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_numpy(zero_copy_only=False)
    n_raw = len(ts)
    # judgments sorted by item (then labeler) once, so per-item work downstream (Dawid–Skene, labeler pairs) is
    # sequential and an item's judgments come in an order that does not depend on the input's row order; in that
    # order a repeated judgment (same labeler, item, failure mode) sits next to its repeats
    item, item_first = _compact(item_raw, fm, len(fms))
    key = item.astype(np.int64) * len(labelers) + lab
    order = np.argsort(key)
    sorted_key = key[order]
    if len(key) > 1 and np.any(sorted_key[1:] == sorted_key[:-1]):
        keep = _latest(key, ts)
        table = table.take(pa.array(keep))
        item_raw, lab, fm, ts = item_raw[keep], lab[keep], fm[keep], ts[keep]
        item, item_first = _compact(item_raw, fm, len(fms))
        order = np.argsort(item.astype(np.int64) * len(labelers) + lab)
    worker, worker_first = _compact(lab, fm, len(fms))
    perm = order if len(order) and np.any(order != np.arange(len(order))) else None
    if perm is not None:  # numpy arrays are permuted; the Arrow table (the view) keeps its row order
        item, item_raw, lab, fm, ts = item[order], item_raw[order], lab[order], fm[order], ts[order]
        worker = worker[order]
        item_first = np.searchsorted(item, np.arange(int(item.max()) + 1))
        worker_first = np.empty(int(worker.max()) + 1, dtype=np.int64)
        worker_first[worker] = np.arange(len(worker))
    y = table["is_positive"].to_numpy(zero_copy_only=False).astype(np.int8)
    if perm is not None:
        y = y[perm]
    # ISO week number: days since 1970-01-05 (a Monday) // 7
    week = ((ts // 86_400_000_000 - 4) // 7).astype(np.int32)

    item_id = pc.take(item_dict, pa.array(item_raw[item_first]))
    truth = np.full(len(item_first), -1, dtype=np.int8)
    listed_gold = np.zeros(len(item_first), dtype=np.int8)
    if items.num_rows:
        pos = pc.fill_null(pc.index_in(item_id, value_set=items["item_id"]), -1).to_numpy()
        known = pos >= 0
        idx = np.where(known, pos, 0)
        answers = items["honeypot_positive"].to_numpy(zero_copy_only=False)
        answers = np.where(np.isnan(answers.astype(float)), -1, answers).astype(np.int8)
        truth = np.where(known, answers[idx], -1).astype(np.int8)
        listed_gold = np.where(known, items["is_gold"].to_numpy(zero_copy_only=False)[idx], 0).astype(np.int8)
    # gold: the items the eval uses. When the items table names gold labels, those items; otherwise gold is derived
    # from the labels by consensus, so every labeled item is gold. Honeypots (control items) never are.
    gold = listed_gold if listed_gold.any() else np.ones(len(item_first), dtype=np.int8)
    gold = np.where(truth >= 0, 0, gold).astype(np.int8)
    batch_col = table["batch_id"]
    if batch_col.null_count == len(batch_col):
        batch = np.full(len(y), -1, dtype=np.int32)
    else:
        enc = pc.dictionary_encode(batch_col.combine_chunks())
        batch = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int32)
        if perm is not None:
            batch = batch[perm]
    # the view later queries read keeps only what they use (the codes above hold the rest), to save memory
    table = table.select(["labeler_id", "failure_mode", "labeled_at", "duration_s"])
    engine.register(JUDGMENTS_VIEW, table)
    return Judgments(
        table=table, y=y, item=item, worker=worker, week=week,
        item_fm=fm[item_first], item_id=item_id,
        worker_labeler=lab[worker_first], worker_fm=fm[worker_first],
        labelers=labelers, failure_modes=fms, truth=truth, gold=gold, batch=batch, ts=ts, n_raw=n_raw,
    )
