"""`evalaudit check` on the command line: exit codes 0/1/2, text and JSON output naming the offending rows,
`--promote` and `--docs`; and the runtime rules of docs/contracts.md ("Great Expectations at run time") — importing the
CLI does not import Great Expectations, a check touches no network, and GX prints no progress bars."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalaudit.cli import main
from tests.test_contracts import build_store, clean_batch_rows, store_fingerprint, write_csv


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def _run(*args: str | Path) -> Ran:
    """`evalaudit check ARGS` in-process (GX is imported once per test session, not once per command)."""
    r = CliRunner().invoke(main, ["check", *map(str, args)])
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise r.exception
    return Ran(r.exit_code, r.stdout, r.stderr)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("contracts_cli")
    store = build_store(root)
    good = write_csv(root / "good.csv", clean_batch_rows())
    rows = clean_batch_rows()
    rows[3]["label"] = "maybe"
    rows[7]["labeled_at"] = "yesterday"
    bad = write_csv(root / "bad.csv", rows)
    return {"root": root, "store": store, "good": good, "bad": bad}


def test_failing_batch_exit_1_text_names_rows_and_no_progress_bars(world: dict[str, Path],
                                                                  capfd: pytest.CaptureFixture[str]) -> None:
    p = _run(world["bad"], "--store", world["store"])
    leaked = capfd.readouterr().err  # tqdm writes to the real stderr, not click's
    assert p.returncode == 1, p.stderr
    assert "FAILED" in p.stdout
    assert "row 3: label 'maybe' (item n001, labeler l2)" in p.stdout
    assert "row 7: labeled_at 'yesterday' (item n003, labeler l2)" in p.stdout
    for err in (p.stderr, leaked):
        assert "Calculating Metrics" not in err and "%|" not in err, err


def test_json_format_and_promote_quarantines_failing_batch(world: dict[str, Path]) -> None:
    before = store_fingerprint(world["store"])
    p = _run(world["bad"], "--store", world["store"], "--format", "json", "--promote")
    assert p.returncode == 1, p.stderr
    doc = json.loads(p.stdout)
    failed = {r["expectation"]: r for r in doc["results"] if r["status"] == "failed"}
    assert set(failed) == {"label_in_allowed_values", "labeled_at_parseable"}
    assert failed["label_in_allowed_values"]["examples"] == [
        {"row": 3, "label": "maybe", "item_id": "n001", "labeler_id": "l2"}]
    qdir = Path(doc["quarantine_dir"])
    assert sorted(p.name for p in qdir.iterdir()) == ["bad.csv.quarantined", "validation.html", "validation.json"]
    assert json.loads((qdir / "validation.json").read_text(encoding="utf-8")) == doc
    assert store_fingerprint(world["store"]) == before


def test_passing_batch_exit_0_promotes_and_writes_docs(world: dict[str, Path]) -> None:
    docs = world["root"] / "page"
    p = _run(world["good"], "--store", world["store"], "--promote", "--docs", docs)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "PASSED" in p.stdout and "promoted: 144 rows added to the store" in p.stdout
    assert "PASSED" in (docs / "index.html").read_text(encoding="utf-8")
    again = _run(world["good"], "--store", world["store"])
    assert again.returncode == 0 and "already in the store" in again.stdout


@pytest.mark.parametrize("case", ["missing_file", "missing_store", "not_utf8", "bad_window"])
def test_unusable_input_exit_2_one_sentence(world: dict[str, Path], case: str) -> None:
    args: list[str | Path] = [world["bad"], "--store", world["store"]]
    if case == "missing_file":
        args[0] = world["root"] / "nope.csv"
    elif case == "missing_store":
        args[2] = world["root"] / "no-store"
    elif case == "not_utf8":
        bad = world["root"] / "latin1.csv"
        bad.write_bytes("item_id,labeler_id,label,labeled_at\nn1,l1,pass\xe9,2024-07-01\n".encode("latin-1"))
        args[0] = bad
    else:
        cfg = world["root"] / "window.toml"
        cfg.write_text('[contracts]\nwindow_start = "last tuesday"\n', encoding="utf-8")
        args += ["--config", cfg]
    p = _run(*args)
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert p.stderr.startswith("evalaudit: ") and len(p.stderr.strip().splitlines()) == 1
    assert "Traceback" not in p.stderr
    expected = {"missing_file": "nope.csv: no such file", "missing_store": "no such store directory",
                "not_utf8": "not UTF-8", "bad_window": "window_start"}[case]
    assert expected in p.stderr


def test_importing_the_cli_does_not_import_great_expectations() -> None:
    code = ("import sys, evalaudit.cli, evalaudit.contracts; "
            "assert 'great_expectations' not in sys.modules, 'GX imported'; print('ok')")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and p.stdout.strip() == "ok", p.stderr


def test_check_touches_no_network(world: dict[str, Path], tmp_path: Path) -> None:
    """Every socket connection attempt raises, before evalaudit or GX is imported; the check still succeeds and
    nothing tried to connect."""
    marker = tmp_path / "attempts.txt"
    code = f"""
import socket, sys
def refuse(self, address, *a, **k):
    open({str(marker)!r}, "a").write(repr(address) + "\\n")
    raise OSError("network disabled in this test")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = lambda address, *a, **k: refuse(None, address)
from evalaudit.contracts import check_batch
r = check_batch({str(world['bad'])!r}, {str(world['store'])!r})
sys.exit(0 if not r.passed else 5)
"""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                       env={k: v for k, v in os.environ.items() if k != "GX_ANALYTICS_ENABLED"})
    assert p.returncode == 0, p.stderr[-2000:]
    assert not marker.exists(), marker.read_text()
