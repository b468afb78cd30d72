"""Ingest: validate labeling exports and append them to the store with provenance (SPEC §2, §4 `ingest`).

Every file given is read and staged before any is committed, so an unusable file among several leaves the store
untouched. Each file then commits atomically (see evalaudit.store). Rows that cannot be stored go to quarantine
with the reason; the counts of added, duplicate and quarantined rows are returned for the CLI to print.

Idempotent per judgment (SPEC §2): a judgment (item_id, labeler_id, label, labeled_at; nulls equal) that an
earlier row of the same file, an earlier file of the same command or the store already holds is set aside and
counted, so a cumulative export can be ingested every night.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import stat
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from evalaudit import __version__, schema
from evalaudit.errors import UnusableInput, input_error, store_error
from evalaudit.ingest import normalize
from evalaudit.ingest.readers import FORMATS, ROW, Source, detect_format, read
from evalaudit.paths import check_input
from evalaudit.sql import quote_ident, quote_literal
from evalaudit.store import SourceRecord, Store

__all__ = ["FORMATS", "FileResult", "detect_format", "ingest_files", "parse_map", "sha256_of"]

#: DuckDB's working-memory cap during ingest (hash tables of the judgment de-duplication spill beyond it)
INGEST_MEMORY_LIMIT = "1500MB"

SUFFIXES = (".parquet", ".pq", ".csv", ".tsv", ".jsonl", ".ndjson", ".json")


@dataclass
class FileResult:
    path: Path
    table: str
    sha256: str
    status: str  # "added" | "duplicate"
    format: str = ""
    rows_added: int = 0
    rows_quarantined: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    quarantine_file: Path | None = None
    #: reasons of quarantined rows with their counts, most common first
    reasons: list[tuple[str, int]] = field(default_factory=list)
    #: rows set aside because the same judgment came earlier in the file, or is already in the store (SPEC §2)
    rows_duplicate_in_file: int = 0
    rows_duplicate_stored: int = 0


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def parse_map(pairs: Iterable[str]) -> dict[str, str]:
    """``["SRC=DST", ...]`` -> {SRC: DST}; UnusableInput on a malformed pair."""
    out: dict[str, str] = {}
    for pair in pairs:
        src, sep, dst = pair.partition("=")
        if not sep or not src.strip() or not dst.strip():
            raise UnusableInput(f"--map {pair!r}: write it as SOURCE_COLUMN=CANONICAL_COLUMN")
        out[src.strip()] = dst.strip()
    return out


def expand(paths: Iterable[str | Path]) -> list[Path]:
    """Files named, and regular files with a known suffix under directories named, in a stable order.

    Every path is checked to be a regular file or a directory first (evalaudit.paths.check_input), so a FIFO, a
    device or a symlink loop is one sentence, never a hang."""
    out: list[Path] = []
    for p in map(Path, paths):
        check_input(p)
        if p.is_dir():
            try:
                found = sorted(f for f in p.rglob("*") if f.suffix.lower() in SUFFIXES and _regular(f))
            except OSError as e:
                raise input_error(p, e) from None
            out.extend(found)
        else:
            out.append(p)
    return out


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _apply_map(src: Source, table: schema.Table, mapping: Mapping[str, str]) -> dict[str, str]:
    """Source column -> stored column name, checking the mapping against the file and the table."""
    names = {c: c for c in src.columns}
    allowed = set(table.user_columns)
    for old, new in mapping.items():
        if old not in names:
            raise UnusableInput(
                f"{src.path}: --map names column {old!r}, which the file does not have "
                f"(it has: {', '.join(src.columns) or 'no columns'})"
            )
        if table.name not in schema.OPEN_TABLES and new not in allowed:
            raise UnusableInput(
                f"--map {old}={new}: {new!r} is not a column of table {table.name} "
                f"(columns: {', '.join(table.user_columns)})"
            )
        if new in names and new not in mapping:
            raise UnusableInput(f"{src.path}: has a column {new!r} already, so --map {old}={new} is ambiguous")
        names[old] = new
    targets = [v for v in names.values()]
    dupes = sorted({t for t in targets if targets.count(t) > 1})
    if dupes:
        raise UnusableInput(f"{src.path}: --map gives more than one column the name {', '.join(dupes)}")
    present = set(names.values())
    missing = [c for c in table.required if c not in present]
    if missing:
        hints = [f"{c} (found {s!r}: use --map {s}={c})" for c in missing for s in src.columns
                 if s.lower().replace(" ", "_") == c]
        raise UnusableInput(
            f"{src.path}: missing required column(s) {', '.join(hints or missing)} for table {table.name} "
            f"(columns found: {', '.join(src.columns) or 'none'}; rename one with --map SOURCE={missing[0]})"
        )
    return names


def _execute(con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, object]) -> duckdb.DuckDBPyConnection:
    """Execute with only the parameters the statement names (DuckDB rejects unused ones)."""
    return con.execute(sql, {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)})


def _stage(con: duckdb.DuckDBPyConnection, src: Source, table: schema.Table, names: dict[str, str],
           sha: str, ingested_at: datetime, staging: Path,
           stored: list[Path]) -> tuple[Path, Path | None, FileResult]:
    keep = {old: new for old, new in names.items()
            if new in table.user_columns or (table.name in schema.OPEN_TABLES
                                             and new not in {p.name for p in table.provenance})}
    ignored = [old for old in src.columns if old not in keep]
    if src.parquet is not None:
        base = "read_parquet($source_path, file_row_number = true)"
        row_expr = "file_row_number"
        described = con.execute(f"DESCRIBE SELECT * FROM {base}", {"source_path": str(src.parquet)}).fetchall()
        types = {r[0]: r[1] for r in described}
    else:
        con.register("__arrow_src", src.table)
        base, row_expr = "__arrow_src", ROW
        types = dict.fromkeys(src.columns, "VARCHAR")
    # every source column goes into `src` (quarantined rows keep all of them); only `keep` is stored
    projection = ", ".join(f"{quote_ident(old)} AS {quote_ident(new)}" for old, new in names.items())
    cte = f"WITH src AS (SELECT {projection}{', ' if projection else ''}{row_expr} AS {ROW} FROM {base})\n"
    good_sql, bad_sql = normalize.build(table, {new: types[old] for old, new in keep.items()}, ROW)
    params = {"source_file": str(src.path.resolve()), "source_sha256": sha, "ingested_at": ingested_at,
              "table_name": table.name}
    if src.parquet is not None:
        params["source_path"] = str(src.parquet)
    data = staging / f"{table.name}.parquet"
    added = _execute(con, f"COPY ({cte}{good_sql}) TO {quote_literal(str(data))} "
                     "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)", params).fetchall()[0][0]
    reader_bad = pa.table(
        {
            "table": pa.array([table.name] * len(src.bad_rows), pa.string()),
            "source_file": pa.array([params["source_file"]] * len(src.bad_rows), pa.string()),
            "source_sha256": pa.array([sha] * len(src.bad_rows), pa.string()),
            "source_row": pa.array([b.row for b in src.bad_rows], pa.int64()),
            "column": pa.array([b.column for b in src.bad_rows], pa.string()),
            "reason": pa.array([b.reason for b in src.bad_rows], pa.string()),
            "raw": pa.array([b.raw for b in src.bad_rows], pa.string()),
            "quarantined_at": pa.array([ingested_at] * len(src.bad_rows), schema.TIMESTAMP),
        }
    )
    con.register("__reader_bad", reader_bad)
    quarantine = staging / "quarantine.parquet"
    # a row is stored exactly when its reason is NULL, so when every source row was stored the bad-rows query would
    # scan the whole file again to find none: only the reader's own bad rows (if any) are quarantined then
    every_row_stored = int(added) == _source_rows(src)
    bad_part = "" if every_row_stored else f"SELECT * FROM ({bad_sql}) UNION ALL "
    n_bad = 0
    if bad_part or src.bad_rows:
        n_bad = _execute(con, f"COPY ({cte}{bad_part}SELECT * FROM __reader_bad ORDER BY source_row) TO "
                         f"{quote_literal(str(quarantine))} (FORMAT parquet, COMPRESSION zstd)",
                         params).fetchall()[0][0]
    reasons: list[tuple[str, int]] = []
    if n_bad:
        reasons = [(r, n) for r, n in con.execute(
            "SELECT split_part(reason, ': ', 1) AS r, count(*) AS n FROM read_parquet($q) GROUP BY r "
            "ORDER BY n DESC, r", {"q": str(quarantine)}
        ).fetchall()]
    result = FileResult(src.path, table.name, sha, "added", src.format, int(added), int(n_bad), ignored,
                        reasons=reasons)
    if table.name == "labels":
        result.rows_duplicate_in_file, result.rows_duplicate_stored = _dedupe(con, data, stored, staging)
        result.rows_added -= result.rows_duplicate_in_file + result.rows_duplicate_stored
    return data, (quarantine if n_bad else None), result


def _source_rows(src: Source) -> int:
    """How many rows the normalising query reads from ``src`` (Parquet metadata, or the Arrow table's length)."""
    if src.parquet is not None:
        return int(pq.ParquetFile(src.parquet).metadata.num_rows)
    return src.table.num_rows if src.table is not None else 0


#: the key of a judgment (SPEC §2): a row with the same values (nulls equal) is the same judgment
JUDGMENT_KEY = ("item_id", "labeler_id", "label", "labeled_at")


def _dedupe(con: duckdb.DuckDBPyConnection, data: Path, stored: list[Path], staging: Path) -> tuple[int, int]:
    """Keep each judgment once: drop rows of the staged ``data`` file that repeat an earlier row of the same file,
    then those already in ``stored`` files. Returns (repeated in the file, already stored); rewrites ``data`` only
    when something is dropped.

    Why a 64-bit hash of the key, then the values: within the file, keys whose hash occurs twice are the only
    candidates (a fresh export usually has none, and then no window runs); against the store, the join is on the
    hash (one integer, a small hash table) with the four values compared as well (null-safe), so a hash collision can
    never drop a real judgment. A cumulative re-ingest costs one pass over the store's key columns: within 2x of a
    fresh ingest (benchmarks/RESULTS.md). Row order (source_row) is kept; the first occurrence is the one stored.
    """
    if pq.ParquetFile(data).metadata.num_rows == 0:
        return 0, 0
    key = ", ".join(quote_ident(c) for c in JUDGMENT_KEY)
    same = " AND ".join(f"s.{quote_ident(c)} IS NOT DISTINCT FROM u.{quote_ident(c)}" for c in JUDGMENT_KEY)
    params: dict[str, object] = {"data": str(data)}
    con.execute("CREATE OR REPLACE TEMP TABLE __drop (source_row BIGINT)")
    # repeated within the file: keys whose hash occurs twice, then the exact partition on the values; a fresh export
    # usually has no such hash, and then the file is not scanned a second time
    con.execute(f"CREATE OR REPLACE TEMP TABLE __repeated AS SELECT hash({key}) AS h FROM read_parquet($data) "
                "GROUP BY 1 HAVING count(*) > 1", params)
    if con.execute("SELECT EXISTS (SELECT 1 FROM __repeated)").fetchall()[0][0]:
        con.execute(
            f"INSERT INTO __drop SELECT source_row FROM (SELECT source_row, row_number() OVER (PARTITION BY {key} "
            f"ORDER BY source_row) AS n FROM read_parquet($data) WHERE hash({key}) IN (SELECT h FROM __repeated)) "
            "WHERE n > 1", params)
    con.execute("DROP TABLE __repeated")
    n_file = con.execute("SELECT count(*) FROM __drop").fetchall()[0][0]
    n_stored = 0
    if stored:
        params["stored"] = [str(p) for p in stored]
        con.execute(
            f"INSERT INTO __drop WITH u AS (SELECT {key}, source_row, hash({key}) AS h FROM read_parquet($data) "
            f"WHERE source_row NOT IN (SELECT source_row FROM __drop)), "
            f"s AS (SELECT {key}, hash({key}) AS h FROM read_parquet($stored)) "
            f"SELECT u.source_row FROM u WHERE EXISTS (SELECT 1 FROM s WHERE s.h = u.h AND {same})", params)
        n_stored = con.execute("SELECT count(*) FROM __drop").fetchall()[0][0] - n_file
    if n_file or n_stored:
        kept = staging / "kept.parquet"
        con.execute(
            f"COPY (SELECT * FROM read_parquet($data) WHERE source_row NOT IN (SELECT source_row FROM __drop) "
            f"ORDER BY source_row) TO {quote_literal(str(kept))} "
            "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)",
            {"data": str(data)})
        os.replace(kept, data)
    con.execute("DROP TABLE __drop")
    return int(n_file), int(n_stored)


def ingest_files(store_dir: str | Path, paths: Iterable[str | Path], table: str = "labels", fmt: str = "auto",
                 mapping: Mapping[str, str] | None = None, now: datetime | None = None) -> list[FileResult]:
    """Validate and append each file to ``table`` of the store; all or nothing per file, files read first."""
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
        return _ingest(Store.open(store_dir, create=True), files, tbl, table, fmt, mapping, ingested_at, committed)


@contextlib.contextmanager
def _no_trace_on_failure(root: Path) -> Iterator[list[int]]:
    """A failed ingest leaves no trace (SPEC §4): when it fails before committing any file, whatever it created
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
            mapping: Mapping[str, str] | None, ingested_at: datetime, committed: list[int]) -> list[FileResult]:
    results: list[tuple[int, FileResult]] = []
    with store.lock(), store.staging() as staging:
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
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
            src = read(path, fmt)
            names = _apply_map(src, tbl, mapping or {})
            sub = staging / str(i)
            try:
                sub.mkdir()
                staged.append((i, *_stage(con, src, tbl, names, sha, ingested_at, sub, stored)))
            except duckdb.InterruptException:
                raise KeyboardInterrupt from None
            except duckdb.Error as e:
                raise _staging_error(e, path, store) from None
            except OSError as e:
                raise store_error(store.root, e) from None
            stored = [*stored, staged[-1][1]]
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
                committed.append(i)
                results.append((i, result))
        except OSError as e:
            raise store_error(store.root, e) from None
    return [r for _, r in sorted(results, key=lambda pair: pair[0])]


#: words in a DuckDB error that mean the disk refused a write (not that the input is unreadable)
_DISK_WORDS = ("no space left", "disk quota", "read-only file system", "permission denied", "could not write",
               "failed to write", "cannot open file", "could not set lock")


def _staging_error(e: duckdb.Error, path: Path, store: Store) -> UnusableInput:
    """Blame the right culprit for a DuckDB error while staging: the store's disk when a write into the store
    failed, else the input file."""
    text = str(e).splitlines()[0] if str(e) else type(e).__name__
    detail = re.search(r'"exception_message":"(.*?)(?<!\\)"', text)  # DuckDB's JSON-shaped IO errors
    if detail:
        text = detail.group(1).replace('\\"', '"')
    if str(store.root.resolve()) in str(e) or str(store.root) in str(e) or any(
        w in text.lower() for w in _DISK_WORDS
    ):
        return UnusableInput(f"{store.root}: cannot write into the store ({text}) (store)")
    return UnusableInput(f"{path}: cannot be read ({text}) (input)")

