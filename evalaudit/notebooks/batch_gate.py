"""The batch-gate notebook's calls: `evalaudit check` on one file (the same verdicts), its expectations as tables,
and the relative checks with the batch beside the store's history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from evalaudit.config import Config
from evalaudit.config import load as load_config
from evalaudit.engine import DuckDBEngine
from evalaudit.store import Store

# -- batch gate ---------------------------------------------------------------------------------------------------
BATCH_SUFFIXES = (".csv", ".parquet", ".jsonl", ".json", ".ndjson")


def check(batch: str | Path, store_dir: str | Path, config: str | Path | Config | None = None,
          promote: bool = False) -> Any:
    """`evalaudit check` on one batch file (:func:`evalaudit.contracts.check_batch`); with ``promote`` a passing
    batch is appended to the store (and a failing one kept whole in quarantine), exactly as ``--promote``."""
    from evalaudit.contracts import check_batch

    cfg = config if isinstance(config, Config) else load_config(config)
    return check_batch(batch, store_dir, cfg, promote_batch=promote)


def expectations_table(result: Any) -> pa.Table:
    """One row per expectation of a check result: name, level, status, counts, observed value and bound."""
    rows = [{"expectation": r.expectation, "level": r.level, "status": r.status,
             "unexpected": r.unexpected_count, "of": r.element_count,
             "observed": None if r.observed is None else str(r.observed), "bound": r.bound,
             "description": r.description, "note": r.note} for r in result.results]
    schema = pa.schema([("expectation", pa.string()), ("level", pa.string()), ("status", pa.string()),
                        ("unexpected", pa.int64()), ("of", pa.int64()), ("observed", pa.string()),
                        ("bound", pa.string()), ("description", pa.string()), ("note", pa.string())])
    return pa.Table.from_pylist(rows, schema=schema)


def rows_table(rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    """Example rows or per-labeler details of an expectation (dicts with mixed values) as a table of text, so
    a column mixing numbers and words still displays."""
    from evalaudit.contracts.result import clean

    columns: list[str] = []
    for r in rows:
        columns += [k for k in r if k not in columns]
    return pa.table({c: pa.array([None if r.get(c) is None else str(clean(r.get(c))) for r in rows], pa.string())
                     for c in columns})


SHIFT_EXPECTATIONS = ("positive_rate_shift", "label_rate_shift", "mean_label_shift")


def labeler_shift(result: Any) -> pa.Table:
    """The batch's labelers against their history: the per labeler × failure mode rows behind the label-shift
    expectation of the label space (batch rate or mean, reference's, shift and its simultaneous interval)."""
    for r in result.results:
        if r.expectation in SHIFT_EXPECTATIONS and r.details:
            return pa.Table.from_pylist(r.details)
    return pa.table({"labeler_id": pa.array([], pa.string())})


def beside_history(result: Any) -> pa.Table:
    """Every relative verdict of a check with the batch's value beside the history's, each with its interval and
    sample size (:mod:`evalaudit.contracts.batch_expectations`): agreement, honeypot accuracy per labeler and
    reference, and each labeler × failure mode's label rate (or mean label) against their own or their peers'
    history, with the interval of the shift. Values are rounded text so the table reads at a glance; the status is
    the check's verdict on the whole expectation (the one `evalaudit check` prints)."""
    def num(v: Any) -> str | None:
        return None if v is None else f"{v:.3f}"

    def interval(lo: Any, hi: Any) -> str | None:
        return None if lo is None or hi is None else f"[{lo:.3f}, {hi:.3f}]"

    rows = []
    for r in result.results:
        if r.expectation == "agreement_vs_history" and r.details:
            d = r.details[0]
            rows.append({"check": r.expectation, "status": r.status, "measure": "Krippendorff's alpha",
                         "who": d["history_labelers"], "batch": num(d["alpha_batch"]),
                         "batch_interval": interval(d["batch_ci_low"], d["batch_ci_high"]),
                         "n_batch": d["n_items_batch"], "history": num(d["alpha_history"]),
                         "history_interval": interval(d["history_ci_low"], d["history_ci_high"]),
                         "n_history": d["n_items_history"], "test": f"p = {d['p_value']:.3g}"
                         if d["p_value"] is not None else None})
        elif r.expectation == "honeypot_vs_history":
            for d in r.details:
                rows.append({"check": r.expectation, "status": r.status, "measure": "honeypot accuracy",
                             "who": f"{d['labeler_id']} vs {d['reference']}", "batch": num(d["accuracy_batch"]),
                             "batch_interval": interval(d["batch_ci_low"], d["batch_ci_high"]),
                             "n_batch": d["n_batch"], "history": num(d["accuracy_reference"]),
                             "history_interval": interval(d["reference_ci_low"], d["reference_ci_high"]),
                             "n_history": d["n_reference"], "test": f"q = {d['q_value']:.3g}"})
        elif r.expectation in SHIFT_EXPECTATIONS:
            mean = r.expectation == "mean_label_shift"
            value, what = ("mean", "mean label") if mean else ("rate", "positive rate"
                                                               if r.expectation == "positive_rate_shift" else None)
            for d in r.details:
                rows.append({"check": r.expectation, "status": r.status,
                             "measure": what or f"rate of {d.get('label')!r}",
                             "who": f"{d['labeler_id']} · {d['failure_mode']} vs {d['reference']}",
                             "batch": num(d[f"{value}_batch"]),
                             "batch_interval": interval(d[f"batch_{value}_ci_low"], d[f"batch_{value}_ci_high"]),
                             "n_batch": d["n_batch"], "history": num(d[f"{value}_reference"]),
                             "history_interval": interval(d[f"reference_{value}_ci_low"],
                                                          d[f"reference_{value}_ci_high"]),
                             "n_history": d["n_reference"],
                             "test": f"shift {interval(d['ci_low'], d['ci_high'])}"})
    schema = pa.schema([("check", pa.string()), ("status", pa.string()), ("measure", pa.string()),
                        ("who", pa.string()), ("batch", pa.string()), ("batch_interval", pa.string()),
                        ("n_batch", pa.int64()), ("history", pa.string()), ("history_interval", pa.string()),
                        ("n_history", pa.int64()), ("test", pa.string())])
    return pa.Table.from_pylist(rows, schema=schema)


def batch_engine(batch: str | Path, store_dir: str | Path) -> DuckDBEngine:
    """The store's views plus the view ``batch`` (the file read and normalised as ingest would store it, by
    :func:`evalaudit.contracts.batch.load`), for SQL cells comparing the batch with the history."""
    from evalaudit.contracts import batch as batch_mod

    engine = Store.open(store_dir).engine()
    batch_mod.load(engine, Path(batch))
    return engine
