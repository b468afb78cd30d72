"""The store: append-only, atomic commits (tested by killing a real ingest), snapshot views, manifest repair,
and hostile input that must never crash ingest or corrupt the store."""

from __future__ import annotations

import os
import signal
import string
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evalaudit import schema
from evalaudit.errors import UnusableInput
from evalaudit.ingest import ingest_files
from evalaudit.store import Store


def count_rows(store: Path, table: str = "labels") -> int:
    files = list((store / table).glob("*.parquet"))
    if not files:
        return 0
    return duckdb.sql(f"SELECT count(*) FROM read_parquet('{store}/{table}/**/*.parquet')").fetchall()[0][0]


def test_views_exist_with_schema_when_tables_are_empty(store):
    s = Store.open(store, create=True)
    eng = s.engine()
    for name, table in schema.TABLES.items():
        assert not eng.has_table(name)
        assert eng.columns(name) == table.arrow_schema.names
    assert eng.query("store_summary").column("n_judgments")[0].as_py() == 0


def test_open_missing_store_is_unusable(tmp_path):
    try:
        Store.open(tmp_path / "nope")
    except UnusableInput as e:
        assert "no such store directory" in str(e)
    else:  # pragma: no cover
        raise AssertionError("expected UnusableInput")


def test_engine_is_a_snapshot(tmp_path, store):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("item_id,labeler_id,label,labeled_at\ni1,l1,pass,2024-01-01\n")
    b.write_text("item_id,labeler_id,label,labeled_at\ni2,l1,pass,2024-01-01\n")
    ingest_files(store, [a])
    eng = Store.open(store).engine()
    ingest_files(store, [b])
    assert eng.sql("SELECT count(*) AS n FROM labels").column("n")[0].as_py() == 1
    assert Store.open(store).engine().sql("SELECT count(*) AS n FROM labels").column("n")[0].as_py() == 2


def test_manifest_is_repaired_from_the_data_file(tmp_path, store):
    a = tmp_path / "a.csv"
    a.write_text("item_id,labeler_id,label,labeled_at\ni1,l1,pass,2024-01-01\ni2,,pass,2024-01-01\n")
    (result,) = ingest_files(store, [a])
    s = Store.open(store)
    manifest = s.manifest_path("labels", result.sha256)
    original = s.sources("labels")[0]
    manifest.unlink()  # as if killed between the data rename and the manifest write
    repaired = Store.open(store).sources("labels")[0]
    assert (repaired.source_sha256, repaired.rows_added, repaired.rows_quarantined) == (result.sha256, 1, 1)
    assert repaired.source_file == original.source_file


