"""The stage contract: what a stage of `evalaudit run` receives (:class:`Context`) and returns (:class:`StageResult`).

A stage is a plain function ``stage(ctx) -> StageResult``. This module imports nothing of the stages or of the
pipeline that orders them, so a stage (agreement, labelers, items, coverage, impact, the gold-set expectations)
imports its contract from here and never the run that calls it. It also holds the one policy for repeated
judgments every stage reads (the view ``judgments``), because the context caches its counts once per run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from evalaudit import labelspace
from evalaudit.config import Config
from evalaudit.engine import Engine
from evalaudit.findings import Finding
from evalaudit.labelspace import LabelSpace


@dataclass
class StageResult:
    #: name -> table; names listed in OUTPUT_TABLES are written as ``<name>.parquet`` into --out
    tables: dict[str, pa.Table] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    #: headline numbers for findings.json's summary and the run history (flat, JSON-serialisable)
    summary: dict[str, Any] = field(default_factory=dict)
    #: analyses this stage did not run, or ran on less than it should: ``{"analysis", "reason"}`` each; they
    #: become ``summary.skipped`` and the report's "Not checked" panel (nothing is skipped silently)
    skipped: list[dict[str, str]] = field(default_factory=list)


def skip(analysis: str, reason: str) -> dict[str, str]:
    """One ``summary.skipped`` entry: what did not run (or ran on less data) and why, in words for a person."""
    return {"analysis": analysis, "reason": reason}


@dataclass
class Context:
    engine: Engine
    cfg: Config
    #: tables returned by earlier stages, by name
    tables: dict[str, pa.Table] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    #: seconds per stage, for the report and the benchmark's stage breakdown
    timings: dict[str, float] = field(default_factory=dict)
    #: called as progress(stage_name, done, total) by long stages; a no-op by default
    progress: Callable[[str, int, int], None] = lambda stage, done, total: None
    #: what was skipped so far (``StageResult.skipped`` of every stage, in order)
    skipped: list[dict[str, str]] = field(default_factory=list)
    #: where a stage may write its per-item output tables (docs/outputs.md) as it derives them, batch by batch,
    #: returning a ``pyarrow.dataset.Dataset`` over the file instead of a table, and its per-item tables for later
    #: stages as scratch files (:func:`scratch_file`) (`evalaudit run`: the output directory being built; None:
    #: tables in memory, as a notebook or the Python API wants them)
    write_dir: Path | None = None
    _labels: LabelSpace | None = None
    _judgments: dict[str, int] | None = None

    @property
    def labels(self) -> LabelSpace:
        """The store's label space (:mod:`evalaudit.labelspace`), resolved once per run."""
        if self._labels is None:
            self._labels = labelspace.resolve(self.engine, self.cfg)
        return self._labels


Stage = Callable[[Context], StageResult]

#: how a stage's scratch file in ``Context.write_dir`` begins: a per-item table a later stage reads a part at a
#: time (never an output: :func:`remove_scratch` deletes it once the stages are done)
SCRATCH_PREFIX = ".scratch-"


def scratch_file(ctx: Context, name: str) -> Path | None:
    """Where a stage writes its per-item table ``name`` for later stages to read from disk (`evalaudit run`: in the
    output directory being built), or None when tables stay in memory (a notebook, the Python API)."""
    return None if ctx.write_dir is None else ctx.write_dir / f"{SCRATCH_PREFIX}{name}.arrow"


def remove_scratch(directory: Path) -> None:
    """Delete the scratch files the stages left in ``directory`` (their readers are done)."""
    for path in directory.glob(f"{SCRATCH_PREFIX}*"):
        path.unlink(missing_ok=True)


#: the view of the judgments that count (one per labeler and item); ``labels`` keeps the raw rows
JUDGMENTS_VIEW = "judgments"
#: the columns that say which of two untimed judgments was stored last
PROVENANCE = ("ingested_at", "source_file", "source_row")


def judgments_view(engine: Engine) -> dict[str, int]:
    """Define the view ``judgments`` on ``engine``: the one policy for repeated judgments that every stage reads
    (SQL ``judgments``: a labeler's latest judgment of an item wins; without labeled_at, the last stored). When no
    labeler judged an item twice the view is plain ``labels`` (no window function to pay for). Returns
    ``n_rows``, ``n_judgments`` and ``n_untimed`` (label rows without labeled_at)."""
    engine.register(KEY_CANDIDATES, pa.table({"key_hash": repeated_key_hashes(engine)}))
    try:
        row = engine.query("judgments_repeats").to_pylist()[0]
    finally:
        engine.drop(KEY_CANDIDATES)
    counts = {k: int(row[k] or 0) for k in ("n_rows", "n_judgments", "n_untimed")}
    query = "judgments_all"
    if counts["n_rows"] > counts["n_judgments"]:
        columns = getattr(engine, "columns", lambda name: PROVENANCE)("labels")
        # tables built in memory without provenance (tests, the API) order by time alone
        query = "judgments" if set(PROVENANCE) <= set(columns) else "judgments_by_time"
    engine.define_view(JUDGMENTS_VIEW, query)
    return counts


#: the view of the key hashes that occur more than once (the named query ``judgments_repeats`` counts among them)
KEY_CANDIDATES = "judgments_key_candidates"


def repeated_key_hashes(engine: Engine) -> np.ndarray:
    """The judgment-key hashes (``judgments_key_hashes``: item_id, labeler_id) that more than one label row has,
    each once: the only keys a repeated judgment can have.

    Why sort the hashes in NumPy rather than group the keys in SQL: grouping every labeler x item pair of the store
    (10M distinct pairs of two strings at 10M judgments) took 0.9-1.6 s and DuckDB's whole memory limit (the run's
    peak at 30M judgments); the hashes are one integer column DuckDB computes in parallel and hands over without a
    copy, and sorting them takes about 0.2 s (benchmarks/RESULTS.md). The same screen as ingest's
    (:func:`evalaudit.ingest.dedupe.dedupe`); the count among the candidates is exact, so a collision costs time
    only."""
    hashes = engine.query("judgments_key_hashes").column("key_hash").to_numpy()
    hashes = hashes if hashes.flags.writeable else hashes.copy()  # (one copy at most: sorted in place)
    hashes.sort()
    return np.unique(hashes[1:][hashes[1:] == hashes[:-1]])


def define_judgments(ctx: Context) -> dict[str, int]:
    """:func:`judgments_view` once per run (the counts are kept in ``ctx``)."""
    if ctx._judgments is None:
        ctx._judgments = judgments_view(ctx.engine)
    return ctx._judgments
