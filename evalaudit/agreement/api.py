"""The Python API of docs/agreement.md: agreement coefficients of any long-form table of judgments.

``data`` is a pandas or polars DataFrame, a pyarrow Table or a DuckDB relation with columns ``item_id``,
``labeler_id`` and ``label`` (one row per judgment). Label-count patterns are built in memory
(``patterns.from_arrow``; the stage builds the same patterns in DuckDB, and a test holds the two routes
equal), and the coefficients come from the same functions the audit uses, so the API and ``evalaudit run``
agree. Cohen's and Conger's kappa run the named queries on a per-thread DuckDB engine.

Missing judgments are simply absent rows (a null label counts as absent). Labels are compared as text at the
nominal level; when every label is a number they count as numbers for the ordinal, interval and ratio levels and
for weights (``-0``, ``0`` and ``00`` are then one value). There is no limit on the number of distinct labels.
Each judgment row counts once: a labeler who judged an item twice contributes two values to the item (the audit
stage, unlike these functions, reads one judgment per labeler and item: ``evalaudit.stage.define_judgments``).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from evalaudit import sql as named_sql
from evalaudit.agreement import coefficients as coef
from evalaudit.agreement import patterns as pat
from evalaudit.agreement.categories import Categories, build, gwet_kernel, krippendorff_kernel
from evalaudit.agreement.kernels import Kernel
from evalaudit.engine import DuckDBEngine, engine_for_tables
from evalaudit.frames import require_columns, to_arrow

LEVELS = ("nominal", "ordinal", "interval", "ratio")
COHEN_WEIGHTS = (None, "linear", "quadratic")
#: the pairwise Cohen table (stage table `agreement_pairs`)
PAIRS_SCHEMA = pa.schema([
    ("labeler_a", pa.string()), ("labeler_b", pa.string()), ("n_items", pa.int64()), ("kappa", pa.float64()),
    ("percent_agreement", pa.float64()), ("weights", pa.string()),
])


def _table(data: Any, need_labeler: bool = False) -> pa.Table:
    table = to_arrow(data)
    cols = ["item_id", "labeler_id", "label"] if need_labeler else ["item_id", "label"]
    require_columns(table, cols)
    keep = [c for c in ("item_id", "labeler_id", "label") if c in table.column_names]
    out = {}
    for name in keep:
        col = table.column(name)
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
            col = pc.cast(col, pa.string())
        out[name] = col.cast(pa.string())
    return pa.table(out)


_LOCAL = threading.local()


def _engine() -> DuckDBEngine:
    """One DuckDB engine per thread for the API: opening a connection costs more than a small query, and a
    DuckDB connection must not run two queries at once. Each call re-registers the `labels` view."""
    engine = getattr(_LOCAL, "engine", None)
    if engine is None:
        engine = _LOCAL.engine = engine_for_tables({})
    return engine


_EMPTY = pa.table({c: pa.array([], type=pa.string()) for c in ("item_id", "labeler_id", "label")})
F = TypeVar("F", bound=Callable[..., Any])


def _releasing(fn: F) -> F:
    """Drop the reference to the caller's table once the call is done (the cached engine outlives it)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        finally:
            engine = getattr(_LOCAL, "engine", None)
            if engine is not None:
                engine.register("labels", _EMPTY)
                engine.register("judgments", _EMPTY)

    return wrapper  # type: ignore[return-value]


