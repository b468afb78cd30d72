"""The batch under check, read once and normalised the way `ingest` would store it.

The file is read by ingest's own readers (`evalaudit.ingest.readers.read`) and each canonical column is converted
by ingest's own normalisation expressions (`evalaudit.ingest.normalize.column_expr`), so a batch that passes the
contract is exactly what `ingest` then stores: every row, none quarantined. The normalised rows become the view
``batch`` on the store's engine, next to ``labels``, ``items`` and ``labelers``; the portable named queries
``contracts_*`` read it. This normalisation SQL is DuckDB-specific by design, like ingest's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from evalaudit import schema
from evalaudit.engine import DuckDBEngine
from evalaudit.errors import UnusableInput
from evalaudit.ingest import normalize
from evalaudit.ingest.readers import ROW, BadRow, read
from evalaudit.sql import quote_ident, quote_literal

#: canonical columns whose text may fail to convert: their offending raw text goes to ``<column>_unparsed``
PARSED = ("labeled_at", "duration_s")
#: prefix of the raw source columns kept beside the normalised ones for ``<column>_unparsed``
_RAW = "__raw_"


@dataclass
class Batch:
    path: Path
    format: str
    #: canonical columns of `labels` the file has
    present: list[str]
    #: columns of the file that are not canonical (not stored by ingest)
    ignored: list[str]
    n_rows: int
    #: records the reader could not read at all (malformed CSV records, lines that are not JSON ...)
    bad_rows: list[BadRow] = field(default_factory=list)


def load(engine: DuckDBEngine, path: Path, fmt: str = "auto") -> Batch:
    """Read ``path`` and create the view ``batch`` (every canonical column, NULL when absent, plus
    ``source_row`` and ``<column>_unparsed`` for labeled_at and duration_s) on ``engine``."""
    src = read(Path(path), fmt)
    table = schema.LABELS
    canon = set(table.user_columns)
    present = [c for c in table.user_columns if c in src.columns]
    ignored = [c for c in src.columns if c not in canon]
    con = engine.con
    if src.parquet is not None:
        described = con.execute("DESCRIBE SELECT * FROM read_parquet($p)", {"p": str(src.parquet)}).fetchall()
        types = {r[0]: r[1] for r in described}
        # a view's DDL cannot take a bound parameter: the path is quoted as a literal (as Engine.view_parquet does)
        con.execute("CREATE OR REPLACE TEMP VIEW __batch_src AS SELECT *, file_row_number AS "
                    f"{quote_ident(ROW)} FROM read_parquet({quote_literal(str(src.parquet))}, "
                    "file_row_number = true)").fetchall()
    else:
        types = dict.fromkeys(src.columns, "VARCHAR")
        engine.register("__batch_src", src.table)
    # the normalised values are stored once (table ``__batch_values``, with the raw text of the columns that may
    # fail to convert and an empty ``<column>_unparsed``); ``<column>_unparsed`` is then filled by ingest's reason
    # expression only on rows whose stored value is missing or out of range (the only rows it can name, see
    # _unparsed), and only when such a row exists. ``batch`` is a plain projection of the stored table: a view
    # holding the reason expressions (regular expressions and casts over the raw text, several kilobytes of SQL)
    # cost every query that read it about 30 ms of binding, however few rows the batch has.
    stored = [f"CAST({quote_ident(ROW)} AS BIGINT) AS source_row"]
    shown = ["source_row"]
    pending: list[tuple[schema.Column, str]] = []
    for col in table.columns:
        src_expr = quote_ident(col.name) if col.name in present else None
        e = normalize.column_expr(col, src_expr, types.get(col.name, ""), fill_unspecified=True)
        stored.append(f"{e.value} AS {quote_ident(col.name)}")
        shown.append(quote_ident(col.name))
        if col.name in PARSED:
            stored.append(f"CAST(NULL AS VARCHAR) AS {quote_ident(col.name + '_unparsed')}")
            shown.append(quote_ident(col.name + "_unparsed"))
            if src_expr is not None:
                stored.append(f"{src_expr} AS {quote_ident(_RAW + col.name)}")
                pending.append((col, types.get(col.name, "")))
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE __batch_values AS SELECT {', '.join(stored)} "
                    "FROM __batch_src").fetchall()
        for col, src_type in pending:
            where, reason = _unparsed(col, src_type)
            if con.execute(f"SELECT EXISTS (SELECT 1 FROM __batch_values WHERE {where})").fetchall()[0][0]:
                con.execute(f"UPDATE __batch_values SET {quote_ident(col.name + '_unparsed')} = {reason} "
                            f"WHERE {where}").fetchall()
        con.execute(f"CREATE OR REPLACE TEMP VIEW batch AS SELECT {', '.join(shown)} FROM __batch_values").fetchall()
        n = con.execute("SELECT count(*) FROM __batch_values").fetchall()[0][0]
    except Exception as e:  # duckdb raises several types for unreadable content
        raise UnusableInput(f"{path}: cannot be read ({str(e).splitlines()[0]})") from None
    return Batch(Path(path), src.format, present, ignored, int(n), list(src.bad_rows))


def _unparsed(col: schema.Column, src_type: str) -> tuple[str, str]:
    """(rows, value) of ``<column>_unparsed`` over ``__batch_values``: the rows whose file gives a text and whose
    stored value is missing or outside what ingest stores (a timestamp outside MIN_YEAR..MAX_YEAR; a number that
    is NaN, infinite or negative), and on them the offending text when ingest's normalisation would quarantine the
    row for it (``Expr.problem``), else NULL.

    Every reason of a given text names such a value, so the guard changes no verdict (tests/test_contracts_batch_
    load.py compares it with the reason evaluated on every row) and spares the reason's repeated parsing on every
    row that converted."""
    raw = quote_ident(_RAW + col.name)
    problem = normalize.column_expr(col, raw, src_type, fill_unspecified=True).problem
    value = quote_ident(col.name)
    if col.type == schema.TIMESTAMP:
        outside = (f"{value} < TIMESTAMPTZ '{normalize.MIN_YEAR}-01-01' "
                   f"OR {value} >= TIMESTAMPTZ '{normalize.MAX_YEAR}-01-01'")
    else:
        outside = f"isnan({value}) OR isinf({value}) OR {value} < 0"
    text = f"NULLIF(TRIM(CAST({raw} AS VARCHAR)), '')"
    return (f"{text} IS NOT NULL AND ({value} IS NULL OR {outside})",
            f"CASE WHEN ({problem}) IS NOT NULL THEN left({text}, 200) END")


def rows(engine: DuckDBEngine) -> pa.Table:
    """One row per judgment of the batch with the store context the row expectations need
    (named query ``contracts_rows``)."""
    return engine.query("contracts_rows")
