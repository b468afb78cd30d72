"""The marimo notebooks (docs/notebooks.md): each runs headless against a real demo store without a cell error (`marimo
export html`, which exits 1 when a cell fails — checked on a broken store too, so the test can fail), runs as a
script, and reacts to its controls: a UI element's value is set through marimo's `App.run(defs=...)` (the cell
defining the element is replaced by one holding the chosen value) and the outputs downstream are checked against
the store and the library.
"""

from __future__ import annotations

import csv
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import duckdb
import marimo as mo
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalaudit import gold
from evalaudit import notebooks as nb
from evalaudit.demo_store import write_demo
from evalaudit.notebook_files import NOTEBOOKS as NAMES
from evalaudit.notebook_files import marimo_argv
from evalaudit.relabel import has_flag
from evalaudit.store import Store
from tests.conftest import ROOT

NOTEBOOKS = ROOT / "notebooks"
MARIMO = [sys.executable, "-m", "marimo"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 50k-judgment demo store (planted faults included) and two batch files: one that passes the contract
    (recent judgments of known labelers re-keyed to new items) and one that violates it."""
    root = tmp_path_factory.mktemp("notebooks")
    store = root / "store"
    write_demo(store, seed=0, n_judgments=50_000)
    ok, bad = root / "batch_ok.csv", root / "batch_bad.csv"
    files = [str(f) for f in Store.open(store).files("labels")]
    rows = duckdb.connect().sql(
        "SELECT 'new-' || item_id AS item_id, labeler_id, label, failure_mode, CAST(labeled_at AS VARCHAR) AS "
        "labeled_at, batch_id, vendor, guideline_version, duration_s FROM read_parquet($f) "
        "WHERE labeled_at >= TIMESTAMP '2026-09-01' ORDER BY labeled_at, item_id, labeler_id", params={"f": files}
    ).to_arrow_table().to_pylist()
    assert len(rows) > 500
    for path, data in ((ok, rows), (bad, rows[:200])):
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(data)
    with open(bad, "a", newline="", encoding="utf-8") as f:
        csv.writer(f).writerow(["new-x1", "nobody-999", "maybe", "hallucination", "2026-10-01 00:00:00+00",
                                "", "", "", ""])
    return {"root": root, "store": store, "ok": ok, "bad": bad}


@pytest.fixture(scope="module")
def audit(demo: dict[str, Path]) -> nb.Audit:
    return nb.load_audit(demo["store"])


def app_of(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"notebook_{name}", NOTEBOOKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def run(name: str, audit: nb.Audit | None = None, **defs: Any) -> dict[str, Any]:
    """Run notebook ``name`` as marimo runs a script, with the given definitions replacing their cells' (the
    loaded audit, and UI elements holding chosen values); returns the notebook's definitions."""
    if audit is not None:
        defs = {"audit": audit, "con": audit.engine.con, **defs}
    _, out = app_of(name).run(defs=defs)
    return dict(out)


