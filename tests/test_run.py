"""`evalaudit run` as a schedulable audit: history, redaction, determinism, interrupted and concurrent runs,
progress output. Real demo stores, real Parquet, the real CLI in subprocesses where it matters."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from evalaudit import history, pipeline, report
from evalaudit.cli import progress_display
from evalaudit.config import Config
from evalaudit.errors import UnusableInput
from evalaudit.redact import SALT_ENV, Redactor, pseudonym
from evalaudit.run import STALE_PARTIAL_S, audit
from evalaudit.stage import StageResult
from tests.conftest import run_evalaudit


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("run") / "store"
    result = run_evalaudit("demo", "--store", path, "--seed", "7", "--judgments", "20000")
    assert result.returncode == 0, result.stderr
    return path


@pytest.fixture(scope="module")
def labeler_ids(store) -> list[str]:
    table = pq.read_table(sorted((store / "labels").rglob("*.parquet")), columns=["labeler_id"])
    return sorted(pc.unique(table["labeler_id"]).to_pylist())


def same_numbers(a, b, rel: float = 1e-9) -> bool:
    """Equal structure, equal strings and integers, floats equal to ``rel`` (multi-threaded float sums may
    differ in the last bits between runs; the numbers a person reads are identical)."""
    if isinstance(a, float) or isinstance(b, float):
        return (a is None and b is None) or (isinstance(a, (int, float)) and isinstance(b, (int, float))
                                             and math.isclose(a, b, rel_tol=rel, abs_tol=1e-12))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same_numbers(a[k], b[k], rel) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(
            same_numbers(x, y, rel) for x, y in zip(a, b, strict=True))
    return a == b


def _comparable(doc: dict) -> dict:
    """The findings document without what legitimately changes between runs: timestamps, timings, and the change
    since the previous run (a first run's findings are new, the second's persisting: tests/test_changes.py)."""
    doc = json.loads(json.dumps(doc))
    doc.pop("generated_at")
    doc["summary"].pop("stage_seconds")
    doc["summary"].pop("changes")
    for f in doc["findings"]:
        f.pop("change")
    if isinstance(doc["summary"].get("items"), dict):
        doc["summary"]["items"].pop("as_of", None)  # "now", the reference time of the age check
    return doc


#: a stage list that only reads the store: for the tests of the run's mechanics (locking, swapping, killing)
LIGHT = [("store", pipeline.store_summary)]


def _tables(out: Path) -> dict[str, pa.Table]:
    return {p.stem: pq.read_table(p) for p in sorted(out.glob("*.parquet"))}


def test_history_trends_and_same_numbers_on_an_unchanged_store(store, tmp_path):
    out = tmp_path / "reports" / "weekly"
    first = audit(store, out, Config(), fail_on="never")
    first_doc, first_tables = json.loads((out / "findings.json").read_text()), _tables(out)
    h1 = history.read(tmp_path / "reports" / "history.parquet")
    assert h1.num_rows > 0 and set(h1["report"].to_pylist()) == {"weekly"}
    assert {"agreement_alpha", "findings_high", "labeler_effect", "eval_score_inflation"} <= set(
        h1["metric"].to_pylist())
    overall = h1.filter(pc.and_(pc.equal(h1["metric"], "agreement_alpha"), pc.equal(h1["failure_mode"], "all")))
    assert overall.num_rows == 1
    alpha = pq.read_table(out / "agreement.parquet").to_pylist()
    assert overall["value"][0].as_py() == next(r["value"] for r in alpha
                                               if r["scope"] == "overall" and r["metric"] == "krippendorff_alpha")
    assert "this is the first run recorded" in (out / "index.html").read_text()

    second = audit(store, out, Config(), fail_on="never")
    h2 = history.read(tmp_path / "reports" / "history.parquet")
    assert h2.num_rows == 2 * h1.num_rows and len(set(h2["run_id"].to_pylist())) == 2
    trends = (out / "index.html").read_text().split('<section id="trends">')[1].split("</section>")[0]
    assert "2 runs" in trends and trends.count("<svg") >= 3
    # an unchanged store gives the same numbers (seeded resampling): same findings, same rows in every table
    assert same_numbers(_comparable(first_doc), _comparable(json.loads((out / "findings.json").read_text())))
    assert same_numbers([{**f.to_json(), "change": None} for f in first.findings],
                        [{**f.to_json(), "change": None} for f in second.findings])
    assert {f.change for f in first.findings} == {"new"} and {f.change for f in second.findings} == {"persisting"}
    second_tables = _tables(out)
    assert set(first_tables) == set(second_tables) >= {"agreement", "leniency", "items"}
    for name, ta in first_tables.items():
        tb = second_tables[name]
        assert ta.schema == tb.schema, name
        # row order is the stage's business (leniency's is not stable across runs); the rows must be equal
        keys = [(c, "ascending") for c in ta.column_names if pa.types.is_string(ta.schema.field(c).type)]
        assert same_numbers(ta.sort_by(keys).to_pydict(), tb.sort_by(keys).to_pydict()), name
    # another report beside it keeps its own history rows
    audit(store, tmp_path / "reports" / "other", Config(), fail_on="never", stages=LIGHT)
    assert history.read(tmp_path / "reports" / "history.parquet", report="weekly").num_rows == h2.num_rows


def test_an_interrupted_run_leaves_the_previous_output_and_nothing_half_written(store, tmp_path, monkeypatch):
    out = tmp_path / "out"
    audit(store, out, Config(), fail_on="never", stages=LIGHT)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    hist_before = (tmp_path / "history.parquet").read_bytes()

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "write", boom)
    with pytest.raises(KeyboardInterrupt):
        audit(store, out, Config(), fail_on="never", stages=LIGHT)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert (tmp_path / "history.parquet").read_bytes() == hist_before
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["history.parquet", "out"]
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name or ".old-" in p.name]
    # a first run that is interrupted creates no output directory at all
    with pytest.raises(KeyboardInterrupt):
        audit(store, tmp_path / "fresh", Config(), fail_on="never", stages=LIGHT)
    assert not (tmp_path / "fresh").exists()


def test_an_error_between_the_stages_and_the_writing_leaves_no_partial_directory(store, tmp_path, monkeypatch):
    """The partial output directory exists from before the stages (a stage may write into it): an error after them
    but before the writing (here, the redaction salt that cannot be read: its path is a directory) removes it."""
    monkeypatch.delenv(SALT_ENV, raising=False)
    (tmp_path / ".evalaudit-redact-salt").mkdir()
    with pytest.raises(OSError):
        audit(store, tmp_path / "out", Config(), fail_on="never", stages=LIGHT, redact_labelers=True)
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]


_LIGHT_RUN = ("import os, signal, sys; from evalaudit import pipeline, report; from evalaudit.run import audit; "
              "from evalaudit.config import Config\n"
              "{patch}\n"
              "audit(sys.argv[1], sys.argv[2], Config(), fail_on='never',\n"
              "      stages=[('store', pipeline.store_summary)])\n")


def test_a_killed_run_leaves_no_output_directory(store, tmp_path):
    """SIGKILL while writing: the partial directory is hidden (a dot-name), --out never appears, and the next
    run sweeps partial directories once they are old."""
    patch = "report.write = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)"
    result = subprocess.run([sys.executable, "-c", _LIGHT_RUN.format(patch=patch), str(store),
                             str(tmp_path / "out")], capture_output=True, text=True)
    assert result.returncode == -9, result.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "history.parquet").exists()
    leftovers = [p for p in tmp_path.iterdir()]
    assert leftovers and all(p.name.startswith(".") for p in leftovers), leftovers
    partial = next(p for p in leftovers if ".partial-" in p.name)
    old = time.time() - STALE_PARTIAL_S - 60
    os.utime(partial, (old, old))
    audit(store, tmp_path / "out", Config(), fail_on="never", stages=LIGHT)
    assert not partial.exists() and (tmp_path / "out" / "index.html").exists()


def test_two_runs_at_once_on_one_store_and_one_out(store, tmp_path):
    out = tmp_path / "reports" / "nightly"
    procs = [subprocess.Popen([sys.executable, "-c", _LIGHT_RUN.format(patch=""), str(store), str(out)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [(*p.communicate(timeout=120), p.returncode) for p in procs]
    assert [r[2] for r in results] == [0, 0, 0], results
    doc = json.loads((out / "findings.json").read_text())
    assert doc["summary"]["store"]["n_judgments"] > 0
    assert (out / "index.html").read_text().rstrip().endswith("</html>")
    assert not [p for p in out.parent.iterdir() if ".partial-" in p.name or ".old-" in p.name]
    assert len(set(history.read(out.parent / "history.parquet")["run_id"].to_pylist())) == 3


def test_redacted_outputs_hold_no_labeler_id(store, tmp_path, labeler_ids, monkeypatch):
    monkeypatch.delenv(SALT_ENV, raising=False)
    out = tmp_path / "shared"
    result = audit(store, out, Config(), fail_on="never", redact_labelers=True)
    assert any(f.labeler_id for f in result.findings)
    salt = (tmp_path / ".evalaudit-redact-salt").read_bytes().strip()
    files = [*out.iterdir(), tmp_path / "history.parquet"]
    for path in files:
        data = path.read_bytes() if path.suffix != ".parquet" else json.dumps(
            pq.read_table(path).to_pylist(), default=str).encode()
        for lab in labeler_ids:
            assert lab.encode() not in data, f"{lab} in {path.name}"
    # the pseudonyms are the salted HMACs, the same in the report and the tables
    flagged = {f.labeler_id for f in result.findings if f.labeler_id}
    expected = {pseudonym(lab, salt) for lab in labeler_ids}
    assert flagged <= expected
    html = (out / "index.html").read_text()
    assert all(p in html for p in flagged)
    leniency = set(pq.read_table(out / "leniency.parquet")["labeler_id"].to_pylist())
    assert leniency and leniency <= expected
    # a different salt gives different pseudonyms (the same salt gives the same: they are its HMACs, above)
    monkeypatch.setenv(SALT_ENV, "another salt")
    other = audit(store, tmp_path / "other", Config(), fail_on="never", redact_labelers=True, keep_history=False)
    assert not ({f.labeler_id for f in other.findings if f.labeler_id} & flagged)


def test_redactor_replaces_whole_ids_only_and_longest_first():
    r = Redactor(b"salt", ["L1", "L10", "a.b@x.org"])
    text = r.text("L10 beat L1 and a.b@x.org; XL1 and L1x are other words")
    assert "L10" not in text.split()[0] and text.split()[0] == pseudonym("L10", b"salt")
    assert pseudonym("L1", b"salt") in text and pseudonym("a.b@x.org", b"salt") in text
    assert "XL1" in text and "L1x" in text
    assert r.value({"L1": ["L10", 3]}) == {pseudonym("L1", b"salt"): [pseudonym("L10", b"salt"), 3]}


def test_cli_logs_plain_lines_off_a_terminal_and_nothing_with_quiet(store, tmp_path):
    loud = run_evalaudit("run", "--store", store, "--out", tmp_path / "a", "--fail-on", "never")
    assert loud.returncode == 0, loud.stderr
    assert "stage agreement: started" in loud.stderr and "evalaudit stage" in loud.stderr
    assert "\x1b[" not in loud.stderr, "no terminal control codes when not on a terminal"
    assert "findings:" in loud.stdout and "report:" in loud.stdout
    quiet = run_evalaudit("run", "--store", store, "--out", tmp_path / "b", "--fail-on", "never", "--quiet",
                          "--redact-labelers")
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert "findings:" in quiet.stdout
    assert "labeler ids redacted" in (tmp_path / "b" / "index.html").read_text()


def test_progress_display_on_a_terminal_drives_rich_bars():
    with progress_display(quiet=False, on_terminal=True) as progress:
        assert progress is not None
        for done in range(4):
            progress("labelers", done, 3)
    with progress_display(quiet=True, on_terminal=True) as progress:
        assert progress is None


def test_memory_limit_is_applied_and_a_bad_one_is_one_sentence(store, tmp_path):
    cfg = Config()
    cfg.run.memory_limit = "lots"
    with pytest.raises(UnusableInput, match="memory limit 'lots'"):
        audit(store, tmp_path / "out", cfg, fail_on="never", stages=LIGHT)
    cfg.run.memory_limit = "700MB"
    seen = {}

    def limit(ctx):
        seen["limit"] = ctx.engine.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
        return StageResult()

    audit(store, tmp_path / "out", cfg, fail_on="never", stages=[("limit", limit)])
    assert seen["limit"].replace(" ", "") in ("700.0MB", "667.5MiB", "700MB")
