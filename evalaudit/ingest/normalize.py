"""Normalisation of a source to a canonical table, as one DuckDB projection per source.

For every canonical column the source has, an expression converts it (text trimmed, empty text = missing;
timestamps in the one grammar of ISO_TIMESTAMP — no zone means UTC —, epoch seconds of 9+ digits, or native
Parquet timestamps, all to UTC; numbers parsed) and a check says why a row cannot be stored. The first failing
check becomes the row's quarantine reason. This SQL is ingest's own and DuckDB-specific by design: it runs once
per file on one machine, unlike the audit's portable queries.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from evalaudit import schema
from evalaudit.sql import quote_ident

#: Timestamps outside these years are rejected: they are almost always milliseconds read as seconds, or garbage.
MIN_YEAR, MAX_YEAR = 1970, 2100


@dataclass
class Expr:
    value: str  # SQL expression for the normalised value
    problem: str  # SQL expression giving a reason text (or NULL) for this column


def _text(src: str) -> str:
    return f"NULLIF(TRIM(CAST({src} AS VARCHAR)), '')"


#: The one timestamp grammar of text values (docs/ingest.md): an ISO 8601 date, or date and time (``T`` or a space
#: between), optional fraction, optional zone (``Z``, ``UTC`` or an offset ``±HH``, ``±HHMM``, ``±HH:MM`` of at
#: most 14 hours); no zone means UTC. Anything else — words DuckDB would also take (``epoch``, ``now``,
#: ``infinity``), compact dates — is not a timestamp and goes to quarantine: a guess is never stored.
ISO_TIMESTAMP = (r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]{1,9})?)?)?"
                 r" ?(Z|z|UTC|[+-][0-9]{2}(:?[0-9]{2})?)?")
#: the zone offset of a value matching ISO_TIMESTAMP, as (sign, hours, minutes) groups
_OFFSET = r"[T ][0-9:.,]+ ?([+-])([0-9]{2}):?([0-9]{2})?$"
#: epoch seconds: a number with at least 9 integer digits (from 1973-03-03); shorter numbers are ambiguous
#: (20240501 is a compact date, not 1970-08-23); longer ones land beyond 2100 and are refused as milliseconds
EPOCH_TEXT = r"[0-9]{9,}(\.[0-9]+)?"
EPOCH_MIN = 100_000_000
_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
            "FLOAT", "DOUBLE")


def _is_numeric(src_type: str) -> bool:
    t = src_type.upper()
    return t in _NUMERIC or t.startswith("DECIMAL")


def _timestamp(src: str, src_type: str) -> str:
    t = src_type.upper()
    if "TIME ZONE" in t or t == "TIMESTAMPTZ":
        return src
    if t.startswith("TIMESTAMP") or t == "DATE":
        return f"CAST({src} AS TIMESTAMPTZ)"
    if _is_numeric(t):
        return f"CASE WHEN abs(CAST({src} AS DOUBLE)) >= {EPOCH_MIN} THEN try(to_timestamp(CAST({src} AS DOUBLE))) END"
    text = _text(src)
    return (
        f"CASE WHEN regexp_full_match({text}, '{EPOCH_TEXT}') "
        f"THEN try(to_timestamp(CAST({text} AS DOUBLE))) "
        f"WHEN regexp_full_match({text}, '{ISO_TIMESTAMP}') AND NOT ({_bad_offset(text)}) "
        f"THEN try_cast(replace({text}, ',', '.') AS TIMESTAMPTZ) END"
    )


def _bad_offset(text: str) -> str:
    """True when the zone offset of ``text`` is impossible (beyond ±14:00, or minutes of 60 or more)."""
    hours = f"TRY_CAST(NULLIF(regexp_extract({text}, '{_OFFSET}', 2), '') AS INTEGER)"
    minutes = f"COALESCE(TRY_CAST(NULLIF(regexp_extract({text}, '{_OFFSET}', 3), '') AS INTEGER), 0)"
    return f"COALESCE({hours} * 60 + {minutes} > 14 * 60 OR {minutes} >= 60, false)"


def _timestamp_problem(src: str, src_type: str, name: str, value: str, col: schema.Column) -> str:
    """The quarantine reason of a timestamp value, most specific first (see ISO_TIMESTAMP)."""
    text = _text(src)
    shown = _shown(text)
    range_check = (
        f"WHEN ({value}) < TIMESTAMPTZ '{MIN_YEAR}-01-01' OR ({value}) >= TIMESTAMPTZ '{MAX_YEAR}-01-01' "
        f"THEN '{name} lies outside {MIN_YEAR}-{MAX_YEAR} (epoch milliseconds instead of seconds?): ' || {shown} "
    )
    if _is_numeric(src_type):
        return (
            f"CASE WHEN {src} IS NULL THEN {_missing(col)} "
            f"WHEN abs(CAST({src} AS DOUBLE)) < {EPOCH_MIN} THEN '{name} is ambiguous (a number too small for "
            f"epoch seconds; a compact date?): ' || {shown} "
            f"WHEN ({value}) IS NULL THEN '{name} is not a timestamp: ' || {shown} {range_check}END"
        )
    if src_type.upper().startswith("TIMESTAMP") or src_type.upper() == "DATE":
        return f"CASE WHEN {src} IS NULL THEN {_missing(col)} {range_check}END"
    return (
        f"CASE WHEN {src} IS NULL OR {text} IS NULL THEN {_missing(col)} "
        f"WHEN regexp_full_match({text}, '-?[0-9]+([.][0-9]+)?') AND NOT regexp_full_match({text}, '{EPOCH_TEXT}') "
        f"THEN '{name} is ambiguous (a bare number of fewer than 9 digits is no epoch seconds after 1973: a "
        f"compact date such as 20240501?): ' || {shown} "
        f"WHEN regexp_full_match({text}, '{ISO_TIMESTAMP}') AND ({_bad_offset(text)}) "
        f"THEN '{name} has an impossible UTC offset (beyond ±14:00): ' || {shown} "
        f"WHEN ({value}) IS NULL THEN '{name} is not a timestamp (ISO 8601 date or time, or epoch seconds; "
        f"docs/ingest.md): ' || {shown} {range_check}END"
    )


def column_expr(col: schema.Column, src: str | None, src_type: str, fill_unspecified: bool = False) -> Expr:
    """The normalised value of canonical column ``col`` read from source expression ``src`` (None = absent).

    ``fill_unspecified``: a missing failure mode becomes 'unspecified' (docs/schema.md, for judgments)."""
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
        return Expr(value, _timestamp_problem(src, src_type, name, value, col))
    if col.type == pa.float64():
        value = f"try_cast({_text(src)} AS DOUBLE)" if "CHAR" in src_type.upper() or src_type == "" \
            else f"try_cast({src} AS DOUBLE)"
        # a number's text is never empty, and formatting millions of doubles as text just to learn that costs
        # as much as the rest of an ingest: a numeric source is missing exactly when it is NULL
        missing = f"{src} IS NULL" if _is_numeric(src_type) else f"{_text(src)} IS NULL"
        problem = (
            f"CASE WHEN {missing} THEN {_missing(col)} "
            f"WHEN ({value}) IS NULL THEN '{name} is not a number: ' || {_shown(_text(src))} "
            f"WHEN isnan({value}) OR isinf({value}) OR ({value}) < 0 "
            f"THEN '{name} must be a non-negative number: ' || {_shown(_text(src))} END"
        )
        return Expr(value, problem)
    value = _text(src)
    if name == "kind":  # labelers.kind: human | model, any case; empty = human (docs/schema.md)
        value = f"lower({value})"
        return Expr(value, f"CASE WHEN {value} NOT IN ('human', 'model') THEN 'kind must be human or model (empty "
                           f"= human): ' || {_shown(_text(src))} END")
    if fill:
        value = f"COALESCE({value}, '{schema.UNSPECIFIED}')"
        return Expr(value, "NULL")
    if not col.required:  # any text, or none, is a valid optional value: no check to evaluate on every row
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


#: the session settings the good-rows query of `build` is run under (and reset after): see there
GOOD_ROWS_SETTINGS = {"disabled_optimizers": "filter_pushdown"}


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
    # the first column's reason that is not NULL (COALESCE evaluates each check once per row; a CASE of
    # "WHEN p IS NOT NULL THEN p" evaluated it twice); a row is good when every check is NULL
    reason = f"COALESCE({', '.join(f'({p})' for _, p in problems)})" if problems else "NULL"
    column = "CASE " + " ".join(f"WHEN ({p}) IS NOT NULL THEN '{name}'" for name, p in problems) + " END" \
        if problems else "NULL"
    select_cols = ",\n  ".join(f"{e.value} AS {quote_ident(c.name)}" for c, e in exprs)
    extra_cols = "".join(f",\n  CAST({quote_ident(c)} AS VARCHAR) AS {quote_ident(c)}" for c in extra)
    # the checks become one flag computed beside the values, so a TRIM the value and its check share runs once per
    # row (DuckDB's common-subexpression pass works within one projection); the flag takes the name of the row-number
    # column, which no source may use (evalaudit.ingest.readers.RESERVED). Run with GOOD_ROWS_SETTINGS, or the
    # optimizer pushes the filter below the projection and evaluates the checks' TRIMs again.
    ok = quote_ident(row_col)
    names = [*(c.name for c, _ in exprs), *extra, *(p.name for p in table.provenance)]
    outer = ", ".join(map(quote_ident, names))
    good = (
        f"SELECT {outer} FROM (SELECT\n  {select_cols}{extra_cols},\n"
        f"  $source_file AS source_file, $source_sha256 AS source_sha256,\n"
        f"  CAST({quote_ident(row_col)} AS BIGINT) AS source_row, $ingested_at AS ingested_at,\n"
        f"  ({' AND '.join(f'({p}) IS NULL' for _, p in problems) or 'true'}) AS {ok}\n"
        f"FROM src) WHERE {ok}"
    )
    bad = (
        f"SELECT $table_name AS \"table\", $source_file AS source_file, $source_sha256 AS source_sha256,\n"
        f"  CAST({quote_ident(row_col)} AS BIGINT) AS source_row, {column} AS \"column\", {reason} AS reason,\n"
        f"  CAST(to_json(src) AS VARCHAR) AS raw, $ingested_at AS quarantined_at\n"
        f"FROM src WHERE ({reason}) IS NOT NULL"
    )
    return good, bad
