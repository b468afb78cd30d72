"""Hostile input (docs/store.md, "Guarantees"): what a careless user or a failing disk does must never lose data or end
in exit 3.

A generated corpus of bad files, paths, configs and environments, each run through the real CLI on a real store,
asserting the exit code, the one sentence on stderr (naming the right culprit) and the store's row count and files
before and after. The kill, interrupt, disk-limit, permission and race cases run real subprocesses and are marked
``races`` (run by `make test-races`, which .ci/run calls); everything else runs in `make test`.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evalaudit.ingest import ingest_files
from tests.conftest import run_evalaudit, tree

HEADER = "item_id,labeler_id,label,labeled_at\n"


def export(n: int, start: int = 0, day: int = 1) -> str:
    """A labeling export of ``n`` judgments (3 labelers), as a tool would write it."""
    return HEADER + "".join(f"i{k},lab{k % 3},{'pass' if k % 4 else 'fail'},2024-05-{day:02d}T10:00:{k % 60:02d}Z\n"
                            for k in range(start, start + n))


def rows(store: Path) -> int:
    """Judgments stored (the number a user would lose), counting the files that can be read."""
    n = 0
    for p in (store / "labels").glob("*.parquet"):
        try:
            n += pq.ParquetFile(p).metadata.num_rows
        except pa.ArrowException:
            continue
    return n


def one_sentence(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    return lines[0]


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A store with 40 judgments in it, ingested once per module."""
    base = tmp_path_factory.mktemp("template")
    src = base / "first.csv"
    src.write_text(export(40))
    ingest_files(base / "store", [src])
    return base


@pytest.fixture
def filled(template: Path, tmp_path: Path) -> Path:
    """A copy of the template store (and its source file, first.csv) in this test's directory."""
    shutil.copy2(template / "first.csv", tmp_path / "first.csv")
    shutil.copytree(template / "store", tmp_path / "store")
    return tmp_path / "store"


def refused(cli, store: Path, args: list, *words: str, code: int = 2) -> str:
    """Run the CLI, assert the exit code, one sentence containing ``words``, and the store untouched."""
    before, n = tree(store), rows(store)
    got, _, err = cli(*args)
    line = one_sentence(err)
    assert got == code, (got, err)
    for w in words:
        assert w in line, (w, line)
    assert rows(store) == n and tree(store) == before
    return line


# -- 1. the store is never an output -------------------------------------------------------------------------------
@pytest.mark.parametrize("out, words", [
    ("{store}", ("is the store",)),
    ("{parent}", ("contains the store",)),
    ("{store}/labels/report", ("lies inside the store",)),
    ("{store}/quarantine", ("lies inside the store",)),
    ("{parent}/first.csv/report", ("which is a file",)),
    ("{parent}/first.csv", ("is a file",)),
])
def test_run_out_never_touches_a_store(cli, filled, out, words):
    path = out.format(store=filled, parent=filled.parent)
    refused(cli, filled, ["run", "--store", filled, "--out", path], "--out", *words)
    # refused before any work: no partial report, no history beside --out
    assert not [p for p in filled.parent.rglob("*") if ".partial-" in p.name or p.name == "history.parquet"]


