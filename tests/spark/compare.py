"""Compare two audit output directories table by table: same rows (sorted by key columns), numbers to a
tolerance, everything else exactly. Returns a list of differences (empty when equal) rather than asserting, so
the parity test shows every difference at once."""

from __future__ import annotations

import math
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

#: the tables the parity contract covers (docs/spark.md)
PARITY_TABLES = ("agreement", "leniency", "items", "impact")


def _is_number(t: pa.DataType) -> bool:
    return pa.types.is_floating(t) or pa.types.is_integer(t) or pa.types.is_decimal(t)


def _sort_keys(table: pa.Table) -> list[tuple[str, str]]:
    """Sort by every non-floating column (the key columns and labels), then the floats, so row order is a
    function of the contents alone."""
    typed = list(zip(table.column_names, table.schema.types, strict=True))
    plain = [c for c, t in typed if not pa.types.is_floating(t) and not pa.types.is_nested(t)]
    floats = [c for c, t in typed if pa.types.is_floating(t)]
    return [(c, "ascending") for c in plain + floats]


def _close(a: object, b: object, tol: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        fa, fb = float(a), float(b)  # type: ignore[arg-type]
        if math.isnan(fa) or math.isnan(fb):
            return math.isnan(fa) and math.isnan(fb)
        return fa == fb or abs(fa - fb) <= tol * max(1.0, abs(fa), abs(fb))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y, tol) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k], tol) for k in a)
    return a == b


def table_differences(name: str, left: pa.Table, right: pa.Table, tol: float = 1e-9,
                      limit: int = 10) -> list[str]:
    """How ``right`` differs from ``left`` (empty list when they are equal)."""
    if left.schema.names != right.schema.names:
        return [f"{name}: columns {left.schema.names} != {right.schema.names}"]
    diffs = []
    for f_left, f_right in zip(left.schema, right.schema, strict=True):
        if f_left.type != f_right.type:
            diffs.append(f"{name}.{f_left.name}: type {f_left.type} != {f_right.type}")
    if left.num_rows != right.num_rows:
        diffs.append(f"{name}: {left.num_rows} rows != {right.num_rows} rows")
    if diffs:
        return diffs
    keys = _sort_keys(left)
    a = left.sort_by(keys).to_pylist() if keys else left.to_pylist()
    b = right.sort_by(keys).to_pylist() if keys else right.to_pylist()
    for i, (ra, rb) in enumerate(zip(a, b, strict=True)):
        for col in left.column_names:
            if not _close(ra[col], rb[col], tol):
                diffs.append(f"{name} row {i} {col}: {ra[col]!r} != {rb[col]!r}")
                if len(diffs) >= limit:
                    return diffs
    return diffs


def output_differences(left: Path, right: Path, tables: tuple[str, ...] = PARITY_TABLES,
                       tol: float = 1e-9) -> list[str]:
    """Differences between two ``evalaudit run`` output directories over ``tables``."""
    diffs: list[str] = []
    for name in tables:
        pl, pr = left / f"{name}.parquet", right / f"{name}.parquet"
        if pl.exists() != pr.exists():
            diffs.append(f"{name}.parquet: present in {'left' if pl.exists() else 'right'} only")
            continue
        if not pl.exists():
            diffs.append(f"{name}.parquet: written by neither run")
            continue
        diffs += table_differences(name, pq.read_table(pl), pq.read_table(pr), tol)
    return diffs
