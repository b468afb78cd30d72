"""What an `evalaudit run` process imports that the run never uses: pandas, pulled in by pyarrow.

pyarrow imports pandas, when it is installed, the first time it turns a Python list into an array or builds an empty
table (its pandas shim and its C++ converter both look for pandas objects to treat specially). A run on DuckDB never
hands pyarrow a pandas object, yet it paid pandas' import (0.4 s of CPU, a tenth of a small store's whole run:
benchmarks/RESULTS.md, "Start-up").

:func:`without_pandas` makes pandas unimportable for the rest of the process, so pyarrow takes the path it takes when
pandas is not installed — a configuration pyarrow supports: it needs pandas only to convert to and from pandas
objects. Only the command line calls it, and only for a process whose whole life is one `evalaudit run` on DuckDB
(the console script or ``python -m evalaudit.cli``): not the Python API, a notebook or a test calling the CLI in its
own interpreter, where other code may use pandas, and not the Spark engine, which hands Spark pandas frames.
"""

from __future__ import annotations

import sys
from importlib.machinery import ModuleSpec


class _NoPandas:
    """A meta-path finder that refuses pandas (and only pandas) as if it were not installed."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> ModuleSpec | None:
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError("evalaudit run does not use pandas (evalaudit.startup)", name=name)
        return None


def without_pandas() -> bool:
    """Refuse pandas for the rest of this process, unless it is already imported; True when it now is refused."""
    if "pandas" in sys.modules:
        return False
    if not any(isinstance(f, _NoPandas) for f in sys.meta_path):
        sys.meta_path.insert(0, _NoPandas())
    return True
