"""The same audit on DuckDB and on Spark (docs/spark.md): on the demo store, the four contract output tables
(docs/outputs.md) are equal (same rows, numbers to 1e-9, strings exactly), findings agree, and every query the audit
runs returns the same column types and row count on both engines."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evalaudit import schema
from evalaudit import sql as named_sql
from evalaudit.config import Config
from evalaudit.demo_store import write_demo
from evalaudit.engine import DuckDBEngine
from evalaudit.engine_spark import STORE_URL_CONF, SparkEngine, file_urls, store_engine
from evalaudit.run import audit
from evalaudit.store import Store
from tests.spark.compare import PARITY_TABLES, output_differences, table_differences

#: big enough that every stage computes something (gold, stale items, drift windows), small enough for ~1 min
N_JUDGMENTS = 20_000


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("spark-demo") / "store"
    write_demo(root, seed=0, n_judgments=N_JUDGMENTS)
    return root


Log = dict[str, list[tuple[str, pa.Table]]]


def _recording(monkeypatch: pytest.MonkeyPatch, cls: type, log: Log) -> None:
    """Wrap ``cls.sql``, ``cls.stream`` and ``cls.stream_sql`` so every query's text and result are kept, keyed by
    the text's hash. A streamed query is kept once, whole, whether or not the engine's ``stream`` runs it through
    ``sql`` or ``stream_sql`` (Spark's does, DuckDB's reads it batch by batch)."""
    original_sql, original_stream, original_stream_sql = cls.sql, cls.stream, cls.stream_sql
    streaming = {"depth": 0}

    def keep(text: str, result: pa.Table) -> None:
        log.setdefault(hashlib.sha256(text.encode()).hexdigest()[:12], []).append((text, result))

    def sql(self: Any, text: str, **params: Any) -> pa.Table:
        result = original_sql(self, text, **params)
        if not streaming["depth"]:
            keep(text, result)
        return result

    def stream(self: Any, name: str, batch_rows: int = 1 << 20) -> Iterator[pa.RecordBatch]:
        streaming["depth"] += 1
        try:
            batches = list(original_stream(self, name, batch_rows))
        finally:
            streaming["depth"] -= 1
        keep(named_sql.load(name), pa.Table.from_batches(batches) if batches else pa.table({}))
        yield from batches

    def stream_sql(self: Any, text: str, batch_rows: int = 1 << 20, **params: Any) -> Iterator[pa.RecordBatch]:
        outer = not streaming["depth"]  # not inside `stream`, which keeps the query itself
        streaming["depth"] += 1
        try:
            batches = list(original_stream_sql(self, text, batch_rows, **params))
        finally:
            streaming["depth"] -= 1
        if outer:
            keep(text, pa.Table.from_batches(batches) if batches else pa.table({}))
        yield from batches

    monkeypatch.setattr(cls, "sql", sql)
    monkeypatch.setattr(cls, "stream", stream)
    monkeypatch.setattr(cls, "stream_sql", stream_sql)


@pytest.fixture(scope="module")
def runs(demo: Path, spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The full audit of the demo store on each engine, with every query result recorded."""
    out = tmp_path_factory.mktemp("spark-out")
    mp = pytest.MonkeyPatch()
    logs: dict[str, Log] = {"duckdb": {}, "spark": {}}
    _recording(mp, DuckDBEngine, logs["duckdb"])
    _recording(mp, SparkEngine, logs["spark"])
    results = {}
    try:
        for engine in ("duckdb", "spark"):
            results[engine] = audit(demo, out / engine, Config(), fail_on="never", engine=engine,
                                    keep_history=False, spark_conf={"spark.sql.shuffle.partitions": "2"})
    finally:
        mp.undo()
    yield {"out": out, "results": results, "queries": logs}


def test_outputs_equal(runs: dict[str, Any]) -> None:
    out = runs["out"]
    for name in PARITY_TABLES:
        assert pq.read_table(out / "duckdb" / f"{name}.parquet").num_rows > 0, f"{name} is empty on the demo"
    assert output_differences(out / "duckdb", out / "spark") == []


