"""Per-item label counts, compressed to distinct patterns: the sufficient statistics of every count-based
agreement coefficient.

Alpha (Krippendorff 2011, coincidence-matrix form), Fleiss' kappa, Gwet's AC1/AC2, Brennan-Prediger and
percent agreement depend on the data only through each item's vector of label counts ``n_i = (n_i1, ...,
n_iq)``. Items with the same vector are interchangeable, so a slice is fully described by its distinct vectors
("patterns") and how many items show each. DuckDB does the heavy part - one pass over the long-form judgments
per scope - and returns a few thousand pattern rows at most; numpy does the rest. No item × labeler matrix is
ever built.

Packing: each label gets a weight ``2^(b·j)`` (``b`` bits per label, ``j`` its slot) in a key, so an item's
sum of weights over its judgments encodes its whole count vector exactly as long as no count overflows its
slot. One key (INTEGER weights below 2^31, a BIGINT sum) is the fast path: any two labels (b = 30), or q
labels when ``b·(q-1) <= 30`` with ``b`` sized from the largest per-(item, label) count in the data. Wider
label sets use four BIGINT keys (agreement_patterns_wide), q up to 4·floor(62/b).

Many labels: beyond MANY_LABELS categories, or when the keys cannot hold the counts, the counts come unpacked
(agreement_item_counts: one row per slice × item × label) and a slice's patterns are a sparse CSR matrix of count
vectors, compressed to distinct rows the same way (:func:`compress`). The coefficients take both forms
(:mod:`evalaudit.agreement.kernels`), so there is no limit on the number of distinct labels.

Scopes: one pattern query per scope, the template agreement_patterns.sql (or its wide twin) filled with the
scope's :class:`Slicing` - SQL expressions that are constants of this module (column names quoted by
`evalaudit.sql.quote_ident`), never user input; values such as the window unit are bound parameters.
"""

from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse

from evalaudit import sql as named_sql
from evalaudit.agreement.categories import Categories
from evalaudit.engine import Engine
from evalaudit.sql import quote_ident

ONE_KEY_BITS = 30  # slot offsets of INTEGER weights: 2^30 at most
WIDE_KEYS, WIDE_BITS = 4, 62
#: above this many categories patterns are sparse count vectors from unpacked counts (see the module docstring)
MANY_LABELS = 32
CODES_VIEW = "agreement_label_codes"


@dataclass(frozen=True)
class Slicing:
    """How a scope cuts the judgments into slices, as it goes into the pattern query template."""

    #: (output column, SQL expression over the labels view ``l``) of each part of the slice key; the first
    #: output column is always "slice"
    keys: tuple[tuple[str, str], ...]
    #: labels columns a judgment must have (non-null) to count in the scope
    required: tuple[str, ...] = ()


def _column(name: str) -> str:
    return f"l.{quote_ident(name)}"


#: the time window of a judgment: DATE_TRUNC of its UTC date (every unit, day, week or month, starts on a day: the
#: date first makes the truncation a calendar computation instead of a time-zone one, about half the cost), the unit
#: a bound parameter; a DATE in both engines (DATE_TRUNC of a date is a TIMESTAMP, with the session's zone in Spark
#: and without one in DuckDB)
WINDOW_EXPR = f"CAST(DATE_TRUNC($window, CAST({_column('labeled_at')} AS DATE)) AS DATE)"
#: agreement.parquet's scopes (docs/outputs.md, exactly these), in the order the stage computes them
SCOPES: dict[str, Slicing] = {
    "overall": Slicing((("slice", "'all'"),)),
    "failure_mode": Slicing((("slice", _column("failure_mode")),), ("failure_mode",)),
    "batch": Slicing((("slice", _column("batch_id")),), ("batch_id",)),
    "vendor": Slicing((("slice", _column("vendor")),), ("vendor",)),
    "window": Slicing((("slice", WINDOW_EXPR),), ("labeled_at",)),
}
#: failure mode × time window (the same window as the `window` scope): not a scope of agreement.parquet, but
#: the stage's extra table agreement_failure_mode_window
FAILURE_MODE_WINDOW = Slicing((("slice", _column("failure_mode")), ("window_start", WINDOW_EXPR)),
                              ("failure_mode", "labeled_at"))


