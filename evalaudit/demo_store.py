"""Write the synthetic demo history (evalaudit.demo) into a store the way a user's exports arrive.

The generated tables are written as vendor-style Parquet exports under ``DIR/exports/`` and then go through the
real ingest path, so the demo store carries real provenance (source file, sha256, row) and re-running the command
with the same seed adds nothing (the exports are byte-identical, so their sha256 is already in the store).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow.parquet as pq

from evalaudit.errors import UnusableInput
from evalaudit.ingest import ingest_files
from evalaudit.paths import is_store
from evalaudit.store import Store

#: Ingest order: reference tables first, then the judgments.
TABLE_ORDER = ("labelers", "items", "labels", "predictions", "production")


def _export_name(table: str, seed: int, n_judgments: int) -> str:
    return f"{table}-seed{seed}-n{n_judgments}.parquet"


def _refuse_foreign_data(store_dir: Path, seed: int, n_judgments: int) -> None:
    """docs/store.md: `demo` refuses a store that already holds data — synthetic judgments mixed into real ones could
    never be told apart again. Re-running the same demo (same seed and size) into its own store is allowed: it adds
    nothing, since its exports are byte-identical."""
    if not store_dir.exists():
        return
    if not is_store(store_dir):
        if store_dir.is_dir() and any(store_dir.iterdir()):
            raise UnusableInput(f"{store_dir}: is a directory with other files in it and not an evalaudit store; "
                                "write the demo into a new or empty directory")
        return
    own = {str((store_dir / "exports" / _export_name(t, seed, n_judgments)).resolve()) for t in TABLE_ORDER}
    foreign = [r.source_file for r in Store.open(store_dir).sources() if r.source_file not in own]
    if foreign or (any(Store(store_dir).files(t) for t in TABLE_ORDER) and not Store(store_dir).sources()):
        raise UnusableInput(
            f"{store_dir}: the store already holds data"
            f"{f' (from {foreign[0]})' if foreign else ''}; the demo writes only into a new or empty store, "
            "so synthetic judgments never mix with real ones"
        )


def write_demo(store_dir: str | Path, seed: int = 0, n_judgments: int = 200_000) -> str:
    """Generate the demo history for ``seed`` and ingest it into the store at ``store_dir``; returns a summary."""
    from evalaudit.demo import generate

    store = Path(store_dir)
    _refuse_foreign_data(store, seed, n_judgments)
    exports = store / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    data = generate(seed=seed, n_judgments=n_judgments)
    lines = []
    for table in TABLE_ORDER:
        if table not in data.tables:
            continue
        path = exports / _export_name(table, seed, n_judgments)
        tmp = path.with_suffix(".parquet.tmp")
        # no statistics/created_by differences between runs: same seed -> same bytes -> same sha256
        pq.write_table(data.tables[table], tmp, compression="zstd")
        os.replace(tmp, path)
        (result,) = ingest_files(store, [path], table=table)
        verb = "skipped (already in the store)" if result.status == "duplicate" else f"added {result.rows_added:,}"
        lines.append(f"{table}: {verb} rows from {path}")
    truth = store / "truth.json"
    tmp = truth.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data.truth, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, truth)
    lines.append(f"planted faults: {len(data.truth.get('planted', []))}, listed in {truth}")
    return "\n".join(lines)