class _Prepared:
    """The judgments on a DuckDB engine, their category set, and the overall label-count patterns."""

    def __init__(self, data: Any, declared: Sequence[str] | None = None, order: Sequence[str] | None = None,
                 need_labeler: bool = False, numeric: bool = True) -> None:
        self.table = _table(data, need_labeler)
        observed = [x for x in pc.unique(self.table.column("label")).to_pylist() if x is not None]
        if not observed:
            raise ValueError("the data holds no labels")
        self.categories: Categories = build(observed, [str(x) for x in declared or ()], order, numeric=numeric)
        self._engine: DuckDBEngine | None = None
        patterns = pat.from_arrow(self.table, self.categories)
        if patterns is None:  # too many items × labels for an in-memory count matrix: let DuckDB group them
            found = pat.load(self.engine, "overall", pat.prepare(self.engine, self.categories))
            patterns = found.get("all", pat.Patterns(np.zeros((0, self.categories.q), dtype=np.int64),
                                                     np.zeros(0, dtype=np.int64)))
        self.patterns: pat.Patterns = patterns

    @property
    def engine(self) -> DuckDBEngine:
        """The thread's DuckDB engine with this table as view `labels` (registered on first use)."""
        if self._engine is None:
            self._engine = _engine()
            self._engine.register("labels", self.table)
            self._engine.register("judgments", self.table)  # the API counts every row it is given
        return self._engine

    def weights(self) -> np.ndarray:
        return self.patterns.items[None, :].astype(float)

    def require_pairable(self, what: str) -> None:
        if self.patterns.n_pairable == 0:
            raise ValueError(f"{what} needs at least one item with two or more labels; none has")


def _one(values: np.ndarray) -> float:
    return float(values[0])


@_releasing
def krippendorff_alpha(data: Any, level: str = "nominal", order: Sequence[str] | None = None) -> float:
    """Krippendorff's alpha at the nominal, ordinal, interval or ratio level (Krippendorff 2011, coincidence
    matrix form), for any number of labelers per item and missing judgments.

    ``order`` fixes the order of the categories for the ordinal level (lowest first); without it numeric
    labels are ordered by value. Interval and ratio need numeric labels. When every pairable label is
    identical (no variation: expected disagreement 0) the result is 1.0 - see docs/agreement.md. ValueError
    when no item has two labels."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    p = _Prepared(data, order=order, numeric=level != "nominal")
    p.require_pairable("Krippendorff's alpha")
    delta2 = krippendorff_kernel(level, p.categories)
    return _one(coef.alpha(p.patterns.counts, p.weights(), delta2))


@_releasing
def weighted_alpha(data: Any, weights: str = "quadratic", categories: Sequence[str] | None = None) -> float:
    """Krippendorff's alpha with one of Gwet's agreement-weight matrices (``δ² = 1 - w``), as irrCAC's
    ``krippen.alpha.raw`` computes it. With "ordinal" this uses Gwet's rank-only ordinal weights, which differ
    from Krippendorff's ordinal metric (use ``krippendorff_alpha(level="ordinal")`` for that)."""
    p = _Prepared(data, declared=categories, order=categories)
    p.require_pairable("Krippendorff's alpha")
    w = gwet_kernel(weights, p.categories)
    delta2 = Kernel(w.q, lambda i, j: 1.0 - w.pair(i, j))
    return _one(coef.alpha(p.patterns.counts, p.weights(), delta2))


def _weighted(data: Any, weights: str, categories: Sequence[str] | None, what: str) -> tuple[_Prepared, Any]:
    """The judgments ready for a coefficient with Gwet's agreement weights: labels count as numbers unless the
    weights are identity, data without an item of two labels is refused (naming ``what``), and the weights."""
    p = _Prepared(data, declared=categories, order=categories, numeric=weights != "identity")
    p.require_pairable(what)
    return p, gwet_kernel(weights, p.categories)


@_releasing
def fleiss_kappa(data: Any, *, allow_varying: bool = False, weights: str = "identity",
                 categories: Sequence[str] | None = None) -> float:
    """Fleiss' kappa (Fleiss 1971) for items that all carry the same number of labels.

    Items with different numbers of labels raise ValueError (statsmodels silently returns a wrong value
    there); ``allow_varying=True`` uses Gwet's generalisation for missing ratings instead (Gwet 2014, ch. 2;
    irrCAC
    ``fleiss.kappa.raw``), which equals Fleiss' kappa on complete data. ``weights`` names one of Gwet's weight
    matrices (weighted Fleiss, as irrCAC)."""
    p = _Prepared(data, declared=categories, order=categories, numeric=weights != "identity")
    m = p.patterns.m
    sizes = sorted(set(m.tolist()))
    if not allow_varying and len(sizes) > 1:
        per = {int(s): int(p.patterns.items[m == s].sum()) for s in sizes}
        shown = ", ".join(f"{n} item(s) with {s} label(s)" for s, n in list(per.items())[:6])
        raise ValueError(
            f"Fleiss' kappa needs the same number of labels on every item, but the data has {shown}"
            f"{' ...' if len(per) > 6 else ''}; use krippendorff_alpha() or gwet_ac1(), which allow missing "
            "labels, "
            "or fleiss_kappa(..., allow_varying=True) for Gwet's generalisation"
        )
    p.require_pairable("Fleiss' kappa")
    agree = gwet_kernel(weights, p.categories)
    return _one(coef.fleiss_kappa(p.patterns.counts, p.weights(), agree))