@dataclass(frozen=True)
class Packing:
    bits: int
    #: 1 (fast path, one INTEGER-weighted key), 4 (wide label sets, BIGINT weights) or 0 (unpacked counts)
    keys: int
    #: (key index, slot) of each category code
    slots: tuple[tuple[int, int], ...]

    @property
    def query(self) -> str:
        """The pattern query template of this packing."""
        return {0: "agreement_item_counts", 1: "agreement_patterns"}.get(self.keys, "agreement_patterns_wide")

    def codes_table(self, categories: Categories) -> pa.Table:
        """The view that maps each label to its category code and its packing weights (w1, or w1..w4)."""
        labels, codes = categories.codes()
        w = np.zeros((categories.q, self.keys), dtype=np.int64)
        for code, (key, slot) in enumerate(self.slots if self.keys else ()):
            w[code, key] = 1 << (self.bits * slot)
        cols: dict[str, pa.Array] = {"label": pa.array(labels, type=pa.string()),
                                     "code": pa.array(np.asarray(codes, dtype=np.int32))}
        for k in range(self.keys):
            cols[f"w{k + 1}"] = pa.array(w[codes, k], type=pa.int32() if self.keys == 1 else pa.int64())
        return pa.table(cols)

    def decode(self, keys: np.ndarray) -> np.ndarray:
        """(P, keys) int64 keys -> (P, q) int64 counts. In the one-key packing the last slot has no upper
        bound (it takes all the high bits of the BIGINT sum)."""
        mask = np.int64((1 << self.bits) - 1)
        last = len(self.slots) - 1
        out = np.empty((keys.shape[0], len(self.slots)), dtype=np.int64)
        for code, (key, slot) in enumerate(self.slots):
            shifted = keys[:, key] >> np.int64(self.bits * slot)
            out[:, code] = shifted if (self.keys == 1 and code == last) else shifted & mask
        return out


def unpacked(q: int) -> Packing:
    """The packing of unpacked counts (no keys) for q categories."""
    return Packing(0, 0, tuple((0, code) for code in range(q)))


