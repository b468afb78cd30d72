"""Where the marimo notebooks are, and the ``marimo`` command line that opens or exports one.

The notebooks are edited in the top-level ``notebooks/`` folder of a checkout (so ``marimo edit notebooks/audit.py``
works there), but a user installs the wheel, not the checkout: the build maps each of those files into the wheel as
package data, ``evalaudit/_notebooks/NAME.py`` (hatchling's ``force-include`` in pyproject.toml).
:func:`notebook_path` therefore looks in the installed package first and in the checkout second; an editable install
or a run from the source tree has no ``_notebooks/`` and finds ``notebooks/``. Nothing here imports marimo:
:func:`open_notebook` starts it in a child process.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from evalaudit.errors import UnusableInput

#: the notebooks, by the name `evalaudit notebook NAME` takes (the file is NAME.py)
NOTEBOOKS = ("audit", "labeler", "batch_gate", "items")
#: the folder inside the installed package that holds the notebooks (see pyproject.toml's force-include)
PACKAGED_DIR = Path(__file__).resolve().parent / "_notebooks"
#: the notebooks/ folder of a checkout (the package's parent directory is the repository root)
CHECKOUT_DIR = Path(__file__).resolve().parent.parent / "notebooks"


def notebook_path(name: str) -> Path:
    """The file of notebook ``name`` (one of :data:`NOTEBOOKS`): the installed package's copy, else the checkout's.

    A name that is not a notebook is the user's mistake (UnusableInput, exit 2); a known name with no file is a
    packaging mistake of evalaudit's (RuntimeError, reported as an internal error, exit 3)."""
    if name not in NOTEBOOKS:
        raise UnusableInput(f"no notebook named {name!r}; choose one of {', '.join(NOTEBOOKS)}")
    for folder in (PACKAGED_DIR, CHECKOUT_DIR):
        path = folder / f"{name}.py"
        if path.is_file():
            return path
    raise RuntimeError(f"notebook {name}.py is neither in {PACKAGED_DIR} nor in {CHECKOUT_DIR}: the package was "
                       "built without its notebooks")


def marimo_argv(name: str, store: str | Path, config: str | Path | None = None, edit: bool = False,
                export: str | Path | None = None, path: Path | None = None) -> list[str]:
    """The command `evalaudit notebook` runs: ``python -m marimo run|edit NOTEBOOK -- --store DIR``, or with
    ``export`` ``python -m marimo export html NOTEBOOK -o FILE -f -- --store DIR`` (every cell run headless, then the
    page written, replacing FILE without asking; marimo exits non-zero when a cell failed). ``path`` overrides
    where the notebook's file is (:func:`open_notebook` exports a copy).

    The store must exist: otherwise the notebook's first cell would fail inside marimo, where the user sees a
    traceback in a browser instead of one sentence here."""
    path = path or notebook_path(name)
    if edit and export is not None:
        raise UnusableInput("editing a notebook and exporting it exclude each other: an export runs the notebook "
                            "headless", options=("edit", "export"))
    if not Path(store).is_dir():
        raise UnusableInput(f"{store}: no such store directory (make one with `evalaudit demo --store {store}`)")
    if export is not None:
        out = Path(export)
        if not out.parent.is_dir():
            raise UnusableInput(f"{export}: the directory {out.parent} does not exist")
        head = ["export", "html", str(path), "-o", str(out), "-f"]
    else:
        head = ["edit" if edit else "run", str(path)]
    argv = [sys.executable, "-m", "marimo", *head, "--", "--store", str(store)]
    if config is not None:
        argv += ["--config", str(config)]
    return argv


def open_notebook(name: str, store: str | Path, config: str | Path | None = None, edit: bool = False,
                  export: str | Path | None = None) -> int:
    """Run marimo on notebook ``name`` (:func:`marimo_argv`) and return its exit code.

    An export runs on a copy of the notebook in a temporary directory: marimo writes a ``__marimo__/`` session
    folder beside the file it exports, and an installed package's folder is no place for that (and often not
    writable). The notebooks read nothing beside themselves, so the copy behaves as the original."""
    argv = marimo_argv(name, store, config, edit, export)  # validates the arguments before anything runs
    if export is None:
        return subprocess.call(argv)
    with tempfile.TemporaryDirectory(prefix="evalaudit-notebook-") as tmp:
        copy = Path(tmp) / f"{name}.py"
        shutil.copyfile(notebook_path(name), copy)
        return subprocess.call(marimo_argv(name, store, config, edit, export, path=copy))
