"""Staging one file: its rows projected to the canonical table by DuckDB (:mod:`evalaudit.ingest.normalize`), the
rows that cannot be stored into a quarantine file with their reason, and the judgments already held set aside
(:mod:`evalaudit.ingest.dedupe`) - all under the store's staging directory, nothing committed yet."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from evalaudit import schema
from evalaudit.errors import UnusableInput
from evalaudit.ingest import normalize
from evalaudit.ingest.dedupe import dedupe
from evalaudit.ingest.readers import ROW, Source
from evalaudit.sql import quote_ident, quote_literal
from evalaudit.store import Store


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
    #: rows set aside because the same judgment came earlier in the file, or is already in the store (docs/store.md)
    rows_duplicate_in_file: int = 0
    rows_duplicate_stored: int = 0
    #: what a tool reader assumed where its export cannot tell (docs/ingest.md, "Tool exports")
    notes: list[str] = field(default_factory=list)
    #: labelers of kind model (LLM judges) this file added to the labelers table
    labelers_added: list[str] = field(default_factory=list)


def _execute(con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, object]) -> duckdb.DuckDBPyConnection:
    """Execute with only the parameters the statement names (DuckDB rejects unused ones)."""
    return con.execute(sql, {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)})


@contextlib.contextmanager
def _settings(con: duckdb.DuckDBPyConnection, settings: Mapping[str, str]) -> Iterator[None]:
    """DuckDB session ``settings`` for the statements of the with-block, reset afterwards."""
    for name, value in settings.items():
        con.execute(f"SET {name} = {quote_literal(value)}")
    try:
        yield
    finally:
        for name in settings:
            con.execute(f"RESET {name}")


def stage_file(con: duckdb.DuckDBPyConnection, src: Source, table: schema.Table, names: dict[str, str],
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
        # text for the text formats; the Hugging Face shapes and --melt keep their native types
        types = {r[0]: r[1] for r in con.execute("DESCRIBE SELECT * FROM __arrow_src").fetchall()}
    # every source column goes into `src` (quarantined rows keep all of them); only `keep` is stored
    projection = ", ".join(f"{quote_ident(old)} AS {quote_ident(new)}" for old, new in names.items())
    cte = f"WITH src AS (SELECT {projection}{', ' if projection else ''}{row_expr} AS {ROW} FROM {base})\n"
    good_sql, bad_sql = normalize.build(table, {new: types[old] for old, new in keep.items()}, ROW)
    params = {"source_file": str(src.path.resolve()), "source_sha256": sha, "ingested_at": ingested_at,
              "table_name": table.name}
    if src.parquet is not None:
        params["source_path"] = str(src.parquet)
    data = staging / f"{table.name}.parquet"
    with _settings(con, normalize.GOOD_ROWS_SETTINGS):
        added = _execute(con, f"COPY ({cte}{good_sql}) TO {quote_literal(str(data))} "
                         "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)", params).fetchall()[0][0]
    quarantine = staging / "quarantine.parquet"
    parts: list[str] = []
    # a row is stored exactly when its reason is NULL, so when every source row was stored the bad-rows query would
    # scan the whole file again to find none: only the reader's own bad rows (if any) are quarantined then
    if int(added) != _source_rows(src):
        parts.append(f"SELECT * FROM ({bad_sql})")
    if src.bad_rows:  # an Arrow table only when there are rows: pyarrow's first pa.array imports pandas (0.4 s)
        con.register("__reader_bad", _reader_bad_rows(src, table, params["source_file"], sha, ingested_at))
        parts.append("SELECT * FROM __reader_bad")
    n_bad = 0
    if parts:
        n_bad = _execute(con, f"COPY ({cte}{' UNION ALL '.join(parts)} ORDER BY source_row) TO "
                         f"{quote_literal(str(quarantine))} (FORMAT parquet, COMPRESSION zstd)",
                         params).fetchall()[0][0]
    reasons: list[tuple[str, int]] = []
    if n_bad:
        reasons = [(r, n) for r, n in con.execute(
            "SELECT split_part(reason, ': ', 1) AS r, count(*) AS n FROM read_parquet($q) GROUP BY r "
            "ORDER BY n DESC, r", {"q": str(quarantine)}
        ).fetchall()]
    result = FileResult(src.path, table.name, sha, "added", src.format, int(added), int(n_bad), ignored,
                        reasons=reasons, notes=list(src.notes))
    if table.name == "labels":
        result.rows_duplicate_in_file, result.rows_duplicate_stored = dedupe(con, data, stored, staging)
        result.rows_added -= result.rows_duplicate_in_file + result.rows_duplicate_stored
    return data, (quarantine if n_bad else None), result


def _reader_bad_rows(src: Source, table: schema.Table, source_file: object, sha: str,
                     ingested_at: datetime) -> pa.Table:
    """The rows the reader could not read, in the quarantine's schema."""
    n = len(src.bad_rows)
    return pa.table({
        "table": pa.array([table.name] * n, pa.string()),
        "source_file": pa.array([source_file] * n, pa.string()),
        "source_sha256": pa.array([sha] * n, pa.string()),
        "source_row": pa.array([b.row for b in src.bad_rows], pa.int64()),
        "column": pa.array([b.column for b in src.bad_rows], pa.string()),
        "reason": pa.array([b.reason for b in src.bad_rows], pa.string()),
        "raw": pa.array([b.raw for b in src.bad_rows], pa.string()),
        "quarantined_at": pa.array([ingested_at] * n, schema.TIMESTAMP),
    })


#: words in a DuckDB error that mean the disk refused a write (not that the input is unreadable)
_DISK_WORDS = ("no space left", "disk quota", "read-only file system", "permission denied", "could not write",
               "failed to write", "cannot open file", "could not set lock")


def staging_error(e: duckdb.Error, path: Path, store: Store) -> UnusableInput:
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


def _source_rows(src: Source) -> int:
    """How many rows the normalising query reads from ``src`` (Parquet metadata, or the Arrow table's length)."""
    if src.parquet is not None:
        return int(pq.ParquetFile(src.parquet).metadata.num_rows)
    return src.table.num_rows if src.table is not None else 0
