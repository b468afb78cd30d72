"""Small builders for constructed test cases: canonical tables from short literal rows."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

from evalaudit import schema
from evalaudit.config import Config
from evalaudit.engine import engine_for_tables
from evalaudit.stage import Context

T0 = datetime(2026, 1, 5, tzinfo=UTC)


def table(name: str, rows: list[dict]) -> pa.Table:
    """A canonical table (user columns and provenance) from dicts; absent columns are null."""
    spec = schema.get(name)
    full = []
    for i, r in enumerate(rows):
        row = {c: r.get(c) for c in spec.arrow_schema.names}
        row.setdefault("source_row", i)
        row["source_row"] = i
        row["source_file"] = "constructed"
        row["source_sha256"] = "0" * 64
        row["ingested_at"] = T0
        if name == "labels" and row["failure_mode"] is None:
            row["failure_mode"] = schema.UNSPECIFIED
        full.append(row)
    return pa.Table.from_pylist(full, schema=spec.arrow_schema)


def context(cfg: Config | None = None, **tables: list[dict]) -> Context:
    """A pipeline Context over a throwaway DuckDB engine holding the given tables (the others empty)."""
    arrow = {name: table(name, tables.get(name, [])) for name in schema.TABLES}
    return Context(engine=engine_for_tables(arrow), cfg=cfg or Config())
