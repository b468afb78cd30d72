"""Ingest: validate labeling exports and append them to the store with provenance (docs/store.md, docs/ingest.md).

Every file given is read and staged before any is committed, so an unusable file among several leaves the store
untouched. Each file then commits atomically (see evalaudit.store). Rows that cannot be stored go to quarantine
with the reason; the counts of added, duplicate and quarantined rows are returned for the CLI to print.

Idempotent per judgment (docs/store.md): a judgment (item_id, labeler_id, label, labeled_at; nulls equal) that an
earlier row of the same file, an earlier file of the same command or the store already holds is set aside and
counted, so a cumulative export can be ingested every night.

One module per concern: :mod:`~evalaudit.ingest.files` (which files, their SHA-256), :mod:`~evalaudit.ingest.readers`
(one reader per format; :mod:`~evalaudit.ingest.label_studio`), :mod:`~evalaudit.ingest.mapping` (``--map``),
:mod:`~evalaudit.ingest.normalize` (typed projection and quarantine reasons in DuckDB),
:mod:`~evalaudit.ingest.staging` (one file staged), :mod:`~evalaudit.ingest.dedupe` (judgments already held); this
module orchestrates them and commits.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from evalaudit import __version__, schema
from evalaudit.errors import UnusableInput, input_error, store_error
from evalaudit.ingest.files import expand, sha256_of
from evalaudit.ingest.mapping import apply_map, parse_map
from evalaudit.ingest.model_labelers import commit_model_labelers, stage_model_labelers
from evalaudit.ingest.readers import FORMATS, detect_format, read
from evalaudit.ingest.staging import FileResult, stage_file, staging_error
from evalaudit.ingest.tool_rows import ReadOptions
from evalaudit.paths import check_input
from evalaudit.sql import quote_literal
from evalaudit.store import SourceRecord, Store

__all__ = ["FORMATS", "FileResult", "ReadOptions", "detect_format", "ingest_files", "parse_map", "sha256_of"]

#: DuckDB's working-memory cap during ingest (hash tables of the judgment de-duplication spill beyond it)
INGEST_MEMORY_LIMIT = "1500MB"


def ingest_files(store_dir: str | Path, paths: Iterable[str | Path], table: str = "labels", fmt: str = "auto",
                 mapping: Mapping[str, str] | None = None, now: datetime | None = None,
                 options: ReadOptions | None = None) -> list[FileResult]:
    """Validate and append each file to ``table`` of the store; all or nothing per file, files read first.
    ``options`` are the tool-export choices (question, melt, include judges)."""
    tbl = schema.get(table)
    if fmt not in FORMATS:
        raise UnusableInput(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    files = expand(paths)
    if not files:
        raise UnusableInput("no input files given (or none with a known suffix in the directories given)")
    for f in files:
        check_input(f)
    ingested_at = (now or datetime.now(UTC)).astimezone(UTC)
    with _no_trace_on_failure(Path(store_dir)) as committed:
        return _ingest(Store.open(store_dir, create=True), files, tbl, table, fmt, mapping, ingested_at, committed,
                       options or ReadOptions())


@contextlib.contextmanager
def _no_trace_on_failure(root: Path) -> Iterator[list[int]]:
    """A failed ingest leaves no trace (docs/cli.md): when it fails before committing any file, whatever it created
    under ``root`` (the store skeleton, or the whole directory when it did not exist) is removed again. The caller
    appends to the yielded list once per committed file."""
    existed = root.exists()
    before = {p.name for p in root.iterdir()} if existed and root.is_dir() else set()
    committed: list[int] = []
    try:
        yield committed
    except BaseException:
        if not committed:
            if not existed:
                shutil.rmtree(root, ignore_errors=True)
            elif root.is_dir():
                for entry in root.iterdir():
                    if entry.name not in before:
                        shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
        raise


def _ingest(store: Store, files: list[Path], tbl: schema.Table, table: str, fmt: str,
            mapping: Mapping[str, str] | None, ingested_at: datetime, committed: list[int],
            options: ReadOptions) -> list[FileResult]:
    results: list[tuple[int, FileResult]] = []
    with store.lock(), store.staging() as staging:
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")  # a 10M-row COPY would draw one between the summary lines
        con.execute(f"SET temp_directory = {quote_literal(str(staging / 'spill'))}")
        # the de-duplication's hash tables spill beyond this instead of growing with the file (10M rows: 3.5 GiB
        # peak uncapped); the cap is DuckDB's, so the process peak stays near 3 GiB (benchmarks/RESULTS.md)
        con.execute(f"SET memory_limit = {quote_literal(INGEST_MEMORY_LIMIT)}")
        staged: list[tuple[int, Path, Path | None, FileResult]] = []
        seen: set[str] = set()
        # judgments already stored, and those staged from earlier files of this command, are not stored again
        stored = store.files(table)
        for i, path in enumerate(files):
            try:
                sha = sha256_of(path)
            except OSError as e:
                raise input_error(path, e) from None
            if sha in seen or store.has_source(table, sha):
                results.append((i, FileResult(path, table, sha, "duplicate")))
                continue
            seen.add(sha)
            src = read(path, fmt, options)
            if src.kinds and table != "labels":
                raise UnusableInput(f"{path}: LLM-judge scores are judgments; ingest them into the labels table",
                                    options=("table",))
            names = apply_map(src, tbl, mapping or {})
            sub = staging / str(i)
            try:
                sub.mkdir()
                staged.append((i, *stage_file(con, src, tbl, names, sha, ingested_at, sub, stored)))
            except duckdb.InterruptException:
                raise KeyboardInterrupt from None
            except duckdb.Error as e:
                raise staging_error(e, path, store) from None
            except OSError as e:
                raise store_error(store.root, e) from None
            stored = [*stored, staged[-1][1]]
            if src.kinds:
                staged[-1][3].labelers_added = stage_model_labelers(con, store, src, sha, ingested_at, sub)
        con.close()
        try:
            for i, data, quarantine, result in staged:
                store.commit(table, result.sha256, data, quarantine, SourceRecord(
                    table=table, source_file=str(result.path.resolve()), source_sha256=result.sha256,
                    format=result.format, rows_added=result.rows_added, rows_quarantined=result.rows_quarantined,
                    ingested_at=ingested_at.isoformat(), evalaudit_version=__version__,
                    rows_duplicate_in_file=result.rows_duplicate_in_file,
                    rows_duplicate_stored=result.rows_duplicate_stored,
                ))
                if quarantine is not None:
                    result.quarantine_file = store.quarantine_path(table, result.sha256)
                if result.labelers_added:
                    commit_model_labelers(store, result, ingested_at, staging / str(i))
                committed.append(i)
                results.append((i, result))
        except OSError as e:
            raise store_error(store.root, e) from None
    return [r for _, r in sorted(results, key=lambda pair: pair[0])]