def gwet_ac1(data: Any, categories: Sequence[str] | None = None) -> float:
    """Gwet's AC1 (Gwet 2008), for any number of labelers per item and missing judgments. ``categories`` lists
    every possible label when some were never used (AC1's chance agreement depends on their number q)."""
    return gwet_ac2(data, weights="identity", categories=categories)


@_releasing
def gwet_ac2(data: Any, weights: str = "quadratic", categories: Sequence[str] | None = None) -> float:
    """Gwet's AC2: AC1 with one of Gwet's agreement weights (identity, linear, quadratic, ordinal, radical,
    ratio, circular, bipolar; Gwet 2014, ch. 3). ``categories`` (in order) fixes the label set and its order;
    without it numeric labels are ordered by value."""
    p, agree = _weighted(data, weights, categories, "Gwet's AC")
    return _one(coef.gwet_ac(p.patterns.counts, p.weights(), agree, p.categories.q))


@_releasing
def brennan_prediger(data: Any, weights: str = "identity", categories: Sequence[str] | None = None) -> float:
    """Brennan & Prediger's (1981) coefficient, chance agreement 1/q (weighted: T_w/q²; Gwet 2014, ch. 3)."""
    p, agree = _weighted(data, weights, categories, "Brennan-Prediger's coefficient")
    return _one(coef.brennan_prediger(p.patterns.counts, p.weights(), agree, p.categories.q))


@_releasing
def percent_agreement(data: Any, weights: str = "identity", categories: Sequence[str] | None = None) -> float:
    """The share of agreeing label pairs within items, averaged over items with at least two labels (Gwet
    2014, ch. 2; weighted with Gwet's weights when ``weights`` is not identity)."""
    p, agree = _weighted(data, weights, categories, "Percent agreement")
    return _one(coef.observed_agreement(p.patterns.counts, p.weights(), agree))


@_releasing
def conger_kappa(data: Any, weights: str = "identity", categories: Sequence[str] | None = None) -> float:
    """Conger's (1980) kappa: Fleiss' observed agreement with chance agreement from each labeler's own label
    distribution (the mean of the pairwise Cohen-type chance agreements), generalised to missing judgments as
    in Gwet (2014, ch. 2) / irrCAC ``conger.kappa.raw``."""
    p = _Prepared(data, declared=categories, order=categories, need_labeler=True, numeric=weights != "identity")
    p.require_pairable("Conger's kappa")
    agree = gwet_kernel(weights, p.categories)
    pa = _one(coef.observed_agreement(p.patterns.counts, p.weights(), agree))
    rows = p.engine.query("agreement_labeler_counts")
    labelers = sorted(set(rows.column("labeler_id").to_pylist()))
    r = len(labelers)
    if r < 2:
        raise ValueError("Conger's kappa needs at least two labelers")
    li = {x: i for i, x in enumerate(labelers)}
    ci = p.categories.index()
    classif = np.zeros((r, p.categories.q))
    for lab, label, n in zip(rows.column("labeler_id").to_pylist(), rows.column("label").to_pylist(),
                             rows.column("n").to_pylist(), strict=True):
        classif[li[lab], ci[label]] += n
    pgk = classif / classif.sum(axis=1, keepdims=True)
    pk = pgk.mean(axis=0)
    # Σ_kl w_kl (p_k p_l - s²_kl / r) with s² = (Σ_g p_g p_g^T - r p p^T) / (r - 1), as quadratic forms of w
    own = float(agree.marginal_forms(pgk).sum())
    mean = float(agree.marginal_forms(pk[None, :])[0])
    pe = mean - (own - r * mean) / (r * (r - 1))
    return _one(coef._chance_corrected(np.array([pa]), np.array([pe])))


