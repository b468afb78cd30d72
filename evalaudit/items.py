"""The items stage: today's gold per item, why an item's gold is suspect (poisoned, stale), the re-labeling queue.

What gold is — today's gold and its source, the gold set, the flagged labelers, the audited gold, stale — is
decided by :mod:`evalaudit.gold`; this stage applies those rules to every item in one query and turns the result
into the items table and the findings ``poisoned_items`` and ``stale_items``.

Flags (docs/outputs.md reason codes):
  - ``flagged_labeler_only``: every judgment of the item is by a flagged labeler (on the failure mode and since the
    date they were flagged for) — the gold rests on them alone;
  - ``flagged_deciding_vote``: without the flagged labelers' judgments the majority label differs from the gold (or
    ties) — their vote decided it;
  - ``gold_disagrees_with_consensus``: the Dawid–Skene posterior of a label other than the gold is at least
    ``[items] consensus_min_posterior``;
  - ``single_label``: one labeler judged it;
  - ``superseded_guideline``: judged, but never under the current guideline (``[gold] current_guideline``, else the
    guideline of the most recent judgment); an item re-labeled under the current guideline is not stale;
  - ``too_old``: last judged more than ``[gold] max_age_days`` before ``as_of``;
  - ``labelers_inactive``: every labeler who judged it had left by ``as_of`` (labelers table ``active_to``);
  - ``no_judgments``: in the items table but never judged.

``poison_score`` is the model's probability that the gold label is wrong: 1 - P(true label = gold | all judgments),
with each labeler's judgments weighed by their Dawid–Skene confusion matrix — so a lenient labeler's lone "pass"
counts for less than an accurate labeler's. For label spaces that are not binary (no posterior), it is 1 minus the
Jeffreys-smoothed share of the item's judgments that agree with the gold.

``relabel_priority`` ranks items (1 = first) by how much re-labeling them is expected to change the eval: an item
whose gold flips moves the overall score of every model version by 1/N, so the expected change is poison_score / N
and the rank follows the poison score; ties go to the item whose failure-mode score moves more
(``expected_score_change`` = poison_score / gold items of its failure mode), then to the item id. The table's rows
come in item_id order.

:func:`rederive` re-derives only what depends on who is flagged and on the ``[items]`` thresholds, on a table the
stage already produced (the items notebook, when a labeler is set aside or kept).
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from evalaudit import gold as gold_owner
from evalaudit import sql as named_sql
from evalaudit.engine import Engine
from evalaudit.findings import Finding
from evalaudit.frames import mask as _mask
from evalaudit.frames import numbers as _np
from evalaudit.frames import positions
from evalaudit.gold import (
    AUDITED_STATUSES,
    GOLD_SOURCES,
    STALE_FLAGS,
    audited_gold,
    in_gold_set,
)
from evalaudit.labelers.judgments import codes
from evalaudit.stage import Context, StageResult, define_judgments, skip

FLAGS = ("flagged_labeler_only", "flagged_deciding_vote", "gold_disagrees_with_consensus", "single_label",
         "superseded_guideline", "too_old", "labelers_inactive", "no_judgments")
POISON_FLAGS = frozenset({"flagged_labeler_only", "flagged_deciding_vote", "gold_disagrees_with_consensus"})

ITEMS_SCHEMA = pa.schema([
    ("item_id", pa.string()), ("failure_mode", pa.string()), ("gold_label", pa.string()),
    ("poison_score", pa.float64()), ("flags", pa.list_(pa.string())), ("relabel_priority", pa.int64()),
    ("gold_source", pa.string()), ("audited_label", pa.string()), ("audited_status", pa.string()),
    ("consensus_label", pa.string()), ("posterior_gold", pa.float64()), ("n_labelers", pa.int64()),
    ("n_judgments", pa.int64()), ("last_labeled_at", pa.timestamp("us", tz="UTC")),
    ("expected_score_change", pa.float64()), ("is_honeypot", pa.bool_()),
])


_CONSENSUS_SCHEMA = pa.schema([("item_id", pa.string()), ("failure_mode", pa.string()),
                               ("posterior_positive", pa.float64()), ("consensus_label", pa.string()),
                               ("posterior_consensus", pa.float64()), ("posterior_listed", pa.float64()),
                               ("method", pa.string())])


def _strings(values: np.ndarray, names: tuple[str, ...]) -> pa.Array:
    """Codes into ``names`` as a string array; a negative code is null."""
    return pc.take(pa.array(names, pa.string()), pa.array(values, pa.int32(), mask=values < 0))


def _flag_lists(flag_matrix: np.ndarray) -> pa.ListArray:
    """Per item, the names of its set flags, in FLAGS order — built from the matrix's nonzeros, not row by row."""
    _, cols = np.nonzero(flag_matrix)  # row-major: grouped by item, flags in column order
    offsets = np.zeros(len(flag_matrix) + 1, dtype=np.int32)
    np.cumsum(flag_matrix.sum(axis=1), out=offsets[1:])
    values = pa.array(FLAGS, pa.string()).take(pa.array(cols, pa.int32()))
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def _flag_matrix(flags: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """The inverse of :func:`_flag_lists`: one boolean column per name in FLAGS."""
    if isinstance(flags, pa.ChunkedArray):
        flags = flags.combine_chunks() if flags.num_chunks else pa.array([], pa.list_(pa.string()))
    matrix = np.zeros((len(flags), len(FLAGS)), dtype=bool)
    rows = _np(pc.list_parent_indices(flags))
    cols = positions(pc.list_flatten(flags), pa.array(FLAGS))
    matrix[rows[cols >= 0], cols[cols >= 0]] = True
    return matrix


def _aligned_kept(n_labelers: np.ndarray, kept: pa.Table) -> tuple[np.ndarray, pa.Array, np.ndarray]:
    """The result of the named query ``items_kept_counts`` (items with something set aside, each with its row in
    the items table) laid out per item: n_kept, kept_label, kept_tied — untouched items keep all their judgments."""
    where = _np(kept.column("item_row"))
    n_kept = n_labelers.copy()
    n_kept[where] = _np(kept.column("n_kept"))
    tied = np.zeros(len(n_labelers), dtype=bool)
    tied[where] = _np(kept.column("n_top_labels")) > 1
    row = np.full(len(n_labelers), -1, dtype=np.int64)
    row[where] = np.arange(len(where))
    return n_kept, pc.take(kept.column("kept_label"), pa.array(row, mask=row < 0)), tied


def _register_inputs(ctx: Context) -> tuple[pa.Table, list[str]]:
    """Offer the flagged labelers, the Dawid–Skene consensus and the label codes to the items queries; returns the
    flagged table and the label values of the store's label rows, in label order."""
    labels_seen = register_label_codes(ctx.engine)
    flagged = gold_owner.flagged_for_run(ctx)
    ctx.engine.register("flagged_labelers", flagged)
    consensus = ctx.tables.get("consensus")
    if isinstance(consensus, ds.Dataset):  # the labelers stage's file (`evalaudit run`): read a part at a time
        ctx.engine.register("items_consensus", consensus)
        return flagged, labels_seen
    if consensus is None or "posterior_positive" not in consensus.column_names:
        consensus = _CONSENSUS_SCHEMA.empty_table()
    else:
        for name in _CONSENSUS_SCHEMA.names:  # a posterior per item only (whatever its failure mode): the rest null
            if name not in consensus.column_names:
                consensus = consensus.append_column(name, pa.nulls(consensus.num_rows,
                                                                   _CONSENSUS_SCHEMA.field(name).type))
    ctx.engine.register("items_consensus", consensus.select(_CONSENSUS_SCHEMA.names).cast(_CONSENSUS_SCHEMA))
    return flagged, labels_seen


def register_label_codes(engine: Engine) -> list[str]:
    """Offer ``items_facts`` its label codes as the table ``items_label_codes`` (1, 2, ... in the engine's label
    order, as ``agreement_label_values`` lists the label rows' values); returns those values. Why a table and not a
    CTE over the labels: the planner estimated a DISTINCT over 10M labels at 10M rows, and once the item_id range
    of a part filtered the judgments it built its join hash tables on the judgments (every row of the part) instead
    of on the few labels — a 4M-judgment part then needed more memory than a whole 10M store in one part."""
    labels_seen = [v for v in engine.query("agreement_label_values").column("label").to_pylist() if v is not None]
    engine.register("items_label_codes", pa.table({"label": pa.array(labels_seen, pa.string()),
                                                   "code": pa.array(range(1, len(labels_seen) + 1), pa.int64())}))
    return labels_seen


#: the items table's file name in the output directory (docs/outputs.md)
OUTPUT_FILE = "items.parquet"
#: items per batch of the stage's one query: the stage's NumPy and Arrow work holds this many items at a time, plus
#: about 30 bytes per item for the re-labeling order and the findings (:class:`_Tally`)
BATCH_ROWS = 1 << 19
#: rows per row group of the items.parquet the stage writes (pyarrow's default, as the other outputs get)
ROW_GROUP_ROWS = 1 << 20


def stage(ctx: Context) -> StageResult:
    """Derive gold, flag poisoned and stale items, rank the re-labeling queue; findings poisoned_items/stale_items.

    Everything per item comes from one query (``items_facts``, which also marks the judgments the flagged
    labelers' are set aside from), read in batches of :data:`BATCH_ROWS` items; each batch is vectorised over its
    columns. The re-labeling order needs every item's poison score, so a second pass over the batches adds it.
    With ``ctx.write_dir`` set (`evalaudit run`) the batches go to ``items.parquet`` there as they are derived and
    the stage returns a dataset over that file: the items table is never whole in memory."""
    cfg = ctx.cfg
    counted = define_judgments(ctx)  # the one repeated-judgment policy: the view `judgments` every stage reads
    moment = gold_owner.as_of(ctx.cfg)
    guideline = gold_owner.current_guideline(ctx.cfg, ctx.engine)
    flagged, labels_seen = _register_inputs(ctx)
    no_null_label = sum(ctx.labels.counts) == counted["n_rows"]  # every label row gives a label
    positive = ctx.labels.positive
    negatives = [v for v in labels_seen if v != positive]
    binary = len(negatives) <= 1  # the positive label and at most one other: a posterior of "positive" decides
    negative = negatives[0] if negatives else None
    several_values = many_values(ctx)
    sink = _Sink(ctx.write_dir)
    tally = _Tally()
    source_counts = np.zeros(len(GOLD_SOURCES), dtype=np.int64)
    untimed = 0
    text = facts_sql(len(labels_seen) if no_null_label else None)
    params = {"current_guideline": guideline or "", "as_of": moment,
              "repeats": int(counted["n_rows"] > counted["n_judgments"])}
    for batch in (b for part in parts(ctx.tables.get("consensus"), counted["n_judgments"], PART_JUDGMENTS)
                  for b in ctx.engine.stream_sql(text, BATCH_ROWS, **params, **part)):
        facts = pa.Table.from_batches([batch])
        chunk, matrix, kept, source = _derive(cfg, facts, moment, guideline, positive, negative, binary)
        n_labelers = _np(facts.column("n_labelers"))
        untimed += int(((n_labelers > 0) & ~_mask(pc.is_valid(facts.column("last_labeled_at")))).sum())
        source_counts += np.bincount(source[source >= 0], minlength=len(GOLD_SOURCES))
        del facts, batch
        sink.add(_audit(ctx, chunk, matrix, kept, tally, several_values))
    # the re-labeling order and the items file on a second thread (NumPy's sort and Parquet's encoding release the
    # GIL) while this one draws the findings from the same tally, which neither changes (10M judgments: -0.2 s)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="evalaudit-items-file") as writer:
        written = writer.submit(lambda: sink.finish(*_relabel_order(tally)))
        findings, summary = _conclude(ctx, tally, flagged, guideline, moment)
        items_table = written.result()
    summary["items"]["gold_source"] = {s: int(source_counts[k]) for k, s in enumerate(GOLD_SOURCES)}
    skipped = [skip("items: flagged_deciding_vote", MANY_VALUES_REASON)] if several_values else []
    if untimed and cfg.gold.max_age_days > 0:
        skipped.append(skip("stale items: too_old", f"{untimed:,} judged items have no labeled_at on any judgment, "
                                                    "so their age is unknown and they are never flagged too_old"))
    result = _result(ctx, items_table, flagged, findings, summary)
    result.skipped = skipped
    return result


#: the most judgments the query ``items_facts`` aggregates at once: a larger store's items are asked for in parts
#: of the item_id range (:func:`parts`), so the query's working memory stays that of a store this size
PART_JUDGMENTS = 4_000_000
#: the one part that is every item (the query's parameters)
ALL_ITEMS = {"part_first": 1, "part_last": 1, "part_lo": "", "part_hi": ""}


def parts(consensus: pa.Table | ds.Dataset | None, n_judgments: int, size: int = PART_JUDGMENTS
          ) -> list[dict[str, object]]:
    """The parts of the item_id range the items stage asks ``items_facts`` for, in item_id order, each about
    ``size`` judgments: the boundaries are quantiles of a regular sample of 10,000 of the labelers stage's
    consensus item ids (every judged item has one; the table, or its file). A boundary only splits the work;
    wherever it falls, every item is in exactly one part."""
    k = -(-n_judgments // size)
    n = 0 if consensus is None else consensus.count_rows() if isinstance(consensus, ds.Dataset) else consensus.num_rows
    if k <= 1 or not n:
        return [ALL_ITEMS]
    at = pa.array(np.linspace(0, n - 1, min(n, 10_000)).astype(np.int64))
    taken = (consensus.take(at, columns=["item_id"]).column("item_id") if isinstance(consensus, ds.Dataset)
             else consensus.column("item_id").take(at))
    sample = sorted(set(taken.to_pylist()) - {None})
    bounds = sorted({sample[len(sample) * j // k] for j in range(1, k)})
    edges: list[str | None] = [None, *bounds, None]
    return [{"part_first": int(lo is None), "part_last": int(hi is None), "part_lo": lo or "", "part_hi": hi or ""}
            for lo, hi in pairwise(edges)]


def _derive(cfg, facts: pa.Table, moment: datetime, guideline: str | None, positive: str | None,
            negative: str | None, binary: bool
            ) -> tuple[pa.Table, np.ndarray, tuple[np.ndarray, pa.Array, np.ndarray], np.ndarray]:
    """One batch of the query ``items_facts`` as rows of the items table (its re-labeling order still null, the
    columns that depend on who is flagged still null: :func:`_audit` fills them), with the flags that do not depend
    on who is flagged, the per-item (n_kept, kept_label, kept_tied) and the gold source codes."""
    n = facts.num_rows
    given, honeypot = facts.column("gold_label"), facts.column("honeypot_label")
    n_labelers = _np(facts.column("n_labelers"))
    posterior = _np(facts.column("posterior_positive"), dtype=float, fill=np.nan)
    today = gold_owner.today_gold(given, honeypot, facts.column("derived_label"), facts.column("derived_method"),
                                  posterior, facts.column("majority_label"), positive, negative, binary)
    gold, source, consensus_label, has_post = today.label, today.source, today.consensus, today.binary_posterior
    has_given, has_honeypot = _mask(pc.is_valid(given)), _mask(pc.is_valid(honeypot))
    has_derived = _mask(pc.is_valid(facts.column("derived_label")))

    # -- posterior of the gold label, poison score -------------------------------------------------------------
    is_positive = _mask(pc.equal(gold, positive)) if positive is not None else np.zeros(n, dtype=bool)
    post_binary = np.where(has_post, np.where(is_positive, posterior, 1 - posterior), np.nan)
    p_listed = _np(facts.column("posterior_listed"), dtype=float, fill=np.nan)
    p_derived = _np(facts.column("posterior_derived"), dtype=float, fill=np.nan)
    post_new = np.where(has_given, p_listed, np.where(~has_honeypot & has_derived, p_derived, np.nan))
    post_gold = np.where(np.isfinite(post_new), post_new, post_binary)
    agree = np.where(source <= 1, _np(facts.column("n_agree_listed")), _np(facts.column("n_top")))
    smoothed = (agree + 0.5) / (n_labelers + 1.0)  # Jeffreys prior: an unjudged item gets 0.5
    has_gold = source >= 0
    poison = np.where(has_gold, np.clip(1 - np.where(np.isfinite(post_gold), post_gold, smoothed), 0, 1), np.nan)

    # -- flags that do not depend on who is flagged ---------------------------------------------------------------
    matrix = np.zeros((n, len(FLAGS)), dtype=bool)
    last = facts.column("last_labeled_at")
    matrix[:, FLAGS.index("single_label")] = n_labelers == 1
    stale = gold_owner.stale_flags(cfg, moment, guideline, n_labelers, _np(facts.column("n_labelers_left")), last,
                                   _np(facts.column("n_with_guideline")), _np(facts.column("n_current_guideline")))
    for name, flag in stale.items():
        matrix[:, FLAGS.index(name)] = flag
    matrix[:, FLAGS.index("no_judgments")] = n_labelers == 0

    table = pa.table({
        "item_id": facts.column("item_id"), "failure_mode": facts.column("failure_mode"), "gold_label": gold,
        "poison_score": pa.array(poison, pa.float64(), mask=~np.isfinite(poison)),
        "flags": pa.nulls(n, pa.list_(pa.string())),
        "relabel_priority": pa.nulls(n, pa.int64()), "gold_source": _strings(source, GOLD_SOURCES),
        "audited_label": pa.nulls(n, pa.string()), "audited_status": pa.nulls(n, pa.string()),
        "consensus_label": consensus_label,
        "posterior_gold": pa.array(post_gold, pa.float64(), mask=~np.isfinite(post_gold)),
        "n_labelers": pa.array(n_labelers), "n_judgments": facts.column("n_judgments"),
        "last_labeled_at": last, "expected_score_change": pa.nulls(n, pa.float64()),
        "is_honeypot": pa.array(has_honeypot),
    }, schema=ITEMS_SCHEMA)
    kept = (_np(facts.column("n_kept")), facts.column("kept_label").combine_chunks(),
            _np(facts.column("kept_tied")) > 0)
    return table, matrix, kept, source


def _relabel_order(tally: _Tally) -> tuple[np.ndarray, np.ndarray]:
    """Per item (in the stage's item_id order): expected_score_change and relabel_priority. Re-labeling an item
    whose gold flips moves the overall score by 1/N, so the rank follows the poison score; ties go to the item whose
    failure-mode score moves more (poison_score / gold items of its failure mode), then to the item id."""
    fm_index, fm_names = tally.failure_modes()
    gold_mask, poison = np.concatenate(tally.gold_mask), np.concatenate(tally.poison)
    n = len(gold_mask)
    fm_gold = np.bincount(fm_index, weights=gold_mask, minlength=len(fm_names))
    score = np.nan_to_num(poison)
    del poison
    expected = np.where(gold_mask, score / np.maximum(fm_gold[fm_index], 1), 0.0)
    order = _descending(np.where(gold_mask, score, -1.0), expected)
    priority = np.empty(n, dtype=np.int64)
    priority[order] = np.arange(1, n + 1)
    return expected, priority


def _descending(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Row indices by ``first`` descending, then ``second`` descending, then row: ``np.lexsort((np.arange(n),
    -second, -first))`` (finite values), with fewer sorts of every row than its three stable ones.

    Which way is cheaper depends on how often ``first`` (the poison score) repeats, read from a sample of 65,536
    rows. When its values are mostly distinct (2.41M among 2.5M items of the standard 10M store), one unstable sort
    on ``first`` (the fast one numpy has) puts almost every row in place; only the rows whose ``first`` ties
    another's are then ordered by (``second``, row) within their tie. When ties are common (a labels-only store
    whose Dawid-Skene posteriors take a few hundred thousand values: 89% of 2.5M rows tied), two stable sorts of
    one key each, the least significant first, give the order directly (stable: equal keys keep the order the sort
    before made, and the first keeps row order): 0.79 s against 1.57 s for sorting first and ordering the ties
    (AMD EPYC, 2.5M rows)."""
    primary = -first
    n = len(primary)
    sample = primary[::max(1, n // 65_536)]
    if n and len(np.unique(sample)) < 0.75 * len(sample):  # (np.unique, as the sorts, takes -0.0 == 0.0)
        order = np.argsort(-second, kind="stable")
        return order[np.argsort(primary[order], kind="stable")]
    order = np.argsort(primary)
    ranked = primary[order]
    same = ranked[1:] == ranked[:-1]  # (-0.0 == 0.0, as the sorts compare them)
    tied = np.zeros(len(order), dtype=bool)
    tied[1:] = same
    tied[:-1] |= same
    at = np.flatnonzero(tied)
    if len(at) > len(order) // 2:
        return np.lexsort((-second, primary))
    if len(at):
        tie = np.concatenate([[0], np.cumsum(~same)])[at]  # the tie's number, increasing along the sorted order
        rows = order[at]
        order[at] = rows[np.lexsort((rows, -second[rows], tie))]
    return order


class _Sink:
    """Where the items table's batches go: kept in memory (a notebook, the API), or — with a directory
    (`evalaudit run`) — written as Parquet there as they come, so that only one batch is in memory at a time.
    :meth:`finish` adds the re-labeling order, which needs every item, in a second pass over the batches."""

    #: the first pass's scratch file: Arrow IPC, uncompressed (written and read back at memory speed)
    PASS_ONE = ".items-unordered.arrow"

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.batches: list[pa.Table] = []
        self.writer: pa.ipc.RecordBatchFileWriter | None = None
        if directory is not None:
            self.writer = pa.ipc.new_file(directory / self.PASS_ONE, ITEMS_SCHEMA)

    def add(self, table: pa.Table) -> None:
        if self.writer is not None:
            self.writer.write_table(table)
        else:
            self.batches.append(table)

    def finish(self, expected: np.ndarray, priority: np.ndarray) -> pa.Table | ds.Dataset:
        columns = (("relabel_priority", pa.int64(), priority), ("expected_score_change", pa.float64(), expected))
        if self.writer is None:
            table = pa.concat_tables(self.batches) if self.batches else ITEMS_SCHEMA.empty_table()
            self.batches = []
            for name, kind, values in columns:
                table = table.set_column(ITEMS_SCHEMA.get_field_index(name), name, pa.array(values, kind))
            return table
        self.writer.close()
        assert self.directory is not None
        unordered, path = self.directory / self.PASS_ONE, self.directory / OUTPUT_FILE
        start, pending = 0, ITEMS_SCHEMA.empty_table()
        with pq.ParquetWriter(path, ITEMS_SCHEMA, compression="zstd") as writer, pa.OSFile(str(unordered)) as f:
            reader = pa.ipc.open_file(f)  # read, not memory-mapped: a batch's pages leave with the batch
            for i in range(reader.num_record_batches):
                batch = reader.get_batch(i)
                table, stop = pa.Table.from_batches([batch]), start + batch.num_rows
                for name, kind, values in columns:
                    table = table.set_column(ITEMS_SCHEMA.get_field_index(name), name,
                                             pa.array(values[start:stop], kind))
                pending, start = pa.concat_tables([pending, table]), stop
                while pending.num_rows >= ROW_GROUP_ROWS:  # row groups as `pq.write_table` makes them
                    writer.write_table(pending.slice(0, ROW_GROUP_ROWS))
                    pending = pending.slice(ROW_GROUP_ROWS)
            if pending.num_rows:
                writer.write_table(pending)
        unordered.unlink()
        return ds.dataset(path, format="parquet")


#: label spaces of at most this many labels are counted per item in one aggregation, one count column per label
#: (items_facts: judged_by_count_columns); larger ones per item × label first, then per item (judged_by_label)
COUNT_COLUMNS_MAX = 16


def facts_sql(n_labels: int | None) -> str:
    """The named query ``items_facts`` filled for a store whose label rows carry ``n_labels`` distinct labels and
    no null label (None: unknown, or null labels present). Up to COUNT_COLUMNS_MAX labels the per-item sums come
    from one aggregation over the judgments with a count column per label code instead of two (item × label, then
    item): about a third less work on the stage's one large query, with the same columns and values (the codes
    are those of the query's label_codes: 1..n_labels in label order)."""
    q = n_labels if n_labels and n_labels <= COUNT_COLUMNS_MAX else None
    codes = range(1, (q or 1) + 1)

    def greatest(prefix: str) -> str:
        return f"GREATEST({', '.join(f'c.{prefix}_{k}' for k in codes)})" if len(codes) > 1 else f"c.{prefix}_1"

    def pick(prefix: str, top: str, order: Iterable[int]) -> str:
        return "CASE " + " ".join(f"WHEN c.{prefix}_{k} = c.{top} THEN {k}" for k in order) + " END"

    fill = {
        "count_columns": ",\n        ".join(
            [f"SUM(CASE WHEN m.label_code = {k} THEN 1 ELSE 0 END) AS n_code_{k}" for k in codes]
            + [f"SUM(CASE WHEN m.label_code = {k} THEN m.kept ELSE 0 END) AS kept_code_{k}" for k in codes]),
        "n_top": greatest("n_code"), "n_top_kept": greatest("kept_code"),
        "top_high": pick("n_code", "n_top", reversed(codes)), "top_low": pick("n_code", "n_top", codes),
        "kept_high": pick("kept_code", "n_top_kept", reversed(codes)),
        "kept_low": pick("kept_code", "n_top_kept", codes),
        "n_agree_listed": "CASE " + " ".join(f"WHEN c.listed_code = {k} THEN c.n_code_{k}" for k in codes)
                          + " ELSE 0 END",
        "judged": "judged_by_count_columns" if q else "judged_by_label",
        "label_code": "CAST(NULL AS BIGINT)" if q else "m.label_code",
    }
    return named_sql.filled("items_facts", **fill)


def rederive(ctx: Context, items_table: pa.Table) -> StageResult:
    """The items stage again for other flagged labelers (``ctx.tables["flagged_labelers"]``) or moved thresholds
    (``ctx.cfg``), on the items table a run already derived: only what depends on them is recomputed — the
    audited gold, the flags ``flagged_labeler_only``, ``flagged_deciding_vote`` and
    ``gold_disagrees_with_consensus``, the findings — from one query over the items a flagged labeler judged.
    Gold, poison scores and the re-labeling order do not depend on them and are kept."""
    define_judgments(ctx)
    flagged, _ = _register_inputs(ctx)
    ctx.engine.register("items_rows", pa.table({"item_id": items_table.column("item_id"),
                                                "item_row": pa.array(np.arange(items_table.num_rows))}))
    kept = _aligned_kept(_np(items_table.column("n_labelers")), ctx.engine.query("items_kept_counts"))
    ctx.engine.drop("items_rows")
    matrix = _flag_matrix(items_table.column("flags"))
    guideline = gold_owner.current_guideline(ctx.cfg, ctx.engine)
    tally = _Tally()
    table = _audit(ctx, items_table, matrix, kept, tally, many_values(ctx))
    findings, summary = _conclude(ctx, tally, flagged, guideline, gold_owner.as_of(ctx.cfg))
    source = table.column("gold_source")
    summary["items"]["gold_source"] = {s: int(pc.sum(pc.equal(source, s)).as_py() or 0) for s in GOLD_SOURCES}
    return _result(ctx, table, flagged, findings, summary)


@dataclass
class _Tally:
    """What the findings, the summary and the re-labeling order need from every batch of items, gathered batch by
    batch: per item whether it is in the gold set, its poison score, its failure mode (codes into the batch's
    names) and its flags; per finding the smallest item ids it could name as examples."""

    gold_mask: list[np.ndarray] = field(default_factory=list)
    poison: list[np.ndarray] = field(default_factory=list)
    fm_codes: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    matrix: list[np.ndarray] = field(default_factory=list)
    n_items: int = 0
    n_honeypots: int = 0
    #: (finding kind, failure mode or stale reason) -> candidate example item ids
    examples: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def add(self, table: pa.Table, matrix: np.ndarray, gold_mask: np.ndarray) -> None:
        fm_index, fm_names = _failure_mode_codes(table.column("failure_mode"))
        self.gold_mask.append(gold_mask)
        self.poison.append(_np(table.column("poison_score"), dtype=float, fill=np.nan))
        self.fm_codes.append((fm_index, fm_names))
        self.matrix.append(matrix)
        self.n_items += table.num_rows
        self.n_honeypots += int(_mask(table.column("is_honeypot")).sum())
        item_ids = table.column("item_id")
        poisoned = _poisoned(matrix, gold_mask)
        for k in np.unique(fm_index[poisoned]):
            self.examples.setdefault(("poisoned_items", str(fm_names[k])), []).extend(
                _first_ids(item_ids, poisoned & (fm_index == k)))
        for reason in STALE_FLAGS:
            mask = matrix[:, FLAGS.index(reason)] & gold_mask
            if mask.any():
                self.examples.setdefault(("stale_items", reason), []).extend(_first_ids(item_ids, mask))

    def failure_modes(self) -> tuple[np.ndarray, np.ndarray]:
        """Per item its failure mode's code over all batches, numbered in sorted order, and the names in order."""
        seen = pa.array(np.unique(np.concatenate([names for _, names in self.fm_codes] or [np.array([], object)]))
                        .tolist(), pa.string())
        _, names = codes(seen, canonical=True)
        where = {name: k for k, name in enumerate(names.to_pylist())}
        index = [np.array([where[str(x)] for x in batch_names], dtype=np.int32)[batch_index] if len(batch_names)
                 else batch_index for batch_index, batch_names in self.fm_codes]
        return (np.concatenate(index) if index else np.zeros(0, dtype=np.int32)), np.asarray(names.to_pylist(),
                                                                                             dtype=object)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """gold_mask, poison and the flag matrix over all batches."""
        if not self.matrix:
            return np.zeros(0, dtype=bool), np.zeros(0), np.zeros((0, len(FLAGS)), dtype=bool)
        return np.concatenate(self.gold_mask), np.concatenate(self.poison), np.concatenate(self.matrix)

    def first_ids(self, kind: str, key: str, k: int = 50) -> list[str]:
        """The ``k`` smallest candidate item ids of a finding (each batch offered its own ``k`` smallest)."""
        return sorted(self.examples.get((kind, key), []))[:k]


def _poisoned(matrix: np.ndarray, gold_mask: np.ndarray) -> np.ndarray:
    """Gold items carrying any of :data:`POISON_FLAGS`."""
    return matrix[:, [FLAGS.index(f) for f in sorted(POISON_FLAGS)]].any(axis=1) & gold_mask


def _audit(ctx: Context, table: pa.Table, matrix: np.ndarray, kept: tuple[np.ndarray, pa.Array, np.ndarray],
           tally: _Tally, several_values: bool) -> pa.Table:
    """Fill in what depends on the flagged labelers and the thresholds — audited gold, three flags — for a batch
    of items (or a whole items table), and add the batch to ``tally`` for the findings. ``kept``: per item,
    (n_kept, kept_label, kept_tied) — see :func:`audited_gold`."""
    cfg = ctx.cfg
    gold = table.column("gold_label").combine_chunks()
    audited = audited_gold(gold, _np(table.column("n_labelers")), *kept)
    post_gold = _np(table.column("posterior_gold"), dtype=float, fill=np.nan)
    matrix[:, FLAGS.index("flagged_labeler_only")] = audited.flagged_only
    # numeric scores with many values: the majority of the remaining judgments is no consensus (they all differ)
    matrix[:, FLAGS.index("flagged_deciding_vote")] = audited.deciding_vote & ~several_values
    matrix[:, FLAGS.index("gold_disagrees_with_consensus")] = (
        np.isfinite(post_gold) & (1 - np.nan_to_num(post_gold, nan=1.0) >= cfg.items.consensus_min_posterior))
    for name, column in (("flags", _flag_lists(matrix)), ("audited_label", audited.label),
                         ("audited_status", _strings(audited.status, AUDITED_STATUSES))):
        table = table.set_column(table.schema.get_field_index(name), name, column)
    tally.add(table, matrix, in_gold_set(table))
    return table


def _conclude(ctx: Context, tally: _Tally, flagged: pa.Table, guideline: str | None, moment: datetime
              ) -> tuple[list[Finding], dict]:
    """The findings poisoned_items and stale_items and ``summary.items`` from the tally of every batch."""
    gold_mask, poison, matrix = tally.arrays()
    fm_index, fm_names = tally.failure_modes()
    fm_gold = np.bincount(fm_index, weights=gold_mask, minlength=len(fm_names))
    findings = _poisoned_findings(ctx, fm_names, fm_index, fm_gold, matrix, gold_mask, poison, flagged, tally)
    findings += _stale_findings(ctx, fm_names, fm_index, matrix, gold_mask, tally, guideline)
    summary = {"items": {
        "n_items": tally.n_items, "n_gold": int(gold_mask.sum()), "n_honeypots": tally.n_honeypots,
        "current_guideline": guideline, "as_of": moment.isoformat(),
        "flags": dict(zip(FLAGS, (matrix & gold_mask[:, None]).sum(axis=0).tolist(), strict=True)),
        "flagged_labelers": flagged.num_rows,
    }}
    return findings, summary


def many_values(ctx: Context) -> bool:
    """Whether the labels are numeric scores with too many values for a vote (the consensus is the median)."""
    from evalaudit.labelers.consensus import method_for

    return method_for(ctx.labels) == "mean"


MANY_VALUES_REASON = ("numeric scores with many distinct values: the majority of the judgments left once flagged "
                      "labelers are set aside is not a consensus (the scores all differ), so the gold is not "
                      "re-derived without them")


def _result(ctx: Context, table: pa.Table | ds.Dataset, flagged: pa.Table, findings: list[Finding], summary: dict
            ) -> StageResult:
    """The stage's tables: the items table (or the dataset over its written file), the flagged labelers and the
    gold set's rows (which impact and coverage read: with the items table written to a file, read back only when
    the store has predictions or production traffic for them)."""
    columns = ["item_id", "failure_mode", "gold_label", "audited_label", "audited_status"]
    tables = {"items": table, "flagged_labelers": flagged}
    if isinstance(table, pa.Table):
        tables["gold_items"] = table.select(columns).filter(pa.array(in_gold_set(table)))
    elif ctx.engine.has_table("predictions") or ctx.engine.has_table("production"):
        gold = table.to_table(columns=[*columns, "is_honeypot"])
        tables["gold_items"] = gold.filter(pa.array(in_gold_set(gold))).select(columns)
    return StageResult(tables=tables, findings=findings, summary=summary)


def _failure_mode_codes(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Per item its failure mode's code, numbered in sorted order, and the failure modes' names in that order."""
    index, names = codes(column, canonical=True)
    return index, np.asarray(names.to_pylist(), dtype=object)


def _severity(share: float, count: int, share_medium: float, share_high: float, n_medium: int, n_high: int) -> str:
    if share >= share_high and count >= n_high:
        return "high"
    if share >= share_medium and count >= n_medium:
        return "medium"
    return "low"


def _first_ids(item_ids: pa.ChunkedArray, mask: np.ndarray, k: int = 50) -> list[str]:
    """The ``k`` smallest item ids where ``mask`` holds (a finding's examples)."""
    ids = pc.filter(item_ids, pa.array(mask))
    return pc.take(ids, pc.sort_indices(ids)[:k]).to_pylist()


def _poisoned_findings(ctx: Context, fm_names, fm_index, fm_gold, flag_matrix, gold_mask, poison, flagged,
                       tally: _Tally) -> list[Finding]:
    """One poisoned_items finding per failure mode with poisoned gold: how many, what share, how many likely wrong."""
    cfg = ctx.cfg.items
    cols = [FLAGS.index(f) for f in sorted(POISON_FLAGS)]
    poisoned = _poisoned(flag_matrix, gold_mask)
    per_fm = np.bincount(fm_index[poisoned], minlength=len(fm_names))
    wrong_fm = np.bincount(fm_index[poisoned], weights=np.nan_to_num(poison[poisoned]), minlength=len(fm_names))
    flag_fm = {j: np.bincount(fm_index[poisoned & flag_matrix[:, j]], minlength=len(fm_names)) for j in cols}
    pairs = list(zip(flagged.column("labeler_id").to_pylist(), flagged.column("failure_mode").to_pylist(),
                     strict=True))
    out = []
    for k in np.flatnonzero(per_fm >= 5):
        name = str(fm_names[k])
        count = int(per_fm[k])
        share = count / max(fm_gold[k], 1)
        likely_wrong = float(wrong_fm[k])
        by_flag = {FLAGS[j]: int(flag_fm[j][k]) for j in cols}
        labelers = sorted({lab for lab, f in pairs if f is None or f == name})
        out.append(Finding(
            kind="poisoned_items",
            severity=_severity(share, count, cfg.poisoned_share_medium, cfg.poisoned_share_high,
                               cfg.poisoned_n_medium, cfg.poisoned_n_high),
            labeler_id=labelers[0] if len(labelers) == 1 else None,
            failure_mode=name, effect=share, n=count,
            evidence=("census of gold items whose gold rests only on flagged labelers, was decided by their vote, "
                      "or contradicts the Dawid–Skene consensus; 'likely wrong' = sum of poison scores "
                      "(1 - posterior of the gold label)"),
            message=(f"{count:,} gold items of {name} ({share:.1%}) rest on flagged labelers' judgments or "
                     f"contradict the consensus; about {likely_wrong:,.0f} of them are likely wrong."),
            details={"by_flag": by_flag, "likely_wrong": round(likely_wrong, 1), "flagged_labelers": labelers,
                     "item_ids": tally.first_ids("poisoned_items", name)},
        ))
    return out


def _stale_findings(ctx: Context, fm_names, fm_index, flag_matrix, gold_mask, tally: _Tally, guideline
                    ) -> list[Finding]:
    """One stale_items finding per reason (superseded guideline, too old, labelers inactive), with the failure
    modes it touches."""
    cfg = ctx.cfg.items
    n_gold = int(gold_mask.sum())
    out = []
    texts = {
        "superseded_guideline": f"were labeled only under a guideline other than the current one ({guideline})",
        "too_old": f"were last labeled more than {ctx.cfg.gold.max_age_days} days ago",
        "labelers_inactive": "were judged only by labelers who have since left",
    }
    for reason in STALE_FLAGS:
        mask = flag_matrix[:, FLAGS.index(reason)] & gold_mask
        count = int(mask.sum())
        if count < cfg.stale_min_items:
            continue
        share = count / max(n_gold, 1)
        per_fm = np.bincount(fm_index[mask], minlength=len(fm_names))
        top = sorted(((str(fm_names[k]), int(per_fm[k])) for k in np.flatnonzero(per_fm)), key=lambda t: -t[1])
        out.append(Finding(
            kind="stale_items",
            severity=_severity(share, count, cfg.stale_share_medium, cfg.stale_share_high, cfg.stale_min_items,
                               cfg.stale_min_items),
            failure_mode=top[0][0] if len(top) == 1 else None, effect=share, n=count,
            evidence=f"census of gold items flagged {reason}",
            message=f"{count:,} gold items ({share:.1%} of the gold set) {texts[reason]}.",
            details={"reason": reason, "by_failure_mode": dict(top),
                     "item_ids": tally.first_ids("stale_items", reason)},
        ))
    return out
