"""The re-labeling queue: the gold items most worth re-labeling, highest priority first, as CSV or as a Label Studio
import file — so a team can act on the audit the same day.

Priority is the items stage's ``relabel_priority`` (expected change in the item's failure-mode score if its gold
were re-labeled; see evalaudit.items). Honeypot (control) items are left out: their answers are known.
"""

from __future__ import annotations

import csv
import json
import os
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from evalaudit import items, labelers, pipeline
from evalaudit.config import Config
from evalaudit.errors import UnusableInput, output_error
from evalaudit.paths import check_output_file
from evalaudit.store import Store

COLUMNS = ("relabel_priority", "item_id", "failure_mode", "gold_label", "poison_score", "expected_score_change",
           "flags", "gold_source", "consensus_label", "n_labelers")
FORMATS = ("csv", "label-studio")


def queue(store_dir: str | Path, cfg: Config, top: int | None = None) -> pa.Table:
    """The top ``top`` gold items by re-labeling priority (all when None)."""
    store = Store.open(store_dir)
    if not store.files("labels"):
        raise UnusableInput(f"{store.root}: the store holds no labels yet (add some with `evalaudit ingest`)")
    ctx = pipeline.Context(engine=store.engine(), cfg=cfg)
    pipeline.run_stages(ctx, [("labelers", labelers.stage), ("items", items.stage)])
    table = ctx.tables["items"]
    table = table.filter(pc.and_(pc.invert(table.column("is_honeypot")), pc.is_valid(table.column("gold_label"))))
    table = table.sort_by("relabel_priority")
    return table.slice(0, top) if top is not None else table


def check_out(out: str | Path, store_dir: str | Path | None) -> None:
    """Refuse, before any work, an ``--out`` that is a directory, lies under a file, or is or lies inside a store."""
    check_output_file(Path(out), Path(store_dir) if store_dir is not None else None)


def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            write(f)
        os.replace(tmp, path)
    except OSError as e:  # a full disk, a read-only file system, no permission: the output's fault
        raise output_error(path, e) from None
    finally:
        tmp.unlink(missing_ok=True)


def _rows(table: pa.Table) -> list[dict]:
    rows = []
    for r in table.select([c for c in COLUMNS]).to_pylist():
        r["flags"] = ";".join(r["flags"] or [])
        rows.append(r)
    return rows


def write(table: pa.Table, out: str | Path, fmt: str = "csv") -> int:
    """Write the queue to ``out`` (atomically) as CSV or a Label Studio import; returns the number of items."""
    if fmt not in FORMATS:
        raise UnusableInput(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    check_out(out, None)
    rows = _rows(table)
    if fmt == "csv":
        def dump(f):
            writer = csv.DictWriter(f, fieldnames=list(COLUMNS))
            writer.writeheader()
            writer.writerows(rows)
    else:
        # Label Studio import: a JSON array of tasks; `data` holds what the labeling interface shows
        tasks = [{"data": {k: v for k, v in r.items()},
                  "meta": {"source": "evalaudit relabel", "relabel_priority": r["relabel_priority"]}} for r in rows]

        def dump(f):
            json.dump(tasks, f, ensure_ascii=False, indent=1, allow_nan=False, default=str)
            f.write("\n")
    _atomic_write(Path(out), dump)
    return len(rows)
