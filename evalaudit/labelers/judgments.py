"""The labelers stage's working set: each labeler's latest judgment per item, fetched once through the named query
``labelers_judgments`` and offered back to the engine as the view ``labelers_judgments`` (so the evidence queries
read the de-duplicated judgments), plus integer codes for the numpy work (Dawid–Skene EM, drift).

Repeated judgments of one item by one labeler: the latest (``labeled_at``) wins — a labeler who re-grades an item
changed their mind, and counting both would weight that item twice in every per-labeler rate.
"""

from __future__ import annotations

import contextlib
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
    failure mode (the unit that gets a confusion matrix and a leniency test)."""

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

    @property
    def n_items(self) -> int:
        return len(self.item_fm)

    @property
    def n_workers(self) -> int:
        return len(self.worker_fm)


def _codes(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, pa.Array]:
    enc = pc.dictionary_encode(column)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.unify_dictionaries().combine_chunks() if enc.num_chunks != 1 else enc.chunk(0)
    return enc.indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False), enc.dictionary


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


def has_table(engine: Engine, name: str) -> bool:
    """``engine.has_table`` — then, on DuckDB, drain the cursor it leaves open: DuckDB 2.0 refuses further queries on
    a connection with an unfinished ``execute`` result, and ``DuckDBEngine.has_table`` ends on ``fetchone()``.
    (Harmless once the engine drains it itself.)"""
    found = engine.has_table(name)
    con = getattr(engine, "con", None)
    if con is not None and hasattr(con, "fetchall"):
        with contextlib.suppress(Exception):
            con.fetchall()
    return found


def load(engine: Engine, positive: str) -> Judgments:
    """Fetch the latest judgment per labeler × item × failure mode, register the views this stage's queries read
    (``labelers_judgments``, ``labelers_items``) and encode the judgments for numpy."""
    if has_table(engine, "items"):
        items = engine.query("labelers_items", positive=positive)
    else:
        items = _ITEMS_EMPTY.empty_table()
    engine.register(ITEMS_VIEW, items)
    table = engine.query("labelers_judgments", positive=positive)
    engine.register(JUDGMENTS_VIEW, table)

    y = table["is_positive"].to_numpy().astype(np.int8)
    item_raw, item_dict = _codes(table["item_id"])
    lab, labelers = _codes(table["labeler_id"])
    fm, fms = _codes(table["failure_mode"])
    item, item_first = _compact(item_raw, fm, len(fms))
    worker, worker_first = _compact(lab, fm, len(fms))
    days = table["week"].cast(pa.int32()).to_numpy(zero_copy_only=False)
    week = ((days - 4) // 7).astype(np.int32)  # 1970-01-05 is day 4 and a Monday

    item_id = pc.take(item_dict, pa.array(item_raw[item_first]))
    truth = np.full(len(item_first), -1, dtype=np.int8)
    if items.num_rows:
        hp = items.filter(pc.is_valid(items["honeypot_positive"]))
        if hp.num_rows:
            pos = pc.fill_null(pc.index_in(item_id, value_set=hp["item_id"]), -1).to_numpy()
            known = pos >= 0
            idx = np.where(known, pos, 0)
            answers = hp["honeypot_positive"].to_numpy(zero_copy_only=False).astype(np.int8)
            truth = np.where(known, answers[idx], -1).astype(np.int8)
    return Judgments(
        table=table, y=y, item=item, worker=worker, week=week,
        item_fm=fm[item_first], item_id=item_id,
        worker_labeler=lab[worker_first], worker_fm=fm[worker_first],
        labelers=labelers, failure_modes=fms, truth=truth,
    )