# -- Cohen's kappa
# ---------------------------------------------------------------------------------------------
def cohen_kernel(weights: str | None, q: int) -> Kernel:
    """Cohen's (1968) agreement weights on category positions: identity, ``1 - |i-j|/(q-1)`` or
    ``1 - (i-j)²/(q-1)²`` (the same kappa as statsmodels' and scikit-learn's disagreement weights)."""
    if weights not in COHEN_WEIGHTS:
        raise ValueError(f"weights must be None, 'linear' or 'quadratic', not {weights!r}")
    if weights is None or q < 2:
        return Kernel.from_affine(q, 0.0, 0.0, 1.0)
    if weights == "quadratic":
        return Kernel.from_affine(q, 1.0, -1.0, 0.0, np.arange(q) / (q - 1.0))
    return Kernel(q, lambda i, j: 1.0 - np.abs(i - j) / (q - 1.0))


def kappa_from_tables(tables: np.ndarray, agree: np.ndarray) -> np.ndarray:
    """Cohen's kappa of each q×q contingency table in ``tables`` (T, q, q) (Cohen 1960; weighted:
    Cohen 1968): ``(p_o - p_e) / (1 - p_e)``, with 1.0 when p_e = 1 (both labelers used one and the same
    label)."""
    tables = np.asarray(tables, dtype=float)
    n = tables.sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = tables / n[:, None, None]
    po = np.einsum("tij,ij->t", p, agree)
    pe = np.einsum("ti,ij,tj->t", p.sum(axis=2), agree, p.sum(axis=1))
    return np.where(n > 0, coef._chance_corrected(po, pe), np.nan)


#: cells of the (pairs, q) margin arrays built at once by kappa_from_cells
MARGIN_CELLS = 5_000_000


