"""With the [spark] extra installed, Great Expectations imports pyspark's Spark Connect modules, whose import exits
the process (sys.exit(0), "Skipping doctests") when ``__main__`` has no ``__spec__`` and no ``__file__`` — as under
``python -c`` or a pytest-xdist worker. The batch check must still validate there (evalaudit.contracts.gx._gx)."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("pyspark")

PROGRAM = """
from evalaudit.contracts import gx
module, expectations = gx._gx()
import sys
assert not hasattr(sys, "ps1"), "the interactive marker must not outlive the import"
print("imported", module.__name__, expectations.__name__)
"""


def test_great_expectations_imports_under_python_c_with_pyspark_installed():
    ran = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr
    assert "imported great_expectations great_expectations.expectations" in ran.stdout, (ran.stdout, ran.stderr)