def _finding_rows(findings: list[Any]) -> pa.Table:
    keys = ("kind", "severity", "labeler_id", "failure_mode", "effect", "ci_low", "ci_high", "p_value",
            "q_value", "n", "message")
    rows = [{k: getattr(f, k) for k in keys} for f in findings]
    return pa.Table.from_pylist(rows)


def test_findings_equal(runs: dict[str, Any]) -> None:
    duck, spark = runs["results"]["duckdb"], runs["results"]["spark"]
    assert len(duck.findings) > 0
    assert table_differences("findings", _finding_rows(duck.findings), _finding_rows(spark.findings)) == []
    assert set(duck.timings) == set(spark.timings)


def _name_of(text: str) -> str:
    """The named query whose text this is (or the first line of ad-hoc SQL)."""
    return next((n for n in named_sql.names() if named_sql.load(n) == text), text.splitlines()[0][:60])


def test_every_query_same_types_and_rows(runs: dict[str, Any]) -> None:
    """Each query the audit ran returns, on Spark, the column names and Arrow types DuckDB returns, and as
    many rows; the engine's type normalisation is what this holds to."""
    duck, spark = runs["queries"]["duckdb"], runs["queries"]["spark"]
    assert len(duck) >= 10
    assert set(duck) == set(spark), "the two runs issued different queries"
    problems = []
    for key, calls in duck.items():
        other = spark[key]
        assert len(calls) == len(other)
        for (head, a), (_, b) in zip(calls, other, strict=True):
            if _name_of(head) in named_sql.ENGINE_OWN_VALUES:  # each engine's own hash: only the rows agree
                if (a.schema.names, a.num_rows) != (b.schema.names, b.num_rows):
                    problems.append(f"{_name_of(head)}: {a.schema.names} vs {b.schema.names}; "
                                    f"{a.num_rows} rows != {b.num_rows}")
            elif a.schema.names != b.schema.names or a.schema.types != b.schema.types:
                diff = [f"{n}: {x} != {y}" for n, x, y in zip(a.schema.names, a.schema.types, b.schema.types,
                                                               strict=False) if x != y]
                problems.append(f"{_name_of(head)}: {a.schema.names} vs {b.schema.names}; {diff}")
            elif a.num_rows != b.num_rows:
                problems.append(f"{_name_of(head)}: {a.num_rows} rows != {b.num_rows}")
    assert not problems, "\n".join(problems)


def test_failure_mode_window_query_ran_on_both_engines(runs: dict[str, Any]) -> None:
    """The agreement stage's failure mode × window pattern query (the template with a two-part slice key) is
    among the queries compared above, with the same rows on both engines."""
    for engine in ("duckdb", "spark"):
        texts = [text for calls in runs["queries"][engine].values() for text, _ in calls]
        assert any('AS "window_start"' in text for text in texts), engine


def _order_columns(text: str) -> list[str]:
    """The output columns the outermost SELECT orders by (parsed with sqlglot, as the linter parses)."""
    import sqlglot
    from sqlglot import exp

    order = sqlglot.parse_one(text, read="duckdb").args.get("order")
    if order is None:
        return []
    return [o.this.name for o in order.expressions if isinstance(o.this, exp.Column)]


def test_every_query_same_rows(runs: dict[str, Any]) -> None:
    """Each query's rows are the same on both engines (as sets: numbers to 1e-9, strings exactly)."""
    duck, spark = runs["queries"]["duckdb"], runs["queries"]["spark"]
    problems = []
    for key, calls in duck.items():
        for (text, a), (_, b) in zip(calls, spark[key], strict=True):
            if _name_of(text) not in named_sql.ENGINE_OWN_VALUES:
                problems += [f"{_name_of(text)}: {d}" for d in table_differences("q", a, b, limit=3)]
    assert not problems, "\n".join(problems)


