"""The batch under check is read as ingest reads it (evalaudit.contracts.batch): the guarded ``<column>_unparsed``
columns name exactly the texts ingest's own reason expression (``Expr.problem``) names, evaluated on every row.

The guard evaluates the reason only where the stored value is missing or out of range; these tests hold it to the
unguarded expression over texts of every kind the normaliser distinguishes (epoch seconds, compact dates, ISO
forms, impossible offsets, out-of-range years, negatives, NaN, blanks), from CSV (text) and Parquet (typed) files.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalaudit import schema
from evalaudit.contracts import batch as batch_mod
from evalaudit.engine import DuckDBEngine
from evalaudit.ingest import normalize
from evalaudit.sql import quote_ident

TIMES = ["2024-05-01T10:00:00Z", "2024-05-01", "2024-05-01 10:00:00+02:00", "2024-05-01T10:00:00+15:00",
         "2024-05-01T10:00:00+01:60", "20240501", "1714557600", "1714557600.5", "1714557600000", "12",
         "-5", "1969-12-31T23:59:59Z", "2100-01-01T00:00:00Z", "2099-12-31T23:59:59Z", "yesterday", "",
         "   ", " 2024-05-01T10:00:00Z ", "2024-13-01", "2024-05-01T10:00:00,5Z", "0", "99999999"]
DURATIONS = ["12.5", "0", "-1", "nan", "NaN", "inf", "-inf", "abc", "", " 3 ", "1e3", "1,5"]


def _unguarded(engine: DuckDBEngine, types: dict[str, str]) -> dict[str, list[str | None]]:
    """``<column>_unparsed`` as the load once computed it: ingest's reason expression on every row."""
    out = {}
    for name in batch_mod.PARSED:
        if not types.get(name):  # the file has no such column
            continue
        col = schema.LABELS.column(name)
        src = quote_ident(name)
        e = normalize.column_expr(col, src, types[name], fill_unspecified=True)
        text = f"NULLIF(TRIM(CAST({src} AS VARCHAR)), '')"
        sql = (f"SELECT CASE WHEN {text} IS NOT NULL AND ({e.problem}) IS NOT NULL THEN left({text}, 200) END "
               f"FROM __batch_src ORDER BY {quote_ident('__row')}")
        out[name] = [r[0] for r in engine.con.execute(sql).fetchall()]
    return out


def _loaded(engine: DuckDBEngine) -> dict[str, list[str | None]]:
    return {name: [r[0] for r in engine.con.execute(
        f"SELECT {quote_ident(name + '_unparsed')} FROM batch ORDER BY source_row").fetchall()]
        for name in batch_mod.PARSED}


def _csv(path: Path, times: list[str], durations: list[str]) -> Path:
    n = max(len(times), len(durations))
    lines = ["item_id,labeler_id,label,labeled_at,duration_s"]
    for i in range(n):
        t, d = times[i % len(times)], durations[i % len(durations)]
        lines.append(f'i{i},l{i % 3},pass,"{t}","{d}"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _check(path: Path, types: dict[str, str]) -> tuple[dict, dict]:
    engine = DuckDBEngine()
    try:
        batch_mod.load(engine, path)
        return _loaded(engine), _unguarded(engine, types)
    finally:
        engine.close()


def test_guarded_unparsed_matches_ingests_reason_on_every_kind_of_text(tmp_path: Path) -> None:
    loaded, expected = _check(_csv(tmp_path / "b.csv", TIMES, DURATIONS), dict.fromkeys(batch_mod.PARSED, "VARCHAR"))
    assert loaded == expected
    # the cases that matter are really there: unparseable, out of range, ambiguous and negative texts are named
    named = {t for t in loaded["labeled_at"] if t}
    assert {"yesterday", "20240501", "1969-12-31T23:59:59Z", "2100-01-01T00:00:00Z", "1714557600000"} <= named
    assert "2024-05-01T10:00:00Z" not in named and "2099-12-31T23:59:59Z" not in named
    assert {"-1", "nan", "inf", "abc"} <= {d for d in loaded["duration_s"] if d}


def test_guarded_unparsed_matches_on_typed_parquet_columns(tmp_path: Path) -> None:
    seconds = [1714557600.0, 12.0, -5.0, 1714557600000.0, None, float("nan")]
    durations = [1.5, -1.0, float("nan"), float("inf"), 0.0, None]
    table = pa.table({"item_id": [f"i{i}" for i in range(6)], "labeler_id": ["l1"] * 6, "label": ["pass"] * 6,
                      "labeled_at": pa.array(seconds, pa.float64()), "duration_s": pa.array(durations, pa.float64())})
    path = tmp_path / "b.parquet"
    pq.write_table(table, path)
    loaded, expected = _check(path, {"labeled_at": "DOUBLE", "duration_s": "DOUBLE"})
    assert loaded == expected
    assert loaded["duration_s"][1] == "-1.0" and loaded["labeled_at"][1] == "12.0"


@pytest.mark.parametrize("years", [(1969, 1970), (2099, 2100)])
def test_guarded_unparsed_at_the_range_edges_of_typed_timestamps(tmp_path: Path, years: tuple[int, int]) -> None:
    stamps = pa.array([datetime(years[0], 12, 31, 23, 59, 59, tzinfo=UTC), datetime(years[1], 1, 1, tzinfo=UTC)],
                      pa.timestamp("us", tz="UTC"))
    table = pa.table({"item_id": ["a", "b"], "labeler_id": ["l1", "l2"], "label": ["pass", "fail"],
                      "labeled_at": stamps})
    path = tmp_path / "t.parquet"
    pq.write_table(table, path)
    loaded, expected = _check(path, {"labeled_at": "TIMESTAMP WITH TIME ZONE", "duration_s": ""})
    assert loaded["labeled_at"] == expected["labeled_at"]
    assert loaded["labeled_at"][0 if years[0] == 1969 else 1] is not None


@settings(max_examples=30, deadline=None)
@given(times=st.lists(st.one_of(st.sampled_from(TIMES), st.text(alphabet="0123456789-:TZ+ .,", max_size=26)),
                      min_size=1, max_size=12),
       durations=st.lists(st.one_of(st.sampled_from(DURATIONS),
                                    st.floats(allow_nan=True, allow_infinity=True).map(repr)),
                          min_size=1, max_size=12))
def test_guarded_unparsed_matches_for_any_texts(tmp_path_factory: pytest.TempPathFactory, times: list[str],
                                                durations: list[str]) -> None:
    times = [t.replace('"', "") for t in times]
    path = _csv(tmp_path_factory.mktemp("b") / "b.csv", times, durations)
    loaded, expected = _check(path, dict.fromkeys(batch_mod.PARSED, "VARCHAR"))
    assert loaded == expected
    assert not any(isinstance(v, float) and math.isnan(v) for col in loaded.values() for v in col)
