"""The ordered stages of `evalaudit run` and what each writes.

A stage is a plain function ``stage(ctx) -> StageResult``: it reads the engine's views (and earlier stages'
tables from ``ctx.tables``) and returns tables and findings. The pipeline only orders the stages, hands each the
context, and collects what they return; writing files is `run.py`'s job. Adding a check is adding a stage.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from evalaudit import labelspace
from evalaudit.config import Config
from evalaudit.engine import Engine
from evalaudit.findings import Finding
from evalaudit.labelspace import LabelSpace

log = logging.getLogger("evalaudit")


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
    _labels: LabelSpace | None = None
    _judgments: dict[str, int] | None = None

    @property
    def labels(self) -> LabelSpace:
        """The store's label space (:mod:`evalaudit.labelspace`), resolved once per run."""
        if self._labels is None:
            self._labels = labelspace.resolve(self.engine, self.cfg)
        return self._labels


Stage = Callable[[Context], StageResult]

#: the view of the judgments that count (one per labeler and item); ``labels`` keeps the raw rows
JUDGMENTS_VIEW = "judgments"
#: the columns that say which of two untimed judgments was stored last
PROVENANCE = ("ingested_at", "source_file", "source_row")


def judgments_view(engine: Engine) -> dict[str, int]:
    """Define the view ``judgments`` on ``engine``: the one policy for repeated judgments that every stage reads
    (SQL ``judgments``: a labeler's latest judgment of an item wins; without labeled_at, the last stored). When no
    labeler judged an item twice the view is plain ``labels`` (no window function to pay for). Returns
    ``n_rows``, ``n_judgments`` and ``n_untimed`` (label rows without labeled_at)."""
    row = engine.query("judgments_repeats").to_pylist()[0]
    counts = {k: int(row[k] or 0) for k in ("n_rows", "n_judgments", "n_untimed")}
    query = "judgments_all"
    if counts["n_rows"] > counts["n_judgments"]:
        columns = getattr(engine, "columns", lambda name: PROVENANCE)("labels")
        # tables built in memory without provenance (tests, the API) order by time alone
        query = "judgments" if set(PROVENANCE) <= set(columns) else "judgments_by_time"
    engine.define_view(JUDGMENTS_VIEW, query)
    return counts


def define_judgments(ctx: Context) -> dict[str, int]:
    """:func:`judgments_view` once per run (the counts are kept in ``ctx``)."""
    if ctx._judgments is None:
        ctx._judgments = judgments_view(ctx.engine)
    return ctx._judgments


def judgments_summary(ctx: Context) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """``summary.judgments`` (rows, judgments counted, repeats set aside, rows without labeled_at) and the
    ``summary.skipped`` entries that say what the policy and missing timestamps left out."""
    counts = define_judgments(ctx)
    repeats = counts["n_rows"] - counts["n_judgments"]
    summary = {**counts, "n_repeated_set_aside": repeats,
               "repeated_policy": "latest labeled_at per labeler and item; without labeled_at, the last stored"}
    skipped = []
    if repeats:
        skipped.append(skip("repeated judgments", (
            f"{repeats} of {counts['n_rows']} label rows are earlier judgments of an item by the same labeler and "
            "were set aside by every analysis: each labeler's latest judgment of an item counts (without "
            "labeled_at, the last stored)")))
    if counts["n_untimed"]:
        skipped.append(skip("analyses over time", (
            f"{counts['n_untimed']} of {counts['n_rows']} label rows have no labeled_at: agreement per time window "
            "(and per failure mode x window), drift, activity and recency leave them out")))
    return summary, skipped

#: Tables the audit writes into --out (SPEC §5), as <name>.parquet.
OUTPUT_TABLES = ("agreement", "leniency", "items", "impact")
#: Further tables `evalaudit run` writes beside them, for other programs (small at any scale: per labeler pair,
#: labeler × failure mode, failure mode × window, slice value, model judge × failure mode). The stages also return
#: ``drift_series`` and ``consensus`` (one row per labeler × week and per item: millions at 10M judgments), which
#: only the report and the notebooks read from memory.
EXTRA_TABLES = ("agreement_pairs", "agreement_failure_mode_window", "labeler_stats", "drift", "coverage",
                "judges")


def store_summary(ctx: Context) -> StageResult:
    """How much the store holds: judgments, items, labelers, failure modes, time span; how many repeated
    judgments the one policy set aside and how many rows lack a time (``summary.judgments``)."""
    row = ctx.engine.query("store_summary").to_pylist()[0]
    summary = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}
    judgments, skipped = judgments_summary(ctx)
    return StageResult(summary={"store": summary, "labels": ctx.labels.summary(), "judgments": judgments},
                       skipped=skipped)


def stages() -> list[tuple[str, Stage]]:
    """The stages of a run, in order: each may use the tables and findings of those before it."""
    from evalaudit import agreement, coverage, impact, items, judges, labelers
    from evalaudit.contracts import gold_stage

    return [
        ("store", store_summary),
        ("agreement", agreement.stage),
        ("labelers", labelers.stage),
        ("judges", judges.stage),
        ("items", items.stage),
        ("coverage", coverage.stage),
        ("impact", impact.stage),
        ("gold_expectations", gold_stage),
    ]


def _release_freed_memory() -> None:
    """Hand freed memory back to the OS between stages (the C heap's part on glibc only).

    A stage's NumPy and Arrow work frees hundreds of MiB in pieces small enough to stay in the heap, where the next
    stage's peak would stack on top of them (about 0.4 GiB after the labelers stage at 10M judgments)."""
    pa.default_memory_pool().release_unused()  # Arrow's own pool keeps freed blocks too
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def run_stages(ctx: Context, selected: list[tuple[str, Stage]] | None = None) -> Context:
    """Run each stage in order, collecting its tables, findings and summary into ``ctx``."""
    for name, stage in selected or stages():
        start = time.perf_counter()
        log.info("stage %s: started", name)
        result = stage(ctx)
        ctx.tables.update(result.tables)
        ctx.findings.extend(result.findings)
        ctx.summary.update(result.summary)
        ctx.skipped.extend(result.skipped)
        ctx.summary["skipped"] = list(ctx.skipped)
        n_findings = len(result.findings)
        del result
        _release_freed_memory()
        ctx.timings[name] = round(time.perf_counter() - start, 3)
        log.info("stage %s: done in %.1f s (%d findings)", name, ctx.timings[name], n_findings)
    return ctx
