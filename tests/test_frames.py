"""frames.positions: codes against a fixed list, the one helper behind the judges' category, version and failure
mode codes (and the labelers' label codes)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from evalaudit.frames import positions


def test_positions_are_indexes_in_the_list_and_minus_one_for_null_or_unlisted():
    column = pa.chunked_array([["b", None, "a"], ["zz", "a", ""]])
    out = positions(column, pa.array(["a", "b", ""]))
    assert out.dtype == np.int64 and out.tolist() == [1, -1, 0, -1, 0, 2]
    assert positions(column, pa.array(["a", "b", ""]), np.int32).dtype == np.int32
    assert positions(pa.array([], pa.string()), pa.array(["a"])).tolist() == []


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=3)), max_size=30),
       st.lists(st.text(max_size=3), unique=True, max_size=8))
def test_positions_match_list_index(rows, listed):
    out = positions(pa.array(rows, pa.string()), pa.array(listed, pa.string()))
    assert out.tolist() == [listed.index(r) if r in listed else -1 for r in rows]
