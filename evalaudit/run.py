"""`evalaudit run`: open the store, run the pipeline's stages, write the files of SPEC §5 atomically.

The output directory is built beside ``--out`` under a temporary name and swapped in only when complete, so an
interrupted run never leaves a half-written report where a reader (or a dashboard) would pick it up. Runs only read
the store — a snapshot of its files taken at start — so two runs, or a run and an ingest, can proceed at once.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from evalaudit import findings as fnd
from evalaudit import pipeline, report
from evalaudit.config import Config
from evalaudit.errors import UnusableInput
from evalaudit.findings import Finding
from evalaudit.store import Store

log = logging.getLogger("evalaudit")


@dataclass
class RunResult:
    out: Path
    findings: list[Finding]
    summary: dict
    timings: dict[str, float]
    failed: bool  # findings at or above --fail-on


def _write_parquet(table: pa.Table, path: Path) -> None:
    pq.write_table(table, path, compression="zstd")


def audit(store_dir: str | Path, out_dir: str | Path, cfg: Config, fail_on: str = "high",
          engine: str = "duckdb", progress=None) -> RunResult:
    """Run the whole audit of the store at ``store_dir`` and write its outputs into ``out_dir``."""
    if fail_on not in fnd.FAIL_ON:
        raise UnusableInput(f"--fail-on must be one of {', '.join(fnd.FAIL_ON)}, not {fail_on!r}")
    if engine != "duckdb":
        raise UnusableInput(f"engine {engine!r} is not available; use --engine duckdb")
    store = Store.open(store_dir)
    if not store.files("labels"):
        raise UnusableInput(f"{store.root}: the store holds no labels yet (add some with `evalaudit ingest`)")
    started = datetime.now(UTC)
    eng = store.engine()
    ctx = pipeline.Context(engine=eng, cfg=cfg)
    if progress is not None:
        ctx.progress = progress
    pipeline.run_stages(ctx)
    eng.close()

    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        summary = {**ctx.summary, "stage_seconds": ctx.timings, "config": cfg.source or "defaults"}
        doc = fnd.document(ctx.findings, summary, generated_at=started)
        fnd.write(tmp / "findings.json", doc)
        for name in pipeline.OUTPUT_TABLES:
            if name in ctx.tables:
                _write_parquet(ctx.tables[name], tmp / f"{name}.parquet")
        report.write(tmp / "index.html", doc, ctx)
        _swap_in(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    ordered = sorted(ctx.findings, key=fnd.sort_key)
    return RunResult(out, ordered, doc["summary"], ctx.timings, fnd.exceeds(ordered, fail_on))


def _swap_in(tmp: Path, out: Path) -> None:
    """Replace ``out`` by ``tmp`` with renames only (each atomic); the old output is removed last."""
    old = None
    if out.exists():
        if not out.is_dir():
            raise UnusableInput(f"{out}: exists and is not a directory")
        old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
