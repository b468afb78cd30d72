"""Ingest: every format round-trips to the canonical schema with provenance; bad rows are quarantined with the
reason; re-ingest adds nothing; unusable files leave the store untouched."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evalaudit import schema
from evalaudit.errors import UnusableInput
from evalaudit.ingest import ingest_files
from evalaudit.store import Store
from tests.conftest import tree

CSV = """item_id,labeler_id,label,failure_mode,labeled_at,batch_id,vendor,guideline_version,duration_s,comment
i1,alice@acme.com,pass,math,2024-01-02T03:04:05Z,b1,acme,v2,12.5,first
i1,bob,fail,,2024-01-02 04:00:00,b1,acme,v2,,
i2,alice@acme.com,pass,math,1704200000,b2,acme,v2,3,"multi
line, with comma"
i3,carol,fail,code,2024-01-02T05:00:00+02:00,b2,beta,v1,40,
"""


def stored(store: Path, table: str = "labels") -> list[dict]:
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    return con.sql(
        f"SELECT * FROM read_parquet('{store}/{table}/**/*.parquet', hive_partitioning = true) "
        "ORDER BY source_file, source_row"
    ).to_arrow_table().to_pylist()


def quarantined(store: Path) -> list[dict]:
    return duckdb.sql(
        f"SELECT * FROM read_parquet('{store}/quarantine/**/*.parquet') ORDER BY source_file, source_row"
    ).to_arrow_table().to_pylist()


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_csv_round_trip_with_provenance(tmp_path, store):
    src = tmp_path / "export.csv"
    src.write_text(CSV, encoding="utf-8")
    (result,) = ingest_files(store, [src])
    assert (result.status, result.rows_added, result.rows_quarantined) == ("added", 4, 0)
    assert result.ignored_columns == ["comment"]
    rows = stored(store)
    assert [r["item_id"] for r in rows] == ["i1", "i1", "i2", "i3"]
    assert [r["source_row"] for r in rows] == [0, 1, 2, 3]
    assert rows[0]["labeled_at"] == ts("2024-01-02T03:04:05+00:00")
    assert rows[1]["labeled_at"] == ts("2024-01-02T04:00:00+00:00")  # no zone -> UTC
    assert rows[2]["labeled_at"] == datetime.fromtimestamp(1704200000, UTC)  # epoch seconds
    assert rows[3]["labeled_at"] == ts("2024-01-02T03:00:00+00:00")  # +02:00 -> UTC
    assert rows[1]["failure_mode"] == schema.UNSPECIFIED  # missing failure mode
    assert rows[1]["duration_s"] is None and rows[0]["duration_s"] == 12.5
    assert {r["source_file"] for r in rows} == {str(src.resolve())}
    assert {r["source_sha256"] for r in rows} == {result.sha256}
    assert len({r["ingested_at"] for r in rows}) == 1


def test_stored_schema_is_the_canonical_one(tmp_path, store):
    src = tmp_path / "export.csv"
    src.write_text(CSV, encoding="utf-8")
    ingest_files(store, [src])
    (path,) = Store.open(store).files("labels")
    got = pq.read_schema(path)
    want = schema.LABELS.arrow_schema
    assert got.names == want.names
    assert [f.type for f in got] == [f.type for f in want]


def test_jsonl_round_trip_and_bad_lines(tmp_path, store):
    src = tmp_path / "export.jsonl"
    lines = [
        {"item_id": "j1", "labeler_id": "a", "label": "pass", "labeled_at": "2024-05-01T00:00:00+02:00"},
        "{not json",
        [1, 2],
        {"item_id": 7, "labeler_id": "b", "label": 4, "labeled_at": 1714521600, "duration_s": 2},
        {"item_id": "j3", "labeler_id": "c", "label": "fail"},
    ]
    src.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n\n")
    (result,) = ingest_files(store, [src])
    assert (result.rows_added, result.rows_quarantined) == (3, 2)
    rows = stored(store)
    assert [(r["item_id"], r["label"], r["source_row"]) for r in rows] == [("j1", "pass", 0), ("7", "4", 3),
                                                                           ("j3", "fail", 4)]
    assert rows[0]["labeled_at"] == ts("2024-04-30T22:00:00+00:00")
    assert rows[2]["labeled_at"] is None  # labeled_at is optional (docs/schema.md): stored null, not quarantined
    q = quarantined(store)
    assert [(r["source_row"], r["column"]) for r in q] == [(1, None), (2, None)]
    assert q[0]["reason"].startswith("not valid JSON")
    assert q[1]["reason"] == "is not a JSON object"


def test_parquet_with_native_types(tmp_path, store):
    src = tmp_path / "export.parquet"
    pq.write_table(pa.table({
        "item_id": pa.array([1, 2, 3], pa.int64()),
        "labeler_id": ["a", "b", None],
        "label": ["pass", "fail", "pass"],
        "labeled_at": pa.array([datetime(2024, 1, 1, 12), datetime(2024, 1, 2), datetime(2024, 1, 3)],
                               pa.timestamp("ns")),  # naive -> UTC
        "duration_s": pa.array([1, 2, 3], pa.int32()),
    }), src)
    (result,) = ingest_files(store, [src])
    assert (result.rows_added, result.rows_quarantined) == (2, 1)
    rows = stored(store)
    assert [r["item_id"] for r in rows] == ["1", "2"]
    assert rows[0]["labeled_at"] == ts("2024-01-01T12:00:00+00:00")
    assert rows[1]["duration_s"] == 2.0
    assert quarantined(store)[0]["source_row"] == 2


def test_parquet_numeric_column_checks(tmp_path, store):
    """A numeric source column is checked without formatting it as text: NULL is a missing optional
    value, negative, NaN and infinite numbers are quarantined with the value, in source-row order."""
    src = tmp_path / "export.parquet"
    pq.write_table(pa.table({
        "item_id": ["i0", "i1", "i2", "i3", "i4", "i5"],
        "labeler_id": ["a"] * 6,
        "label": ["pass"] * 6,
        "labeled_at": pa.array([datetime(2024, 1, 1, tzinfo=UTC)] * 6, pa.timestamp("us", tz="UTC")),
        "duration_s": pa.array([1.5, None, -2.0, float("nan"), float("inf"), 0.0], pa.float64()),
        "vendor": ["  ", "v", None, "v", "v", ""],
    }), src)
    (result,) = ingest_files(store, [src])
    assert (result.rows_added, result.rows_quarantined) == (3, 3)
    rows = stored(store)
    assert [(r["item_id"], r["duration_s"], r["vendor"]) for r in rows] == [("i0", 1.5, None), ("i1", None, "v"),
                                                                              ("i5", 0.0, None)]
    q = quarantined(store)
    assert [(r["source_row"], r["column"]) for r in q] == [(2, "duration_s"), (3, "duration_s"), (4, "duration_s")]
    assert all(r["reason"].startswith("duration_s must be a non-negative number: ") for r in q)


def test_all_good_parquet_writes_no_quarantine(tmp_path, store):
    """When every row is stored, ingest does not scan the file again for bad rows and writes no quarantine file."""
    src = tmp_path / "export.parquet"
    pq.write_table(pa.table({"item_id": ["x", "y"], "labeler_id": ["l", "l"], "label": ["pass", "fail"],
                             "labeled_at": ["2024-01-01", "2024-01-02"]}), src)
    (result,) = ingest_files(store, [src])
    assert (result.rows_added, result.rows_quarantined, result.quarantine_file) == (2, 0, None)
    assert not list(Path(store).rglob("quarantine*.parquet")) and not list((Path(store) / "quarantine").rglob("*"))


def test_parquet_epoch_and_tz_aware_timestamps(tmp_path, store):
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    pq.write_table(pa.table({"item_id": ["x"], "labeler_id": ["l"], "label": ["pass"],
                             "labeled_at": pa.array([1700000000], pa.int64())}), a)
    pq.write_table(pa.table({"item_id": ["y"], "labeler_id": ["l"], "label": ["pass"],
                             "labeled_at": pa.array([datetime(2024, 3, 1, 10, tzinfo=UTC)],
                                                    pa.timestamp("us", tz="America/New_York"))}), b)
    ingest_files(store, [a, b])
    rows = {r["item_id"]: r for r in stored(store)}
    assert rows["x"]["labeled_at"] == datetime.fromtimestamp(1700000000, UTC)
    assert rows["y"]["labeled_at"] == ts("2024-03-01T10:00:00+00:00")


def test_label_studio_export(tmp_path, store):
    export = [
        {"id": 11, "data": {"text": "…", "failure_mode": "refusal", "item_id": "q-1"},
         "annotations": [
             {"completed_by": {"id": 3, "email": "ann@vendor.io"}, "created_at": "2024-02-01T10:00:00.123Z",
              "lead_time": 31.5, "result": [{"type": "choices", "from_name": "verdict",
                                             "value": {"choices": ["pass"]}}]},
             {"completed_by": 4, "created_at": "2024-02-01T11:00:00Z", "was_cancelled": True, "result": []},
             {"completed_by": 5, "created_at": "2024-02-02T11:00:00Z",
              "result": [{"type": "choices", "value": {"choices": ["fail"]}}]},
         ]},
        {"id": 12, "data": {"text": "…"}, "annotations": [
            {"completed_by": 4, "created_at": "2024-02-03T11:00:00Z",
             "result": [{"type": "choices", "value": {"choices": ["pass", "fail"]}}]},
            {"completed_by": 6, "created_at": "2024-02-03T12:00:00Z",
             "result": [{"type": "rating", "value": {"rating": 4}}]},
        ]},
    ]
    src = tmp_path / "project-1-at-2024.json"
    src.write_text(json.dumps(export))
    (result,) = ingest_files(store, [src])
    assert result.format == "label-studio"
    rows = stored(store)
    assert [(r["item_id"], r["labeler_id"], r["label"], r["failure_mode"], r["source_row"]) for r in rows] == [
        ("q-1", "ann@vendor.io", "pass", "refusal", 0),
        ("q-1", "5", "fail", "refusal", 2),
        ("12", "6", "4", "unspecified", 4),
    ]
    assert rows[0]["duration_s"] == 31.5
    assert rows[0]["labeled_at"] == ts("2024-02-01T10:00:00.123+00:00")
    reasons = [(q["source_row"], q["reason"]) for q in quarantined(store)]
    assert reasons == [(1, "annotation was cancelled (skipped) in Label Studio"),
                       (3, "annotation selects 2 choices where one label is expected")]


def test_map_renames_columns(tmp_path, store):
    src = tmp_path / "vendor.csv"
    src.write_text("task,annotator,verdict,ts\nt1,w1,pass,2024-01-01\n")
    with pytest.raises(UnusableInput, match=r"missing required column\(s\) item_id"):
        ingest_files(store, [src])
    (result,) = ingest_files(store, [src], mapping={"task": "item_id", "annotator": "labeler_id",
                                                    "verdict": "label", "ts": "labeled_at"})
    assert result.rows_added == 1
    assert stored(store)[0]["labeler_id"] == "w1"


@pytest.mark.parametrize("mapping, message", [
    ({"nope": "item_id"}, "which the file does not have"),
    ({"task": "colour"}, "is not a column of table labels"),
    ({"task": "item_id", "verdict": "item_id"}, "more than one column the name item_id"),
])
def test_bad_map_is_unusable(tmp_path, store, mapping, message):
    src = tmp_path / "vendor.csv"
    src.write_text("task,annotator,verdict,ts\nt1,w1,pass,2024-01-01\n")
    with pytest.raises(UnusableInput, match=message):
        ingest_files(store, [src], mapping=mapping)
    assert tree(store) == {}


def test_reingest_adds_nothing_even_under_another_name(tmp_path, store):
    src = tmp_path / "export.csv"
    src.write_text(CSV)
    copy = tmp_path / "copy-of-export.csv"
    copy.write_bytes(src.read_bytes())
    ingest_files(store, [src])
    before = tree(store)
    results = ingest_files(store, [src, copy])
    assert [r.status for r in results] == ["duplicate", "duplicate"]
    assert tree(store) == before
    src.write_text(CSV + "i9,dan,pass,math,2024-01-09,b3,acme,v2,1,\n")
    (changed,) = ingest_files(store, [src])
    # a changed file is a new source, but only its new judgment is stored (docs/store.md: cumulative exports)
    assert (changed.rows_added, changed.rows_duplicate_stored, changed.rows_duplicate_in_file) == (1, 4, 0)
    assert len(stored(store)) == 5


def test_same_file_twice_in_one_call(tmp_path, store):
    src = tmp_path / "export.csv"
    src.write_text(CSV)
    results = ingest_files(store, [src, src])
    assert [r.status for r in results] == ["added", "duplicate"]
    assert len(stored(store)) == 4


NOT_A_TIMESTAMP = "labeled_at is not a timestamp (ISO 8601 date or time, or epoch seconds; docs/ingest.md)"


def test_an_empty_labeled_at_is_stored_null(tmp_path, store):
    """labeled_at is optional (docs/schema.md): an empty value is stored as null, the row is not quarantined."""
    src = tmp_path / "a.csv"
    src.write_text(f"{CSV.splitlines()[0]}\ni1,a,pass,m,,,,,,\ni2,a,fail,m,2024-01-01,,,,,\n")
    (result,) = ingest_files(store, [src])
    assert (result.rows_added, result.rows_quarantined) == (2, 0)
    assert [r["labeled_at"] is None for r in stored(store)] == [True, False]


@pytest.mark.parametrize("line, column, reason", [
    ("i1,,pass,m,2024-01-01,,,,,", "labeler_id", "missing labeler_id"),
    (" ,a,pass,m,2024-01-01,,,,,", "item_id", "missing item_id"),
    ("i1,a,,m,2024-01-01,,,,,", "label", "missing label"),
    ("i1,a,pass,m,yesterday,,,,,", "labeled_at", f"{NOT_A_TIMESTAMP}: yesterday"),
    ("i1,a,pass,m,2024-02-30,,,,,", "labeled_at", f"{NOT_A_TIMESTAMP}: 2024-02-30"),
    ("i1,a,pass,m,1704200000000,,,,,", "labeled_at",
     "labeled_at lies outside 1970-2100 (epoch milliseconds instead of seconds?): 1704200000000"),
    ("i1,a,pass,m,2024-01-01,,,,abc,", "duration_s", "duration_s is not a number: abc"),
    ("i1,a,pass,m,2024-01-01,,,,-1,", "duration_s", "duration_s must be a non-negative number: -1"),
    ("i1,a,pass,m,2024-01-01,,,,,,extra", None, "has 11 fields where the header has 10"),
])
def test_quarantine_reasons(tmp_path, store, line, column, reason):
    header = CSV.splitlines()[0]
    src = tmp_path / "bad.csv"
    src.write_text(f"{header}\ni0,ok,pass,m,2024-01-01,,,,,\n{line}\ni2,ok,fail,m,2024-01-01,,,,,\n")
    (result,) = ingest_files(store, [src])
    assert (result.rows_added, result.rows_quarantined) == (2, 1)
    (q,) = quarantined(store)
    assert (q["source_row"], q["column"], q["reason"]) == (1, column, reason)
    assert q["table"] == "labels" and q["source_sha256"] == result.sha256
    assert [r["source_row"] for r in stored(store)] == [0, 2]


def test_all_rows_quarantined_still_commits_the_source(tmp_path, store):
    src = tmp_path / "bad.csv"
    src.write_text("item_id,labeler_id,label,labeled_at\ni1,,pass,2024-01-01\n")
    (result,) = ingest_files(store, [src])
    assert (result.rows_added, result.rows_quarantined) == (0, 1)
    assert [r.status for r in ingest_files(store, [src])] == ["duplicate"]
    assert Store.open(store).sources("labels")[0].rows_quarantined == 1


def _truncated_parquet(tmp_path: Path) -> Path:
    good = tmp_path / "good.parquet"
    pq.write_table(pa.table({"item_id": ["a"] * 1000, "labeler_id": ["b"] * 1000, "label": ["pass"] * 1000,
                             "labeled_at": ["2024-01-01"] * 1000}), good)
    bad = tmp_path / "truncated.parquet"
    bad.write_bytes(good.read_bytes()[:-100])
    return bad


def _file(name: str, data: bytes | str):
    def make(directory: Path) -> Path:
        path = directory / name
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
        return path

    return make


@pytest.mark.parametrize("make, message", [
    (_truncated_parquet, "not a readable Parquet file"),
    (_file("latin1.csv", b"item_id,labeler_id,label,labeled_at\nx,Ren\xe9,pass,2024-01-01\n"),
     r"not UTF-8 text \(first invalid byte on line 2\)"),
    (_file("ls.json", '[{"id": 1, "annotations": ['), "not valid JSON"),
    (_file("cols.csv", "item,who,label\n1,2,3\n"), r"missing required column\(s\) item_id, labeler_id for"),
    (_file("empty.csv", ""), "empty CSV file"),
    (_file("notjsonl.jsonl", "nope\nstill nope\n"), "not JSON Lines"),
    (lambda p: p / "absent.csv", "no such file"),
])
def test_unusable_files_leave_the_store_untouched(tmp_path, store, make, message):
    ok = tmp_path / "ok.csv"
    ok.write_text(CSV)
    ingest_files(store, [ok])
    before = tree(store)
    bad = make(tmp_path)
    with pytest.raises(UnusableInput, match=message) as err:
        ingest_files(store, [bad])
    assert str(bad) in str(err.value)
    assert tree(store) == before


def test_one_unusable_file_stops_the_whole_command(tmp_path, store):
    ok = tmp_path / "ok.csv"
    ok.write_text(CSV)
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(UnusableInput):
        ingest_files(store, [ok, bad])
    assert Store.open(store, create=True).files("labels") == []


def test_directory_of_exports(tmp_path, store):
    d = tmp_path / "exports"
    (d / "week1").mkdir(parents=True)
    (d / "week1" / "a.csv").write_text(CSV)
    (d / "b.jsonl").write_text(json.dumps({"item_id": "z", "labeler_id": "q", "label": "pass",
                                           "labeled_at": "2024-01-01"}) + "\n")
    (d / "notes.txt").write_text("ignored")
    results = ingest_files(store, [d])
    assert sorted(r.path.name for r in results) == ["a.csv", "b.jsonl"]
    assert len(stored(store)) == 5


def test_production_keeps_extra_slice_columns(tmp_path, store):
    src = tmp_path / "prod.csv"
    src.write_text("failure_mode,observed_at,locale\nmath,2024-01-01,en\n,2024-01-01,de\n")
    (result,) = ingest_files(store, [src], table="production")
    assert (result.rows_added, result.rows_quarantined) == (1, 1)
    (row,) = stored(store, "production")
    assert row["locale"] == "en" and row["failure_mode"] == "math"


def test_other_tables(tmp_path, store):
    items = tmp_path / "items.csv"
    items.write_text("item_id,failure_mode,gold_label,honeypot_label,created_at\nq1,math,pass,,2024-01-01\n"
                     "q2,,fail,fail,\n")
    labelers = tmp_path / "labelers.csv"
    labelers.write_text("labeler_id,vendor,active_from,active_to\nann,acme,2024-01-01,\nbob,acme,2024-01-01,"
                        "2024-06-30T00:00:00Z\n")
    preds = tmp_path / "preds.jsonl"
    preds.write_text('{"model_version":"m1","item_id":"q1","prediction":"pass"}\n')
    ingest_files(store, [items], table="items")
    ingest_files(store, [labelers], table="labelers")
    ingest_files(store, [preds], table="predictions")
    eng = Store.open(store).engine()
    assert eng.sql("SELECT count(*) AS n FROM items").column("n")[0].as_py() == 2
    assert eng.sql("SELECT failure_mode FROM items WHERE item_id = 'q2'").column(0)[0].as_py() is None
    assert eng.sql("SELECT active_to FROM labelers WHERE labeler_id = 'ann'").column(0)[0].as_py() is None
    assert eng.sql("SELECT prediction FROM predictions").column(0).to_pylist() == ["pass"]
