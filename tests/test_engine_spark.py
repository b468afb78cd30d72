"""The Spark engine's pure parts, without a JVM (the parity suite itself is tests/spark, run by
make test-spark): parameter markers, --spark-conf parsing, type normalisation, the parity comparison, and the
one-sentence error without pyspark."""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import pytest

from evalaudit.engine_spark import INSTALL_HINT, normalise, parse_conf, to_spark_markers
from evalaudit.errors import UnusableInput
from tests.spark.compare import table_differences


def test_markers_rewritten_outside_literals_identifiers_and_comments() -> None:
    text = ("-- uses $a in a comment\nSELECT '$a' AS s, \"$a\" AS q, x FROM t /* $b */ "
            "WHERE x = $a AND y > $b_2 AND z = $a")
    got, used = to_spark_markers(text)
    assert got == ("-- uses $a in a comment\nSELECT '$a' AS s, \"$a\" AS q, x FROM t /* $b */ "
                   "WHERE x = :a AND y > :b_2 AND z = :a")
    assert used == ["a", "b_2"]


def test_markers_with_doubled_quotes_in_literals() -> None:
    got, used = to_spark_markers("SELECT 'it''s $x' AS s WHERE v = $y")
    assert got == "SELECT 'it''s $x' AS s WHERE v = :y"
    assert used == ["y"]


def test_every_named_query_translates_to_its_own_parameters() -> None:
    """Each named query's ``$name`` markers all become ``:name`` markers (none left behind)."""
    from evalaudit import sql as named_sql

    for name in named_sql.names():
        got, used = to_spark_markers(named_sql.load(name))
        code = "\n".join(line.split("--")[0] for line in got.splitlines())
        assert "$" not in code.replace("'$", ""), name
        assert all(f":{u}" in got for u in used), name


def test_parse_conf() -> None:
    assert parse_conf(["spark.executor.memory=8g", "a.b= x=y "]) == {"spark.executor.memory": "8g",
                                                                     "a.b": " x=y "}
    with pytest.raises(UnusableInput, match="KEY=VALUE"):
        parse_conf(["spark.executor.memory"])


def test_normalise_maps_spark_arrow_types_to_duckdb_ones() -> None:
    t = pa.table({
        "s": pa.array(["a", None], pa.large_string()),
        "ts": pa.array([0, 1_000], pa.timestamp("ns", tz="UTC")),
        "n": pa.array([1, 2], pa.int64()),
    })
    got = normalise(t)
    assert got.schema.types == [pa.string(), pa.timestamp("us", tz="UTC"), pa.int64()]
    assert got.column("s").to_pylist() == ["a", None]


def test_compare_finds_differences() -> None:
    """The parity suite's comparison can fail: a number off by more than 1e-9, a changed string, a missing
    row, a changed type; row order alone is not a difference."""
    a = pa.table({"k": ["x", "y", "z"], "v": [1.0, 2.0, 3.0]})
    assert table_differences("t", a, a.take([2, 0, 1])) == []
    assert table_differences("t", a, a.set_column(1, "v", pa.array([1.0, 2.0, 3.0 + 1e-12]))) == []
    assert table_differences("t", a, a.set_column(1, "v", pa.array([1.0, 2.0, 3.0 + 1e-6])))
    assert table_differences("t", a, a.set_column(0, "k", pa.array(["x", "y", "Z"])))
    assert table_differences("t", a, a.slice(0, 2))
    assert table_differences("t", a, a.set_column(1, "v", pa.array([1, 2, 3], pa.int64())))


def test_run_without_pyspark_says_how_to_install(cli, monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark -> ImportError
    code, _, err = cli("run", "--store", tmp_path, "--out", tmp_path / "out", "--engine", "spark")
    assert code == 2
    assert err.strip() == f"evalaudit: {INSTALL_HINT}"
    assert "pip install 'evalaudit[spark]'" in err


def test_spark_options_need_the_spark_engine(cli, tmp_path: Path) -> None:
    code, _, err = cli("run", "--store", tmp_path, "--out", tmp_path / "out", "--spark-master", "local[2]")
    assert code == 2
    assert "--engine spark" in err
