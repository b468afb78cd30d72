"""The re-labeling queue: the gold items most worth re-labeling, highest priority first, as CSV or as an import file of
the tool people label in (Label Studio tasks, Argilla records, a Prodigy JSONL stream) — so a team can act on the
audit the same day.

Each exported item carries the items table's content columns (docs/schema.md: any column beyond the canonical ones —
prompt, response, reference answer, ...), mapped to what each tool displays, so the labeler sees what to grade:
Label Studio task ``data``, Argilla record ``fields``, Prodigy ``text`` (and the columns themselves, kept beside
it). evalaudit's own columns (priority, flags, scores) go where each tool keeps information that is not graded:
Label Studio ``data`` and ``meta``, Argilla ``metadata``, Prodigy ``meta``. docs/items.md shows each format.

Filters select what a verdict action names (evalaudit.verdict): the items of one failure mode, the items a labeler
judged, the items carrying given flags — each combines with the others (AND) and with ``top``.

Priority is the items stage's ``relabel_priority`` (expected change in the item's failure-mode score if its gold
were re-labeled; see evalaudit.items). Honeypot (control) items are left out: their answers are known.
"""

from __future__ import annotations

import csv
import json
import os
import re
import uuid
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from evalaudit import items, labelers, pipeline, schema
from evalaudit.config import Config
from evalaudit.engine import Engine
from evalaudit.errors import UnusableInput, output_error
from evalaudit.gold import in_gold_set
from evalaudit.paths import check_output_file
from evalaudit.stage import Context
from evalaudit.store import Store

COLUMNS = ("relabel_priority", "item_id", "failure_mode", "gold_label", "poison_score", "expected_score_change",
           "flags", "gold_source", "consensus_label", "n_labelers")
FORMATS = ("csv", "label-studio", "argilla", "prodigy")
#: the columns of the items table that are not content (canonical and provenance)
NOT_CONTENT = frozenset(schema.ITEMS.arrow_schema.names)
#: Argilla field and metadata names: lowercase letters, digits, ``_`` and ``-`` (its server rejects others)
_ARGILLA_NAME = re.compile(r"[^a-z0-9_-]+")
#: Prodigy's meta shows these in the corner of the card; the rest of evalaudit's columns ride along unshown
PRODIGY_META = ("item_id", "failure_mode", "relabel_priority", "flags")


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
    table = table.slice(0, top) if top is not None else table
    return with_content(ctx.engine, table.select(list(COLUMNS)))


def content_columns(engine: Engine) -> list[str]:
    """The items table's content columns (any column beyond the canonical and provenance ones), in stored order."""
    if not engine.has_table("items"):
        return []
    return [c for c in engine.columns("items") if c not in NOT_CONTENT]


def with_content(engine: Engine, queue_table: pa.Table) -> pa.Table:
    """``queue_table`` with the items table's content columns appended (as text; null where the item has none).
    When the items table holds an item more than once, its last stored row counts (SQL ``relabel_item_content``)."""
    names = content_columns(engine)
    if not names:
        return queue_table
    # only the queue's items are read: an eval set's content (prompts, responses) can be gigabytes
    engine.register("relabel_queue", queue_table.select(["item_id"]))
    try:
        stored = engine.query("relabel_item_content")
    finally:
        engine.drop("relabel_queue")
    rows = {r["item_id"]: r for r in stored.select(["item_id", *names]).to_pylist()}
    ids = queue_table["item_id"].to_pylist()
    for name in names:
        values = [None if rows.get(i, {}).get(name) is None else str(rows[i][name]) for i in ids]
        queue_table = queue_table.append_column(name if name not in COLUMNS else f"item_{name}",
                                                pa.array(values, pa.string()))
    return queue_table


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
    """The queue's rows as dicts: evalaudit's columns (``flags`` a list), then the content columns."""
    return table.to_pylist()


def _ours(r: dict, flags_as_text: bool = True) -> dict:
    """evalaudit's own columns of a queue row."""
    out = {k: r[k] for k in COLUMNS}
    if flags_as_text:
        out["flags"] = ";".join(out["flags"] or [])
    return out


