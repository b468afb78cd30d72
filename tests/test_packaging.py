"""The package installs like a library (README.md, "Installing"): its runtime dependencies are exactly what it imports,
and the wheel carries everything `evalaudit` opens at run time (named SQL, report templates, the marimo notebooks).

The full install path — build the wheel, install it into a fresh venv outside the checkout, run every command and
export every notebook — is tests/install_smoke.sh (`make install-smoke`, run by .ci/run); it needs the network for
PyPI and minutes, so it is not part of `make test`. What is checked here is what can go wrong in pyproject.toml
without building anything, plus one real wheel build (hatchling, no dependencies installed) to read its file list.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from evalaudit import notebook_files
from tests.conftest import ROOT

#: declared runtime dependencies nothing imports yet, each with why it stays (remove the entry once it is imported)
DECLARED_UNIMPORTED: dict[str, str] = {}


def _norm(name: str) -> str:
    """A distribution name as PEP 503 normalises it (great_expectations == great-expectations)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(req: str) -> str:
    return _norm(re.match(r"[A-Za-z0-9._-]+", req.strip()).group(0))


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def shipped_sources() -> list[Path]:
    """Every Python file the wheel carries: the package and the notebooks it ships as package data."""
    return sorted((ROOT / "evalaudit").rglob("*.py")) + sorted((ROOT / "notebooks").glob("*.py"))


def third_party_imports(files: list[Path]) -> dict[str, set[str]]:
    """Top-level module name -> files importing it, for every absolute import (at module level or inside a
    function, which is how the heavy ones are imported) that is neither the standard library nor evalaudit."""
    found: dict[str, set[str]] = {}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "evalaudit":
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path))
    return found


def distribution_of(module: str, declared: set[str]) -> str:
    """The distribution that provides top-level ``module`` in this environment (great_expectations ->
    great-expectations), the declared one when several do (sqlglot and its compiled sqlglotc); a module not
    installed here (pyspark without the spark extra) is taken to be its own distribution's name."""
    dists = [_norm(d) for d in importlib.metadata.packages_distributions().get(module, [])]
    return next((d for d in dists if d in declared), dists[0] if dists else _norm(module))


def test_runtime_dependencies_are_exactly_what_the_package_imports() -> None:
    project = _pyproject()["project"]
    runtime = {_requirement_name(r) for r in project["dependencies"]}
    extras = {name: {_requirement_name(r) for r in reqs} for name, reqs in project["optional-dependencies"].items()}
    optional = set().union(*(reqs for name, reqs in extras.items() if name != "dev"))
    imports = third_party_imports(shipped_sources())
    imported = {distribution_of(m, runtime | optional): files for m, files in imports.items()}
    assert "marimo" in imported and "duckdb" in imported  # the scan sees the notebooks and the package

    undeclared = {d: sorted(f) for d, f in imported.items() if d not in runtime | optional}
    assert not undeclared, f"imported by the package but not a runtime dependency in pyproject.toml: {undeclared}"
    unused = runtime - set(imported) - set(DECLARED_UNIMPORTED)
    assert not unused, f"runtime dependencies nothing in evalaudit/ or notebooks/ imports: {sorted(unused)}"
    # an exception must still be one: once the package imports it, its entry goes
    assert not set(DECLARED_UNIMPORTED) & set(imported), "remove the now-imported names from DECLARED_UNIMPORTED"
    assert set(DECLARED_UNIMPORTED) <= runtime
    # an optional extra's import stays inside the module that needs it (the CLI must start without pyspark)
    for dist in optional & set(imported):
        assert dist not in runtime, f"{dist} is both a runtime dependency and an extra"


