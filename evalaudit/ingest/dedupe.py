"""Idempotent per judgment (docs/store.md): a judgment that an earlier row of the same file or the store already holds
is set aside and counted, so a cumulative export can be ingested every night."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq

from evalaudit.sql import quote_ident, quote_literal

#: the key of a judgment (docs/store.md): a row with the same values (nulls equal) is the same judgment
JUDGMENT_KEY = ("item_id", "labeler_id", "label", "labeled_at")


def dedupe(con: duckdb.DuckDBPyConnection, data: Path, stored: list[Path], staging: Path) -> tuple[int, int]:
    """Keep each judgment once: drop rows of the staged ``data`` file that repeat an earlier row of the same file,
    then those already in ``stored`` files. Returns (repeated in the file, already stored); rewrites ``data`` only
    when something is dropped.

    Why a 64-bit hash of the key, then the values: within the file, keys whose hash occurs twice are the only
    candidates (a fresh export usually has none, and then no window runs); against the store, the join is on the
    hash (one integer, a small hash table) with the four values compared as well (null-safe), so a hash collision can
    never drop a real judgment. A cumulative re-ingest costs one pass over the store's key columns: within 2x of a
    fresh ingest (benchmarks/RESULTS.md). Row order (source_row) is kept; the first occurrence is the one stored.
    """
    n_rows = pq.ParquetFile(data).metadata.num_rows
    if n_rows == 0:
        return 0, 0
    key = ", ".join(quote_ident(c) for c in JUDGMENT_KEY)
    same = " AND ".join(f"s.{quote_ident(c)} IS NOT DISTINCT FROM u.{quote_ident(c)}" for c in JUDGMENT_KEY)
    params: dict[str, object] = {"data": str(data)}
    con.execute("CREATE OR REPLACE TEMP TABLE __drop (source_row BIGINT)")
    # repeated within the file: keys whose hash occurs twice, then the exact partition on the values; a fresh export
    # usually has no such hash, and then the file is not scanned a second time
    repeated = _repeated_hashes(con, key, params)
    if len(repeated):
        con.register("__repeated", {"h": repeated})
        con.execute(
            f"INSERT INTO __drop SELECT source_row FROM (SELECT source_row, row_number() OVER (PARTITION BY {key} "
            f"ORDER BY source_row) AS n FROM read_parquet($data) WHERE hash({key}) IN (SELECT h FROM __repeated)) "
            "WHERE n > 1", params)
        con.unregister("__repeated")
    n_file = con.execute("SELECT count(*) FROM __drop").fetchall()[0][0]
    n_stored = 0
    # the rows to keep: those not set aside, or, against a store, the rows it does not hold, listed themselves: a
    # cumulative export keeps few (1% new of 10M rows: re-reading the file against a list of the 10M set aside took
    # 1.0 s, against the 100k kept 0.3 s)
    keep = "source_row NOT IN (SELECT source_row FROM __drop)"
    if stored:
        params["stored"] = [str(p) for p in stored]
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE __keep AS WITH u AS (SELECT {key}, source_row, hash({key}) AS h "
            f"FROM read_parquet($data) WHERE source_row NOT IN (SELECT source_row FROM __drop)), "
            f"s AS (SELECT {key}, hash({key}) AS h FROM read_parquet($stored)) "
            f"SELECT u.source_row FROM u WHERE NOT EXISTS (SELECT 1 FROM s WHERE s.h = u.h AND {same})", params)
        n_stored = n_rows - n_file - con.execute("SELECT count(*) FROM __keep").fetchall()[0][0]
        keep = "source_row IN (SELECT source_row FROM __keep)"
    if n_file or n_stored:
        kept = staging / "kept.parquet"
        con.execute(
            f"COPY (SELECT * FROM read_parquet($data) WHERE {keep} "
            f"ORDER BY source_row) TO {quote_literal(str(kept))} "
            "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)",
            {"data": str(data)})
        os.replace(kept, data)
    con.execute("DROP TABLE __drop")
    con.execute("DROP TABLE IF EXISTS __keep")
    return int(n_file), int(n_stored)


def _repeated_hashes(con: duckdb.DuckDBPyConnection, key: str, params: dict[str, object]) -> np.ndarray:
    """The 64-bit key hashes that occur more than once in the staged file (sorted).

    Why NumPy and not a GROUP BY: the hashes are one UBIGINT column that DuckDB computes in parallel and hands over
    without a copy (8 bytes a row, 80 MB at 10M rows); sorting them and comparing neighbours costs a quarter of
    DuckDB's hash aggregate over 10M distinct groups, which also has to spill under ingest's memory cap
    (benchmarks/RESULTS.md, "Ingest of 10M judgments against its floor")."""
    hashes = np.sort(con.execute(f"SELECT hash({key}) AS h FROM read_parquet($data)", params).fetchnumpy()["h"])
    return hashes[1:][hashes[1:] == hashes[:-1]]  # a hash occurring k times is here k - 1 times: harmless
