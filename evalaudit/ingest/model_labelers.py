"""LLM judges met in a tool export become labelers of kind ``model`` (docs/schema.md: labelers.kind).

A Langfuse export read with ``--include-judges`` names its judges; each one the labelers table does not hold yet
gets a row staged next to the file's judgments and committed under the same source SHA-256, so the audit tells
judges from people without a separate labelers file.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from evalaudit import __version__, schema
from evalaudit.ingest.readers import Source
from evalaudit.ingest.staging import FileResult
from evalaudit.store import SourceRecord, Store


def stage_model_labelers(con: duckdb.DuckDBPyConnection, store: Store, src: Source, sha: str,
                         ingested_at: datetime, staging: Path) -> list[str]:
    """Stage a labelers row of kind ``model`` for each judge of ``src`` not stored yet; returns the judges staged."""
    stored = store.files("labelers")
    known: set[str] = set()
    if stored:
        known = {r[0] for r in con.execute("SELECT DISTINCT labeler_id FROM read_parquet($f, union_by_name = true)",
                                           {"f": [str(p) for p in stored]}).fetchall()}
    new = sorted(k for k in src.kinds if k not in known)
    if not new:
        return []
    n = len(new)
    columns = {c.name: pa.nulls(n, c.type) for c in schema.LABELERS.columns}
    columns["labeler_id"] = pa.array(new, pa.string())
    columns["kind"] = pa.array([src.kinds[k] for k in new], pa.string())
    columns.update({"source_file": pa.array([str(src.path.resolve())] * n, pa.string()),
                    "source_sha256": pa.array([sha] * n, pa.string()),
                    "source_row": pa.array(range(n), pa.int64()),
                    "ingested_at": pa.array([ingested_at] * n, schema.TIMESTAMP)})
    pq.write_table(pa.Table.from_pydict(columns, schema=schema.LABELERS.arrow_schema), staging / "labelers.parquet",
                   compression="zstd")
    return new


def commit_model_labelers(store: Store, result: FileResult, ingested_at: datetime, staging: Path) -> None:
    """Commit the rows staged by :func:`stage_model_labelers` (atomically, like any file)."""
    store.commit("labelers", result.sha256, staging / "labelers.parquet", None, SourceRecord(
        table="labelers", source_file=str(result.path.resolve()), source_sha256=result.sha256, format=result.format,
        rows_added=len(result.labelers_added), rows_quarantined=0, ingested_at=ingested_at.isoformat(),
        evalaudit_version=__version__))
