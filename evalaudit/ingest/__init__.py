"""Ingest: validate labeling exports and append them to the store with provenance (SPEC §2, §4 `ingest`).

Every file given is read and staged before any is committed, so an unusable file among several leaves the store
untouched. Each file then commits atomically (see evalaudit.store). Rows that cannot be stored go to quarantine
with the reason; the counts of added, duplicate and quarantined rows are returned for the CLI to print.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import shutil
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from evalaudit import __version__, schema
from evalaudit.errors import UnusableInput
from evalaudit.ingest import normalize
from evalaudit.ingest.readers import FORMATS, ROW, Source, detect_format, read
from evalaudit.sql import quote_ident, quote_literal
from evalaudit.store import SourceRecord, Store

__all__ = ["FORMATS", "FileResult", "detect_format", "ingest_files", "parse_map", "sha256_of"]

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
    """Files named, and files with a known suffix under directories named, in a stable order."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SUFFIXES))
        else:
            out.append(p)
    return out


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
           sha: str, ingested_at: datetime, staging: Path) -> tuple[Path, Path | None, FileResult]:
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
    n_bad = _execute(con, f"COPY ({cte}SELECT * FROM ({bad_sql}) UNION ALL SELECT * FROM __reader_bad "
                     f"ORDER BY source_row) TO {quote_literal(str(quarantine))} (FORMAT parquet, COMPRESSION zstd)",
                     params).fetchall()[0][0]
    reasons: list[tuple[str, int]] = []
    if n_bad:
        reasons = [(r, n) for r, n in con.execute(
            "SELECT split_part(reason, ': ', 1) AS r, count(*) AS n FROM read_parquet($q) GROUP BY r "
            "ORDER BY n DESC, r", {"q": str(quarantine)}
        ).fetchall()]
    result = FileResult(src.path, table.name, sha, "added", src.format, int(added), int(n_bad), ignored,
                        reasons=reasons)
    return data, (quarantine if n_bad else None), result


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
        if not f.exists():
            raise UnusableInput(f"{f}: no such file")
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
        staged: list[tuple[int, Path, Path | None, FileResult]] = []
        seen: set[str] = set()
        for i, path in enumerate(files):
            sha = sha256_of(path)
            if sha in seen or store.has_source(table, sha):
                results.append((i, FileResult(path, table, sha, "duplicate")))
                continue
            seen.add(sha)
            src = read(path, fmt)
            names = _apply_map(src, tbl, mapping or {})
            sub = staging / str(i)
            sub.mkdir()
            try:
                staged.append((i, *_stage(con, src, tbl, names, sha, ingested_at, sub)))
            except duckdb.Error as e:
                raise UnusableInput(f"{path}: cannot be read ({str(e).splitlines()[0]})") from None
        con.close()
        for i, data, quarantine, result in staged:
            store.commit(table, result.sha256, data, quarantine, SourceRecord(
                table=table, source_file=str(result.path.resolve()), source_sha256=result.sha256,
                format=result.format, rows_added=result.rows_added, rows_quarantined=result.rows_quarantined,
                ingested_at=ingested_at.isoformat(), evalaudit_version=__version__,
            ))
            committed.append(i)
            if quarantine is not None:
                result.quarantine_file = store.quarantine_path(table, result.sha256)
            results.append((i, result))
    return [r for _, r in sorted(results, key=lambda pair: pair[0])]