def packing_for(q: int, max_count: int | None = None) -> Packing:
    """The packing for q labels whose largest per-(item, label) count is ``max_count`` (unused for q <= 2);
    ValueError when the count vectors cannot be packed."""
    if q <= 2:
        return Packing(ONE_KEY_BITS, 1, tuple((0, code) for code in range(q)))
    if max_count is None:
        raise ValueError("max_count is needed to pack more than two labels")
    bits = max(1, int(max_count).bit_length())
    if bits * (q - 1) <= ONE_KEY_BITS:
        return Packing(bits, 1, tuple((0, code) for code in range(q)))
    per_key = WIDE_BITS // bits
    if q > per_key * WIDE_KEYS:
        raise ValueError(
            f"{q} distinct labels with up to {max_count} copies of one label on one item do not fit the "
            f"packed pattern keys ({per_key * WIDE_KEYS} labels at most at that count); bin the label values"
        )
    return Packing(bits, WIDE_KEYS, tuple((code // per_key, code % per_key) for code in range(q)))


@dataclass
class Patterns:
    """The distinct per-item count vectors of one slice and their multiplicities."""

    counts: np.ndarray | sparse.csr_matrix  # (P, q) int64: label counts of the pattern (CSR: many labels)
    items: np.ndarray  # (P,) int64: how many items show the pattern

    @property
    def m(self) -> np.ndarray:
        return np.asarray(self.counts.sum(axis=1), dtype=np.int64).ravel()

    def used(self, rows: np.ndarray | None = None) -> np.ndarray:
        """The category codes that occur in the given patterns (a boolean mask; all patterns by default)."""
        counts = self.counts if rows is None else self.counts[rows]
        if sparse.issparse(counts):
            return np.unique(counts.indices[counts.data > 0])
        return np.flatnonzero((np.asarray(counts) > 0).any(axis=0))

    @property
    def n_items(self) -> int:
        return int(self.items.sum())

    @property
    def n_labels(self) -> int:
        return int((self.items * self.m).sum())

    @property
    def n_pairable(self) -> int:
        return int(self.items[self.m >= 2].sum())

    @classmethod
    def from_item_counts(cls, counts: np.ndarray) -> Patterns:
        """Compress an (items × q) count matrix (used by tests and small inputs)."""
        counts = np.asarray(counts, dtype=np.int64)
        counts = counts[counts.sum(axis=1) > 0]
        uniq, mult = np.unique(counts, axis=0, return_counts=True)
        return cls(uniq.reshape(-1, counts.shape[1]), mult.astype(np.int64))


#: the in-memory route builds an items × q count matrix; above this many cells the SQL route is used instead
ARROW_MAX_CELLS = 50_000_000


def from_arrow(labels: pa.Table, categories: Categories) -> Patterns | None:
    """Patterns of a whole in-memory table (the Python API's route): dictionary-encode items and labels, count
    with one bincount, compress equal rows. Same result as the `overall` query, without a database round trip
    (tests/test_agreement_stage.py checks both routes against each other). None when the count matrix would
    exceed ARROW_MAX_CELLS."""
    label = labels.column("label")
    if label.null_count:
        labels = labels.filter(pc.is_valid(label))
        label = labels.column("label")
    q = categories.q
    items = pc.dictionary_encode(labels.column("item_id")).combine_chunks()
    n_items = len(items.dictionary)
    encoded = pc.dictionary_encode(label).combine_chunks()
    lookup = categories.index()
    to_code = np.array([lookup[v] for v in encoded.dictionary.to_pylist()], dtype=np.int64)
    item_codes = items.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    label_codes = to_code[encoded.indices.to_numpy(zero_copy_only=False)]
    if q > MANY_LABELS:
        ones = np.ones(len(item_codes), dtype=np.int64)
        matrix = sparse.csr_matrix((ones, (item_codes, label_codes)), shape=(n_items, q))
        return compress(matrix, np.ones(n_items, dtype=np.int64))
    if n_items * q > ARROW_MAX_CELLS:
        return None
    counts = np.bincount(item_codes * q + label_codes, minlength=n_items * q).reshape(n_items, q)
    if n_items == 0:
        return Patterns(np.zeros((0, q), dtype=np.int64), np.zeros(0, dtype=np.int64))
    packing = packing_for(q, int(counts.max()))
    weights = np.zeros((q, packing.keys), dtype=np.int64)
    for code, (key, slot) in enumerate(packing.slots):
        weights[code, key] = 1 << (packing.bits * slot)
    keys = counts @ weights  # (items, keys): equal keys <=> equal count vectors
    by_key = np.lexsort(keys.T[::-1])
    keys = keys[by_key]
    first = np.flatnonzero(np.r_[True, (keys[1:] != keys[:-1]).any(axis=1)])
    mult = np.diff(np.r_[first, len(keys)])
    uniq = counts[by_key[first]]
    order = np.lexsort(uniq.T[::-1])
    return Patterns(uniq[order], mult[order].astype(np.int64))


def compress(counts: sparse.csr_matrix, items: np.ndarray) -> Patterns:
    """Sparse count vectors (one per row, ``items`` items each) compressed to distinct vectors, in the order of
    the dense route (lexicographic in the count vector)."""
    counts = sparse.csr_matrix(counts, dtype=np.int64)
    counts.sum_duplicates()
    counts.eliminate_zeros()
    counts.sort_indices()
    keep = np.diff(counts.indptr) > 0
    counts, items = counts[keep], np.asarray(items, dtype=np.int64)[keep]
    ptr, idx, val = counts.indptr, counts.indices, counts.data
    seen: dict[bytes, int] = {}
    first: list[int] = []
    mult: list[int] = []
    for row in range(counts.shape[0]):
        a, b = ptr[row], ptr[row + 1]
        key = idx[a:b].tobytes() + b"|" + val[a:b].tobytes()
        at = seen.get(key)
        if at is None:
            seen[key] = len(first)
            first.append(row)
            mult.append(int(items[row]))
        else:
            mult[at] += int(items[row])
    # the dense route's order (lexicographic in the count vector, code 0 first), so that both routes draw the same
    # bootstrap resamples: a row's cells as (-code, count) pairs sort exactly that way
    order = sorted(range(len(first)), key=lambda k: tuple(zip(
        (-idx[ptr[first[k]]:ptr[first[k] + 1]]).tolist(), val[ptr[first[k]]:ptr[first[k] + 1]].tolist(),
        strict=True)))
    rows = np.asarray(first, dtype=np.int64)[order]
    return Patterns(counts[rows], np.asarray(mult, dtype=np.int64)[order])


def prepare(engine: Engine, categories: Categories) -> Packing:
    """Choose the packing for ``categories`` and register the codes view on ``engine``."""
    max_count = None
    packing = unpacked(categories.q)
    if categories.q <= MANY_LABELS:
        if categories.q > 2:
            max_count = engine.query("agreement_max_count").column("max_count")[0].as_py() or 1
        with contextlib.suppress(ValueError):
            packing = packing_for(categories.q, max_count)
    engine.register(CODES_VIEW, packing.codes_table(categories))
    return packing


def pattern_sql(slicing: Slicing, packing: Packing) -> str:
    """The pattern query of one scope: the packing's template with the slicing's expressions filled in."""
    fill = {
        "slice_exprs": ", ".join(f"{expr} AS {quote_ident(name)}" for name, expr in slicing.keys),
        "slices": ", ".join(quote_ident(name) for name, _ in slicing.keys),
        "slice_filter": " AND ".join(f"{_column(c)} IS NOT NULL" for c in slicing.required) or "TRUE",
    }
    return named_sql.filled(packing.query, **fill)


def load(engine: Engine, scope: str, packing: Packing, window: str = "week") -> dict[str, Patterns]:
    """Patterns per slice of ``scope`` (one of SCOPES), slices named as strings (windows by their start
    date)."""
    return {key[0]: p for key, p in load_slicing(engine, SCOPES[scope], packing, window).items()}


def load_slicing(engine: Engine, slicing: Slicing, packing: Packing,
                 window: str = "week") -> dict[tuple[str, ...], Patterns]:
    """Patterns per slice of ``slicing``, keyed by the tuple of its key parts as strings (windows by their
    start date)."""
    table = engine.sql(pattern_sql(slicing, packing), window=window)
    if table.num_rows == 0:
        return {}
    if packing.keys == 0:
        return _unpacked(table, slicing, len(packing.slots))
    return _packed(table, [name for name, _ in slicing.keys], packing, slicing.keys)


#: the query that gives the overall, failure_mode and vendor scopes in one pass (one-key packing only)
PER_ITEM_SCOPES = "agreement_per_item_scopes"
#: vendor scopes of up to this many vendors come from that pass (two aggregate columns per vendor on every judgment);
#: more vendors get the vendor scope's own query
VENDOR_COLUMNS_MAX = 8


def per_item_scopes_sql(n_vendors: int) -> str:
    """The named query agreement_per_item_scopes filled for ``n_vendors`` vendor parts (bound as $vendor_1 ...)."""
    parts = range(1, n_vendors + 1)

    def _pick(prefix: str, whole: str) -> str:
        """Part i's column prefix_i, part 0's the whole item's."""
        if not n_vendors:
            return f"i.{whole}"
        return "CASE p.part " + "".join(f"WHEN {i} THEN i.{prefix}_{i} " for i in parts) + f"ELSE i.{whole} END"

    fill = {
        "vendor_columns": "".join(
            f",\n        COUNT(CASE WHEN l.vendor = $vendor_{i} THEN 1 END) AS m_{i}"
            f",\n        CAST(SUM(CASE WHEN l.vendor = $vendor_{i} THEN c.w1 ELSE 0 END) AS BIGINT) AS k_{i}"
            for i in parts),
        "parts": "\n    UNION ALL\n    ".join(f"SELECT {i} AS part" for i in range(n_vendors + 1)),
        "part_m": _pick("m", "m"),
        "part_k": _pick("k", "k1"),
    }
    return named_sql.filled(PER_ITEM_SCOPES, **fill)


@dataclass
class PerItemScopes:
    """The scopes read off one pass over the judgments grouped by item (:func:`load_per_item_scopes`)."""

    overall: dict[str, Patterns]
    failure_mode: dict[str, Patterns]
    #: None when the vendor scope was not part of the pass (too many vendors, or wide label sets)
    vendor: dict[str, Patterns] | None


def load_per_item_scopes(engine: Engine, packing: Packing, window: str = "week") -> PerItemScopes:
    """The `overall`, `failure_mode` and `vendor` scopes' patterns from one query (:data:`PER_ITEM_SCOPES`) instead
    of three scans of the judgments. An item whose judgments all name one failure mode has the same count vector in
    both the overall and the failure_mode scope; when some item's judgments name several failure modes (or not all
    name one) the failure_mode scope comes from its own query. The vendor scope is in the pass when the judgments
    name at most VENDOR_COLUMNS_MAX vendors (a count and a key column per vendor, per item). When the labels need
    more than one packed key every scope has its own query (vendor: None, for the caller to queue). Same patterns,
    in the same order, as :func:`load` gives for each scope."""
    if packing.keys != 1:
        return PerItemScopes(load(engine, "overall", packing, window), load(engine, "failure_mode", packing, window),
                             None)
    listed = [str(v) for v in engine.query("agreement_vendors").column("vendor").to_pylist()]
    vendors = listed if len(listed) <= VENDOR_COLUMNS_MAX else []
    table = engine.sql(per_item_scopes_sql(len(vendors)), **{f"vendor_{i}": v for i, v in enumerate(vendors, 1)})
    part = table.column("part").to_numpy(zero_copy_only=False)
    by_vendor: dict[str, Patterns] | None = None if len(listed) > VENDOR_COLUMNS_MAX else {}
    rows = table.filter(pa.array(part > 0))
    if by_vendor is not None and rows.num_rows:
        names = pa.array(vendors, pa.string()).take(pa.array(part[part > 0] - 1))
        by_vendor = {key[0]: p for key, p in _packed(
            pa.table({"slice": names, "m": rows.column("m"), "k1": rows.column("k1"),
                      "n_items": rows.column("n_items")}), ["slice"], packing, (("slice", "vendor"),)).items()}
    table = table.filter(pa.array(part == 0)).drop_columns(["part"])
    if table.num_rows == 0:
        return PerItemScopes({}, {}, by_vendor)
    whole = table.group_by(["m", "k1"], use_threads=False).aggregate([("n_items", "sum")])
    whole = pa.table({"slice": pa.array(["all"] * whole.num_rows, pa.string()), "m": whole.column("m"),
                      "k1": whole.column("k1"), "n_items": whole.column("n_items_sum")})
    overall = {key[0]: p for key, p in _packed(whole, ["slice"], packing, (("slice", "all"),)).items()}
    if not pc.all(pc.is_valid(table.column("failure_mode"))).as_py():
        return PerItemScopes(overall, load(engine, "failure_mode", packing, window), by_vendor)
    by_fm = table.rename_columns(["slice", "m", "k1", "n_items"])
    return PerItemScopes(overall, {key[0]: p for key, p in _packed(by_fm, ["slice"], packing,
                                                                   (("slice", "fm"),)).items()}, by_vendor)


def _packed(table: pa.Table, names: list[str], packing: Packing,
            where: tuple[tuple[str, str], ...]) -> dict[tuple[str, ...], Patterns]:
    """Patterns per slice from packed pattern rows (slice columns ``names``, m, k1..k4, n_items)."""
    keys = np.column_stack([table.column(f"k{k + 1}").to_numpy(zero_copy_only=False).astype(np.int64)
                            for k in range(packing.keys)])
    counts = packing.decode(keys)
    m = table.column("m").to_numpy(zero_copy_only=False).astype(np.int64)
    if not np.array_equal(counts.sum(axis=1), m):  # a count overflowed its slot: never silently wrong
        raise RuntimeError(f"agreement pattern keys of slices {where} did not decode to their label counts")
    n_items = table.column("n_items").to_numpy(zero_copy_only=False).astype(np.int64)
    parts = [_slice_names(table.column(name)) for name in names]
    # a deterministic order (slice key, then counts): GROUP BY output order varies between runs, and both the
    # floating-point sums and the bootstrap draws depend on the order of the patterns
    ranks = [np.unique(part, return_inverse=True)[1] for part in parts]
    order = np.lexsort([*counts.T[::-1], *ranks[::-1]])
    out: dict[tuple[str, ...], Patterns] = {}
    ordered = [part[order] for part in parts]
    change = np.zeros(len(order) - 1, dtype=bool)
    for part in ordered:
        change |= part[1:] != part[:-1]
    bounds = np.flatnonzero(np.r_[True, change, True])
    for a, b in itertools.pairwise(bounds):
        idx = order[a:b]
        out[tuple(str(part[a]) for part in ordered)] = Patterns(counts[idx], n_items[idx])
    return out


def _unpacked(table: pa.Table, slicing: Slicing, q: int) -> dict[tuple[str, ...], Patterns]:
    """Patterns per slice from unpacked rows (slice parts, item_id, code, n): one sparse count vector per item,
    compressed per slice."""
    parts = [_slice_names(table.column(name)) for name, _ in slicing.keys]
    keys = np.array(["\x1f".join(t) for t in zip(*parts, strict=True)], dtype=object)
    items = np.asarray(table.column("item_id").to_pylist(), dtype=object)
    codes = table.column("code").to_numpy(zero_copy_only=False).astype(np.int64)
    n = table.column("n").to_numpy(zero_copy_only=False).astype(np.int64)
    key_rank = np.unique(keys, return_inverse=True)[1].reshape(-1)
    item_rank = np.unique(items.astype(str), return_inverse=True)[1].reshape(-1)
    order = np.lexsort([codes, item_rank, key_rank])
    key_rank, item_rank, codes, n = key_rank[order], item_rank[order], codes[order], n[order]
    new_row = np.r_[True, (key_rank[1:] != key_rank[:-1]) | (item_rank[1:] != item_rank[:-1])]
    row = np.cumsum(new_row) - 1
    n_rows = int(row[-1]) + 1
    matrix = sparse.csr_matrix((n, (row, codes)), shape=(n_rows, q))
    row_key = key_rank[new_row]
    out: dict[tuple[str, ...], Patterns] = {}
    first_of_key = {int(k): i for i, k in reversed(list(enumerate(key_rank)))}
    for k in np.unique(row_key):
        rows = np.flatnonzero(row_key == k)
        at = order[first_of_key[int(k)]]
        out[tuple(str(part[at]) for part in parts)] = compress(matrix[rows], np.ones(len(rows), dtype=np.int64))
    return out


def one_failure_mode_per_item(overall: dict[str, Patterns], by_failure_mode: dict[str, Patterns]) -> bool:
    """True when every judgment has a failure mode and every item exactly one, read off the overall and
    failure_mode scopes' patterns: the failure-mode slices then hold every judgment (their n_labels add up to
    the whole history's) and every item once (their n_items add up to the number of items)."""
    whole = overall.get("all")
    if whole is None:
        return not by_failure_mode
    return (sum(p.n_labels for p in by_failure_mode.values()) == whole.n_labels
            and sum(p.n_items for p in by_failure_mode.values()) == whole.n_items)


def windows_from_cells(cells: dict[tuple[str, ...], Patterns]) -> dict[str, Patterns]:
    """The `window` scope's patterns from the failure mode × window cells, when every item has one failure mode
    (:func:`one_failure_mode_per_item`): an item's judgments in a window then all lie in one cell, so a window's
    patterns are its cells' patterns with the multiplicities of equal count vectors added. Same patterns, in the
    same order (by count vector), as the window query gives."""
    by_window: dict[str, list[Patterns]] = {}
    for (_, start), patterns in cells.items():
        by_window.setdefault(start, []).append(patterns)
    out: dict[str, Patterns] = {}
    for start in sorted(by_window):
        parts = by_window[start]
        if sparse.issparse(parts[0].counts):
            out[start] = compress(sparse.vstack([p.counts for p in parts]).tocsr(),
                                  np.concatenate([p.items for p in parts]))
            continue
        counts = np.vstack([p.counts for p in parts])
        uniq, inverse = np.unique(counts, axis=0, return_inverse=True)
        items = np.zeros(len(uniq), dtype=np.int64)
        np.add.at(items, inverse.reshape(-1), np.concatenate([p.items for p in parts]))
        out[start] = Patterns(uniq.reshape(-1, counts.shape[1]), items)
    return out


def _slice_names(column: pa.ChunkedArray) -> np.ndarray:
    """A slice column's values as names (object array of str): dates and timestamps (window starts) by their UTC
    date in ISO form, as :func:`_slice_name` gives, converted column-wise."""
    if pa.types.is_timestamp(column.type) and column.type.tz in (None, "UTC") and column.null_count == 0:
        day = pc.cast(column.cast(pa.timestamp(column.type.unit, tz="UTC")), pa.date32())
        return np.array(pc.cast(day, pa.string()).to_pylist(), dtype=object)
    if pa.types.is_date32(column.type) and column.null_count == 0:
        return np.array(pc.cast(column, pa.string()).to_pylist(), dtype=object)
    return np.array([_slice_name(v) for v in column.to_pylist()], dtype=object)


def _slice_name(value: object) -> str:
    if hasattr(value, "date") and hasattr(value, "isoformat"):
        return value.date().isoformat()  # type: ignore[union-attr]
    return str(value)
