"""The re-labeling queue: the gold items most worth re-labeling, highest priority first, as CSV or as a Label Studio
import file — so a team can act on the audit the same day.

Filters select what a verdict action names (evalaudit.verdict): the items of one failure mode, the items a labeler
judged, the items carrying given flags — each combines with the others (AND) and with ``top``.

Priority is the items stage's ``relabel_priority`` (expected change in the item's failure-mode score if its gold
were re-labeled; see evalaudit.items). Honeypot (control) items are left out: their answers are known.
"""

from __future__ import annotations

import csv
import json
import os
import uuid
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from evalaudit import items, labelers, pipeline
from evalaudit.config import Config
from evalaudit.engine import Engine
from evalaudit.errors import UnusableInput, output_error
from evalaudit.gold import in_gold_set
from evalaudit.paths import check_output_file
from evalaudit.stage import Context
from evalaudit.store import Store

COLUMNS = ("relabel_priority", "item_id", "failure_mode", "gold_label", "poison_score", "expected_score_change",
           "flags", "gold_source", "consensus_label", "n_labelers")
FORMATS = ("csv", "label-studio")


def queue(store_dir: str | Path, cfg: Config, top: int | None = None, failure_modes: Sequence[str] = (),
          labeler_ids: Sequence[str] = (), flags: Sequence[str] = ()) -> pa.Table:
    """The top ``top`` gold items by re-labeling priority (all when None), of any of ``failure_modes``, judged by
    any of ``labeler_ids``, carrying every one of ``flags`` (empty = no filter)."""
    unknown = sorted(set(flags) - set(items.FLAGS))
    if unknown:
        raise UnusableInput(f"{unknown[0]!r} is not an item flag; flags are: {', '.join(items.FLAGS)}",
                            options=("flags",))
    store = Store.open(store_dir)
    if not store.files("labels"):
        raise UnusableInput(f"{store.root}: the store holds no labels yet (add some with `evalaudit ingest`)")
    ctx = Context(engine=store.engine(), cfg=cfg)
    pipeline.run_stages(ctx, [("labelers", labelers.stage), ("items", items.stage)])
    table = ctx.tables["items"]
    table = table.filter(pa.array(in_gold_set(table)))  # the gold set (evalaudit.gold)
    table = select(ctx.engine, table, failure_modes, labeler_ids, flags)
    table = table.sort_by("relabel_priority")
    return table.slice(0, top) if top is not None else table


def select(engine: Engine, table: pa.Table, failure_modes: Sequence[str] = (), labeler_ids: Sequence[str] = (),
           flags: Sequence[str] = ()) -> pa.Table:
    """Rows of an items table of any of ``failure_modes``, judged by any of ``labeler_ids`` (the store's labels),
    carrying every one of ``flags``; an empty filter keeps everything. Shared by `evalaudit relabel` and the items
    notebook so both select the same items."""
    if failure_modes:
        table = table.filter(pc.is_in(table["failure_mode"], pa.array(list(failure_modes), pa.string())))
    for flag in flags:
        table = table.filter(has_flag(table, flag))
    if labeler_ids:
        ids = pa.concat_arrays([engine.query("relabel_items_by_labeler", labeler_id=lab)["item_id"].combine_chunks()
                                .cast(pa.string()) for lab in labeler_ids])
        table = table.filter(pc.is_in(table["item_id"], ids))
    return table


def has_flag(t: pa.Table, flag: str) -> pa.Array:
    """Row mask: the list column ``flags`` contains ``flag``."""
    flags = t["flags"].combine_chunks() if t.num_rows else pa.array([], pa.list_(pa.string()))
    rows = pc.filter(pc.list_parent_indices(flags), pc.equal(pc.list_flatten(flags), flag))
    return pc.is_in(pa.array(range(t.num_rows), pa.int64()), value_set=pc.unique(rows).cast(pa.int64()))


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
        raise UnusableInput(f"the queue format must be one of {', '.join(FORMATS)}, not {fmt!r}", options=("fmt",))
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
