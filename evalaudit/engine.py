"""Engines: what the audit stages talk to. An engine offers the store's tables as views and runs named queries
(evalaudit/sql/*.sql) returning Arrow. DuckDB is the embedded default; a Spark engine implements the same seam.

Stages never see file paths or a DuckDB connection directly, so the same stage code runs on either engine.
Work that is not SQL (EM iterations, bootstraps) runs on the aggregated Arrow results a query returns.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import duckdb
import pyarrow as pa

from evalaudit import sql as named_sql
from evalaudit.errors import UnusableInput
from evalaudit.sql import quote_ident, quote_literal

if TYPE_CHECKING:  # (not at run time: importing pyarrow.dataset imports pandas, which `evalaudit run` refuses)
    import pyarrow.dataset

#: views an engine derives from a table as soon as the table is offered: table -> (view, named query). The one
#: reading of the items table: an item listed more than once is its latest ingested row (evalaudit/sql/item_answers.sql)
DERIVED_VIEWS = {"items": ("item_answers", "item_answers")}


def with_ingest_time(name: str, table: pa.Table) -> pa.Table:
    """``table`` as an engine offers it: an items table handed in without provenance (the Python API's in-memory
    tables) gets an empty ``ingested_at``, so its rows count as ingested at one unknown time and the view
    ``item_answers`` still binds (an item it lists twice is then any one of its rows)."""
    if name in DERIVED_VIEWS and "ingested_at" not in table.column_names:
        return table.append_column("ingested_at", pa.nulls(table.num_rows, pa.timestamp("us", tz="UTC")))
    return table


class Engine(Protocol):
    name: str

    def query(self, name: str, **params: Any) -> pa.Table:
        """Run the named query ``evalaudit/sql/<name>.sql`` with bound parameters."""

    def sql(self, text: str, **params: Any) -> pa.Table:
        """Run ad-hoc SQL text (portable subset) with bound parameters."""

    def stream(self, name: str, batch_rows: int = 1 << 20) -> Iterator[pa.RecordBatch]:
        """The named query's rows (no parameters) as record batches, in the order :meth:`query` returns them."""

    def stream_sql(self, text: str, batch_rows: int = 1 << 20, **params: Any) -> Iterator[pa.RecordBatch]:
        """:meth:`sql`'s rows as record batches of about ``batch_rows``, in the order :meth:`sql` returns them."""

    def has_table(self, name: str) -> bool:
        """True when the view exists and holds at least one row."""

    def register(self, name: str, table: pa.Table | pyarrow.dataset.Dataset) -> None:
        """Offer an Arrow table (an earlier stage's result), or a dataset over a file a stage wrote, as a view to
        later queries."""

    def drop(self, name: str) -> None:
        """Forget a view offered with ``register`` (its table's memory is freed once nothing else holds it)."""

    def define_view(self, name: str, query: str) -> None:
        """Define view ``name`` as the named query ``query`` over the other views (evaluated when read)."""


def _threads() -> int:
    """EVALAUDIT_THREADS (0 or unset = one per core), checked like a config value (evalaudit.config)."""
    from evalaudit.config import check_environment

    check_environment({"EVALAUDIT_THREADS": os.environ.get("EVALAUDIT_THREADS", "")})
    return int(os.environ.get("EVALAUDIT_THREADS", "0").strip() or 0) or (os.cpu_count() or 1)


