"""Start-up cost guard (benchmarks/RESULTS.md, Targets): each entry point imports only what its command uses.

Not a timing test: it checks, in a fresh interpreter, which modules an import pulls in, so that a later top-level
import (of scipy.stats, pandas, Great Expectations ...) in a module on the path cannot silently undo the lazy
imports. Timings are benchmarks' business (benchmarks/bench_startup.py, benchmarks/bench_check.py).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: (what is imported, modules that must not be imported by it, modules that must be, so the check is not vacuous)
CASES = [
    # `evalaudit --help` and every command's option parsing: click and evalaudit's own light modules only
    ("import evalaudit.cli",
     ["scipy", "scipy.stats", "pandas", "great_expectations", "duckdb", "pyarrow", "numpy", "jinja2", "rich",
      "marimo"],
     ["click", "evalaudit.cli"]),
    # `evalaudit ingest`: DuckDB and Arrow, no statistics, no report, no expectations
    ("import evalaudit.ingest",
     ["scipy", "scipy.stats", "great_expectations", "jinja2", "marimo", "evalaudit.contracts"],
     ["duckdb", "evalaudit.ingest"]),
    # `evalaudit run`: the gold-set stage reaches evalaudit.contracts, but not the batch check (its modules and
    # Great Expectations are `evalaudit check`'s); the stages and the report take their intervals from
    # evalaudit.intervals, not from the batch check's statistics
    ("import evalaudit.run, evalaudit.pipeline; from evalaudit.contracts import gold_stage; "
     "from evalaudit.report import seed",
     ["great_expectations", "marimo", "evalaudit.contracts.check", "evalaudit.contracts.batch_expectations",
      "evalaudit.contracts.gx", "evalaudit.contracts.row_expectations", "evalaudit.contracts.compare"],
     ["evalaudit.contracts.gold", "evalaudit.intervals"]),
    # `evalaudit check` imports Great Expectations only once expectations are about to be validated
    ("from evalaudit.contracts import check_batch",
     ["great_expectations", "marimo"],
     ["evalaudit.contracts.check"]),
]


@pytest.mark.parametrize(("statement", "absent", "present"), CASES, ids=[c[0].split(";")[0] for c in CASES])
def test_import_pulls_in_only_what_the_command_uses(statement: str, absent: list[str], present: list[str]) -> None:
    code = (f"import sys, json\n{statement}\n"
            "print(json.dumps(sorted(sys.modules)))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    loaded = set(json.loads(p.stdout.strip().splitlines()[-1]))
    assert not loaded & set(absent), f"{statement!r} imported {sorted(loaded & set(absent))}"
    assert set(present) <= loaded, f"{statement!r} did not import {sorted(set(present) - loaded)}"


def test_contracts_package_names_resolve_lazily() -> None:
    """The package's public names still resolve (through its module __getattr__), and an unknown one is an
    AttributeError as for any module."""
    import evalaudit.contracts as contracts
    from evalaudit.contracts.check import check_batch
    from evalaudit.contracts.gold import gold_expectations, gold_stage
    from evalaudit.contracts.result import CheckResult, ExpectationResult

    assert contracts.check_batch is check_batch
    assert contracts.gold_stage is gold_stage and contracts.gold_expectations is gold_expectations
    assert contracts.CheckResult is CheckResult and contracts.ExpectationResult is ExpectationResult
    assert set(contracts.__all__) == {"CheckResult", "ExpectationResult", "check_batch", "gold_expectations",
                                      "gold_stage"}
    with pytest.raises(AttributeError):
        contracts.no_such_name  # noqa: B018
