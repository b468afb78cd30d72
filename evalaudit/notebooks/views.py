"""Selections of the audit's tables a notebook cell shows: rows of one failure mode or labeler, findings as a
table, the best leniency row per pair, agreement over time, the re-labeling queue and its filters, and display
formats. Nothing here computes a statistic: every number comes from the stages of :mod:`evalaudit.pipeline`."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from evalaudit.findings import Finding, sort_key
from evalaudit.gold import in_gold_set
from evalaudit.notebooks.session import Audit, chosen
from evalaudit.report import svg

FINDINGS_COLUMNS = ("severity", "kind", "labeler_id", "failure_mode", "effect", "ci_low", "ci_high", "q_value", "n",
                    "evidence", "message")
_FINDINGS_SCHEMA = pa.schema([
    ("severity", pa.string()), ("kind", pa.string()), ("labeler_id", pa.string()), ("failure_mode", pa.string()),
    ("effect", pa.float64()), ("ci_low", pa.float64()), ("ci_high", pa.float64()), ("q_value", pa.float64()),
    ("n", pa.int64()), ("evidence", pa.string()), ("message", pa.string()),
])


def empty_leniency() -> pa.Table:
    from evalaudit.labelers.evidence import LENIENCY_SCHEMA

    return LENIENCY_SCHEMA.empty_table()


def top_labelers(leniency: pa.Table, n: int) -> list[str]:
    """Up to ``n`` labelers of ``leniency``, those with the most significant test first (smallest q-value, then
    largest absolute effect) — the rows worth showing on a map of thousands of labelers."""
    best: dict[str, tuple[float, float]] = {}
    for r in leniency.select(["labeler_id", "q_value", "effect"]).to_pylist():
        key = (r["q_value"] if r["q_value"] is not None else 2.0, -abs(r["effect"] or 0.0))
        if r["labeler_id"] not in best or key < best[r["labeler_id"]]:
            best[r["labeler_id"]] = key
    return [lab for lab, _ in sorted(best.items(), key=lambda kv: (kv[1], kv[0]))][:n]


def where(table: pa.Table, **equals: str | None) -> pa.Table:
    """Rows of ``table`` whose columns equal the given values; a None or :data:`ALL` value does not filter."""
    mask = None
    for column, value in equals.items():
        value = chosen(value)
        if value is None or column not in table.column_names:
            continue
        m = pc.fill_null(pc.equal(table[column], value), False)
        mask = m if mask is None else pc.and_(mask, m)
    return table if mask is None else table.filter(mask)


def findings_table(findings: Sequence[Finding], failure_mode: str | None = None, labeler_id: str | None = None,
                   kinds: Sequence[str] | None = None) -> pa.Table:
    """The findings as a table (most severe first), optionally only those naming this failure mode / labeler."""
    rows = [{c: getattr(f, c) for c in FINDINGS_COLUMNS} for f in sorted(findings, key=sort_key)
            if (kinds is None or f.kind in kinds)]
    return where(pa.Table.from_pylist(rows, schema=_FINDINGS_SCHEMA), failure_mode=failure_mode,
                 labeler_id=labeler_id)


def agreement_over_time(audit: Audit, failure_mode: str | None, metric: str = "krippendorff_alpha") -> pa.Table:
    """Agreement per time window (``[agreement] window``): the run's ``window`` scope over all failure modes, or,
    for one failure mode, the agreement stage run on that failure mode's judgments alone (same coefficients,
    same item bootstrap; cached per failure mode for the session)."""
    fm = chosen(failure_mode)
    if fm is None:
        table = audit.tables.get("agreement")
    else:
        if fm not in audit._agreement_cache:
            from evalaudit.agreement.stage import agreement_table

            labels = audit.engine.sql(
                "SELECT item_id, labeler_id, label, labeled_at FROM labels WHERE failure_mode = $fm", fm=fm)
            audit._agreement_cache[fm] = agreement_table(labels, copy.deepcopy(audit.cfg)).tables["agreement"]
        table = audit._agreement_cache[fm]
    if table is None or table.num_rows == 0:
        return pa.table({"slice": pa.array([], pa.string())})
    out = where(where(table, scope="window"), metric=metric)
    return out.sort_by("slice")


def best_leniency(leniency: pa.Table) -> pa.Table:
    """One leniency row per labeler × failure mode: the kind of evidence with the smallest q-value (ties: the
    larger n). The map shows this row; the labeler notebook shows every kind."""
    if leniency.num_rows == 0:
        return leniency
    t = leniency.append_column("_q", pc.fill_null(leniency["q_value"], 2.0))
    t = t.sort_by([("labeler_id", "ascending"), ("failure_mode", "ascending"), ("_q", "ascending"),
                   ("n", "descending")])
    keys = list(zip(t["labeler_id"].to_pylist(), t["failure_mode"].to_pylist(), strict=True))
    first = [i for i, k in enumerate(keys) if i == 0 or k != keys[i - 1]]
    return t.take(pa.array(first, pa.int64())).drop_columns(["_q"])


def impact_rows(impact: pa.Table, picked: Any = None) -> pa.Table:
    """impact.parquet rows of the model versions picked in the seed chart (a pandas frame or list of row dicts
    from ``mo.ui.altair_chart(...).value``); every row when nothing is picked."""
    versions: list[str] = []
    if picked is not None and len(picked):
        rows = picked.to_dict("records") if hasattr(picked, "to_dict") else list(picked)
        versions = sorted({str(r["model_version"]) for r in rows if r.get("model_version") is not None})
    out = impact.filter(pc.is_in(impact["model_version"], pa.array(versions, pa.string()))) if versions else impact
    return out.sort_by([("model_version", "ascending"), ("failure_mode", "ascending")])


def relabel_queue(items_table: pa.Table, top: int | None = None) -> pa.Table:
    """The re-labeling queue as `evalaudit relabel` exports it: gold items that are not honeypots, by
    ``relabel_priority`` (see :mod:`evalaudit.relabel`)."""
    from evalaudit.relabel import COLUMNS

    t = items_table.filter(pa.array(in_gold_set(items_table)))  # the gold set (evalaudit.gold)
    t = t.sort_by("relabel_priority").select(list(COLUMNS))
    return t.slice(0, top) if top is not None else t


def filter_items(audit: Audit, items_table: pa.Table, flags: Sequence[str] = (), failure_mode: str | None = None,
                 labeler_id: str | None = None) -> pa.Table:
    """Gold items carrying every one of ``flags``, of ``failure_mode``, judged by ``labeler_id`` (None = any):
    the same selection as `evalaudit relabel --flag/--failure-mode/--labeler`."""
    from evalaudit.relabel import select

    fm, lab = chosen(failure_mode), chosen(labeler_id)
    return select(audit.engine, items_table, [fm] if fm else (), [lab] if lab else (), flags)


def flag_names() -> tuple[str, ...]:
    from evalaudit.items import FLAGS

    return FLAGS


def pct(value: float | None) -> str:
    """A share as a percentage for a stat tile; "n/a" when absent."""
    return "n/a" if value is None else f"{100 * value:.1f}%"


def formats(table: Any) -> dict[str, Any]:
    """``format_mapping`` for ``mo.ui.table``: every float column to 3 significant figures, p- and q-values in
    scientific notation (the report's rule, evalaudit.report.svg.num) — no 17-digit floats on screen."""
    if table is None or not hasattr(table, "schema"):
        return {}
    return {f.name: (lambda v, sci=f.name in ("p_value", "q_value"): svg.num(v, sci=sci))
            for f in table.schema if pa.types.is_floating(f.type)}
