"""The ordered stages of `evalaudit run` and what each writes.

A stage is a plain function ``stage(ctx) -> StageResult`` (the contract is :mod:`evalaudit.stage`): it reads the
engine's views (and earlier stages' tables from ``ctx.tables``) and returns tables and findings. The pipeline only
orders the stages, hands each the context, and collects what they return; writing files is `run.py`'s job. Adding a
check is adding a stage.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from evalaudit import memory
from evalaudit.stage import Context, Stage, StageResult, define_judgments, skip

log = logging.getLogger("evalaudit")


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

#: Tables the audit writes into --out (docs/outputs.md), as <name>.parquet.
OUTPUT_TABLES = ("agreement", "leniency", "items", "impact")
#: Further tables `evalaudit run` writes beside them, for other programs (small at any scale: per labeler pair,
#: labeler × failure mode, failure mode × window, slice value, model judge × failure mode). The stages also return
#: ``drift_series`` and ``consensus`` (one row per labeler × week and per item: millions at 10M judgments), which
#: only the report and the notebooks read from memory (`evalaudit run` lets ``consensus`` go: :data:`RELEASED_AFTER`).
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


#: Per-item tables (millions of rows at 10M judgments) that a later stage reads and `evalaudit run` does not write,
#: by the stage after which nothing reads them: that stage's name -> (the tables, the engine views holding them).
RELEASED_AFTER = {
    "items": (("consensus",), ("items_consensus",)),
    "impact": (("gold_items",), ("gold_items",)),
}


def _release_tables(ctx: Context, name: str) -> None:
    """Let go of the tables no stage after ``name`` reads (:data:`RELEASED_AFTER`), so they are not held to the
    end of the run beside the ones it writes."""
    tables, views = RELEASED_AFTER.get(name, ((), ()))
    for table in tables:
        ctx.tables.pop(table, None)
    for view in views:
        ctx.engine.drop(view)


def run_stages(ctx: Context, selected: list[tuple[str, Stage]] | None = None, release: bool = False) -> Context:
    """Run each stage in order, collecting its tables, findings and summary into ``ctx``. ``release``: drop the
    tables no later stage reads once their last reader has run (`evalaudit run`, which writes only
    :data:`OUTPUT_TABLES` and :data:`EXTRA_TABLES`; a notebook keeps them)."""
    with memory.trimming():  # the freed heap memory within a stage, before its peak stacks on it
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
            if release:
                _release_tables(ctx, name)
            memory.release()  # the stage's freed memory, before the next stage's peak stacks on it
            ctx.timings[name] = round(time.perf_counter() - start, 3)
            log.info("stage %s: done in %.1f s (%d findings)", name, ctx.timings[name], n_findings)
    return ctx