def _content(r: dict) -> dict:
    """The content columns of a queue row that hold a value (not null, not blank)."""
    return {k: v for k, v in r.items() if k not in COLUMNS and v is not None and str(v).strip()}


def label_studio_task(r: dict) -> dict:
    """A Label Studio task: ``data`` is what the labeling interface shows (the content columns, referenced as
    ``$prompt``, ``$response``, ... in its labeling config; an item without a value shows an empty text, since Label
    Studio rejects a task whose displayed variable is null) beside evalaudit's columns; ``meta`` is kept unshown."""
    return {"data": {**_ours(r), **{k: "" if v is None else v for k, v in r.items() if k not in COLUMNS}},
            "meta": {"source": "evalaudit relabel", "relabel_priority": r["relabel_priority"]}}


def argilla_name(name: str) -> str:
    """A column name as an Argilla field or metadata name (lowercase, ``[a-z0-9_-]``)."""
    return _ARGILLA_NAME.sub("_", name.lower()).strip("_") or "field"


def argilla_record(r: dict) -> dict:
    """An Argilla 2.x record as ``Dataset.records.to_json`` writes it (and ``records.from_json`` reads it): ``id`` is
    the item, ``fields`` the content columns (what the annotator reads; the item id when there is none),
    ``metadata`` evalaudit's columns (for filtering and sorting; null values left out)."""
    fields = {argilla_name(k): v for k, v in _content(r).items()} or {"item_id": r["item_id"]}
    metadata = {k: v for k, v in _ours(r, flags_as_text=False).items() if v is not None and v != []}
    return {"id": r["item_id"], "fields": fields, "metadata": metadata, "suggestions": {}, "responses": {},
            "vectors": {}}


def prodigy_task(r: dict) -> dict:
    """A Prodigy task of a JSONL input stream (prodi.gy/docs/api-loaders, "Input data formats"): ``text`` is what
    the annotation card shows — the content column ``text`` when there is one, else every content column as a
    ``name:`` block — and ``meta`` its corner (item, failure mode, priority, flags). The content columns and all of
    evalaudit's columns ride along as keys of their own, which Prodigy keeps in the stored annotation."""
    content = _content(r)
    if "text" in content:
        text = content["text"]
    elif content:
        text = "\n\n".join(f"{k}:\n{v}" for k, v in content.items())
    else:
        text = r["item_id"]
    ours = _ours(r)
    reserved = ("text", "meta", "item_id", "evalaudit")  # a content column of such a name is in `text` only
    return {"text": text, "meta": {k: ours[k] for k in PRODIGY_META}, "item_id": r["item_id"],
            **{k: v for k, v in content.items() if k not in reserved}, "evalaudit": ours}


def write(table: pa.Table, out: str | Path, fmt: str = "csv") -> int:
    """Write the queue to ``out`` (atomically) in ``fmt`` (one of ``FORMATS``); returns the number of items."""
    if fmt not in FORMATS:
        raise UnusableInput(f"the queue format must be one of {', '.join(FORMATS)}, not {fmt!r}", options=("fmt",))
    check_out(out, None)
    rows = _rows(table)
    if fmt == "csv":
        def dump(f):
            writer = csv.DictWriter(f, fieldnames=list(table.column_names))
            writer.writeheader()
            writer.writerows({**r, "flags": ";".join(r["flags"] or [])} for r in rows)
    elif fmt == "prodigy":  # JSON Lines, one task per line
        def dump(f):
            for r in rows:
                f.write(json.dumps(prodigy_task(r), ensure_ascii=False, allow_nan=False, default=str) + "\n")
    else:  # a JSON array: Label Studio tasks, or Argilla records
        docs = [label_studio_task(r) if fmt == "label-studio" else argilla_record(r) for r in rows]

        def dump(f):
            json.dump(docs, f, ensure_ascii=False, indent=1, allow_nan=False, default=str)
            f.write("\n")
    _atomic_write(Path(out), dump)
    return len(rows)
