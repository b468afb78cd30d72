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
    select = [f"CAST({quote_ident(ROW)} AS BIGINT) AS source_row"]
    for col in table.columns:
        src_expr = quote_ident(col.name) if col.name in present else None
        e = normalize.column_expr(col, src_expr, types.get(col.name, ""), fill_unspecified=True)
        select.append(f"{e.value} AS {quote_ident(col.name)}")
        if col.name in PARSED:
            if src_expr is None:
                select.append(f"CAST(NULL AS VARCHAR) AS {quote_ident(col.name + '_unparsed')}")
            else:
                text = f"NULLIF(TRIM(CAST({src_expr} AS VARCHAR)), '')"
                select.append(f"CASE WHEN {text} IS NOT NULL AND ({e.problem}) IS NOT NULL THEN left({text}, 200) "
                              f"END AS {quote_ident(col.name + '_unparsed')}")
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE batch AS SELECT {', '.join(select)} FROM __batch_src").fetchall()
        n = con.execute("SELECT count(*) FROM batch").fetchall()[0][0]
    except Exception as e:  # duckdb raises several types for unreadable content
        raise UnusableInput(f"{path}: cannot be read ({str(e).splitlines()[0]})") from None
    return Batch(Path(path), src.format, present, ignored, int(n), list(src.bad_rows))


def rows(engine: DuckDBEngine) -> pa.Table:
    """One row per judgment of the batch with the store context the row expectations need
    (named query ``contracts_rows``)."""
    return engine.query("contracts_rows")
