"""Hugging Face ``datasets`` tables of raw per-annotator labels, in their three shapes, and ``--melt``.

- **long** (one row per judgment): read as any table; only integer labels need decoding.
- **ClassLabel integers**: ``datasets`` stores a ``ClassLabel`` column as integers and writes the class names into
  the Parquet file's ``huggingface`` schema metadata (``{"info": {"features": {col: {"_type": "ClassLabel",
  "names": [...]}}}}``; also inside ``Sequence``/``List`` features). Those columns are decoded to their names; ``-1``
  (datasets' "no label") and any integer outside the names become null.
- **parallel lists** (one row per item, e.g. ``annotator_ids: [...]``, ``labels: [...]``): a Parquet file with two or
  more list columns is exploded into one row per position, list columns in parallel, the other columns repeated; a
  row whose lists differ in length is quarantined.
- **wide** (one column per annotator): ``--melt GLOB`` turns each column matching GLOB (``fnmatch``) into judgments,
  ``labeler_id`` = the column name, ``label`` = the value; a null or empty cell was not judged and is not a row.

An exploded row's ``source_row`` is its 0-based position among the file's list elements, row by row; a melted
one's is row × (columns melted) + column. Tables needing any of this are read into memory (Hugging Face label
files are small); plain Parquet keeps the streamed path.
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from evalaudit.errors import UnusableInput

_LISTS = ("Sequence", "List", "LargeList")


def class_labels(metadata: dict[bytes, bytes] | None) -> dict[str, list[str]]:
    """{column: class names} of the ClassLabel features in a Parquet file's ``huggingface`` metadata."""
    if not metadata or b"huggingface" not in metadata:
        return {}
    try:
        features = json.loads(metadata[b"huggingface"]).get("info", {}).get("features", {})
    except (ValueError, AttributeError):
        return {}
    out: dict[str, list[str]] = {}
    for name, feature in (features.items() if isinstance(features, dict) else []):
        while isinstance(feature, dict) and feature.get("_type") in _LISTS:
            feature = feature.get("feature")
        if isinstance(feature, dict) and feature.get("_type") == "ClassLabel" and isinstance(feature.get("names"),
                                                                                              list):
            out[name] = [str(n) for n in feature["names"]]
    return out


def _decode(array: pa.Array | pa.ChunkedArray, names: list[str]) -> pa.Array:
    """Integers (or lists of them) -> class names; out of range -> null."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if pa.types.is_list(array.type) or pa.types.is_large_list(array.type):
        inner = _decode(array.values, names)
        return type(array).from_arrays(array.offsets, inner, mask=array.is_null())
    if not pa.types.is_integer(array.type):
        return array
    values = array.to_pylist()
    return pa.array([names[v] if v is not None and 0 <= v < len(names) else None for v in values], pa.string())


def decode_class_labels(table: pa.Table, metadata: dict[bytes, bytes] | None) -> pa.Table:
    for name, names in class_labels(metadata).items():
        if name in table.column_names:
            table = table.set_column(table.column_names.index(name), name, _decode(table[name], names))
    return table


def list_columns(schema: pa.Schema) -> list[str]:
    """Columns holding lists of scalars (the parallel-lists shape)."""
    return [f.name for f in schema if (pa.types.is_list(f.type) or pa.types.is_large_list(f.type))
            and not pa.types.is_nested(f.type.value_type)]


def explode(table: pa.Table, lists: list[str]) -> tuple[pa.Table, list[tuple[int, str, str]]]:
    """One row per position of the parallel ``lists`` columns; returns the table with a ``__row`` column and the
    (row, reason, raw) of item rows whose lists differ in length."""
    lengths = [pc.fill_null(pc.list_value_length(table[c]), 0).to_pylist() for c in lists]
    keep_rows: list[int] = []
    positions: list[int] = []
    bad: list[tuple[int, str, str]] = []
    n = 0
    for r in range(table.num_rows):
        sizes = {c: lengths[j][r] for j, c in enumerate(lists)}
        if len(set(sizes.values())) > 1:
            shown = ", ".join(f"{c}={k}" for c, k in sizes.items())
            raw = json.dumps(table.slice(r, 1).to_pylist()[0], default=str)[:4000]
            bad.append((n, f"parallel lists of different lengths, so which label is whose cannot be told ({shown})",
                        raw))
            n += 1
            continue
        k = next(iter(sizes.values()), 0)
        keep_rows.extend([r] * k)
        positions.extend(range(n, n + k))
        n += k
    take = pa.array(keep_rows, pa.int64())
    columns: dict[str, pa.Array] = {}
    for c in table.column_names:
        if c in lists:
            columns[c] = _flatten_kept(table[c], keep_rows)
        else:
            columns[c] = table[c].take(take)
    out = pa.table(columns)
    return out.append_column("__row", pa.array(positions, pa.int64())), bad


def _flatten_kept(column: pa.ChunkedArray, keep_rows: list[int]) -> pa.Array:
    """The list elements of the rows kept, in order (rows kept are whole items, so this is a take + flatten)."""
    rows = sorted(set(keep_rows))
    if not rows:
        return pa.array([], column.type.value_type)
    return pc.list_flatten(column.take(pa.array(rows, pa.int64())))


def melt(path: Path, table: pa.Table, glob: str) -> pa.Table:
    """The wide ``table`` as judgments: one row per non-empty cell of the columns matching ``glob``."""
    judged = [c for c in table.column_names if fnmatch.fnmatchcase(c, glob)]
    if not judged:
        raise UnusableInput(f"{path}: the melt pattern {glob!r} matches no column "
                            f"(columns: {', '.join(table.column_names)}) (input)", options=("melt",))
    clash = [c for c in ("labeler_id", "label") if c in table.column_names and c not in judged]
    if clash:
        raise UnusableInput(f"{path}: has column(s) {', '.join(clash)} already, which melting would write; "
                            "rename or drop them (input)", options=("melt",))
    kept = [c for c in table.column_names if c not in judged and c != "__row"]
    width = len(judged)
    parts: list[pa.Table] = []
    for j, c in enumerate(judged):
        text = pc.utf8_trim_whitespace(table[c].cast(pa.string()))
        mask = pc.and_(pc.is_valid(text), pc.not_equal(text, ""))
        mask = pc.fill_null(mask, False)
        idx = pc.indices_nonzero(mask)
        part = {k: table[k].take(idx) for k in kept}
        part["labeler_id"] = pa.array([c] * len(idx), pa.string())
        part["label"] = text.take(idx)
        part["__row"] = pc.add(pc.multiply(idx.cast(pa.int64()), width), j)
        parts.append(pa.table(part))
    out = pa.concat_tables(parts) if parts else table.select(kept)
    return out.sort_by("__row")
