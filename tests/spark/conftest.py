"""The Spark parity suite: runs only when asked for (``make test-spark``, i.e. ``pytest -m spark
tests/spark``), so ``make test`` stays free of the JVM and the pyspark install. Spark runs in local mode,
bound to 127.0.0.1, with no UI and no console progress."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent

#: the settings of the suite's one session (PORTABLE_SQL.md: quiet, off the network, small shuffles)
TEST_CONF = {
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.driver.memory": "2g",
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "spark: needs pyspark and Java 17 (make test-spark)")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under tests/spark; deselect them unless the marker expression asks for spark."""
    wanted = "spark" in (config.option.markexpr or "")
    keep, drop = [], []
    for item in items:
        if Path(str(item.fspath)).resolve().is_relative_to(HERE):
            item.add_marker(pytest.mark.spark)
            (keep if wanted else drop).append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local Spark session for the whole suite (starting one takes 10-20 s)."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("TZ", "UTC")
    from evalaudit.engine_spark import build_session

    session = build_session(master="local[2]", conf=TEST_CONF, app_name="evalaudit-tests")
    yield session
    session.stop()