class DuckDBEngine:
    """The embedded default: one in-process DuckDB connection with a view per table."""

    name = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection | None = None, memory_limit: str | None = None) -> None:
        self.con = con or duckdb.connect(config={"threads": _threads()})
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute("SET enable_progress_bar = false")  # a streamed result (stream) would draw one on stderr
        # return freed memory to the OS soon after a query (see evalaudit/__init__.py, which makes it immediate
        # when evalaudit is imported before duckdb)
        self.con.execute("SET allocator_background_threads = true")
        # spill files go to a private temporary directory (DuckDB's default is ./.tmp in the user's working
        # directory), removed with the engine
        spill = tempfile.mkdtemp(prefix="evalaudit-duckdb-")
        self._cleanup = weakref.finalize(self, shutil.rmtree, spill, ignore_errors=True)
        self.con.execute(f"SET temp_directory = {quote_literal(spill)}")
        limit = memory_limit if memory_limit is not None else os.environ.get("EVALAUDIT_MEMORY_LIMIT", "")
        if limit:
            try:
                self.con.execute(f"SET memory_limit = {quote_literal(limit)}")
            except duckdb.Error:
                raise UnusableInput(f"memory limit {limit!r} ([run] memory_limit or EVALAUDIT_MEMORY_LIMIT) is not a "
                                    "size such as '2500MB' or '3GB'") from None
        self._nonempty: dict[str, bool] = {}
        self._registered: dict[str, pa.Table] = {}

    # -- views ---------------------------------------------------------------------------------------------
    def view_parquet(self, name: str, files: Sequence[Path], empty_schema: pa.Schema) -> None:
        """Define view ``name`` over exactly these Parquet files (a snapshot: files added later are not seen).

        With no files, the view is an empty table of ``empty_schema``, so queries still bind."""
        if files:
            listing = ", ".join(quote_literal(str(f)) for f in files)
            self.con.execute(
                f"CREATE OR REPLACE VIEW {quote_ident(name)} AS "
                f"SELECT * FROM read_parquet([{listing}], union_by_name = true)"
            )
        else:
            self.register(name, empty_schema.empty_table())
        self._nonempty.pop(name, None)
        self._derive(name)

    def register(self, name: str, table: pa.Table | pyarrow.dataset.Dataset) -> None:
        if isinstance(table, pa.Table):
            table = with_ingest_time(name, table)
        # (a dataset is scanned where a query reads it: only the columns and rows it asks for are loaded)
        self._registered[name] = table  # keep a reference: DuckDB scans it lazily
        self.con.register(f"__arrow_{name}", table)
        self.con.execute(
            f"CREATE OR REPLACE VIEW {quote_ident(name)} AS SELECT * FROM {quote_ident('__arrow_' + name)}"
        )
        self._nonempty.pop(name, None)
        self._derive(name)

    def _derive(self, name: str) -> None:
        """(Re)define the views derived from table ``name`` (:data:`DERIVED_VIEWS`)."""
        if name in DERIVED_VIEWS:
            self.define_view(*DERIVED_VIEWS[name])

    def define_view(self, name: str, query: str) -> None:
        self.con.execute(f"CREATE OR REPLACE VIEW {quote_ident(name)} AS {named_sql.load(query)}")
        self._nonempty.pop(name, None)

    def drop(self, name: str) -> None:
        if self._registered.pop(name, None) is not None:
            self.con.execute(f"DROP VIEW IF EXISTS {quote_ident(name)}")
            self.con.unregister(f"__arrow_{name}")
        self._nonempty.pop(name, None)

    def has_table(self, name: str) -> bool:
        if name not in self._nonempty:
            exists = self.con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = $name", {"name": name}
            ).fetchall()[0][0]
            self._nonempty[name] = bool(exists) and bool(
                self.con.execute(f"SELECT EXISTS (SELECT 1 FROM {quote_ident(name)})").fetchall()[0][0]
            )
        return self._nonempty[name]

    def columns(self, name: str) -> list[str]:
        rows = self.con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = $name ORDER BY ordinal_position",
            {"name": name},
        ).fetchall()
        return [r[0] for r in rows]

    # -- queries -------------------------------------------------------------------------------------------
    def query(self, name: str, **params: Any) -> pa.Table:
        return self.sql(named_sql.load(name), **params)

    def sql(self, text: str, **params: Any) -> pa.Table:
        used = {k: v for k, v in params.items() if f"${k}" in text}
        rel = self.con.sql(text, params=used or None)
        return rel.to_arrow_table() if rel is not None else pa.table({})

    def stream(self, name: str, batch_rows: int = 1 << 20) -> Iterator[pa.RecordBatch]:
        """The named query's rows as record batches of about ``batch_rows``, in the order :meth:`query` returns
        them, without the whole result in memory at once (a caller that reduces each batch holds only its
        reduction)."""
        yield from self.stream_sql(named_sql.load(name), batch_rows)

    def stream_sql(self, text: str, batch_rows: int = 1 << 20, **params: Any) -> Iterator[pa.RecordBatch]:
        """Ad-hoc SQL text's rows as record batches (see :meth:`stream`), with bound parameters."""
        used = {k: v for k, v in params.items() if f"${k}" in text}
        yield from self.con.sql(text, params=used or None).to_arrow_reader(batch_rows)

    def close(self) -> None:
        self.con.close()
        self._cleanup()


def engine_for_tables(tables: Mapping[str, pa.Table]) -> DuckDBEngine:
    """A throwaway DuckDB engine over in-memory Arrow tables (the Python API's route to the same queries)."""
    eng = DuckDBEngine(duckdb.connect(config={"threads": _threads()}))
    for name, table in tables.items():
        eng.register(name, table)
    return eng