# -- headless runs -------------------------------------------------------------------------------------------------
def test_every_notebook_exports_and_runs_as_a_script_without_a_cell_error(demo: dict[str, Path]) -> None:
    out = demo["root"] / "html"
    out.mkdir(exist_ok=True)
    extra = {"batch_gate": ["--batch", str(demo["bad"])]}
    procs = {
        name: subprocess.Popen([*MARIMO, "export", "html", str(NOTEBOOKS / f"{name}.py"), "-o",
                                str(out / f"{name}.html"), "--", "--store", str(demo["store"]), *extra.get(name, [])],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name in NAMES
    }
    # a cell error must fail the export (the store does not exist: the load cell raises)
    procs["broken"] = subprocess.Popen([*MARIMO, "export", "html", str(NOTEBOOKS / "audit.py"), "-o",
                                        str(out / "broken.html"), "--", "--store", str(demo["root"] / "missing")],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    procs["script"] = subprocess.Popen([sys.executable, str(NOTEBOOKS / "labeler.py"), "--store", str(demo["store"]),
                                        "--labeler", "acme-120"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       text=True)
    done = {name: (p.wait(timeout=300), p.stderr.read()) for name, p in procs.items()}
    for name in NAMES:
        rc, err = done[name]
        assert rc == 0, f"{name}: {err[:3000]}"
        page = (out / f"{name}.html").read_text(encoding="utf-8")
        assert "marimo" in page and len(page) > 10_000
    assert done["broken"][0] != 0
    assert done["script"][0] == 0, done["script"][1][-2000:]


def test_marimo_check_passes_on_every_notebook() -> None:
    r = subprocess.run([*MARIMO, "check", "--strict", *[str(NOTEBOOKS / f"{n}.py") for n in NAMES]],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


# -- audit.py ------------------------------------------------------------------------------------------------------
def test_audit_choosing_a_failure_mode_updates_everything_below(audit: nb.Audit, demo: dict[str, Path]) -> None:
    fm = "hallucination"
    base = run("audit", audit)
    assert base["failure_mode"] is None and base["findings_shown"].num_rows == len(audit.findings)
    chosen = run("audit", audit, fm_choice=mo.ui.dropdown([fm], value=fm),
                 labeler_choice=mo.ui.dropdown([nb.ALL], value=nb.ALL))
    assert chosen["failure_mode"] == fm
    # findings: only those naming the failure mode, and there is at least one (the planted leniency)
    kinds = chosen["findings_shown"]
    assert 0 < kinds.num_rows < base["findings_shown"].num_rows
    assert set(kinds["failure_mode"].to_pylist()) == {fm}
    # the SQL cell counts the failure mode's judgments, as the store holds them
    files = [str(f) for f in Store.open(demo["store"]).files("labels")]
    n_fm = duckdb.connect().execute("SELECT COUNT(*) FROM read_parquet($f) WHERE failure_mode = $fm",
                                    {"f": files, "fm": fm}).fetchall()[0][0]
    assert int(chosen["weekly_judgments"]["judgments"].sum()) == n_fm
    assert int(base["weekly_judgments"]["judgments"].sum()) == audit.summary["store"]["n_judgments"]
    # agreement over time is the agreement stage run on that failure mode's judgments: its windows differ
    a_all, a_fm = base["agreement_series"], chosen["agreement_series"]
    assert a_fm.num_rows > 0
    assert pc.sum(a_fm["n_labels"]).as_py() == n_fm
    assert pc.sum(a_fm["n_labels"]).as_py() < pc.sum(a_all["n_labels"]).as_py()


def test_audit_choosing_a_labeler_narrows_map_and_findings(audit: nb.Audit) -> None:
    lab = "acme-120"
    out = run("audit", audit, fm_choice=mo.ui.dropdown([nb.ALL], value=nb.ALL),
              labeler_choice=mo.ui.dropdown([lab], value=lab))
    assert out["map_labelers"] == [lab]
    assert out["findings_shown"].num_rows > 0
    assert set(out["findings_shown"]["labeler_id"].to_pylist()) == {lab}
    n_lab = sum(r[0] for r in audit.engine.con.execute(
        "SELECT COUNT(*) FROM labels WHERE labeler_id = $l", {"l": lab}).fetchall())
    assert int(out["weekly_judgments"]["judgments"].sum()) == n_lab


def test_audit_judges_panel_shows_each_model_judge_against_the_people(audit: nb.Audit) -> None:
    judges = audit.tables["judges"]
    base = run("audit", audit)["judges_shown"]
    assert set(base["judge_id"].to_pylist()) == set(judges["judge_id"].to_pylist()) == {"llm-judge@2026-05",
                                                                                        "llm-judge@2026-08"}
    assert set(base["failure_mode"].to_pylist()) == {"all"}
    out = run("audit", audit, fm_choice=mo.ui.dropdown(["refusal"], value="refusal"),
              labeler_choice=mo.ui.dropdown([nb.ALL], value=nb.ALL))["judges_shown"]
    rows = {r["judge_id"]: r for r in out.to_pylist()}
    assert set(out["failure_mode"].to_pylist()) == {"refusal"}
    newer = rows["llm-judge@2026-08"]
    assert newer["previous_version"] == "2026-05"
    assert newer["kappa_change"] == pytest.approx(newer["kappa"] - rows["llm-judge@2026-05"]["kappa"])
    assert newer["kappa_ci_low"] <= newer["kappa"] <= newer["kappa_ci_high"]


# -- labeler.py ----------------------------------------------------------------------------------------------------
def test_labeler_notebook_follows_the_chosen_labeler(audit: nb.Audit) -> None:
    a = run("labeler", audit, labeler_choice=mo.ui.dropdown(["acme-120"], value="acme-120"))
    b = run("labeler", audit, labeler_choice=mo.ui.dropdown(["crowdly-181"], value="crowdly-181"))
    for out, lab in ((a, "acme-120"), (b, "crowdly-181")):
        p = out["profile"]
        assert p.labeler_id == lab
        assert set(p.leniency["failure_mode"].to_pylist()) <= set(audit.failure_modes())
        assert p.overall["n_judgments"] == audit.engine.con.execute(
            "SELECT COUNT(*) FROM labels WHERE labeler_id = $l", {"l": lab}).fetchall()[0][0]
        d = out["labeler_disagreements"]
        assert d.height > 0 and all(x != y for x, y in zip(d["label"], d["consensus_label"], strict=True))
    assert "labeler_leniency" in a["profile"].findings["kind"].to_pylist()
    assert "labeler_spam" in b["profile"].findings["kind"].to_pylist()
    # the drift chart follows its own failure-mode choice
    p = a["profile"]
    other = next(fm for fm in p.failure_modes if fm != p.default_failure_mode)
    c = run("labeler", audit, labeler_choice=mo.ui.dropdown(["acme-120"], value="acme-120"),
            drift_fm_choice=mo.ui.dropdown([other], value=other))
    assert set(c["drift_weeks"]["failure_mode"].to_pylist()) == {other}
    assert set(a["drift_weeks"]["failure_mode"].to_pylist()) == {p.default_failure_mode}


# -- items.py ------------------------------------------------------------------------------------------------------
def _overall(impact) -> dict[str, dict]:
    return {r["model_version"]: r for r in nb.where(impact, failure_mode="all").to_pylist()}


def gold_form(audit: nb.Audit, **values: Any) -> SimpleNamespace:
    """The gold form as submitted with ``values`` (the rest at the run's defaults)."""
    return SimpleNamespace(value={**nb.gold_defaults(audit), **values})


def test_items_default_is_the_runs_gold_and_impact(audit: nb.Audit) -> None:
    out = run("items", audit)
    assert out["gold_form"].value is None  # not submitted: the run's own gold, not recomputed
    assert out["gold"] is audit.ctx
    assert out["excluded"] == gold.triples(audit.tables["flagged_labelers"])
    assert run("items", audit, gold_form=gold_form(audit))["gold"] is audit.ctx  # submitted unchanged: same
    q = out["relabel"]
    assert q.num_rows == 100
    assert q["relabel_priority"].to_pylist() == sorted(q["relabel_priority"].to_pylist())


def test_items_scores_recompute_live_when_labelers_are_kept_or_excluded(audit: nb.Audit) -> None:
    flagged = nb.flagged_labeler_ids(audit)
    assert flagged
    spared = run("items", audit, gold_form=gold_form(audit, spare=flagged))
    assert spared["excluded"] == []
    # nobody set aside: the audited gold is today's gold, so every score is unchanged
    for r in spared["impact_table"].to_pylist():
        assert r["n_gold_changed"] == 0 and r["delta"] == pytest.approx(0.0)
    busiest = audit.engine.con.execute(
        "SELECT labeler_id FROM labels GROUP BY labeler_id ORDER BY COUNT(*) DESC, labeler_id LIMIT 1").fetchall()[0][0]
    more = run("items", audit, gold_form=gold_form(audit, exclude=[busiest]))
    assert (busiest, None, None) in more["excluded"]
    base, moved = _overall(audit.tables["impact"]), _overall(more["impact_table"])
    assert base.keys() == moved.keys()
    assert any(moved[v]["n_gold_changed"] > base[v]["n_gold_changed"] for v in base)
    assert all(moved[v]["score_current"] == pytest.approx(base[v]["score_current"]) for v in base)
    assert any(moved[v]["score_audited"] != pytest.approx(base[v]["score_audited"]) for v in base)


def test_items_threshold_moves_the_flags(audit: nb.Audit) -> None:
    low = run("items", audit, gold_form=gold_form(audit, posterior=0.5))

    def contradicted(t) -> int:
        return sum("gold_disagrees_with_consensus" in (f or []) for f in t["flags"].to_pylist())

    assert contradicted(low["gold_items"]) > contradicted(audit.tables["items"])


def test_items_filters_and_queue(audit: nb.Audit) -> None:
    out = run("items", audit, flag_choice=mo.ui.multiselect(list(nb.flag_names()), value=["single_label"]),
              items_fm_choice=mo.ui.dropdown(["hallucination"], value="hallucination"),
              items_labeler_choice=mo.ui.dropdown(["acme-120"], value="acme-120"),
              top_slider=mo.ui.slider(1, 20, value=7))
    shown = out["items_shown"]
    assert 0 < shown.num_rows < audit.tables["items"].num_rows
    assert set(shown["failure_mode"].to_pylist()) == {"hallucination"}
    assert all("single_label" in f for f in shown["flags"].to_pylist())
    judged = {r[0] for r in audit.engine.con.execute(
        "SELECT DISTINCT item_id FROM labels WHERE labeler_id = 'acme-120'").fetchall()}
    assert set(shown["item_id"].to_pylist()) <= judged
    assert out["relabel"].num_rows == min(7, shown.num_rows)


# -- batch_gate.py -------------------------------------------------------------------------------------------------
def _batch_defs(path: Path) -> dict[str, Any]:
    return {"batch_browser": mo.ui.file_browser(initial_path=str(path.parent)),
            "batch_text": mo.ui.text(value=str(path))}


def test_batch_gate_lists_each_failed_expectation_with_rows(demo: dict[str, Path]) -> None:
    out = run("batch_gate", store_dir=str(demo["store"]), config_path=None, **_batch_defs(demo["bad"]))
    result = out["check_result"]
    assert result.status == "failed"
    failed = {r.expectation: r for r in result.failed}
    assert "label_in_allowed_values" in failed
    rows = [ex.get("row") for ex in failed["label_in_allowed_values"].examples]
    assert rows == [200]  # the appended row, numbered from 0
    assert out["expectations"].num_rows == len(result.results)
    assert out["promoted"] is None


def test_batch_gate_compares_with_history_and_promotes_a_passing_batch(demo: dict[str, Path]) -> None:
    store = demo["root"] / "promote_store"
    shutil.copytree(demo["store"], store)
    before = Store.open(store).engine().con.execute("SELECT COUNT(*) FROM labels").fetchall()[0][0]
    defs = {"store_dir": str(store), "config_path": None, **_batch_defs(demo["ok"])}
    out = run("batch_gate", **defs)
    assert out["check_result"].status == "passed"
    assert out["labeler_shift"].num_rows > 0  # batch rates against the labelers' own history
    beside = out["history_table"]  # the relative verdicts, batch value beside the history's, intervals and sizes
    assert "agreement_vs_history" in beside["check"].to_pylist()
    assert all(v is not None for v in beside["history_interval"].to_pylist() + beside["n_history"].to_pylist())
    assert out["batch_volume"].height > 0
    assert out["promoted"] is None  # nothing is written until the button is pressed
    assert Store.open(store).engine().con.execute("SELECT COUNT(*) FROM labels").fetchall()[0][0] == before
    pressed = run("batch_gate", promote_button=SimpleNamespace(value=True), **defs)
    promoted = pressed["promoted"]
    assert promoted.promoted and promoted.rows_added == out["check_result"].n_rows
    after = Store.open(store).engine().con.execute("SELECT COUNT(*) FROM labels").fetchall()[0][0]
    assert after == before + promoted.rows_added
    assert run("batch_gate", **defs)["check_result"].status == "already_in_store"


# -- helpers and the command ---------------------------------------------------------------------------------------
def test_cli_value_reads_marimo_args_then_argv() -> None:
    assert nb.cli_value({"store": "a"}, "store", "d", argv=["--store", "b"]) == "a"
    assert nb.cli_value({}, "store", "d", argv=["x", "--store", "b"]) == "b"
    assert nb.cli_value(None, "store", "d", argv=["--store=c"]) == "c"
    assert nb.cli_value(None, "store", "d", argv=[]) == "d"


def test_notebook_command(cli, demo: dict[str, Path], tmp_path: Path) -> None:
    argv = marimo_argv("labeler", demo["store"], edit=True)
    assert argv[1:4] == ["-m", "marimo", "edit"] and argv[4] == str(NOTEBOOKS / "labeler.py")
    assert argv[-2:] == ["--store", str(demo["store"])]
    assert marimo_argv("audit", demo["store"])[3] == "run"
    code, _, err = cli("notebook", "audit", "--store", tmp_path / "nope")
    assert code == 2 and "no such store" in err
    code, _, err = cli("notebook", "nonesuch", "--store", demo["store"])
    assert code == 2
    # --export: marimo's headless export of the notebook (exit 0), 1 when a cell failed, 2 for unusable input
    argv = marimo_argv("items", demo["store"], config=tmp_path / "c.toml", export=tmp_path / "items.html")
    assert argv[3:9] == ["export", "html", str(NOTEBOOKS / "items.py"), "-o", str(tmp_path / "items.html"), "-f"]
    assert argv[-4:] == ["--store", str(demo["store"]), "--config", str(tmp_path / "c.toml")]
    session = NOTEBOOKS / "__marimo__" / "session" / "audit.py.json"  # what marimo writes beside what it exports
    before = session.stat().st_mtime_ns if session.exists() else None
    (tmp_path / "audit.html").write_text("an older snapshot", encoding="utf-8")  # replaced without a prompt
    code, _, err = cli("notebook", "audit", "--store", demo["store"], "--export", tmp_path / "audit.html")
    assert code == 0, err[-3000:]
    page = (tmp_path / "audit.html").read_text(encoding="utf-8")
    assert "marimo" in page and "Krippendorff" in page
    assert (session.stat().st_mtime_ns if session.exists() else None) == before  # the export ran on a copy
    (tmp_path / "empty").mkdir()
    code, _, err = cli("notebook", "audit", "--store", tmp_path / "empty", "--export", tmp_path / "broken.html")
    assert code == 1 and "a cell failed" in err
    code, _, err = cli("notebook", "audit", "--store", demo["store"], "--export", tmp_path / "no" / "x.html")
    assert code == 2 and "does not exist" in err
    code, _, err = cli("notebook", "audit", "--store", demo["store"], "--export", tmp_path / "x.html", "--edit")
    assert code == 2 and "exclude each other" in err and "(see --edit, --export)" in err


# -- selection helpers: invariants against a plain-Python reference ------------------------------------------------
_leniency_rows = st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.sampled_from(["x", "y"]),
                                    st.sampled_from(["overlap", "honeypot", "dawid_skene"]),
                                    st.one_of(st.none(), st.floats(0, 1)), st.integers(1, 500)), max_size=30)


@settings(max_examples=60, deadline=None)
@given(_leniency_rows)
def test_best_leniency_keeps_one_row_per_pair_with_the_smallest_q(rows) -> None:
    t = pa.table({"labeler_id": [r[0] for r in rows], "failure_mode": [r[1] for r in rows],
                  "evidence": [r[2] for r in rows], "q_value": pa.array([r[3] for r in rows], pa.float64()),
                  "n": pa.array([r[4] for r in rows], pa.int64()),
                  "effect": pa.array([0.1] * len(rows), pa.float64())})
    best = nb.best_leniency(t).to_pylist()
    pairs = {(r[0], r[1]) for r in rows}
    assert sorted((r["labeler_id"], r["failure_mode"]) for r in best) == sorted(pairs)
    for r in best:
        qs = [2.0 if x[3] is None else x[3] for x in rows if (x[0], x[1]) == (r["labeler_id"], r["failure_mode"])]
        assert (2.0 if r["q_value"] is None else r["q_value"]) == min(qs)
    assert set(nb.top_labelers(t, 10)) == {r[0] for r in rows}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.lists(st.sampled_from(["single_label", "too_old", "x"]), max_size=3)),
                max_size=20), st.sampled_from(["single_label", "too_old"]))
def test_has_flag_matches_membership(flags, flag) -> None:
    t = pa.table({"flags": pa.array(flags, pa.list_(pa.string()))})
    assert has_flag(t, flag).to_pylist() == [bool(f) and flag in f for f in flags]
