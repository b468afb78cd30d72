"""The labelers stage's working set: each labeler's latest judgment per item, fetched once through the named query
``labelers_judgments`` and offered back to the engine as the view ``labelers_judgments`` (so the evidence queries
read the de-duplicated judgments), plus integer codes for the numpy work (Dawid–Skene EM, drift).

Repeated judgments of one item by one labeler: the latest (``labeled_at``) wins — a labeler who re-grades an item
changed their mind, and counting both would weight that item twice in every per-labeler rate. A judgment without a
time loses to one with a time; between two without, the one ingested later (row order) wins.

Labels are coded against the run's label space (:mod:`evalaudit.labelspace`): ``code`` is the label's index in
``LabelSpace.labels`` (scale order for ordered spaces), ``value`` its number on the scale (the number itself at the
interval/ratio level, the category step at the ordinal level), and ``y`` the binary view the positive-rate methods
read: the label is the *reference label* — the positive label when known, else, on a two-label space, the second
label in sorted order (leniency is then reported per label), and on ordered spaces "above the scale's middle".
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from evalaudit import memory
from evalaudit.engine import Engine
from evalaudit.frames import positions
from evalaudit.gold import gold_set_codes

JUDGMENTS_VIEW = "labelers_judgments"
ITEMS_VIEW = "labelers_items"

_ITEMS_EMPTY = pa.schema([("item_id", pa.string()), ("listed_label", pa.string()),
                          ("honeypot_label", pa.string())])


@dataclass
class Judgments:
    """De-duplicated judgments as parallel numpy arrays (one entry per judgment) with their code books.

    ``item`` codes an item × failure mode (the unit Dawid–Skene infers a truth for); ``worker`` codes a labeler ×
    failure mode (the unit that gets a confusion matrix and a leniency test). The numpy arrays are sorted by
    ``item`` (then labeler); ``table`` (the registered view: labeler, failure mode, time, duration) keeps the
    query's row order. ``table`` is None when no repeated judgment was set aside here: the view ``labelers_judgments``
    is then the named query itself (no copy of the judgments' strings is held)."""

    table: pa.Table | None
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
    batch: np.ndarray | None  # int32 batch code per judgment, -1 when it names no batch (None: not loaded)
    ts: np.ndarray  # int64 microseconds since the epoch per judgment (labeled_at; 0 where it is null)
    n_raw: int  # judgments before repeated ones were dropped
    #: per judgment: the label's index in the label space (``LabelSpace.labels``), in the narrowest integer type
    #: that holds them (int8 up to 127 labels)
    code: np.ndarray | None = None
    #: per judgment: the label's place on the scale, held on ordered spaces only (read it as ``value``)
    values: np.ndarray | None = None
    #: per judgment: it has a time (``labeled_at`` not null); time-based methods use only these
    timed: np.ndarray | None = None
    #: per item code: the honeypot answer's label code, -1 when not a honeypot (``truth`` is its binary view)
    truth_code: np.ndarray | None = None
    #: per item code: the items table's gold label's code, -1 when none (or not a label of the space)
    listed_code: np.ndarray | None = None
    #: the label ``y`` marks (see the module docstring)
    reference: int = 0
    n_labels: int = 2
    #: per label code: its place on the scale (see ``value``)
    scale: np.ndarray | None = None
    #: the results of the named queries ``load`` was asked to run over the view ``labelers_judgments``, by name
    side: dict[str, pa.Table] = field(default_factory=dict)

    @property
    def value(self) -> np.ndarray:
        """Per judgment: the label's place on the scale (number, or category step for ordinal labels), else the
        code. Only ordered spaces' methods read it, so on unordered ones it is made when asked for, not held (8
        bytes per judgment)."""
        return self.values if self.values is not None else self.scale[self.code]

    @property
    def n_items(self) -> int:
        return len(self.item_fm)

    @property
    def n_workers(self) -> int:
        return len(self.worker_fm)


#: judgments per block of whole items in the stage's passes that run block by block (:func:`item_blocks`): their
#: per-judgment arrays exist for one block at a time, so the working set does not grow with the store
ITEM_BLOCK = 1 << 20


def ranges(n: int, boundary: np.ndarray | None = None, size: int | None = None) -> list[tuple[int, int]]:
    """[lo, hi) ranges of about ``size`` rows (:data:`ITEM_BLOCK`, read when called) covering ``range(n)``; with
    ``boundary`` (non-decreasing), a range never ends between two rows of equal ``boundary``."""
    size = size or ITEM_BLOCK
    out, lo = [], 0
    while lo < n:
        hi = min(lo + size, n)
        if boundary is not None and hi < n:
            hi = int(np.searchsorted(boundary, boundary[hi - 1], side="right"))
        out.append((lo, hi))
        lo = hi
    return out


def bincount(codes: np.ndarray, weights: np.ndarray | None = None, minlength: int = 0) -> np.ndarray:
    """``np.bincount(codes, weights, minlength)`` of a per-judgment array, the same numbers to the last bit, read a
    block of :data:`ITEM_BLOCK` at a time.

    Why: ``np.bincount`` first converts all of ``codes`` to int64 (and ``weights`` to float64): at 30M judgments a
    0.22 GiB copy of a 4-byte code array per call, and two such calls at once on the labelers stage's two threads
    were its peak (benchmarks/RESULTS.md). ``np.add.at`` adds the same terms in the same order — so the same
    floating-point sums — converting one block at a time, and on these arrays it is no slower."""
    codes = np.asarray(codes)
    if not len(codes):
        return np.bincount(codes.astype(np.intp), weights, minlength)
    if int(codes.min()) < 0:
        raise ValueError("bincount: codes must be non-negative")
    out = np.zeros(max(minlength, int(codes.max()) + 1), dtype=np.int64 if weights is None else np.float64)
    for lo, hi in ranges(len(codes)):
        np.add.at(out, codes[lo:hi], 1 if weights is None else weights[lo:hi])
    return out


def item_blocks(J, size: int | None = None):
    """``(block, lo, hi, i0)`` over the judgments of ``J`` (sorted by item) in blocks of whole items of about
    ``size`` judgments (:data:`ITEM_BLOCK`): ``block`` has the per-judgment arrays of judgments lo:hi (``item``,
    ``code``, ``worker``, ``y``: views), its item codes counted from its first item (item ``i0`` of ``J``), the
    per-item arrays of its items (``truth_code``, ``truth``; ``n_items`` of them) and the counts of ``J``
    (``n_labels``, ``n_workers``). Per-item work on a block is then per-item work on ``J``. Unsorted or small
    judgments are one block: ``J`` itself."""
    size = size or ITEM_BLOCK
    item = J.item
    n = len(item)
    if n <= size or not nondecreasing(item):
        yield J, 0, n, 0
        return
    for lo, hi in ranges(n, item, size):
        i0, i1 = int(item[lo]), int(item[hi - 1]) + 1

        def per_item(a, i0=i0, i1=i1):
            return None if a is None else a[i0:i1]

        yield SimpleNamespace(item=item[lo:hi] - item.dtype.type(i0), n_items=i1 - i0, code=J.code[lo:hi],
                              worker=J.worker[lo:hi], y=J.y[lo:hi], n_labels=J.n_labels, n_workers=J.n_workers,
                              truth_code=per_item(J.truth_code),
                              truth=per_item(getattr(J, "truth", None))), lo, hi, i0


def _adjacent_equal(key: np.ndarray, order: np.ndarray, chunk: int = 1 << 20) -> bool:
    """Whether two neighbours of ``key[order]`` (sorted) are equal, read chunk by chunk (not a sorted copy)."""
    n = len(order)
    for lo in range(0, max(n - 1, 0), chunk):
        part = key[order[lo:min(lo + chunk + 1, n)]]
        if bool(np.any(part[1:] == part[:-1])):
            return True
    return False


def _latest(key: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Row indices keeping, for each key (labeler × item × failure mode), the row with the latest ``ts``."""
    order = np.lexsort((ts, key))
    k = key[order]
    last = np.ones(len(k), dtype=bool)
    last[:-1] = k[1:] != k[:-1]
    return np.sort(order[last])


def nondecreasing(a: np.ndarray, chunk: int = 1 << 20) -> bool:
    """Whether ``a`` never decreases (already sorted), read chunk by chunk (no n-sized temporary of comparisons)."""
    a = np.asarray(a)
    n = len(a)
    for lo in range(0, max(n - 1, 0), chunk):
        part = a[lo:min(lo + chunk + 1, n)]
        if bool(np.any(part[1:] < part[:-1])):
            return False
    return True


def _pair_key(item: np.ndarray, lab: np.ndarray, n_labelers: int) -> np.ndarray:
    """The (item, labeler) sort key of each judgment, 64 bits (built in place: one 8-byte array, not three)."""
    key = item.astype(np.int64)
    key *= n_labelers
    key += lab
    return key


def _grouped_order(item: np.ndarray, lab: np.ndarray, n_labelers: int) -> np.ndarray | None:
    """The row order by (item, labeler) as int32 positions, sorted block by block of whole items, when the
    judgments arrive grouped by item (item codes follow first appearance, so they then never decrease: an export
    per task, or the synthetic stores) and no labeler judged an item twice; else None (the caller sorts them all).

    Why: sorting the whole store needs an 8-byte key and an 8-byte order per judgment at once (0.45 GiB at 30M
    judgments, at the stage's fetch peak); sorting within blocks of :data:`ITEM_BLOCK` judgments holds only the
    4-byte order. Grouped by item, the sorted order is the blocks' sorted orders one after another, and with
    distinct keys it is the one order ``np.argsort`` of the whole key gives."""
    n = len(item)
    if not n or n >= 2**31 or not nondecreasing(item):
        return None
    order = np.empty(n, dtype=np.int32)
    for lo, hi in ranges(n, item):
        key = _pair_key(item[lo:hi], lab[lo:hi], n_labelers)
        local = np.argsort(key)
        if _adjacent_equal(key, local):
            return None  # a repeated judgment: the caller's path sets it aside
        local += lo
        order[lo:hi] = local
    return order


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
    """Dense codes for the pairs (major, minor) that occur, in (major, minor) order; returns (code per row, first
    row of each code)."""
    n_major = int(major.max()) + 1 if len(major) else 0
    only = np.zeros(n_major, dtype=minor.dtype)
    only[major] = minor
    seen = np.zeros(n_major, dtype=bool)
    seen[major] = True
    if seen.all() and np.array_equal(only[major], minor):
        # every major code occurs, each with one minor (an item judged on one failure mode): the pair's code is the
        # major code itself — without the (major × minor)-sized table below (150M entries for 7.5M items × 20
        # failure modes, 0.6 GiB of int32 at 30M judgments)
        code = major.astype(np.int32, copy=False)  # (the major codes themselves: no copy)
    else:
        # 32-bit keys when every pair fits (labeler × failure mode: 40,000 pairs), half the transient bytes
        key = major.astype(np.int32 if n_major * max(n_minor, 1) < 2**31 else np.int64)
        key *= n_minor
        key += minor
        present = np.zeros(int(key.max()) + 1 if len(key) else 0, dtype=bool)
        present[key] = True
        mapping = np.cumsum(present, dtype=np.int32) - 1
        code = mapping[key]
        del key, present, mapping
    del only, seen
    first = np.full(int(code.max()) + 1 if len(code) else 0, -1, dtype=np.int64)
    # any row of each code (here: the first); row numbers in 32 bits below 2^31 rows (half the bytes to write)
    first[code[::-1]] = np.arange(len(code) - 1, -1, -1, dtype=np.int32 if len(code) < 2**31 else np.int64)
    return code, first


class _FirstSeen:
    """Integer codes for a column read batch by batch, numbered in order of first appearance: the codes and the
    dictionary ``pc.dictionary_encode`` gives over the whole column (a null is -1), without the whole column."""

    def __init__(self) -> None:
        self.index: dict = {}
        self.type: pa.DataType | None = None

    def add(self, column: pa.Array) -> np.ndarray:
        self.type = self.type or column.type
        enc = pc.dictionary_encode(column)
        local = enc.dictionary.to_pylist()
        mapping = np.fromiter((self.index.setdefault(v, len(self.index)) for v in local), dtype=np.int32,
                              count=len(local))
        idx = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
        return np.where(idx >= 0, mapping[np.maximum(idx, 0)] if len(mapping) else -1, -1).astype(np.int32)

    def dictionary(self) -> pa.Array:
        return pa.array(list(self.index), self.type or pa.string())


#: partitions of the item ids seen so far (:class:`_ItemIds`): a merge hashes one partition at a time
ID_PARTS = 16


def _partition(ids: pa.Array, n_parts: int) -> np.ndarray:
    """A partition number (0 .. ``n_parts`` - 1) per string, from its last eight bytes: a function of the string
    alone (the same in every batch and merge), read from the Arrow buffers without hashing or copying the strings.
    Ids that end alike (a common suffix) share a partition: coding stays exact, only less memory is saved."""
    if not pa.types.is_string(ids.type) and not pa.types.is_large_string(ids.type):
        ids = ids.cast(pa.large_string())
    width = np.int64 if pa.types.is_large_string(ids.type) else np.int32
    offsets = np.frombuffer(ids.buffers()[1], dtype=width)[ids.offset:ids.offset + len(ids) + 1].astype(np.int64)
    data = np.frombuffer(ids.buffers()[2], dtype=np.uint8) if ids.buffers()[2] is not None else None
    if data is None or not len(data):  # (every id empty)
        data = np.zeros(1, np.uint8)
    starts, ends = offsets[:-1], offsets[1:]
    key = np.zeros(len(ids), dtype=np.uint64)
    for k in range(1, 9):
        at = ends - k
        has = at >= starts
        key = key * np.uint64(131) + np.where(has, data[np.where(has, at, 0)], 0).astype(np.uint64)
    return (key % np.uint64(n_parts)).astype(np.int32)


class _ItemIds:
    """Item ids read batch by batch, coded in order of first appearance: the codes and dictionary of coding the
    whole column at once, while holding only the distinct ids seen so far and the distinct ids of the batches
    since they were last merged into them — not every batch's ids to the end (at 30M judgments over 7.5M items,
    30M strings and their copy when joined: about 1 GiB).

    Each batch's ids are dictionary-encoded (its distinct ids in first-appearance order, an int32 index per row);
    once the pending batches hold as many distinct ids as have been seen (at least 2 × :data:`ITEM_BLOCK`), they
    are merged into the ids seen so far. The ids seen so far are kept in :data:`ID_PARTS` partitions (by
    :func:`_partition`), each with its ids' codes, and a merge encodes one partition at a time: the ids seen in it
    first (they keep their codes), then the pending ids that fall in it. Arrow's hash table for encoding takes about
    100 bytes per distinct id (0.8 GiB for 7.5M ids, the fetch's peak when all were encoded at once); per partition
    it is a sixteenth of that. The new ids of all partitions are then numbered by where each first appears among
    the pending batches (batch after batch, each batch's distinct ids in their order): the numbering one encode of
    the seen ids followed by the pending batches would give."""

    def __init__(self) -> None:
        #: per partition: its distinct ids and their codes
        self.parts: list[tuple[pa.Array, np.ndarray] | None] = [None] * ID_PARTS
        self.n_seen = 0
        self.type: pa.DataType | None = None
        self.pending: list[tuple[pa.Array, np.ndarray]] = []
        self.n_pending = 0
        self.coded: list[np.ndarray] = []

    def add(self, column: pa.Array) -> None:
        enc = pc.dictionary_encode(column)
        self.type = self.type or enc.dictionary.type
        self.pending.append((enc.dictionary, enc.indices.to_numpy(zero_copy_only=False).astype(np.int32)))
        self.n_pending += len(enc.dictionary)
        if self.n_pending >= max(2 * ITEM_BLOCK, self.n_seen):
            self._merge()

    def _merge(self) -> None:
        if not self.pending:
            return
        entries = pa.chunked_array([d for d, _ in self.pending], type=self.type).combine_chunks()
        part = _partition(entries, len(self.parts))
        code = np.empty(len(entries), dtype=np.int32)
        # per partition with new ids: (partition, its new ids, where each first appears, its entries of new ids,
        # their local numbers)
        found = []
        for p in range(len(self.parts)):
            at = np.flatnonzero(part == p)  # (ascending: the pending order)
            if not len(at):
                continue
            seen = self.parts[p]
            k = 0 if seen is None else len(seen[0])
            taken = entries.take(pa.array(at))
            enc = pc.dictionary_encode(pa.chunked_array(([seen[0]] if seen is not None else []) + [taken],
                                                        type=self.type).combine_chunks())
            del taken
            idx = enc.indices.to_numpy(zero_copy_only=False)[k:].astype(np.int32)
            old = idx < k
            if seen is not None:
                code[at[old]] = seen[1][idx[old]]
            # a new id's local number (idx - k) counts up by one where it first appears: where the running maximum
            # of the new numbers grows
            reach = np.maximum.accumulate(np.where(old, k - 1, idx))
            first = np.flatnonzero(np.diff(reach, prepend=k - 1) > 0)
            found.append((p, enc.dictionary.slice(k), at[first], at[~old], idx[~old] - k))
        # every new id's code: the ids seen so far, then the new ones by where they first appear
        firsts = np.concatenate([f[2] for f in found]) if found else np.zeros(0, dtype=np.int64)
        numbered = np.empty(len(firsts), dtype=np.int32)
        numbered[np.argsort(firsts, kind="stable")] = np.arange(self.n_seen, self.n_seen + len(firsts),
                                                                 dtype=np.int32)
        offset = 0
        for p, ids, _, rows, local in found:
            mine = numbered[offset:offset + len(ids)]
            code[rows] = mine[local]
            seen = self.parts[p]
            self.parts[p] = ((ids, mine) if seen is None else
                             (pa.concat_arrays([seen[0], ids]), np.concatenate([seen[1], mine])))
            offset += len(ids)
        self.n_seen += len(firsts)
        del entries, part
        at = 0
        for dictionary, local in self.pending:
            self.coded.append(code[at:at + len(dictionary)][local])
            at += len(dictionary)
        self.pending, self.n_pending = [], 0

    def finish(self) -> tuple[np.ndarray, pa.Array]:
        """(int32 code per row in read order, the dictionary)."""
        self._merge()
        item = np.concatenate(self.coded) if self.coded else np.zeros(0, dtype=np.int32)
        self.coded = []
        kept = [part for part in self.parts if part is not None]
        self.parts = [None] * len(self.parts)
        if not kept:
            return item, pa.array([], self.type or pa.string())
        ids = pa.concat_arrays([i for i, _ in kept])
        order = np.argsort(np.concatenate([c for _, c in kept]), kind="stable")
        del kept
        return item, ids.take(pa.array(order))


def _canonical(codes: np.ndarray, dictionary: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Codes renumbered in the sorted order of their values (as :func:`codes` with ``canonical``)."""
    if not len(dictionary):
        return codes, dictionary
    order = pc.array_sort_indices(dictionary).to_numpy()
    rank = np.empty(len(order), dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    return rank[codes], dictionary.take(pa.array(order))


def _renumber(codes: np.ndarray) -> np.ndarray:
    """Codes (-1: none) renumbered by first appearance, as dictionary-encoding the rows left would number them."""
    present = codes >= 0
    if not present.any():
        return codes
    values, first = np.unique(codes[present], return_index=True)
    rank = np.empty(len(values), dtype=np.int32)
    rank[np.argsort(first, kind="stable")] = np.arange(len(values), dtype=np.int32)
    out = np.full(len(codes), -1, dtype=np.int32)
    out[present] = rank[np.searchsorted(values, codes[present])]
    return out


def _fetch(engine: Engine, labels: tuple[str, ...], with_batch: bool = True) -> dict:
    """The named query ``labelers_judgments`` read batch by batch and coded as it arrives, so that only the item
    ids (:class:`_ItemIds`: their codes follow first appearance) and the integer codes are ever held — not the
    whole result with its labeler, failure-mode, label and batch strings (at 30M judgments that table alone was
    about 4 GiB). The codes are those of coding the whole result at once.

    The item ids, the costliest column to code (hashing millions of distinct strings), are coded on a second
    thread while this one reads the next batch and codes the other columns (Arrow's kernels release the GIL; 10M
    judgments: about 1.5 s of 4.6 s). One batch's ids at most wait for that thread, so at most two batches are
    held."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="evalaudit-item-ids") as coder:
        return _fetch_coded(engine, labels, with_batch, coder)


def _fetch_coded(engine: Engine, labels: tuple[str, ...], with_batch: bool, coder: ThreadPoolExecutor) -> dict:
    """:func:`_fetch` with the item ids coded on ``coder`` (one worker: the batches' ids in read order)."""
    batches = engine.stream("labelers_judgments")
    # item ids are coded per batch (a batch's distinct ids and an int32 index into them), the batches' id lists
    # merged into the ids seen so far now and then (:class:`_ItemIds`): a column taken from a streamed batch would
    # keep the whole batch — all its columns' buffers, 100+ bytes per judgment — alive until the end of the fetch
    items = _ItemIds()
    labs, fms, batch_ids = _FirstSeen(), _FirstSeen(), _FirstSeen()
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("lab", "fm", "code", "ts", "timed", "batch")}
    label_values = pa.array(labels, pa.string())
    coding = None  # the item ids of the batch before, being coded
    for rb in batches:
        if coding is not None:
            coding.result()
        coding = coder.submit(items.add, rb.column("item_id"))
        parts["lab"].append(labs.add(rb.column("labeler_id")))
        parts["fm"].append(fms.add(rb.column("failure_mode")))
        parts["code"].append(positions(rb.column("label"), label_values, np.int32))
        ts_col = rb.column("labeled_at").cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
        parts["timed"].append(pc.is_valid(ts_col).to_numpy(zero_copy_only=False).astype(bool))
        parts["ts"].append(pc.fill_null(ts_col, 0).to_numpy(zero_copy_only=False).astype(np.int64))
        if with_batch:
            parts["batch"].append(batch_ids.add(rb.column("batch_id")))
        del rb, ts_col
    if coding is not None:
        coding.result()
    out: dict = {}
    if not with_batch:
        del parts["batch"]
        out["batch"] = None
    for k in list(parts):  # one column at a time, its batches freed as it is joined (not every column twice)
        v = parts.pop(k)
        out[k] = (np.concatenate(v) if v else np.zeros(0, dtype=np.int64 if k == "ts" else
                                                       bool if k == "timed" else np.int32))
        del v
    del parts
    out["item"], out["item_dict"] = items.finish()
    del items
    out["lab"], out["labelers"] = _canonical(out["lab"], labs.dictionary())
    out["fm"], out["fms"] = _canonical(out["fm"], fms.dictionary())
    return out


def _nominal_space(engine: Engine, positive: str):
    """The nominal label space of the store with ``positive`` as its acceptable label (callers that know no more)."""
    from evalaudit.labelspace import LabelSpace

    rows = engine.query("agreement_label_values").to_pylist()
    counts = {r["label"]: int(r["n_labels"]) for r in rows if r["label"] is not None}
    labels = tuple(sorted(counts))
    return LabelSpace(space="binary" if len(labels) == 2 else "nominal", labels=labels,
                      counts=tuple(counts[x] for x in labels), numbers=None, positive=positive,
                      positive_source="config")


def reference_code(space) -> int:
    """The label code ``y`` marks: the positive label when known, else the second of two labels (binary), else the
    most used label (nominal); -1 on ordered spaces (``y`` is then "above the middle of the scale")."""
    labels = space.labels
    if space.ordered:
        return -1
    if space.positive is not None and space.positive in labels:
        return labels.index(space.positive)
    if len(labels) == 2:
        return 1
    return int(np.argmax(space.counts)) if labels else 0


def load(engine: Engine, space, defined: bool = False, batches: bool = True,
         side_queries: tuple[str, ...] = ()) -> Judgments:
    """Fetch the judgments that count (the view ``judgments``: one per labeler and item, by the run's one
    repeated-judgment policy; defined here unless ``defined``), register the views this stage's queries read
    (``labelers_judgments``, ``labelers_items``) and encode the judgments for numpy. ``space`` is the run's
    :class:`evalaudit.labelspace.LabelSpace`, or just the positive label (nominal labels as stored).
    ``batches``: code each judgment's batch (``Judgments.batch``; only the assignment evidence stratified by batch
    reads it), else ``batch`` is None (4 bytes per judgment not held, the batch ids not coded).
    ``side_queries``: named queries over the view ``labelers_judgments``, their results in ``Judgments.side``.
    With ``defined`` they run before the judgments are fetched, when the stage holds nothing yet: the activity
    query's per-labeler median duration keeps every judgment's duration in DuckDB (0.46 GiB at 30M judgments),
    which beside the fetched arrays being sorted was the load's peak."""
    n_rows = None
    if not defined:
        from evalaudit.stage import judgments_view

        n_rows = judgments_view(engine)["n_rows"]
    if isinstance(space, str):
        space = _nominal_space(engine, space)
    labels = tuple(space.labels)
    items = engine.query("labelers_items") if engine.has_table("items") else _ITEMS_EMPTY.empty_table()
    engine.register(ITEMS_VIEW, items)
    side = None
    if defined and side_queries:
        # the view the pipeline's one repeated-judgment policy defines holds one judgment per labeler and item, so
        # nothing is set aside below and the view is the named query itself: define it now and run the queries
        engine.define_view(JUDGMENTS_VIEW, "labelers_judgments")
        side = _side(engine, side_queries)
    # (handed over in a list that _coded empties: this frame must not keep the fetched arrays alive while they are
    # sorted and replaced)
    fetched = [_fetch(engine, labels, batches)]
    memory.release()  # the streamed batches' memory and the per-batch arrays', which the allocators would keep
    return _coded(engine, space, labels, items, fetched, n_rows, side, side_queries)


def _side(engine: Engine, names: tuple[str, ...]) -> dict[str, pa.Table]:
    """The named queries' results, by name."""
    return {name: engine.query(name) for name in names}


def _coded(engine: Engine, space, labels: tuple[str, ...], items: pa.Table, fetched: list[dict],
           n_rows: int | None, side: dict[str, pa.Table] | None, side_queries: tuple[str, ...] = ()) -> Judgments:
    """:func:`load` after the fetch: sort, de-duplicate and code the fetched columns. ``side``: the side queries'
    results when they ran before the fetch, else ``side_queries`` are run once the view is defined."""
    table: pa.Table | None = None
    cols = fetched.pop()
    item_raw, item_dict, lab, labelers, fm, fms = (cols[k] for k in ("item", "item_dict", "lab", "labelers", "fm",
                                                                     "fms"))
    code, ts, timed, batch = cols["code"], cols["ts"], cols["timed"], cols["batch"]
    del cols
    n_raw = len(ts) if n_rows is None else n_rows
    # judgments sorted by item (then labeler) once, so per-item work downstream (Dawid–Skene, labeler pairs) is
    # sequential and an item's judgments come in an order that does not depend on the input's row order; in that
    # order a repeated judgment (same labeler, item, failure mode) sits next to its repeats
    item, item_first = _compact(item_raw, fm, len(fms))
    order, repeated = _grouped_order(item, lab, len(labelers)), False
    if order is None:
        key = _pair_key(item, lab, len(labelers))
        order = np.argsort(key)
        repeated = _adjacent_equal(key, order)
        if not repeated:
            del key
            if len(order) < 2**31:  # positions in 32 bits while the arrays are permuted (half the bytes)
                order = order.astype(np.int32)
    if repeated:
        # untimed judgments lose to timed ones; among equals the later row wins (stable lexsort)
        if side is not None:  # (not expected: the defined view has no repeats) run again once the view is the
            side_queries, side = tuple(side), None  # kept rows
        keep = _latest(key, np.where(timed, ts, np.iinfo(np.int64).min))
        # the kept rows' times and durations for the view (a view of raw labels only: the pipeline's `judgments`
        # holds one judgment per labeler and item, so this is not the path a run takes)
        table = engine.query("labelers_judgments").select(["labeled_at", "duration_s"]).take(pa.array(keep))
        item_raw, lab, fm, ts, timed, code = item_raw[keep], lab[keep], fm[keep], ts[keep], timed[keep], code[keep]
        batch = _renumber(batch[keep]) if batch is not None else None
        item, item_first = _compact(item_raw, fm, len(fms))
        order = np.argsort(_pair_key(item, lab, len(labelers)))
        del key
    # the view later queries read keeps only what they use (the codes above hold the rest), to save memory; with
    # no repeated judgment set aside here it is the query itself, read again from the store when used, so no copy
    # of the judgments' strings stays in memory through the stage
    if repeated:  # the strings again from their codes (the same values), beside the kept rows' times and durations
        table = pa.table({"labeler_id": labelers.take(pa.array(lab)), "failure_mode": fms.take(pa.array(fm)),
                          "labeled_at": table["labeled_at"], "duration_s": table["duration_s"]})
    else:
        table = None
    worker, worker_first = _compact(lab, fm, len(fms))
    # the per-item and per-worker facts from any one of their judgments (the first, in the fetched order): then the
    # labeler, failure-mode and raw item codes of every judgment are let go instead of being permuted and held
    item_fm, item_raw_first = fm[item_first], item_raw[item_first]
    worker_labeler, worker_fm = lab[worker_first], fm[worker_first]
    del item_raw, lab, fm, item_first, worker_first
    # the identity when it only ever increases (a permutation that increases is 0, 1, ...): no row-number array
    perm = order if len(order) > 1 and not bool(np.all(order[1:] > order[:-1])) else None
    del order
    if perm is not None:  # numpy arrays are permuted; the Arrow table (the view) keeps its row order
        # one at a time, so only one array is held twice at any moment
        item = item[perm]
        ts = ts[perm]
        timed = timed[perm]
        worker = worker[perm]
        code = code[perm]
        if batch is not None:
            batch = batch[perm]
    del perm
    # every stored label is in the space (it is built from them); held in the narrowest integer type its codes fit
    # (1 byte for up to 127 labels: 3 bytes per judgment less through the stage, 86 MiB at 30M judgments)
    code = np.maximum(code, 0).astype(_code_type(len(labels)), copy=False)
    scale = scale_values(space) if len(labels) else np.zeros(1)
    value = None
    ref = reference_code(space)
    if ref >= 0:
        y = (code == ref).astype(np.int8)
    else:  # ordered: above the middle of the scale (for answer patterns and the profile's rate only)
        value = scale[code]
        mid = (value.min() + value.max()) / 2 if len(value) else 0.0
        y = (value > mid).astype(np.int8)
    # ISO week number: days since 1970-01-05 (a Monday) // 7
    week = ((ts // 86_400_000_000 - 4) // 7).astype(np.int32)

    item_id = pc.take(item_dict, pa.array(item_raw_first))
    del item_raw_first
    truth_code = np.full(len(item_fm), -1, dtype=np.int32)
    listed_code = np.full(len(item_fm), -1, dtype=np.int32)
    if items.num_rows:
        pos = positions(item_id, items["item_id"])
        known = pos >= 0
        idx = np.where(known, pos, 0)
        label_values = pa.array(labels, pa.string())
        answers = positions(items["honeypot_label"], label_values, np.int32)
        truth_code = np.where(known, answers[idx], -1).astype(np.int32)
        listed = positions(items["listed_label"], label_values, np.int32)
        listed_code = np.where(known, listed[idx], -1).astype(np.int32)
    if ref >= 0:
        truth = np.where(truth_code >= 0, (truth_code == ref).astype(np.int8), -1).astype(np.int8)
    else:
        truth = np.full(len(truth_code), -1, dtype=np.int8)
    gold = gold_set_codes(truth_code)  # the gold set: the one rule of evalaudit.gold
    if side is not None:
        results = side
    else:
        if table is not None:
            engine.register(JUDGMENTS_VIEW, table)
        else:
            engine.define_view(JUDGMENTS_VIEW, "labelers_judgments")
        results = _side(engine, side_queries)
    return Judgments(
        table=table, y=y, item=item, worker=worker, week=week,
        item_fm=item_fm, item_id=item_id, worker_labeler=worker_labeler, worker_fm=worker_fm,
        labelers=labelers, failure_modes=fms, truth=truth, gold=gold, batch=batch, ts=ts, n_raw=n_raw,
        code=code, values=value if space.ordered else None, timed=timed, truth_code=truth_code,
        listed_code=listed_code, reference=ref,
        n_labels=max(len(labels), 1), scale=scale, side=results,
    )


def _code_type(n_labels: int) -> type:
    """The narrowest signed integer type that holds the label codes 0 .. ``n_labels`` - 1 (its readers compare
    them, add them to wider keys and index with them: no arithmetic in their own type)."""
    return np.int8 if n_labels <= 127 else np.int16 if n_labels <= 32_767 else np.int32


def scale_values(space) -> np.ndarray:
    """Per label code, its place on the scale: the number at the interval/ratio level, the category step (0, 1,
    ...) at the ordinal level, the code itself otherwise."""
    if space.numeric and space.numbers is not None:
        return np.asarray(space.numbers, dtype=float)
    return np.arange(len(space.labels), dtype=float)
