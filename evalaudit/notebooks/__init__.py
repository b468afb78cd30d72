"""Helpers the marimo notebooks (`notebooks/*.py`) share, one module per concern; docs/notebooks.md describes the
notebooks.

- :mod:`~evalaudit.notebooks.session` — the ``--store``/``--config`` arguments, the one audit run per store, the
  selection view SQL cells join;
- :mod:`~evalaudit.notebooks.views` — selections of the audit's tables (filters, findings, leniency, queue);
- :mod:`~evalaudit.notebooks.charts` — SVG and altair chart adapters;
- :mod:`~evalaudit.notebooks.profile` — one labeler's profile;
- :mod:`~evalaudit.notebooks.gold_form` — the items notebook's set-aside choice and the gold re-derived for it (the
  rules are :mod:`evalaudit.gold`'s);
- :mod:`~evalaudit.notebooks.batch_gate` — `evalaudit check` of one batch, with the batch beside the history.

Nothing here computes a statistic: every number comes from the stages of :mod:`evalaudit.pipeline` and the contract
check (the same code `evalaudit run` and `evalaudit check` use), so a notebook and the report cannot disagree.
Notebooks import this package as ``nb``; every helper is reachable as ``nb.NAME``.
"""

from __future__ import annotations

from evalaudit.notebooks.batch_gate import (
    BATCH_SUFFIXES,
    SHIFT_EXPECTATIONS,
    batch_engine,
    beside_history,
    check,
    expectations_table,
    labeler_shift,
    rows_table,
)
from evalaudit.notebooks.charts import band_chart, intervals_chart, leniency_map, lines_chart, score_chart, seed_chart
from evalaudit.notebooks.gold_form import exclusions, flagged_labeler_ids, gold_defaults, regold
from evalaudit.notebooks.profile import (
    CONCENTRATION_COLUMNS,
    LENIENCY_COLUMNS,
    WORKLOAD_COLUMNS,
    LabelerProfile,
    labeler_profile,
)
from evalaudit.notebooks.session import (
    ALL,
    DEFAULT_STORE,
    SELECTION_VIEW,
    Audit,
    arg,
    audit_from_args,
    chosen,
    cli_value,
    load_audit,
    marimo_args,
    select,
)
from evalaudit.notebooks.views import (
    FINDINGS_COLUMNS,
    agreement_over_time,
    best_leniency,
    empty_leniency,
    filter_items,
    findings_table,
    flag_names,
    formats,
    impact_rows,
    pct,
    relabel_queue,
    top_labelers,
    where,
)

__all__ = [
    "ALL", "BATCH_SUFFIXES", "CONCENTRATION_COLUMNS", "DEFAULT_STORE", "FINDINGS_COLUMNS", "LENIENCY_COLUMNS",
    "SELECTION_VIEW", "SHIFT_EXPECTATIONS", "WORKLOAD_COLUMNS", "Audit", "LabelerProfile", "agreement_over_time",
    "arg", "audit_from_args", "band_chart", "batch_engine", "beside_history", "best_leniency", "check", "chosen",
    "cli_value", "empty_leniency", "exclusions", "expectations_table", "filter_items", "findings_table",
    "flag_names", "flagged_labeler_ids", "formats", "gold_defaults", "impact_rows", "intervals_chart",
    "labeler_profile", "labeler_shift", "leniency_map", "lines_chart", "load_audit", "marimo_args", "pct", "regold",
    "relabel_queue", "rows_table", "score_chart", "seed_chart", "select", "top_labelers", "where",
]
