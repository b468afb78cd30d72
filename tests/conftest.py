"""Shared fixtures: real stores in temporary directories, real files, the real CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalaudit.cli import main

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def cli():
    """Invoke the CLI in-process: returns (exit_code, stdout, stderr)."""
    runner = CliRunner()

    def invoke(*args: str):
        result = runner.invoke(main, [str(a) for a in args], catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return invoke


def run_evalaudit(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """Run the installed `evalaudit` console script in a real subprocess."""
    exe = Path(sys.executable).parent / "evalaudit"
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, **kwargs)


def tree(path: Path) -> dict[str, bytes]:
    """Every file under ``path`` with its bytes (lock file excluded) — to assert a store is untouched."""
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*"))
            if p.is_file() and p.name != ".lock"} if path.exists() else {}
