"""A run that is its process's whole life refuses pandas (evalaudit.startup), and that changes nothing it writes.

Real processes, a real demo store and the real CLI: the run as its own process (what `evalaudit run` is) against the
same run through the CLI inside this interpreter (where pandas stays importable), table by table.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import run_evalaudit

#: a run as the console script runs it: `main()` reading the process's own argv, then what it imported
OWN_PROCESS = """
import json, sys
from evalaudit.cli import main
sys.argv = ["evalaudit", *sys.argv[1:]]
try:
    main()
except SystemExit as e:
    code = e.code
print(json.dumps({"code": code, "pandas": "pandas" in sys.modules}))
"""


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("startup") / "store"
    result = run_evalaudit("demo", "--store", store, "--seed", "3", "--judgments", "3000")
    assert result.returncode == 0, result.stderr
    return store


def test_own_process_run_imports_no_pandas_and_writes_what_an_in_process_run_writes(small_store, tmp_path, cli):
    own, shared = tmp_path / "own" / "out", tmp_path / "shared" / "out"  # separate run histories
    p = subprocess.run([sys.executable, "-c", OWN_PROCESS, "run", "--store", str(small_store), "--out", str(own),
                        "--fail-on", "never", "--quiet"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    seen = json.loads(p.stdout.strip().splitlines()[-1])
    assert seen == {"code": 0, "pandas": False}

    code, _, err = cli("run", "--store", small_store, "--out", shared, "--fail-on", "never", "--quiet")
    assert code == 0, err
    assert not any(type(f).__name__ == "_NoPandas" for f in sys.meta_path)  # the test's interpreter is untouched

    findings = [json.loads((d / "findings.json").read_text())["findings"] for d in (own, shared)]
    assert findings[0] == findings[1] and findings[0]
    tables = sorted(p.name for p in shared.glob("*.parquet"))
    assert tables == sorted(p.name for p in own.glob("*.parquet")) and "items.parquet" in tables
    for name in tables:
        assert pq.read_table(own / name).equals(pq.read_table(shared / name)), name


def test_refused_pandas_is_pandas_not_installed_to_pyarrow():
    code = """
import json, sys
from evalaudit.startup import without_pandas
first, again = without_pandas(), without_pandas()
import numpy as np, pyarrow as pa
t = pa.table({"s": ["a", None], "x": pa.array(np.array([1.0, np.nan]), from_pandas=True)})
try:
    import pandas
    refused = False
except ModuleNotFoundError:
    refused = True
print(json.dumps({"first": first, "again": again, "refused": refused, "rows": t.to_pylist(),
                  "finders": sum(type(f).__name__ == "_NoPandas" for f in sys.meta_path),
                  "pandas": "pandas" in sys.modules}))
"""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"first": True, "again": True, "refused": True, "finders": 1, "pandas": False,
                                    "rows": [{"s": "a", "x": 1.0}, {"s": None, "x": None}]}


def test_pandas_already_imported_is_left_alone():
    code = ("import sys, pandas\nfrom evalaudit.startup import without_pandas\n"
            "print(without_pandas(), sum(type(f).__name__ == '_NoPandas' for f in sys.meta_path))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["False", "0"]
