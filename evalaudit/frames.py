"""Tables at the edges: users hand us pandas, polars, pyarrow or DuckDB relations; inside we use Arrow and DuckDB."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from evalaudit.errors import UnusableInput


def to_arrow(data: Any) -> pa.Table:
    """Convert a pandas/polars DataFrame, pyarrow Table/RecordBatch or DuckDB relation to a pyarrow Table."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    module = type(data).__module__
    if module.startswith("polars"):
        return data.to_arrow()
    if module.startswith("pandas"):
        return pa.Table.from_pandas(data, preserve_index=False)
    if module.startswith("duckdb") and hasattr(data, "to_arrow_table"):
        return data.to_arrow_table()
    raise UnusableInput(
        f"cannot read a table from a {type(data).__name__}; pass a pandas or polars DataFrame, "
        "a pyarrow Table or a DuckDB relation"
    )


def require_columns(table: pa.Table, columns: list[str], what: str = "the data") -> None:
    """Raise UnusableInput naming every required column that is missing."""
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise UnusableInput(
            f"{what} lacks required column(s) {', '.join(missing)} (it has: {', '.join(table.column_names)})"
        )


def numbers(column: pa.ChunkedArray | pa.Array, dtype: Any = np.int64, fill: Any = 0) -> np.ndarray:
    """A numeric Arrow column as a NumPy array, nulls as ``fill`` (vectorised stages work on NumPy arrays)."""
    return np.asarray(pc.fill_null(column, fill).to_numpy(zero_copy_only=False), dtype=dtype)


def positions(column: pa.ChunkedArray | pa.Array, values: pa.Array, dtype: Any = np.int64) -> np.ndarray:
    """Each row's index in ``values`` (-1 for a null or a value ``values`` does not list), as NumPy ``dtype``:
    codes against a fixed list (categories, a label space, versions in order), where :func:`codes` numbers
    whatever occurs."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return numbers(pc.index_in(column, value_set=values), dtype=dtype, fill=-1)


def distinct_codes(values: pa.ChunkedArray | pa.Array) -> tuple[list, np.ndarray]:
    """(the distinct values as Python objects, each row's index among them as int64, -1 for a null): a column of
    few distinct values converted once per value instead of once per row."""
    enc = pc.dictionary_encode(values)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    return enc.dictionary.to_pylist(), pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def mask(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A boolean Arrow column as a NumPy bool array, nulls as False."""
    return numbers(column, dtype=bool, fill=False)
