"""The command line: exit codes and one-sentence errors (docs/cli.md), and the README's two commands for real."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_evalaudit, tree

CSV = "item_id,labeler_id,label,labeled_at\ni1,a,pass,2024-01-01\ni2,,fail,2024-01-01\n"


def one_sentence(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_ingest_reports_added_and_quarantined(cli, tmp_path, store):
    src = tmp_path / "a.csv"
    src.write_text(CSV)
    code, out, err = cli("ingest", src, "--store", store)
    assert code == 0, err
    assert "added 1 rows to labels" in out and "quarantined 1" in out and "missing labeler_id" in out
    code, out, _ = cli("ingest", src, "--store", store)
    assert code == 0 and "skipped" in out and "1 file(s) skipped as already ingested" in out


def test_ingest_unusable_file_exits_2_with_one_sentence(cli, tmp_path, store):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"item_id,labeler_id,label,labeled_at\n\xff\xfe,a,pass,2024\n")
    code, _, err = cli("ingest", bad, "--store", store)
    assert code == 2
    line = one_sentence(err)
    assert str(bad) in line and "not UTF-8" in line
    assert tree(store) == {} or not list((store / "labels").glob("*.parquet"))


def test_ingest_bad_map_exits_2(cli, tmp_path, store):
    src = tmp_path / "a.csv"
    src.write_text(CSV)
    code, _, err = cli("ingest", src, "--store", store, "--map", "nonsense")
    assert code == 2 and "SOURCE_COLUMN=CANONICAL_COLUMN" in one_sentence(err)
    assert one_sentence(err).endswith("(see --map)")  # the library names its parameter, the CLI the flag


def test_library_errors_name_parameters_and_the_cli_adds_its_flags(tmp_path):
    """The same error from the Python API speaks of the parameter; through the CLI it names the flag."""
    from evalaudit.cli import FLAGS, sentence
    from evalaudit.errors import UnusableInput
    from evalaudit.ingest import parse_map

    with pytest.raises(UnusableInput) as caught:
        parse_map(["nonsense"])
    assert "--" not in str(caught.value) and caught.value.options == ("mapping",)
    assert sentence(caught.value) == f"{caught.value} (see {FLAGS['mapping']})"
    assert sentence(UnusableInput("a.csv: cannot be read (input)")) == "a.csv: cannot be read (input)"
    assert sentence(UnusableInput("x", options=("edit", "export"))) == "x (see --edit, --export)"


def test_run_on_missing_store_exits_2(cli, tmp_path):
    code, _, err = cli("run", "--store", tmp_path / "nope", "--out", tmp_path / "out")
    assert code == 2 and "no such store directory" in one_sentence(err)


def test_run_with_bad_config_exits_2(cli, tmp_path, store):
    src = tmp_path / "a.csv"
    src.write_text(CSV)
    cli("ingest", src, "--store", store)
    cfg = tmp_path / "evalaudit.toml"
    cfg.write_text("[labels]\npositiv = 'pass'\n")
    code, _, err = cli("run", "--store", store, "--out", tmp_path / "out", "--config", cfg)
    assert code == 2 and "unknown key 'positiv' in [labels]" in one_sentence(err)
    cfg.write_text("[labels\n")
    code, _, err = cli("run", "--store", store, "--out", tmp_path / "out", "--config", cfg)
    assert code == 2 and "not valid TOML" in one_sentence(err)


@pytest.mark.parametrize("args, message", [
    (["run", "--store", "s", "--out", "o", "--config", "."], "is a directory"),
    (["run", "--store", "s"], "Missing option '--out'"),
    (["ingest", "x.csv", "--store", "s", "--table", "gold"], "'gold' is not one of"),
    (["nonsense"], "No such command 'nonsense'"),
])
def test_usage_errors_are_one_sentence_and_exit_2(tmp_path, args, message):
    result = run_evalaudit(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in one_sentence(result.stderr)


def test_help_and_version_exit_0():
    assert run_evalaudit("--help").returncode == 0
    version = run_evalaudit("--version")
    assert version.returncode == 0 and "evalaudit" in version.stdout


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory) -> Path:
    store = tmp_path_factory.mktemp("demo") / "store"
    result = run_evalaudit("demo", "--store", store, "--seed", "3", "--judgments", "20000")
    assert result.returncode == 0, result.stderr
    return store


def test_demo_writes_truth_and_is_idempotent(demo_store):
    truth = json.loads((demo_store / "truth.json").read_text())
    assert truth["planted"], "the demo plants faults"
    for entry in truth["planted"]:
        assert {"kind", "labeler_id", "failure_mode"} <= entry.keys()
    before = tree(demo_store)
    again = run_evalaudit("demo", "--store", demo_store, "--seed", "3", "--judgments", "20000")
    assert again.returncode == 0 and "already in the store" in again.stdout
    assert {k for k in tree(demo_store) if "/src-" in k} == {k for k in before if "/src-" in k}


def test_run_writes_findings_with_the_spec_keys(demo_store, tmp_path):
    out = tmp_path / "report"
    result = run_evalaudit("run", "--store", demo_store, "--out", out, "--fail-on", "never")
    assert result.returncode == 0, result.stderr
    doc = json.loads((out / "findings.json").read_text())
    assert set(doc) == {"evalaudit_version", "generated_at", "summary", "findings"}
    keys = {"kind", "severity", "labeler_id", "failure_mode", "effect", "ci_low", "ci_high", "p_value",
            "q_value", "n", "evidence", "message"}
    for finding in doc["findings"]:
        assert keys <= finding.keys()
    assert doc["summary"]["store"]["n_judgments"] > 0
    html = (out / "index.html").read_text()
    assert html.startswith("<!doctype html>") and "evalaudit report" in html
    # nothing half-written is left beside the output
    assert not [p for p in out.parent.iterdir() if ".partial-" in p.name or ".old-" in p.name]


def test_run_exit_code_follows_fail_on(demo_store, tmp_path):
    out = tmp_path / "report"
    never = run_evalaudit("run", "--store", demo_store, "--out", out, "--fail-on", "never", "--quiet")
    assert never.returncode == 0
    doc = json.loads((out / "findings.json").read_text())
    low = run_evalaudit("run", "--store", demo_store, "--out", out, "--fail-on", "low", "--quiet")
    assert low.returncode == (1 if doc["findings"] else 0)
    assert never.stderr == "" and low.stderr == ""  # --quiet: no log lines


def test_readme_quickstart_is_the_two_make_targets():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Quickstart.*?```(?:sh|bash|console)?\n(.*?)```", readme, re.S)
    assert block, "README has a Quickstart code block"
    commands = [line.strip() for line in block.group(1).splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]


def test_make_demo_runs_for_real(tmp_path):
    """`make demo` exactly as a newcomer runs it, pointed at temporary directories."""
    store, report = tmp_path / "demo", tmp_path / "report"
    result = subprocess.run(["make", "demo", f"DEMO_STORE={store}", f"DEMO_REPORT={report}"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (report / "index.html").exists() and (report / "findings.json").exists()
    assert (store / "truth.json").exists()
    assert f"{report}/index.html" in result.stdout


def test_relabel_exports_csv_and_label_studio(demo_store, tmp_path):
    import csv

    out = tmp_path / "queue.csv"
    result = run_evalaudit("relabel", "--store", demo_store, "--out", out, "--top", "25")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 25
    assert [int(r["relabel_priority"]) for r in rows] == sorted(int(r["relabel_priority"]) for r in rows)
    poisons = [float(r["poison_score"]) for r in rows]
    assert poisons == sorted(poisons, reverse=True)
    ls = tmp_path / "queue.json"
    assert run_evalaudit("relabel", "--store", demo_store, "--out", ls, "--top", "3",
                         "--format", "label-studio").returncode == 0
    tasks = json.loads(ls.read_text())
    assert [t["data"]["item_id"] for t in tasks] == [r["item_id"] for r in rows[:3]]
    assert all({"data", "meta"} <= t.keys() for t in tasks)


def test_relabel_on_missing_store_exits_2(tmp_path):
    result = run_evalaudit("relabel", "--store", tmp_path / "nope", "--out", tmp_path / "q.csv")
    assert result.returncode == 2 and "no such store directory" in one_sentence(result.stderr)


def test_demo_judgment_bounds_match_the_generator():
    from evalaudit import demo
    from evalaudit.cli import main

    option = next(p for p in main.commands["demo"].params if p.name == "judgments")
    assert (option.type.min, option.type.max) == (demo.MIN_JUDGMENTS, demo.MAX_JUDGMENTS)