def test_run_out_refuses_someone_elses_directory(cli, filled, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    refused(cli, filled, ["run", "--store", filled, "--out", mine], "not an earlier evalaudit report")
    assert (mine / "thesis.tex").read_text() == "years of work"


def test_run_out_refuses_a_directory_holding_another_store(cli, filled, tmp_path):
    other = tmp_path / "reports" / "deep" / "store2"
    ingest_files(other, [tmp_path / "first.csv"])
    refused(cli, filled, ["run", "--store", filled, "--out", tmp_path / "reports"], "contains the store")


@pytest.mark.parametrize("out, words", [
    ("{store}/queue.csv", ("lies inside the store",)),
    ("{store}", ("is a directory",)),
    ("{parent}/first.csv/q.csv", ("which is a file",)),
])
def test_relabel_out_never_touches_a_store(cli, filled, out, words):
    refused(cli, filled, ["relabel", "--store", filled, "--out", out.format(store=filled, parent=filled.parent)],
            "--out", *words)


def test_demo_refuses_a_store_with_data(cli, filled):
    refused(cli, filled, ["demo", "--store", filled, "--judgments", "1000"], "already holds data")


def test_empty_store_argument_is_refused(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.csv").write_text(export(3))
    for args in (["ingest", "a.csv", "--store", ""], ["run", "--store", "", "--out", "r"],
                 ["run", "--store", "s", "--out", ""]):
        code, _, err = cli(*args)
        assert code == 2 and "is empty" in one_sentence(err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]


# -- 2. idempotent per judgment --------------------------------------------------------------------------------------
def test_cumulative_exports_add_only_what_is_new(cli, tmp_path, store):
    day1, day2 = tmp_path / "day1.csv", tmp_path / "day2.csv"
    day1.write_text(export(30))
    day2.write_text(export(30) + export(12, start=30).removeprefix(HEADER))  # all to date, 12 new
    assert cli("ingest", day1, "--store", store)[0] == 0
    code, out, err = cli("ingest", day2, "--store", store)
    assert code == 0, err
    assert rows(store) == 42
    assert "added 12 rows" in out and "30 × set aside: the same judgment is already in the store" in out
    # the same judgments under another file name (another sha256) still add nothing
    (tmp_path / "day2-copy.csv").write_text(day2.read_text().replace("\n", "\r\n"))
    code, out, _ = cli("ingest", tmp_path / "day2-copy.csv", "--store", store)
    assert code == 0 and rows(store) == 42 and "added 0 rows" in out


def test_a_cumulative_export_with_repeats_inside_keeps_each_new_judgment_once(tmp_path, store):
    """Both kinds at once: the store's judgments and the file's own repeats set aside, the new ones kept once, in
    file order (the kept rows are listed, not the many set aside: evalaudit.ingest.dedupe)."""
    day1, day2 = tmp_path / "day1.csv", tmp_path / "day2.csv"
    day1.write_text(export(30))
    new = export(12, start=30).removeprefix(HEADER)
    day2.write_text(export(30) + new + "".join(new.splitlines(keepends=True)[:3]))  # 3 new ones twice
    ingest_files(store, [day1])
    ((result,)) = ingest_files(store, [day2])
    assert (result.rows_added, result.rows_duplicate_in_file, result.rows_duplicate_stored) == (12, 3, 30)
    assert rows(store) == 42
    (added,) = [t for t in map(pq.read_table, (store / "labels").glob("*.parquet")) if t.num_rows == 12]
    assert added.column("source_row").to_pylist() == list(range(30, 42))  # first occurrences, in file order


def test_duplicates_inside_a_file_are_stored_once_and_counted(cli, tmp_path, store):
    body = export(10).removeprefix(HEADER)
    src = tmp_path / "dup.csv"
    src.write_text(HEADER + body + body + "i0,lab0,fail,\n" + "i0,lab0,fail,\n")  # nulls compare equal
    ((result,)) = ingest_files(store, [src])
    assert (result.rows_added, result.rows_duplicate_in_file, result.rows_duplicate_stored) in ((10, 10, 0),
                                                                                                  (11, 11, 0))
    assert rows(store) == result.rows_added
    kept = pq.read_table(next((store / "labels").glob("*.parquet"))).column("source_row").to_pylist()
    assert kept == sorted(kept) and kept[:10] == list(range(10))  # first occurrences, in file order
    manifest = json.loads(next((store / "manifest" / "labels").glob("*.json")).read_text())
    assert manifest["rows_duplicate_in_file"] == result.rows_duplicate_in_file


def test_a_judgment_differing_in_one_key_column_is_new(tmp_path, store):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text(HEADER + "i1,x,pass,2024-05-01T10:00:00Z\n")
    b.write_text(HEADER + "i1,x,pass,2024-05-01T10:00:01Z\ni1,x,fail,2024-05-01T10:00:00Z\n"
                 "i1,x,pass,2024-05-01T12:00:00+02:00\n")  # the last is the same instant as a's row
    ingest_files(store, [a])
    (r,) = ingest_files(store, [b])
    assert (r.rows_added, r.rows_duplicate_stored) == (2, 1) and rows(store) == 3


# -- 3. only regular files are read ----------------------------------------------------------------------------------
def _fifo(tmp: Path) -> Path:
    os.mkfifo(tmp / "fifo.csv")
    return tmp / "fifo.csv"


def _loop(tmp: Path) -> Path:
    (tmp / "l1.csv").symlink_to(tmp / "l2.csv")
    (tmp / "l2.csv").symlink_to(tmp / "l1.csv")
    return tmp / "l1.csv"


@pytest.mark.parametrize("make, words", [
    (_fifo, ("named pipe",)),
    (lambda tmp: Path("/dev/zero"), ("device",)),
    (lambda tmp: Path("/dev/null"), ("device",)),
    (_loop, ("loops",)),
    (lambda tmp: tmp / "missing.csv", ("no such file",)),
])
def test_inputs_must_be_regular_files(cli, filled, tmp_path, make, words):
    path = make(tmp_path)
    refused(cli, filled, ["ingest", path, "--store", filled, "--format", "csv"], str(path), *words)
    refused(cli, filled, ["check", path, "--store", filled], str(path), *words)


def test_a_fifo_inside_an_input_directory_is_skipped(cli, filled, tmp_path):
    d = tmp_path / "exports"
    d.mkdir()
    os.mkfifo(d / "pipe.csv")
    (d / "new.csv").write_text(export(5, start=100))
    code, _, err = cli("ingest", d, "--store", filled)
    assert code == 0, err and rows(filled) == 45


# -- 4. timestamps, column names, malformed CSV ---------------------------------------------------------------------
@pytest.mark.parametrize("value, reason", [
    ("epoch", "is not a timestamp"),
    ("now", "is not a timestamp"),
    ("infinity", "is not a timestamp"),
    ("20240501", "is ambiguous"),
    ("12", "is ambiguous"),
    ("2024-05-01T10:00:00+25:00", "impossible UTC offset"),
    ("2024-05-01T10:00:00-14:30", "impossible UTC offset"),
    ("1714557600000", "outside 1970-2100"),
    ("01/05/2024", "is not a timestamp"),
])
def test_ambiguous_timestamps_go_to_quarantine(tmp_path, store, value, reason):
    src = tmp_path / "t.csv"
    src.write_text(HEADER + f"i1,a,pass,{value}\ni2,a,pass,2024-05-01T10:00:00+14:00\ni3,a,pass,1714557600\n")
    (r,) = ingest_files(store, [src])
    assert (r.rows_added, r.rows_quarantined) == (2, 1)
    q = pq.read_table(r.quarantine_file).to_pylist()[0]
    assert reason in q["reason"] and value in q["reason"] and q["source_row"] == 0


def _dup_parquet(tmp: Path) -> Path:
    t = pa.Table.from_arrays([pa.array(["i1"]), pa.array(["a"]), pa.array(["pass"]), pa.array(["fail"]),
                              pa.array(["2024-05-01"])], names=["item_id", "labeler_id", "label", "label",
                                                                "labeled_at"])
    pq.write_table(t, tmp / "two-labels.parquet")
    return tmp / "two-labels.parquet"


def _write(name: str, text: str) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        (tmp / name).write_text(text)
        return tmp / name

    return make


@pytest.mark.parametrize("make, words", [
    (_dup_parquet, ("'label' more than once",)),
    (_write("blank.csv", "item_id,,labeler_id,label,labeled_at,\ni1,x,a,pass,2024-05-01,y\n"),
     ("(blank) more than once",)),
    (_write("row.csv", HEADER.strip() + ",__row\ni1,a,pass,2024-05-01,7\n"), ("__row", "reserves")),
    (_write("prov.jsonl", '{"item_id": "i1", "labeler_id": "a", "label": "pass", "labeled_at": "2024-05-01", '
                          '"source_file": "/etc/passwd"}\n'), ("source_file", "reserves")),
    (_write("deep.json", "[" * 100_000 + "]" * 100_000), ("nested too deeply",)),
    (_write("empty.csv", ""), ("empty CSV",)),
])
def test_unusable_columns_and_structures_are_refused(cli, filled, tmp_path, make, words):
    path = make(tmp_path)
    refused(cli, filled, ["ingest", path, "--store", filled], str(path), *words)


def test_deeply_nested_json_line_quarantines_that_line(tmp_path, store):
    src = tmp_path / "deep.jsonl"
    ok = '{"item_id": "i1", "labeler_id": "a", "label": "pass", "labeled_at": "2024-05-01"}\n'
    src.write_text(ok + '{"x": ' + "[" * 100_000 + "]" * 100_000 + "}\n" + ok.replace("i1", "i2"))
    (r,) = ingest_files(store, [src])
    assert (r.rows_added, r.rows_quarantined) == (2, 1)
    assert "nested too deeply" in pq.read_table(r.quarantine_file).column("reason")[0].as_py()


def test_an_unclosed_quote_quarantines_its_record_alone_and_parsing_resumes(tmp_path, store):
    lines = [f"i{k},a,pass,2024-05-01T10:00:{k % 60:02d}Z" for k in range(100)]
    lines[3] = 'i3,a,"pass,2024-05-01T10:00:03Z'
    src = tmp_path / "quote.csv"
    src.write_text(HEADER + "\n".join(lines) + "\n")
    (r,) = ingest_files(store, [src])
    assert (r.rows_added, r.rows_quarantined) == (99, 1)
    (q,) = pq.read_table(r.quarantine_file).to_pylist()
    assert q["source_row"] == 3 and q["raw"] == lines[3] and "never closed" in q["reason"]
    stored = pq.read_table(next((store / "labels").glob("*.parquet"))).column("source_row").to_pylist()
    assert stored == [k for k in range(100) if k != 3]


def test_a_label_studio_export_of_one_task_object(cli, tmp_path, store):
    task = {"id": 7, "data": {"item_id": "q7"}, "annotations": [
        {"completed_by": {"email": "a@x"}, "result": [{"type": "choices", "value": {"choices": ["pass"]}}],
         "created_at": "2024-05-01T10:00:00Z"}]}
    src = tmp_path / "task.json"
    src.write_text(json.dumps(task, indent=2))
    code, out, err = cli("ingest", src, "--store", store)
    assert code == 0, err
    assert "added 1 rows" in out and rows(store) == 1


# -- 5. config and environment ----------------------------------------------------------------------------------------
BAD_CONFIG = {
    "[labels]\nvalues = [1, 2]": "[labels] values must be a list of strings",
    "[labels]\npositive = 1": "[labels] positive must be a string",
    "[gold]\ncurrent_guideline = 5": "[gold] current_guideline must be a string",
    "[gold]\nas_of = 'tomorrow'": "[gold] as_of must be an ISO 8601 date",
    "[gold]\nmax_age_days = -1": "[gold] max_age_days must not be negative",
    "[agreement]\nbootstrap = -5": "[agreement] bootstrap must be greater than 0",
    "[agreement]\nmin_items = -3": "[agreement] min_items must be greater than 0",
    "[agreement]\nconfidence = 1.5": "[agreement] confidence must lie strictly between 0 and 1",
    "[run]\nseed = -1": "[run] seed must lie between 0",
    "[run]\nmemory_limit = '1KB'": "[run] memory_limit = '1KB' is too small",
    "[run]\nmemory_limit = '-1GB'": "[run] memory_limit must be a size",
    "[leniency]\nq_high = -0.1": "[leniency] q_high is a q-value cut-off",
    "[leniency]\nds_max_iter = -1": "[leniency] ds_max_iter must be greater than 0",
    "[leniency]\nds_prior_strength = -2": "[leniency] ds_prior_strength must not be negative",
    "[coverage]\npsi_high = -1": "[coverage] psi_high must not be negative",
    "[spam]\nmin_items = 'many'": "[spam] min_items must be a whole number",
    "[contracts]\nmin_overlap = 2": "[contracts] min_overlap is a share",
    "[bogus]\nx = 1": "unknown section [bogus]",
    "[labels]\nlevel = 'cardinal'": "[labels] level must be one of",
    "[labels\n": "not valid TOML",
}


@pytest.mark.parametrize("text", list(BAD_CONFIG))
def test_bad_config_values_exit_2_naming_the_key(cli, filled, tmp_path, text):
    cfg = tmp_path / "evalaudit.toml"
    cfg.write_text(text + "\n")
    refused(cli, filled, ["run", "--store", filled, "--out", tmp_path / "r", "--config", cfg], str(cfg),
            BAD_CONFIG[text])
    assert not (tmp_path / "r").exists()


def test_every_config_problem_is_listed_at_once(cli, filled, tmp_path):
    cfg = tmp_path / "evalaudit.toml"
    cfg.write_text("[agreement]\nbootstrap = -5\nmin_items = -1\n[run]\nseed = -1\n[typo]\n")
    line = refused(cli, filled, ["run", "--store", filled, "--out", tmp_path / "r", "--config", cfg], "4 problems")
    for key in ("bootstrap", "min_items", "seed", "[typo]"):
        assert key in line


def test_toml_dates_are_accepted_where_a_date_is_meant(tmp_path):
    from evalaudit import config

    cfg = tmp_path / "evalaudit.toml"
    cfg.write_text("[gold]\nas_of = 2024-06-01\n[contracts]\nwindow_start = 2024-05-01T00:00:00Z\n")
    loaded = config.load(cfg)
    assert loaded.gold.as_of == "2024-06-01" and loaded.contracts.window_start == "2024-05-01T00:00:00+00:00"


@pytest.mark.parametrize("env, words", [
    ({"EVALAUDIT_THREADS": "abc"}, "EVALAUDIT_THREADS must be a whole number"),
    ({"EVALAUDIT_THREADS": "-2"}, "EVALAUDIT_THREADS must be a whole number"),
    ({"EVALAUDIT_MEMORY_LIMIT": "lots"}, "EVALAUDIT_MEMORY_LIMIT must be a size"),
    ({"EVALAUDIT_MEMORY_LIMIT": "1KB"}, "EVALAUDIT_MEMORY_LIMIT = '1KB' is too small"),
])
def test_bad_environment_exits_2(cli, filled, tmp_path, monkeypatch, env, words):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    refused(cli, filled, ["run", "--store", filled, "--out", tmp_path / "r"], words)


# -- 6. the store's own damage names the store ---------------------------------------------------------------
def test_stray_and_truncated_parquet_files_in_the_store(cli, filled, tmp_path):
    stray = filled / "labels" / "report.parquet"
    pq.write_table(pa.table({"x": [1]}), stray)
    refused(cli, filled, ["run", "--store", filled, "--out", tmp_path / "r"], str(stray), "did not write", "(store)")
    stray.unlink()
    data = next((filled / "labels").glob("src-*.parquet"))
    whole = data.read_bytes()
    data.write_bytes(whole[: len(whole) // 2])
    refused(cli, filled, ["run", "--store", filled, "--out", tmp_path / "r"], str(data), "damaged", "(store)")
    refused(cli, filled, ["ingest", tmp_path / "first.csv", "--store", filled], "damaged", "(store)")
    data.write_bytes(whole)


def test_lock_that_is_a_directory(cli, filled, tmp_path):
    (filled / ".lock").unlink(missing_ok=True)
    (filled / ".lock").mkdir()
    (tmp_path / "new.csv").write_text(export(5, start=500))
    refused(cli, filled, ["ingest", tmp_path / "new.csv", "--store", filled], ".lock", "is a directory", "(store)")


def test_damaged_history_is_refused_before_work_and_kept(cli, filled, tmp_path):
    hist = tmp_path / "reports" / "history.parquet"
    hist.parent.mkdir()
    hist.write_bytes(b"PAR1 not really")
    refused(cli, filled, ["run", "--store", filled, "--out", tmp_path / "reports" / "weekly"], str(hist),
            "cannot be read")
    assert hist.read_bytes() == b"PAR1 not really"


def test_staging_left_by_a_killed_ingest_is_cleaned_by_the_next_writer(cli, filled, tmp_path):
    leftover = filled / ".staging" / "deadbeef" / "0"
    leftover.mkdir(parents=True)
    (leftover / "labels.parquet").write_bytes(b"half a file")
    (tmp_path / "new.csv").write_text(export(5, start=500))
    assert cli("ingest", tmp_path / "new.csv", "--store", filled)[0] == 0
    assert list((filled / ".staging").iterdir()) == [] and rows(filled) == 45


# -- signals, disk limits, permissions, races (real subprocesses) ------------------------------------------------
def _limited(limit: int) -> Callable[[], None]:
    def apply() -> None:  # a file-size cap makes every write beyond it fail with EFBIG, like a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.mark.races
def test_a_full_store_disk_blames_the_store_not_the_input(filled, tmp_path):
    big = tmp_path / "big.csv"
    big.write_text(export(60_000, start=1000))
    before, n = tree(filled), rows(filled)
    p = subprocess.run([sys.executable, "-m", "evalaudit.cli", "ingest", str(big), "--store", str(filled)],
                       capture_output=True, text=True, preexec_fn=_limited(20_000), timeout=300)
    line = one_sentence(p.stderr)
    assert p.returncode == 2 and "(store)" in line and "big.csv: cannot be read" not in line, p.stderr
    assert rows(filled) == n and tree(filled) == before


@pytest.mark.races
def test_a_full_output_disk_blames_the_output(filled, tmp_path):
    p = subprocess.run([sys.executable, "-m", "evalaudit.cli", "run", "--store", str(filled), "--out",
                        str(tmp_path / "rep"), "--quiet"], capture_output=True, text=True,
                       preexec_fn=_limited(20_000), timeout=600)
    line = one_sentence(p.stderr)
    assert p.returncode == 2 and "(output" in line, p.stderr
    assert not (tmp_path / "rep").exists()
    assert not [x for x in tmp_path.iterdir() if ".partial-" in x.name]


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs Linux sysfs, where no one may create a directory")
def test_a_store_on_a_file_system_that_refuses_writes(cli, tmp_path):
    """sysfs refuses mkdir even to root: the kernel's real refusal, like a read-only mount or a missing permission."""
    (tmp_path / "new.csv").write_text(export(5))
    code, _, err = cli("ingest", tmp_path / "new.csv", "--store", "/sys/evalaudit-store")
    line = one_sentence(err)
    assert code == 2 and "(store" in line and "/sys/evalaudit-store" in line and "new.csv" not in line, line
    assert not Path("/sys/evalaudit-store").exists()


_SLOW_INGEST = ("import sys, time, evalaudit.ingest as ing\n"
                "orig = ing.stage_file\n"
                "def slow(*a, **k):\n"
                "    print('staging', flush=True); time.sleep(30); return orig(*a, **k)\n"
                "ing.stage_file = slow\n"
                "sys.argv = ['evalaudit', 'ingest', sys.argv[1], '--store', sys.argv[2]]\n"
                "from evalaudit.cli import main; main()\n")


@pytest.mark.races
@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGKILL, -9)])
def test_interrupt_or_kill_during_ingest_leaves_the_store_as_it_was(filled, tmp_path, sig, code):
    new = tmp_path / "new.csv"
    new.write_text(export(20, start=300))
    before, n = tree(filled), rows(filled)
    # SIGINT as a terminal delivers it: a shell without job control starts background commands with SIGINT
    # ignored (`make test-races &`), and the child would inherit that and never see the signal
    p = subprocess.Popen([sys.executable, "-c", _SLOW_INGEST, str(new), str(filled)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert p.stdout.readline().strip() == "staging"
    p.send_signal(sig)
    _, err = p.communicate(timeout=60)
    assert p.returncode == code, err
    if sig == signal.SIGINT:
        assert "interrupted" in one_sentence(err)
    assert rows(filled) == n
    assert {k: v for k, v in tree(filled).items() if not k.startswith(".staging")} == before
    # the next writer cleans whatever the killed one left, and ingests the file whole
    again = run_evalaudit("ingest", new, "--store", filled)
    assert again.returncode == 0, again.stderr
    assert rows(filled) == n + 20 and list((filled / ".staging").iterdir()) == []


@pytest.mark.races
def test_concurrent_cumulative_ingests_store_each_judgment_once(filled, tmp_path):
    exports = []
    for k in range(4):  # four cumulative exports, each a superset of the store's 40 and of each other's first part
        p = tmp_path / f"cum{k}.csv"
        p.write_text(export(40 + 10 * (k + 1)))
        exports.append(p)
    procs = [subprocess.Popen([sys.executable, "-m", "evalaudit.cli", "ingest", str(p), "--store", str(filled)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for p in exports]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    assert all(code == 0 for code, _ in results), results
    keys = pq.ParquetDataset(sorted((filled / "labels").glob("*.parquet"))).read(
        columns=["item_id", "labeler_id", "label", "labeled_at"]).to_pylist()
    assert len(keys) == 80 == len({tuple(k.values()) for k in keys})
