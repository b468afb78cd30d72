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

from evalaudit.ingest import ingest_files

#: Ingest order: reference tables first, then the judgments.
TABLE_ORDER = ("labelers", "items", "labels", "predictions", "production")


def write_demo(store_dir: str | Path, seed: int = 0, n_judgments: int = 200_000) -> str:
    """Generate the demo history for ``seed`` and ingest it into the store at ``store_dir``; returns a summary."""
    from evalaudit.demo import generate

    store = Path(store_dir)
    exports = store / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    data = generate(seed=seed, n_judgments=n_judgments)
    lines = []
    for table in TABLE_ORDER:
        if table not in data.tables:
            continue
        path = exports / f"{table}-seed{seed}-n{n_judgments}.parquet"
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
