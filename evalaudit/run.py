"""`evalaudit run`: open the store, run the pipeline's stages, write the files of docs/outputs.md atomically.

Safe to schedule:
- Runs only *read* the store (a snapshot of its files taken at start), so two runs, or a run and an ingest, can
  proceed at once without touching each other's data.
- The output directory is built beside ``--out`` under a temporary name and swapped in by renames only when
  complete, so an interrupted run never leaves a half-written report where a reader would pick it up (its partial
  directory is removed on the way out, and leftovers of a killed run are swept by the next run).
- The swap and the history append happen under an exclusive lock on ``.<out>.lock`` beside ``--out``, so two runs
  writing the same ``--out`` finish one after the other; each leaves a whole report.
- Resampling in the stages is seeded, so an unchanged store gives the same numbers.
- Each finding gets a stable ``key`` and a ``change`` (new | persisting) against the previous run of the same
  ``--out`` in the history (:mod:`evalaudit.changes`), read under the same lock; ``summary.md`` says what changed
  and ``--fail-on-new`` fails only on new findings (docs/scheduling.md).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from evalaudit import changes, history, pipeline, report, summary_md, verdict
from evalaudit import findings as fnd
from evalaudit.config import Config
from evalaudit.errors import UnusableInput, output_error
from evalaudit.findings import Finding
from evalaudit.paths import check_output_dir
from evalaudit.redact import Redactor, load_salt
from evalaudit.stage import Context, Stage, StageResult, remove_scratch
from evalaudit.store import Store

log = logging.getLogger("evalaudit")

#: optional store tables whose absence explains a "not computed" section
OPTIONAL_STORE_TABLES = ("items", "labelers", "predictions", "production")
#: a partial output directory older than this is a killed run's leftover and is removed
STALE_PARTIAL_S = 6 * 3600

Progress = Callable[[str, int, int], None]


@dataclass
class RunResult:
    out: Path
    findings: list[Finding]
    summary: dict
    timings: dict[str, float]
    failed: bool  # findings at or above --fail-on (with --fail-on-new: new findings at or above it)


def _write_parquet(table: pa.Table, path: Path) -> None:
    pq.write_table(table, path, compression="zstd")


def _with_progress(stages: list[tuple[str, Stage]], progress: Progress) -> list[tuple[str, Stage]]:
    """Each stage wrapped so ``progress`` also hears its start (0 of 1) and its end (1 of 1)."""

    def wrap(name: str, stage: Stage) -> Stage:
        def run(ctx: Context) -> StageResult:
            progress(name, 0, 1)
            result = stage(ctx)
            progress(name, 1, 1)
            return result

        return run

    return [(name, wrap(name, stage)) for name, stage in stages]


@contextmanager
def _out_lock(out: Path) -> Iterator[None]:
    with history.locked(out.parent / f".{out.name}.lock"):
        yield


def audit(store_dir: str | Path, out_dir: str | Path, cfg: Config, fail_on: str = "high",
          engine: str = "duckdb", progress: Progress | None = None, redact_labelers: bool = False,
          stages: list[tuple[str, Stage]] | None = None, keep_history: bool = True,
          spark_master: str | None = None, spark_conf: dict[str, str] | None = None,
          fail_on_new: str | None = None) -> RunResult:
    """Run the whole audit of the store at ``store_dir`` and write its outputs into ``out_dir``.

    ``stages`` overrides ``pipeline.stages()`` (tests, partial audits); ``redact_labelers`` replaces labeler ids
    by salted pseudonyms in every output (see :mod:`evalaudit.redact`); ``keep_history`` appends the run's
    headline metrics to ``history.parquet`` beside ``out_dir``. ``engine="spark"`` runs the same named queries
    on a Spark session (``spark_master``, ``spark_conf``; see :mod:`evalaudit.engine_spark`). ``fail_on_new``
    (a severity) replaces the ``fail_on`` rule by "any finding new since the previous run at or above it".
    """
    if fail_on not in fnd.FAIL_ON:
        raise UnusableInput(f"the failing severity must be one of {', '.join(fnd.FAIL_ON)}, not {fail_on!r}",
                            options=("fail_on",))
    if fail_on_new is not None and fail_on_new not in fnd.SEVERITIES:
        raise UnusableInput("the failing severity of new findings must be one of high, medium, low, not "
                            f"{fail_on_new!r}", options=("fail_on_new",))
    if engine not in ("duckdb", "spark"):
        raise UnusableInput(f"engine {engine!r} is not available; use duckdb or spark", options=("engine",))
    out = Path(out_dir)
    store = Store.open(store_dir)
    # before any work: an --out that would replace or sit inside a store, or someone else's files, is refused
    check_output_dir(out, store.root)
    if not store.files("labels"):
        raise UnusableInput(f"{store.root}: the store holds no labels yet (add some with `evalaudit ingest`)")
    if keep_history:
        history.check_readable(history.path_for(out))
    store_tables = {t for t in OPTIONAL_STORE_TABLES if store.files(t)}
    started = datetime.now(UTC)
    if engine == "spark":
        from evalaudit.engine_spark import store_engine

        eng = store_engine(store, master=spark_master, conf=spark_conf)
    else:
        eng = store.engine(memory_limit=os.environ.get("EVALAUDIT_MEMORY_LIMIT", cfg.run.memory_limit))
    tmp = _partial_dir(out)  # the output directory being built: the items stage writes items.parquet into it
    ctx = Context(engine=eng, cfg=cfg, write_dir=tmp)
    if progress is not None:
        ctx.progress = progress
    selected = stages if stages is not None else pipeline.stages()
    try:
        pipeline.run_stages(ctx, _with_progress(selected, progress) if progress is not None else selected,
                            release=True)
        remove_scratch(tmp)  # (the stages' files for one another, e.g. the consensus: not outputs)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        eng.close()

    try:  # the partial output directory exists from here on: nothing that fails may leave it behind
        t0 = time.perf_counter()
        tables, found, extra = dict(ctx.tables), list(ctx.findings), dict(ctx.summary)
        if redact_labelers:
            # a table a stage already wrote (a dataset over its file) names items, never labelers
            in_memory = {name: t for name, t in tables.items() if isinstance(t, pa.Table)}
            redactor = Redactor.for_run(load_salt(out.parent), in_memory, found)
            tables = {**tables, **{name: redactor.table(t) for name, t in in_memory.items()}}
            found = [redactor.finding(f) for f in found]
            extra = redactor.value(extra)
        fnd.assign_keys(found)  # after redaction: keys never hash a real labeler id
        summary = {**extra, "stage_seconds": ctx.timings, "config": cfg.source or "defaults",
                   "redacted_labelers": redact_labelers, "store_path": str(store_dir)}
        run_id = f"{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        hist_path = history.path_for(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

    try:
        # Parquet encoding releases the GIL: write the tables on a second core while the report renders
        with ThreadPoolExecutor(max_workers=2) as pool:
            writes = [pool.submit(_write_parquet, tables[name], tmp / f"{name}.parquet")
                      for name in (*pipeline.OUTPUT_TABLES, *pipeline.EXTRA_TABLES)
                      if isinstance(tables.get(name), pa.Table)]  # the rest the stages wrote already
            with _out_lock(out):
                # under the lock, so two runs of one --out each compare with the run recorded just before them
                past = history.read(hist_path, report=out.name) if keep_history else None
                prev = changes.previous_run(past)
                changes.mark(found, prev)
                summary["changes"] = changes.summarize(found, prev)
                summary["resolved"] = [{"key": r["key"], "message": r["message"]}
                                       for r in summary["changes"]["resolved"]]
                doc = fnd.document(found, summary, generated_at=started)
                rows = history.rows_for_run(out.name, run_id, started, doc, tables)
                fnd.write(tmp / "findings.json", doc)
                (tmp / "summary.md").write_text(
                    summary_md.render(doc, verdict.build(doc, tables), str(out / "index.html")), encoding="utf-8")
                trend = pa.concat_tables([past, rows]) if past is not None else None
                t_report = time.perf_counter()
                report.write(tmp / "index.html", doc, tables, history=trend, store_tables=store_tables,
                             alpha_min=cfg.agreement.alpha_min, redacted=redact_labelers)
                log.info("report rendered in %.1f s", time.perf_counter() - t_report)
                for w in writes:
                    w.result()
                _swap_in(tmp, out)
                if keep_history:
                    history.append(hist_path, rows)
    except OSError as e:  # a full disk, a read-only file system, no permission: the output's fault, not ours
        shutil.rmtree(tmp, ignore_errors=True)
        raise output_error(out, e) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    ctx.timings["write"] = round(time.perf_counter() - t0, 3)
    log.info("wrote %s in %.1f s", out, ctx.timings["write"])
    ordered = sorted(found, key=fnd.sort_key)
    failed = (fnd.exceeds(ordered, fail_on_new, only_new=True) if fail_on_new is not None
              else fnd.exceeds(ordered, fail_on))
    return RunResult(out, ordered, doc["summary"], ctx.timings, failed)


def _partial_dir(out: Path) -> Path:
    """A new, empty directory beside ``out`` to build the run's output in (swapped in by :func:`_swap_in`)."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        _sweep_partials(out)
        tmp = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
    except OSError as e:
        raise output_error(out, e) from None
    return tmp


def _sweep_partials(out: Path) -> None:
    """Remove partial/old output directories a killed run left beside ``out`` (only ones hours old)."""
    now = time.time()
    for p in out.parent.glob(f".{out.name}.*-*"):
        if not p.is_dir() or not (".partial-" in p.name or ".old-" in p.name):
            continue
        try:
            if now - p.stat().st_mtime > STALE_PARTIAL_S:
                shutil.rmtree(p, ignore_errors=True)
        except FileNotFoundError:
            pass


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
