"""Normalisation of a source to a canonical table, as one DuckDB projection per source.

For every canonical column the source has, an expression converts it (text trimmed, empty text = missing;
timestamps in ISO 8601 with or without zone — no zone means UTC —, epoch seconds, or native Parquet timestamps, all
to UTC; numbers parsed) and a check says why a row cannot be stored. The first failing check becomes the row's
quarantine reason. This SQL is ingest's own and DuckDB-specific by design: it runs once per file on one machine,
unlike the audit's portable queries.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from evalaudit import schema
from evalaudit.sql import quote_ident

#: Timestamps outside these years are rejected: they are almost always milliseconds read as seconds, or garbage.
MIN_YEAR, MAX_YEAR = 1970, 2100
_EPOCH_MAX = 4_102_444_800  # 2100-01-01 in epoch seconds


@dataclass
class Expr:
    value: str  # SQL expression for the normalised value
    problem: str  # SQL expression giving a reason text (or NULL) for this column


def _text(src: str) -> str:
    return f"NULLIF(TRIM(CAST({src} AS VARCHAR)), '')"


def _timestamp(src: str, src_type: str) -> str:
    t = src_type.upper()
    if "TIME ZONE" in t or t == "TIMESTAMPTZ":
        return src
    if t.startswith("TIMESTAMP") or t == "DATE":
        return f"CAST({src} AS TIMESTAMPTZ)"
    if t in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
             "UBIGINT", "FLOAT", "DOUBLE") or t.startswith("DECIMAL"):
        return f"try(to_timestamp(CAST({src} AS DOUBLE)))"
    text = _text(src)
    return (
        f"CASE WHEN regexp_full_match({text}, '-?[0-9]+(\\.[0-9]+)?') "
        f"THEN try(to_timestamp(CAST({text} AS DOUBLE))) ELSE try_cast({text} AS TIMESTAMPTZ) END"
    )


def column_expr(col: schema.Column, src: str | None, src_type: str, fill_unspecified: bool = False) -> Expr:
    """The normalised value of canonical column ``col`` read from source expression ``src`` (None = absent).

    ``fill_unspecified``: a missing failure mode becomes 'unspecified' (SPEC §1, for judgments)."""
    fill = fill_unspecified and col.name == "failure_mode"
    name = col.name
    if src is None:
        missing = f"'missing required column {name}'" if col.required else "NULL"
        default = "NULL"
        if fill:
            default = f"'{schema.UNSPECIFIED}'"
        return Expr(f"CAST({default} AS {_sql_type(col.type)})", missing if col.required else "NULL")
    if col.type == schema.TIMESTAMP:
        value = _timestamp(src, src_type)
        text = _text(src)
        problem = (
            f"CASE WHEN {src} IS NULL OR {text} IS NULL THEN {_missing(col)} "
            f"WHEN ({value}) IS NULL THEN '{name} is not a timestamp (ISO 8601 or epoch seconds): ' || {_shown(text)} "
            f"WHEN ({value}) < TIMESTAMPTZ '{MIN_YEAR}-01-01' OR ({value}) >= TIMESTAMPTZ '{MAX_YEAR}-01-01' "
            f"THEN '{name} lies outside {MIN_YEAR}-{MAX_YEAR} (epoch milliseconds instead of seconds?): ' "
            f"|| {_shown(text)} END"
        )
        return Expr(value, problem)
    if col.type == pa.float64():
        value = f"try_cast({_text(src)} AS DOUBLE)" if "CHAR" in src_type.upper() or src_type == "" \
            else f"try_cast({src} AS DOUBLE)"
        problem = (
            f"CASE WHEN {_text(src)} IS NULL THEN {_missing(col)} "
            f"WHEN ({value}) IS NULL THEN '{name} is not a number: ' || {_shown(_text(src))} "
            f"WHEN isnan({value}) OR isinf({value}) OR ({value}) < 0 "
            f"THEN '{name} must be a non-negative number: ' || {_shown(_text(src))} END"
        )
        return Expr(value, problem)
    value = _text(src)
    if fill:
        value = f"COALESCE({value}, '{schema.UNSPECIFIED}')"
        return Expr(value, "NULL")
    return Expr(value, f"CASE WHEN {value} IS NULL THEN {_missing(col)} END")


def _shown(text: str) -> str:
    """The offending value as a reason shows it: after ': ', at most 200 characters (reasons group by prefix)."""
    return f"left({text}, 200)"


def _missing(col: schema.Column) -> str:
    return f"'missing {col.name}'" if col.required else "NULL"


def _sql_type(t: pa.DataType) -> str:
    if t == schema.TIMESTAMP:
        return "TIMESTAMPTZ"
    if t == pa.float64():
        return "DOUBLE"
    if t == pa.int64():
        return "BIGINT"
    return "VARCHAR"


def build(table: schema.Table, source_types: dict[str, str], row_col: str) -> tuple[str, str]:
    """SQL for (good rows, bad rows) of relation ``src``, given its column -> DuckDB type.

    The good-rows query yields the canonical user columns then the provenance columns (bound as $source_file,
    $source_sha256, $ingested_at); the bad-rows query yields the quarantine schema."""
    exprs = [(c, column_expr(c, quote_ident(c.name) if c.name in source_types else None,
                             source_types.get(c.name, ""), table.name == "labels")) for c in table.columns]
    extra = [] if table.name not in schema.OPEN_TABLES else [
        c for c in source_types
        if c not in table.user_columns and c != row_col and c not in {p.name for p in table.provenance}
    ]
    problems = [(c.name, e.problem) for c, e in exprs if e.problem != "NULL"]
    reason = "CASE " + " ".join(f"WHEN ({p}) IS NOT NULL THEN ({p})" for _, p in problems) + " END" \
        if problems else "NULL"
    column = "CASE " + " ".join(f"WHEN ({p}) IS NOT NULL THEN '{name}'" for name, p in problems) + " END" \
        if problems else "NULL"
    select_cols = ",\n  ".join(f"{e.value} AS {quote_ident(c.name)}" for c, e in exprs)
    extra_cols = "".join(f",\n  CAST({quote_ident(c)} AS VARCHAR) AS {quote_ident(c)}" for c in extra)
    good = (
        f"SELECT\n  {select_cols}{extra_cols},\n"
        f"  $source_file AS source_file, $source_sha256 AS source_sha256,\n"
        f"  CAST({quote_ident(row_col)} AS BIGINT) AS source_row, $ingested_at AS ingested_at\n"
        f"FROM src WHERE ({reason}) IS NULL"
    )
    bad = (
        f"SELECT $table_name AS \"table\", $source_file AS source_file, $source_sha256 AS source_sha256,\n"
        f"  CAST({quote_ident(row_col)} AS BIGINT) AS source_row, {column} AS \"column\", {reason} AS reason,\n"
        f"  CAST(to_json(src) AS VARCHAR) AS raw, $ingested_at AS quarantined_at\n"
        f"FROM src WHERE ({reason}) IS NOT NULL"
    )
    return good, bad