def test_the_import_scan_finds_each_kind_of_import(tmp_path: Path) -> None:
    """The scan above must see imports inside functions and ``from x.y import z``, and skip the standard
    library, relative imports and evalaudit itself — otherwise the dependency check could pass vacuously."""
    src = tmp_path / "m.py"
    src.write_text("import os, numpy.linalg\nfrom evalaudit import cli\nfrom . import sibling\n"
                   "def f():\n    from great_expectations.core import x\n    import rich\n", encoding="utf-8")
    assert set(third_party_imports([src])) == {"numpy", "great_expectations", "rich"}


def test_notebooks_are_found_in_the_checkout_and_named_ones_only() -> None:
    from evalaudit.errors import UnusableInput

    for name in notebook_files.NOTEBOOKS:
        path = notebook_files.notebook_path(name)
        assert path.is_file() and path.name == f"{name}.py"
    assert {p.stem for p in (ROOT / "notebooks").glob("*.py")} == set(notebook_files.NOTEBOOKS)
    with pytest.raises(UnusableInput, match="no notebook named"):
        notebook_files.notebook_path("../cli")


def test_notebooks_prefer_the_packaged_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Installed, the package's _notebooks/ wins over whatever notebooks/ folder sits beside site-packages; with
    neither, the error says the package was built without them."""
    packaged = tmp_path / "_notebooks"
    packaged.mkdir()
    (packaged / "audit.py").write_text("# packaged\n", encoding="utf-8")
    monkeypatch.setattr(notebook_files, "PACKAGED_DIR", packaged)
    assert notebook_files.notebook_path("audit") == packaged / "audit.py"
    assert notebook_files.notebook_path("items") == ROOT / "notebooks" / "items.py"
    monkeypatch.setattr(notebook_files, "CHECKOUT_DIR", tmp_path / "nowhere")
    with pytest.raises(RuntimeError, match="built without its notebooks"):
        notebook_files.notebook_path("items")


@pytest.mark.slow
def test_the_wheel_carries_the_notebooks_sql_and_templates(tmp_path: Path) -> None:
    """Build the wheel for real (pip wheel, hatchling, no dependencies) from a copy of the checkout in which marimo
    and Python have left their caches beside the notebooks, as they do after `make test`, and read its file list."""
    src = tmp_path / "src"
    for name in ("pyproject.toml", "README.md", ".gitignore"):
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / name, src / name)
    for folder in ("evalaudit", "notebooks"):
        shutil.copytree(ROOT / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__", "__marimo__"))
    for stray in ("notebooks/__marimo__/session/audit.py.json", "notebooks/__pycache__/audit.cpython-311.pyc",
                  "evalaudit/__pycache__/cli.cpython-311.pyc"):
        (src / stray).parent.mkdir(parents=True, exist_ok=True)
        (src / stray).write_text("a cache, not the package", encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(src)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    (wheel,) = tmp_path.glob("evalaudit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {n for n in names if n.startswith("evalaudit/_notebooks/")} == {
        f"evalaudit/_notebooks/{name}.py" for name in notebook_files.NOTEBOOKS}
    sql = {p.name for p in (ROOT / "evalaudit" / "sql").glob("*.sql")}
    assert sql and {n.rsplit("/", 1)[1] for n in names if n.startswith("evalaudit/sql/") and n.endswith(".sql")} == sql
    templates = {str(p.relative_to(ROOT)) for p in (ROOT / "evalaudit" / "report" / "templates").rglob("*")
                 if p.is_file()}
    assert templates and templates <= names
    modules = {str(p.relative_to(ROOT)) for p in (ROOT / "evalaudit").rglob("*.py")}
    assert modules <= names
    assert not [n for n in names if "__pycache__" in n or "__marimo__" in n or n.startswith(("tests/", "notebooks/"))]
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    requires = {_requirement_name(line.split(":", 1)[1].split(";")[0]) for line in
                zipfile.ZipFile(wheel).read(metadata).decode().splitlines() if line.startswith("Requires-Dist:")
                and "extra ==" not in line}
    assert requires == {_requirement_name(r) for r in _pyproject()["project"]["dependencies"]}