def kappa_from_cells(pair: np.ndarray, code_a: np.ndarray, code_b: np.ndarray, n: np.ndarray, n_pairs: int,
                     kernel: Kernel) -> tuple[np.ndarray, np.ndarray]:
    """Cohen's kappa and the share of exact agreements of each labeler pair, from the nonzero cells of their
    contingency tables (cell: pair index, category codes, count) - :func:`kappa_from_tables` without the
    (pairs, q, q) array, so any number of categories works."""
    n = np.asarray(n, dtype=float)
    total = np.bincount(pair, weights=n, minlength=n_pairs)
    with np.errstate(divide="ignore", invalid="ignore"):
        po = np.bincount(pair, weights=n * kernel.pair(code_a, code_b), minlength=n_pairs) / total
        agree = np.bincount(pair, weights=n * (code_a == code_b), minlength=n_pairs) / total
    pe = np.zeros(n_pairs)
    step = max(1, MARGIN_CELLS // max(1, kernel.q))
    for start in range(0, n_pairs, step):
        stop = min(n_pairs, start + step)
        sel = (pair >= start) & (pair < stop)
        rows, left, right = pair[sel] - start, np.zeros((stop - start, kernel.q)), np.zeros((stop - start, kernel.q))
        np.add.at(left, (rows, code_a[sel]), n[sel])
        np.add.at(right, (rows, code_b[sel]), n[sel])
        with np.errstate(divide="ignore", invalid="ignore"):
            pe[start:stop] = kernel.bilinear(left, right) / total[start:stop] ** 2
    kappa = np.where(total > 0, coef._chance_corrected(po, pe), np.nan)
    return kappa, agree


@_releasing
def cohen_kappa(data: Any, a: str, b: str, weights: str | None = None,
                order: Sequence[str] | None = None) -> float:
    """Cohen's kappa (Cohen 1960; weighted, Cohen 1968) of labelers ``a`` and ``b`` on the items both labeled.

    Weighted kappa needs ordered labels: numeric labels are ordered by value, others by ``order``. A labeler
    who judged a shared item more than once makes the pairing ambiguous: ValueError."""
    if a == b:
        raise ValueError("cohen_kappa needs two different labelers")
    p = _Prepared(data, order=order, need_labeler=True)
    if weights is not None:
        p.categories.scores("weighted Cohen's kappa")
    dup = p.engine.query("agreement_duplicates", a=str(a), b=str(b)).column("n_duplicated")[0].as_py()
    if dup:
        raise ValueError(f"labelers {a!r} and {b!r} judged {dup} item(s) more than once; Cohen's kappa needs "
                         "one label per labeler per item - keep each labeler's latest judgment first")
    rows = p.engine.query("agreement_pair_table", a=str(a), b=str(b))
    if rows.num_rows == 0:
        raise ValueError(f"labelers {a!r} and {b!r} share no item")
    ci = p.categories.index()
    code_a = np.array([ci[x] for x in rows.column("label_a").to_pylist()], dtype=np.int64)
    code_b = np.array([ci[x] for x in rows.column("label_b").to_pylist()], dtype=np.int64)
    n = rows.column("n").to_numpy(zero_copy_only=False).astype(float)
    kappa, _ = kappa_from_cells(np.zeros(len(n), dtype=np.int64), code_a, code_b, n, 1,
                                cohen_kernel(weights, p.categories.q))
    return float(kappa[0])


@_releasing
def pairwise_cohen(data: Any, min_items: int = 20, weights: str | None = None,
                   order: Sequence[str] | None = None) -> pa.Table:
    """Cohen's kappa of every pair of labelers sharing at least ``min_items`` items, long form:
    ``labeler_a, labeler_b`` (labeler_a < labeler_b), ``n_items``, ``kappa``, ``percent_agreement``,
    ``weights``. Repeated judgments of an item by one labeler pair with each of the other's judgments."""
    p = _Prepared(data, order=order, need_labeler=True)
    if weights is not None:
        p.categories.scores("weighted Cohen's kappa")
    pat.prepare(p.engine, p.categories)
    return pairs_table(p.engine, p.categories, min_items, weights)


def pairs_table(engine: Any, categories: Categories, min_items: int, weights: str | None) -> pa.Table:
    """Run the pairs query and turn its cells into one row per labeler pair. Needs the codes view of
    ``categories`` on ``engine`` (:func:`patterns.prepare`)."""
    return pairs_from_cells(pair_cells(engine, min_items, categories.q), categories, weights)


#: label sets of up to this many categories get each pair's contingency table in count columns (q² of them, one
#: row per pair); larger ones one row per pair and nonzero cell (the two forms of agreement_pairs)
PAIR_COLUMNS_MAX_LABELS = 4


@dataclass(frozen=True)
class PairCells:
    """The nonzero cells of every labeler pair's contingency table, ordered by pair, then code_a, then code_b."""

    labeler_a: pa.Array  # (pairs,) the pair's first labeler (labeler_a < labeler_b), pairs in sort order
    labeler_b: pa.Array
    pair: np.ndarray  # (cells,) int64: the cell's pair index
    code_a: np.ndarray  # (cells,) int64 category codes
    code_b: np.ndarray
    n: np.ndarray  # (cells,) float: how many shared items fall in the cell

    @property
    def n_pairs(self) -> int:
        return len(self.labeler_a)


def pair_sql(q: int | None) -> str:
    """The named query agreement_pairs filled for q categories: one count column n_<a>_<b> per cell when q is at
    most PAIR_COLUMNS_MAX_LABELS, else (or for q None) a row per pair and nonzero cell."""
    if q is not None and q <= PAIR_COLUMNS_MAX_LABELS:
        fill = {"cell_keys": "", "cell_group": "", "cell_order": "", "cell_columns": "".join(
            f",\n        COUNT(CASE WHEN x.code = {a} AND y.code = {b} THEN 1 END) AS n_{a}_{b}"
            for a in range(q) for b in range(q))}
    else:
        fill = {"cell_keys": ",\n        x.code AS code_a,\n        y.code AS code_b", "cell_group": ", x.code, y.code",
                "cell_order": ", c.code_a, c.code_b", "cell_columns": ""}
    return named_sql.filled("agreement_pairs", **fill)


def pair_cells(engine: Any, min_items: int, q: int) -> PairCells:
    """The cells of every labeler pair sharing at least ``min_items`` items (needs the codes view,
    :func:`patterns.prepare`), from agreement_pairs in its column form (a row per pair) for at most
    PAIR_COLUMNS_MAX_LABELS categories, else in its row form (a row per nonzero cell). Both give the same cells in
    the same order."""
    rows = engine.sql(pair_sql(q), min_items=int(min_items))
    if q > PAIR_COLUMNS_MAX_LABELS:
        return _long_cells(rows)
    counts = np.column_stack([rows.column(f"n_{a}_{b}").to_numpy(zero_copy_only=False).astype(np.int64)
                              for a in range(q) for b in range(q)]) if rows.num_rows else np.zeros((0, q * q))
    pair, cell = np.nonzero(counts)  # row-major: by pair, then code_a, then code_b (as the row form orders)
    return PairCells(_strings(rows.column("labeler_a")), _strings(rows.column("labeler_b")), pair.astype(np.int64),
                     (cell // q).astype(np.int64), (cell - (cell // q) * q).astype(np.int64),
                     counts[pair, cell].astype(float))


def _strings(column: pa.ChunkedArray) -> pa.Array:
    return column.combine_chunks().cast(pa.string())


def _long_cells(rows: pa.Table) -> PairCells:
    """PairCells from agreement_pairs' rows in the row form (one per nonzero cell, ordered by labeler pair, code_a,
    code_b)."""
    if rows.num_rows == 0:
        empty = np.zeros(0, dtype=np.int64)
        return PairCells(pa.array([], pa.string()), pa.array([], pa.string()), empty, empty, empty, empty * 1.0)
    la, lb = _strings(rows.column("labeler_a")), _strings(rows.column("labeler_b"))
    new = np.r_[True, pc.or_(pc.not_equal(la[1:], la[:-1]), pc.not_equal(lb[1:], lb[:-1]))
                .to_numpy(zero_copy_only=False)]
    first = np.flatnonzero(new)
    return PairCells(la.take(first), lb.take(first), np.cumsum(new) - 1,
                     rows.column("code_a").to_numpy(zero_copy_only=False).astype(np.int64),
                     rows.column("code_b").to_numpy(zero_copy_only=False).astype(np.int64),
                     rows.column("n").to_numpy(zero_copy_only=False).astype(float))


def pairs_from_cells(cells: PairCells, categories: Categories, weights: str | None) -> pa.Table:
    """One row per labeler pair (PAIRS_SCHEMA) from their contingency tables' cells."""
    schema = PAIRS_SCHEMA
    n_pairs = cells.n_pairs
    if n_pairs == 0:
        return schema.empty_table()
    kappa, agree = kappa_from_cells(cells.pair, cells.code_a, cells.code_b, cells.n, n_pairs,
                                    cohen_kernel(weights, categories.q))
    return pa.table(
        {
            "labeler_a": cells.labeler_a,
            "labeler_b": cells.labeler_b,
            "n_items": pa.array(np.bincount(cells.pair, weights=cells.n, minlength=n_pairs).astype(np.int64)),
            "kappa": pa.array(kappa),
            "percent_agreement": pa.array(agree),
            "weights": pa.array([weights or "none"] * n_pairs, type=pa.string()),
        },
        schema=schema,
    )


__all__ = [
    "brennan_prediger",
    "cohen_kappa",
    "conger_kappa",
    "fleiss_kappa",
    "gwet_ac1",
    "gwet_ac2",
    "krippendorff_alpha",
    "pairwise_cohen",
    "percent_agreement",
    "weighted_alpha",
]
