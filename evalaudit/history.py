"""Run history: one row per headline metric per run, appended to a Parquet table beside the output directory.

``evalaudit run --out reports/weekly`` appends to ``reports/history.parquet``; the ``report`` column holds the
output directory's name, so several reports may share one history file. The report reads the earlier rows to draw
trends: agreement (Krippendorff's alpha, overall and per failure mode), each flagged labeler's effect, and the eval
score inflation per model version.

Each run also records its findings' identities (docs/outputs.md ``key``): one ``metric = "finding"`` row per finding
with its key, kind, severity, message and effect, and a ``findings_keyed`` row counting them. The next run of the same
report compares its keys with these (:mod:`evalaudit.changes`): what is new, what persists, what was resolved. A
run recorded before keys existed has no ``findings_keyed`` row, and the next run says it could not compare.

Appends are read-modify-write of a small file, done under an exclusive ``flock`` on a lock file beside it and
finished with an atomic ``os.replace``, so two runs at once both land and a killed run leaves the previous file.
"""

from __future__ import annotations

import fcntl
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from evalaudit.errors import UnusableInput

FILE = "history.parquet"

SCHEMA = pa.schema([
    ("report", pa.string()),          # name of the --out directory the run wrote
    ("run_id", pa.string()),
    ("run_at", pa.timestamp("us", tz="UTC")),
    ("metric", pa.string()),          # agreement_alpha | labeler_effect | eval_score_inflation | findings_<severity>
    #                                   | findings_keyed (count of keyed findings) | finding (one per finding)
    ("failure_mode", pa.string()),    # 'all' for the whole store
    ("labeler_id", pa.string()),
    ("model_version", pa.string()),
    ("evidence", pa.string()),        # the method behind value
    ("value", pa.float64()),
    ("ci_low", pa.float64()),
    ("ci_high", pa.float64()),
    ("n", pa.int64()),
    # metric = "finding" only: the finding's identity and what a person read about it
    ("key", pa.string()),
    ("kind", pa.string()),
    ("severity", pa.string()),
    ("message", pa.string()),
])

#: the findings whose effect is a labeler's difference against peers, recorded per run as ``labeler_effect`` (at any
#: severity: a labeler flagged later has their earlier runs on the chart). Which of them are flagged is not decided
#: here: the report's trends draw the pairs :func:`evalaudit.gold.flagged_labelers` names.
EFFECT_KINDS = ("labeler_leniency", "labeler_severity")


def path_for(out: Path) -> Path:
    return Path(out).parent / FILE


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on ``path`` (created if absent), held for the ``with`` block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _num(v: Any) -> float | None:
    return None if v is None else float(v)


def rows_for_run(report: str, run_id: str, run_at: datetime, doc: dict[str, Any],
                 tables: dict[str, pa.Table]) -> pa.Table:
    """The headline metrics of one run as history rows."""
    rows: list[dict[str, Any]] = []

    def add(metric: str, value: Any, **kw: Any) -> None:
        if value is None:
            return
        rows.append({"report": report, "run_id": run_id, "run_at": run_at, "metric": metric,
                     "value": float(value), **kw})

    for sev, count in doc["summary"].get("by_severity", {}).items():
        add(f"findings_{sev}", count, failure_mode="all", evidence="count of findings")
    agreement = tables.get("agreement")
    if agreement is not None and {"scope", "slice", "metric", "value"} <= set(agreement.column_names):
        for r in agreement.to_pylist():
            if r["metric"] != "krippendorff_alpha" or r["scope"] not in ("overall", "failure_mode"):
                continue
            add("agreement_alpha", r["value"], failure_mode="all" if r["scope"] == "overall" else r["slice"],
                evidence=f"krippendorff_alpha ({r.get('level') or 'nominal'}); {r.get('ci_method') or 'bootstrap'}",
                ci_low=_num(r.get("ci_low")), ci_high=_num(r.get("ci_high")), n=r.get("n_items"))
    for f in doc.get("findings", []):
        if f["kind"] in EFFECT_KINDS and f.get("effect") is not None:
            add("labeler_effect", f["effect"], labeler_id=f["labeler_id"], failure_mode=f["failure_mode"] or "all",
                evidence=f["evidence"], ci_low=f.get("ci_low"), ci_high=f.get("ci_high"), n=f.get("n"))
    keyed = [f for f in doc.get("findings", []) if f.get("key")]
    add("findings_keyed", len(keyed), failure_mode="all", evidence="count of findings recorded with their keys")
    for f in keyed:
        rows.append({"report": report, "run_id": run_id, "run_at": run_at, "metric": "finding",
                     "value": _num(f.get("effect")), "labeler_id": f.get("labeler_id"),
                     "failure_mode": f.get("failure_mode") or "all", "evidence": f.get("evidence"),
                     "ci_low": f.get("ci_low"), "ci_high": f.get("ci_high"), "n": f.get("n"), "key": f["key"],
                     "kind": f["kind"], "severity": f["severity"], "message": f.get("message")})
    impact = tables.get("impact")
    if impact is not None and {"model_version", "failure_mode", "delta"} <= set(impact.column_names):
        for r in impact.filter(pc.equal(impact["failure_mode"], "all")).to_pylist():
            add("eval_score_inflation", r["delta"], model_version=r["model_version"], failure_mode="all",
                evidence="score against current gold minus score against audited gold",
                ci_low=_num(r.get("ci_low")), ci_high=_num(r.get("ci_high")), n=r.get("n_items"))
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def check_readable(path: Path) -> None:
    """Refuse, before a run does any work, a history file that cannot be read: appending to it would replace the
    damaged file, and the history in it, by this run's rows alone."""
    path = Path(path)
    if not path.exists():
        return
    try:
        read(path)
    except UnusableInput:
        raise
    except (OSError, pa.ArrowException) as e:
        raise UnusableInput(f"{path}: the run history beside the report directory cannot be read "
                            f"({str(e).splitlines()[0]}); move it aside to start a new history") from None


def read(path: Path, report: str | None = None) -> pa.Table:
    """Every history row at ``path`` (optionally only those of one report), or an empty table."""
    if not Path(path).exists():
        return SCHEMA.empty_table()
    with pq.ParquetFile(path) as f:  # not pq.read_table: its dataset machinery costs a run 0.1-0.2 s to import
        table = f.read()
    for name in SCHEMA.names:  # a history written by an older evalaudit lacks the newer (nullable) columns
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(table.num_rows, SCHEMA.field(name).type))
    table = table.select(SCHEMA.names).cast(SCHEMA)
    if report is not None:
        table = table.filter(pc.equal(table["report"], report))
    return table


def runs(table: pa.Table) -> list[tuple[datetime, str]]:
    """The runs in history rows ``table``, as (run_at, run_id) oldest first: each distinct pair made Python
    objects once (the history holds a row per finding and per labeler × failure mode of every run; converting every
    row's zone-aware time took a scheduled run about half a second after 55 runs)."""
    pairs = table.group_by(["run_at", "run_id"], use_threads=False).aggregate([])
    return sorted(zip(pairs["run_at"].to_pylist(), pairs["run_id"].to_pylist(), strict=True))


def append(path: Path, rows: pa.Table) -> None:
    """Append ``rows`` to the history at ``path`` atomically, under its lock."""
    path = Path(path)
    with locked(path.parent / f".{path.name}.lock"):
        old = read(path)
        merged = pa.concat_tables([old, rows.cast(SCHEMA)])
        tmp = path.parent / f".{path.name}.{uuid.uuid4().hex[:8]}.tmp"
        try:
            pq.write_table(merged, tmp, compression="zstd")
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