def _close_rows(a: list[dict], b: list[dict]) -> bool:
    """Row by row equal, floats to 1e-9 (the engines may differ in the last bits of a sum)."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        for k in x:
            u, v = x[k], y[k]
            if isinstance(u, float) and isinstance(v, float):
                if not math.isclose(u, v, rel_tol=1e-9, abs_tol=1e-12):
                    return False
            elif u != v:
                return False
    return True


def test_ordered_queries_come_back_in_the_same_order(runs: dict[str, Any]) -> None:
    """Queries that say ORDER BY feed order-sensitive code (seeded bootstraps over aggregated rows): the
    columns they order by must match position by position on both engines, not just as sets."""
    duck, spark = runs["queries"]["duckdb"], runs["queries"]["spark"]
    checked = set()
    for key, calls in duck.items():
        for (text, a), (_, b) in zip(calls, spark[key], strict=True):
            cols = [c for c in _order_columns(text) if c in a.column_names]
            if a.num_rows < 2 or not cols:
                continue
            assert _close_rows(a.select(cols).to_pylist(), b.select(cols).to_pylist()), _name_of(text)
            checked.add(_name_of(text))
    assert len(checked) >= 3, checked


def test_snapshot_and_empty_views(demo: Path, spark: Any, tmp_path: Path) -> None:
    """Views read the files listed when the engine was built; a table without files is an empty view of the
    canonical schema, so queries on it still bind."""
    store = Store.open(demo)
    eng = store_engine(store, session=spark)
    try:
        before = eng.sql("SELECT count(*) AS n FROM labels").column("n")[0].as_py()
        assert before == pq.ParquetDataset(store.files("labels")).read().num_rows
        extra = demo / "labels" / "src-extra-test.parquet"
        pq.write_table(pq.read_table(store.files("labels")[0]).slice(0, 5), extra)
        try:
            assert eng.sql("SELECT count(*) AS n FROM labels").column("n")[0].as_py() == before
        finally:
            extra.unlink()
        duck = store.engine()
        try:
            for table in (*schema.TABLES, "quarantine"):
                assert eng.columns(table) == duck.columns(table), table
                assert eng.has_table(table) == duck.has_table(table), table
        finally:
            duck.close()
        assert eng.columns("no_such_view") == []
        assert not eng.has_table("quarantine")
        empty = eng.sql("SELECT * FROM quarantine")
        assert empty.num_rows == 0
        assert empty.schema.names == schema.QUARANTINE.names
    finally:
        eng.close()
    assert not spark.catalog.tableExists("labels")


def test_store_url_rebases_the_files_executors_read(demo: Path, spark: Any) -> None:
    """With spark.evalaudit.storeUrl, the driver lists the snapshot locally and Spark reads the same relative
    paths under the URL (here a file:// URL of the same directory, standing in for s3a://)."""
    store = Store.open(demo)
    url = demo.resolve().as_uri()
    eng = store_engine(store, session=spark, conf={STORE_URL_CONF: url})
    try:
        got = eng.sql("SELECT count(*) AS n FROM labels").column("n")[0].as_py()
        assert got == pq.ParquetDataset(store.files("labels")).read().num_rows
        files = eng.sql("SELECT DISTINCT input_file_name() AS f FROM labels").column("f").to_pylist()
        assert files and all(f.startswith("file:" + str(demo.resolve())) or f.startswith(url) for f in files)
    finally:
        eng.close()
    with pytest.raises(ValueError):
        file_urls(demo, [demo.parent / "elsewhere.parquet"], url)


def test_parameters_are_bound_not_spliced(spark: Any) -> None:
    """``$name`` becomes a bound marker; a ``$`` in a string literal stays text; quoted identifiers work."""
    eng = SparkEngine(session=spark)
    try:
        eng.register("t", pa.table({"weird col": ["a", "b'; DROP", "$x"], "v": [1, 2, 3]}))
        got = eng.sql("SELECT \"weird col\" AS c, '$x' AS lit FROM t WHERE \"weird col\" = $x OR v = $v "
                      "ORDER BY v NULLS LAST", x="b'; DROP", v=3)
        assert got.to_pylist() == [{"c": "b'; DROP", "lit": "$x"}, {"c": "$x", "lit": "$x"}]
        assert got.schema.types == [pa.string(), pa.string()]
    finally:
        eng.close()
