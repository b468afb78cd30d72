"""The store: a directory of plain Parquet that only grows (docs/store.md).

Layout::

    STORE/
      labels/src-<sha256>.parquet        one file per ingested source file (items/, labelers/, ... likewise)
      quarantine/<table>/src-<sha256>.parquet   rejected rows of that source, with the reason
      manifest/<table>/<sha256>.json     what was ingested from where, and the counts
      .staging/                          work in progress; never read

Why one file per source, named by its sha256: the rename of that file into ``<table>/`` is the single atomic step
that commits an ingest. Everything is first written under ``.staging/`` and fsynced; then the quarantine file and
the data file are renamed into place (data last: its arrival *is* the commit), then the manifest entry. A process
killed at any point leaves either no data file — the store as it was, and a re-ingest starts over — or the whole
file. The manifest is an index that `Store.open` repairs from the data file if a crash fell between the two
renames, so idempotency never depends on it. Ingesting the same bytes again finds ``src-<sha256>.parquet`` and adds
nothing. Nothing ever rewrites or deletes a stored row.

Readers see a snapshot: `Store.engine()` lists the files once, so a run is not disturbed by a concurrent ingest.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from evalaudit import schema
from evalaudit.engine import DuckDBEngine
from evalaudit.errors import UnusableInput, first_line, store_error

#: the name of a committed data file (see the module docstring)
_SOURCE_FILE = re.compile(r"src-[0-9a-f]{64}\.parquet")


@dataclass
class SourceRecord:
    """One manifest entry: a source file ingested into one table."""

    table: str
    source_file: str
    source_sha256: str
    format: str
    rows_added: int
    rows_quarantined: int
    ingested_at: str
    evalaudit_version: str
    #: rows set aside as judgments already seen earlier in the file, or already stored (docs/store.md)
    rows_duplicate_in_file: int = 0
    rows_duplicate_stored: int = 0


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


class Store:
    """An evalaudit store rooted at a directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    # -- opening -------------------------------------------------------------------------------------------
    @classmethod
    def open(cls, root: str | Path, create: bool = False) -> Store:
        """Open the store at ``root``; with ``create`` make it if absent. Repairs an interrupted commit.

        Every way the directory can be unusable (missing, a file, unreadable, read-only when creating, a stray or
        damaged Parquet file among the tables) is one UnusableInput naming the store."""
        root = Path(root)
        if not str(root).strip():
            raise UnusableInput("the store directory is empty; name one, e.g. data/store", options=("store",))
        try:
            if not root.exists():
                if not create:
                    raise UnusableInput(f"{root}: no such store directory (create one with `evalaudit ingest`)")
                root.mkdir(parents=True)
            if not root.is_dir():
                raise UnusableInput(f"{root}: is not a directory (store)")
            store = cls(root)
            if create:
                for name in schema.TABLES:
                    (root / name).mkdir(exist_ok=True)
        except OSError as e:
            raise store_error(root, e) from None
        store.verify()
        store._repair_manifest()
        return store

    def verify(self) -> None:
        """Refuse a store holding a Parquet file evalaudit did not write (a stray or hand-copied file) or one whose
        footer is damaged (a truncated copy): either would make every later read fail or count wrong rows.

        Reads only each file's footer (milliseconds per file)."""
        for table in schema.TABLES:
            for path in self.files(table):
                if not _SOURCE_FILE.fullmatch(path.name) or path.parent != self.table_dir(table):
                    raise UnusableInput(
                        f"{path}: a Parquet file evalaudit did not write lies in the store (its files are named "
                        f"src-<sha256>.parquet, directly in {table}/); move it out and ingest it with "
                        "`evalaudit ingest` (store)")
                try:
                    names = pq.read_schema(path).names
                except (OSError, pa.ArrowException) as e:
                    raise UnusableInput(f"{path}: a damaged Parquet file in the store ({first_line(e)}); restore "
                                        "it from a backup or move it out and re-ingest its source (store)") from None
                missing = [c for c in schema.get(table).arrow_schema.names if c not in names]
                if missing:
                    raise UnusableInput(f"{path}: a file in the store lacks column(s) {', '.join(missing)} of "
                                        f"table {table}; move it out and re-ingest its source (store)")

    def table_dir(self, table: str) -> Path:
        return self.root / table

    def data_path(self, table: str, sha256: str) -> Path:
        return self.root / table / f"src-{sha256}.parquet"

    def quarantine_path(self, table: str, sha256: str) -> Path:
        return self.root / "quarantine" / table / f"src-{sha256}.parquet"

    def manifest_path(self, table: str, sha256: str) -> Path:
        return self.root / "manifest" / table / f"{sha256}.json"

    # -- reading -------------------------------------------------------------------------------------------
    def files(self, table: str) -> list[Path]:
        """The committed Parquet files of a table, in a stable order."""
        d = self.table_dir(table)
        return sorted(d.glob("**/*.parquet")) if d.is_dir() else []

    def has_source(self, table: str, sha256: str) -> bool:
        """True when a source with these bytes is already committed to ``table``."""
        return self.data_path(table, sha256).exists()

    def sources(self, table: str | None = None) -> list[SourceRecord]:
        """The manifest: every ingested source, oldest first."""
        tables = [table] if table else list(schema.TABLES)
        out = []
        for t in tables:
            d = self.root / "manifest" / t
            for p in sorted(d.glob("*.json")) if d.is_dir() else []:
                out.append(SourceRecord(**json.loads(p.read_text(encoding="utf-8"))))
        return sorted(out, key=lambda r: r.ingested_at)

    def quarantine_files(self, table: str | None = None) -> list[Path]:
        """Rejected-row files of one table (or all tables); whole batches kept by `check` live apart, under
        quarantine/batches/, and are not rows of this view."""
        out: list[Path] = []
        for t in [table] if table else list(schema.TABLES):
            d = self.root / "quarantine" / t
            out += sorted(d.glob("*.parquet")) if d.is_dir() else []
        return out

    def engine(self, memory_limit: str | None = None) -> DuckDBEngine:
        """A DuckDB engine with one view per canonical table over a snapshot of the committed files."""
        eng = DuckDBEngine(memory_limit=memory_limit)
        for name, table in schema.TABLES.items():
            eng.view_parquet(name, self.files(name), table.arrow_schema)
        quarantined = self.quarantine_files()
        eng.view_parquet("quarantine", quarantined, schema.QUARANTINE)
        return eng

    # -- writing -------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """An exclusive lock for writers, so two ingests of one store serialise (readers never need it).

        Whoever holds the lock is the only writer, so anything under ``.staging/`` when it is taken is a killed
        writer's leftover and is removed here."""
        path = self.root / ".lock"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fh = open(path, "a+")  # noqa: SIM115 - held open for the whole with-block below
        except IsADirectoryError:
            raise UnusableInput(f"{path}: is a directory, where the store keeps its lock file; remove it "
                                "(store)") from None
        except OSError as e:
            raise store_error(self.root, e) from None
        with fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                self.clean_staging()
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def clean_staging(self) -> None:
        """Remove what killed writers left under ``.staging/`` (call only while holding the lock)."""
        staging = self.root / ".staging"
        if staging.is_dir():
            for leftover in staging.iterdir():
                if leftover.is_dir() and not leftover.is_symlink():
                    shutil.rmtree(leftover, ignore_errors=True)
                else:
                    leftover.unlink(missing_ok=True)

    @contextlib.contextmanager
    def staging(self) -> Iterator[Path]:
        """A private staging directory, removed afterwards whatever happens."""
        path = self.root / ".staging" / uuid.uuid4().hex
        try:
            path.mkdir(parents=True)
        except OSError as e:
            raise store_error(self.root, e) from None
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)

    def commit(self, table: str, sha256: str, data: Path, quarantine: Path | None, record: SourceRecord) -> None:
        """Move staged files into place. The data file's rename is the commit point (see module docstring)."""
        fsync_file(data)
        if quarantine is not None:
            fsync_file(quarantine)
            qdest = self.quarantine_path(table, sha256)
            qdest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(quarantine, qdest)
            _fsync_dir(qdest.parent)
        dest = self.data_path(table, sha256)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(data, dest)
        _fsync_dir(dest.parent)
        self._write_manifest(record)

    def _write_manifest(self, record: SourceRecord) -> None:
        dest = self.manifest_path(record.table, record.source_sha256)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_suffix(f".{uuid.uuid4().hex}.tmp")
        tmp.write_text(json.dumps(asdict(record), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, dest)

    def _repair_manifest(self) -> None:
        """Rebuild manifest entries for committed data files that lack one (a crash between the renames).

        On a store this process may not write (read-only disk or permissions) the repair is left to the next
        writer: readers do not need the manifest."""
        try:
            self._repair_manifest_entries()
        except OSError:
            if os.access(self.root, os.W_OK):
                raise

    def _repair_manifest_entries(self) -> None:
        from evalaudit import __version__

        for table in schema.TABLES:
            for data in self.files(table):
                sha = data.stem.removeprefix("src-")
                if self.manifest_path(table, sha).exists():
                    continue
                pf = pq.ParquetFile(data)
                first = pf.read_row_group(0, columns=["source_file", "ingested_at"]).slice(0, 1).to_pylist() \
                    if pf.metadata.num_rows else [{}]
                q = self.quarantine_path(table, sha)
                self._write_manifest(
                    SourceRecord(
                        table=table,
                        source_file=(first[0] or {}).get("source_file") or "",
                        source_sha256=sha,
                        format="unknown (manifest repaired)",
                        rows_added=pf.metadata.num_rows,
                        rows_quarantined=pq.ParquetFile(q).metadata.num_rows if q.exists() else 0,
                        ingested_at=str((first[0] or {}).get("ingested_at") or ""),
                        evalaudit_version=__version__,
                    )
                )