def _big_export(path: Path, n: int) -> None:
    items = pa.array([f"item-{i:08d}" for i in range(n)])
    pq.write_table(pa.table({
        "item_id": items,
        "labeler_id": pa.array([f"labeler-{i % 997}" for i in range(n)]),
        "label": pa.array(["pass", "fail"] * (n // 2)),
        "labeled_at": pa.array(["2024-01-01T00:00:00Z"] * n),
        "failure_mode": pa.array([f"fm{i % 13}" for i in range(n)]),
    }), path, row_group_size=100_000)


def test_a_killed_ingest_leaves_the_store_as_it_was(tmp_path, store):
    """Kill a real `evalaudit ingest` process while it writes; the store must hold nothing of that file, and a
    re-run must then add every row exactly once."""
    first = tmp_path / "first.csv"
    first.write_text("item_id,labeler_id,label,labeled_at\nx,y,pass,2024-01-01\n")
    ingest_files(store, [first])
    big = tmp_path / "big.parquet"
    n = 1_000_000
    _big_export(big, n)
    exe = Path(sys.executable).parent / "evalaudit"
    kills = 0
    for delay in (0.0, 0.05, 0.2):
        proc = subprocess.Popen([str(exe), "ingest", str(big), "--store", str(store)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        staging = store / ".staging"
        deadline = time.monotonic() + 60
        # wait until the process is writing (a staged file exists), then kill it without warning
        while time.monotonic() < deadline and proc.poll() is None:
            if any(p.suffix == ".parquet" for p in staging.rglob("*")):
                break
            time.sleep(0.005)
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
        rows = count_rows(store)
        assert rows in (1, 1 + n), rows  # nothing of the big file, or all of it
        if rows == 1 + n:
            break
    assert kills >= 1, "the ingest finished before it could be killed; make the file bigger"
    # whatever happened, the store is consistent: re-ingest completes it exactly once
    ingest_files(store, [big])
    ingest_files(store, [big])
    assert count_rows(store) == 1 + n
    assert len(Store.open(store).sources("labels")) == 2


# -- hostile input ---------------------------------------------------------------------------------------------
hostile_text = st.lists(
    st.sampled_from([*string.printable, "é", "漢", "\u2028", "\"", "'", ",", "\n", "\r", "\t",
                     "<script>", "\\", "=", "💥", "\x00", ";", " ", "\ufeff"]),
    max_size=8,
).map("".join)
timestamps = st.one_of(hostile_text, st.sampled_from(["2024-01-01", "2024-01-01T10:00:00Z", "1700000000",
                                                      "1700000000000", "-5", "2024-02-30", "", " "]),
                       st.integers(-10**12, 10**12).map(str))
row = st.fixed_dictionaries({
    "item_id": hostile_text, "labeler_id": hostile_text, "label": hostile_text,
    "labeled_at": timestamps, "duration_s": st.one_of(hostile_text, st.floats(allow_nan=True).map(str)),
})


def _csv_field(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(row, min_size=1, max_size=15), as_jsonl=st.booleans())
def test_hostile_rows_never_crash_or_corrupt(tmp_path_factory, rows, as_jsonl):
    import json

    d = tmp_path_factory.mktemp("hostile")
    store = d / "store"
    cols = ["item_id", "labeler_id", "label", "labeled_at", "duration_s"]
    if as_jsonl:
        src = d / "x.jsonl"
        src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    else:
        src = d / "x.csv"
        src.write_text(",".join(cols) + "\n" + "".join(",".join(_csv_field(r[c]) for c in cols) + "\n"
                                                        for r in rows), encoding="utf-8")
    try:
        (result,) = ingest_files(store, [src])
    except UnusableInput:
        assert count_rows(store) == 0  # refused whole: nothing written
        return
    # every input row is accounted for: stored, quarantined, or set aside as an exact copy of a stored
    # judgment (docs/store.md), never two of these, never lost
    assert result.rows_added + result.rows_quarantined + result.rows_duplicate_in_file == len(rows)
    assert count_rows(store) == result.rows_added
    s = Store.open(store)
    eng = s.engine()
    got = eng.sql("SELECT source_row FROM labels UNION ALL SELECT source_row FROM quarantine").column(0)
    accounted = got.to_pylist()
    assert len(accounted) == len(set(accounted))
    set_aside = set(range(len(rows))) - set(accounted)
    assert len(set_aside) == result.rows_duplicate_in_file and set(accounted) <= set(range(len(rows)))
    stored = eng.sql("SELECT item_id, labeler_id, label, labeled_at FROM labels").to_pylist()
    stored_keys = {(r["item_id"], r["labeler_id"], r["label"]) for r in stored}
    for i in set_aside:  # a row set aside repeats a stored judgment (text trimmed as ingest trims it)
        key = tuple(eng.con.execute("SELECT NULLIF(TRIM(?), '')", [rows[i][c]]).fetchone()[0]
                    for c in ("item_id", "labeler_id", "label"))
        assert key in stored_keys
    # labeled_at may be null (docs/schema.md)
    assert all(r["item_id"] and r["labeler_id"] and r["label"] for r in stored)
    # the store still reads with a bare glob, and re-ingest adds nothing
    (again,) = ingest_files(store, [src])
    assert again.status == "duplicate" and count_rows(store) == result.rows_added
