"""The verdict (evalaudit.verdict) on the demo store, where truth.json names the answer, and on hand-made documents;
and the one sign of docs/outputs.md (delta = score_current − score_audited) tied together across impact.parquet, the
eval_score_inflation finding, the history, the report, the notebooks' charts and the docs."""

from __future__ import annotations

import csv
import json
import shlex
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import escape

from evalaudit import impact, verdict
from evalaudit.config import Config
from evalaudit.report import seed
from evalaudit.run import audit
from evalaudit.store import Store
from tests.conftest import run_evalaudit

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("verdict")
    result = run_evalaudit("demo", "--store", root / "store", "--seed", "3", "--judgments", "60000")
    assert result.returncode == 0, result.stderr
    audit(root / "store", root / "reports" / "demo", Config(), fail_on="never")
    return root / "store", root / "reports" / "demo"


def _doc_and_tables(out: Path) -> tuple[dict, dict]:
    doc = json.loads((out / "findings.json").read_text())
    tables = {p.stem: pq.read_table(p) for p in out.glob("*.parquet")}
    return doc, tables


def _planted(store: Path) -> tuple[str, str]:
    """(the inflated failure mode, the lenient labeler behind it) from truth.json."""
    truth = json.loads((store / "truth.json").read_text())["planted"]
    fm = next(p["failure_mode"] for p in truth if p["kind"] == "eval_score_inflation")
    lab = next(p["labeler_id"] for p in truth if p["kind"] == "labeler_leniency" and p["failure_mode"] == fm)
    return fm, lab


def test_demo_verdict_names_the_planted_failure_mode_and_labeler(demo):
    store, out = demo
    fm, lab = _planted(store)
    doc, tables = _doc_and_tables(out)
    v = verdict.build(doc, tables)
    assert v.headline.startswith(f"Not on {fm}"), v.headline
    assert lab in v.headline
    text = " ".join(v.sentences)
    assert "current − audited" in text and "95% interval" in text
    assert f"Behind it: {lab}" in text
    assert 3 <= len(v.actions) <= verdict.MAX_ACTIONS
    first = v.actions[0]
    assert first.command is not None and first.command.startswith("evalaudit relabel ")
    args = shlex.split(first.command)
    assert args[args.index("--failure-mode") + 1] == fm and lab in args


def test_demo_relabel_command_of_the_verdict_selects_those_items(demo, tmp_path):
    store, out = demo
    fm, lab = _planted(store)
    v = verdict.build(*_doc_and_tables(out))
    args = shlex.split(v.actions[0].command)
    args[args.index("--out") + 1] = str(tmp_path / "q.csv")
    args += ["--top", "100000"]
    result = run_evalaudit(*args[1:])
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader((tmp_path / "q.csv").open()))
    assert rows and {r["failure_mode"] for r in rows} == {fm}
    labelers = [args[i + 1] for i, a in enumerate(args) if a == "--labeler"]
    assert lab in labelers
    engine = Store.open(store).engine()
    judged = set()
    for who in labelers:
        judged |= set(engine.sql("SELECT DISTINCT item_id FROM labels WHERE labeler_id = $who", who=who)
                      ["item_id"].to_pylist())
    engine.close()
    assert {r["item_id"] for r in rows} <= judged


def test_one_sign_everywhere(demo):
    """docs/outputs.md: delta = score_current − score_audited in impact.parquet, the finding, the history, the
    report."""
    _, out = demo
    doc, tables = _doc_and_tables(out)
    t = tables["impact"].to_pylist()
    for r in t:
        if r["delta"] is not None:
            assert r["delta"] == pytest.approx(r["score_current"] - r["score_audited"])
            assert r["ci_low"] <= r["delta"] <= r["ci_high"]
    found = [f for f in doc["findings"] if f["kind"] == "eval_score_inflation"]
    assert found
    for f in found:
        row = next(r for r in t if r["model_version"] == f["details"]["model_version"]
                   and r["failure_mode"] == (f["failure_mode"] or "all"))
        assert (f["effect"], f["ci_low"], f["ci_high"]) == pytest.approx((row["delta"], row["ci_low"], row["ci_high"]))
        assert ("flatters" in f["message"]) == (f["effect"] > 0)
    history = pq.read_table(out.parent / "history.parquet").to_pylist()
    overall = {r["model_version"]: r["delta"] for r in t if r["failure_mode"] == "all"}
    for h in history:
        if h["metric"] == "eval_score_inflation":
            assert h["value"] == pytest.approx(overall[h["model_version"]])
    html = (out / "index.html").read_text()
    assert str(escape(impact.SIGN)) in html and "audited − current" not in html
    for path in [*ROOT.joinpath("docs").glob("*.md"), ROOT / "README.md", *ROOT.joinpath("notebooks").glob("*.py")]:
        assert "audited − current" not in path.read_text() and "audited - current" not in path.read_text(), path


def test_seed_rows_carry_wilson_intervals_and_the_delta(demo):
    store, out = demo
    fm, _ = _planted(store)
    rows = seed.release_scores(_doc_and_tables(out)[1]["impact"], fm)
    versions = [r["model_version"] for r in rows]
    assert versions == sorted(versions) and len(set(versions)) * 2 == len(rows)
    for r in rows:
        assert r["ci_low"] < r["score"] < r["ci_high"]
    # the trend the seed story plants: up against today's gold, down against audited gold
    cur = [r["score"] for r in rows if r["gold"] == seed.CURRENT]
    aud = [r["score"] for r in rows if r["gold"] == seed.AUDITED]
    assert cur[-1] > cur[0] and aud[-1] < aud[0]


def test_nothing_material_says_so_and_what_was_not_checked():
    doc = {"summary": {"skipped": [{"analysis": "drift", "reason": "no timestamps"}], "impact": {"computed": True}},
           "findings": [{"kind": "low_agreement", "severity": "low", "failure_mode": "tone", "labeler_id": None,
                         "effect": 0.6}]}
    v = verdict.build(doc, {})
    assert v.headline.startswith("Yes: nothing material")
    assert any(s.startswith("Not checked: drift (no timestamps)") for s in v.sentences)


def test_without_predictions_the_score_is_not_checked():
    doc = {"summary": {"impact": {"computed": False, "reason": "no predictions in the store"}, "store_path": "s"},
           "findings": []}
    v = verdict.build(doc, {})
    assert "not checked" in v.headline
    assert v.actions and v.actions[-1].command == "evalaudit ingest PREDICTIONS_FILE --store s --table predictions"


def test_commands_quote_hostile_names():
    hostile_lab, hostile_fm = "x'; rm -rf / #", "tone $(whoami)"
    finding = {"kind": "eval_score_inflation", "severity": "high", "failure_mode": hostile_fm, "labeler_id": None,
               "effect": 0.05, "ci_low": 0.03, "ci_high": 0.07,
               "details": {"model_version": "m2", "by_model_version": {"m2": {"current": 0.9, "audited": 0.85}}}}
    lenient = {"kind": "labeler_leniency", "severity": "high", "failure_mode": hostile_fm,
               "labeler_id": hostile_lab, "effect": 0.2}
    v = verdict.build({"summary": {"store_path": "my store"}, "findings": [finding, lenient]}, {})
    args = shlex.split(v.actions[0].command)
    assert args[:4] == ["evalaudit", "relabel", "--store", "my store"]
    assert args[args.index("--failure-mode") + 1] == hostile_fm and args[args.index("--labeler") + 1] == hostile_lab
    assert v.headline.startswith(f"Not on {hostile_fm}") and "flatters m2 by 5 points" in v.sentences[0]


def test_report_opens_with_the_verdict_then_not_checked(demo):
    _, out = demo
    html = (out / "index.html").read_text()
    v = html.index('<section id="verdict"')
    assert v < html.index("<table") and v < html.index('<section id="findings"')
    assert v < html.index('<section id="not-checked">') < html.index("<nav>")
    # the first run of this report: "Since the last run" sits between the verdict and "Not checked" and says so
    c = html.index('<section id="changes">')
    assert v < c < html.index('<section id="not-checked">')
    assert "first run recorded for this report" in html[c:html.index('<section id="not-checked">')]


def test_changes_slot_renders_summary_changes_escaped(demo):
    from evalaudit import report

    _, out = demo
    doc, tables = _doc_and_tables(out)
    new = {"key": "k", "kind": "labeler_spam", "severity": "high", "message": "<b>new</b> thing"}
    doc["summary"]["changes"] = {"previous_run": {"run_id": "r1", "run_at": "2026-11-29T00:00:00+00:00"},
                                 "comparable": True, "new": [new], "resolved": [], "n_new": 1, "n_resolved": 0,
                                 "n_persisting": 0, "moved": [], "moved_method": ""}
    html = report.render(doc, tables)
    block = html.split('<section id="changes">')[1].split("</section>")[0]
    assert "Since the last run" in block and "&lt;b&gt;new&lt;/b&gt; thing" in block
    assert html.index('<section id="verdict"') < html.index('<section id="changes">') < html.index(
        '<section id="not-checked">')


def test_relabel_flag_and_failure_mode_filters(demo, tmp_path):
    store, _ = demo
    fm, _ = _planted(store)
    out = tmp_path / "q.csv"
    result = run_evalaudit("relabel", "--store", store, "--out", out, "--top", "100000", "--failure-mode", fm,
                           "--flag", "gold_disagrees_with_consensus")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(out.open()))
    assert rows and all(r["failure_mode"] == fm and "gold_disagrees_with_consensus" in r["flags"].split(";")
                        for r in rows)
    everything = tmp_path / "all.csv"
    assert run_evalaudit("relabel", "--store", store, "--out", everything, "--top", "100000").returncode == 0
    assert len(rows) < len(list(csv.DictReader(everything.open())))
    bad = run_evalaudit("relabel", "--store", store, "--out", tmp_path / "x.csv", "--flag", "nope")
    assert bad.returncode == 2 and "'nope' is not an item flag" in bad.stderr and "(see --flag)" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert not (tmp_path / "x.csv").exists()


_kinds = st.sampled_from(["eval_score_inflation", "labeler_leniency", "labeler_drift", "labeler_spam",
                          "poisoned_items", "stale_items", "low_agreement", "coverage_drift", "labeler_severity"])
_text = st.text(min_size=1, max_size=12)
_finding = st.fixed_dictionaries({
    "kind": _kinds, "severity": st.sampled_from(["high", "medium", "low"]),
    "failure_mode": st.one_of(st.none(), _text), "labeler_id": st.one_of(st.none(), _text),
    "effect": st.one_of(st.none(), st.floats(-1, 1)), "ci_low": st.one_of(st.none(), st.floats(-1, 0)),
    "ci_high": st.one_of(st.none(), st.floats(0, 1)), "n": st.integers(0, 10**6),
    "message": _text, "details": st.fixed_dictionaries({}, optional={
        "model_version": _text, "since": st.just("2026-05-01"), "reason": st.just("too_old")}),
})


@settings(max_examples=150, deadline=None)
@given(st.lists(_finding, max_size=12), st.lists(st.fixed_dictionaries({"analysis": _text, "reason": _text}),
                                                  max_size=6), st.booleans())
def test_any_document_gives_a_verdict_with_runnable_commands(findings, skipped, computed):
    v = verdict.build({"summary": {"skipped": skipped, "impact": {"computed": computed}, "store_path": "s t"},
                       "findings": findings}, {})
    assert v.headline and v.headline.endswith(".")
    assert len(v.actions) <= verdict.MAX_ACTIONS
    assert len({a.command or a.text for a in v.actions}) == len(v.actions)
    for a in v.actions:
        if a.command:
            args = shlex.split(a.command)
            assert args[0] == "evalaudit" and args[args.index("--store") + 1] == "s t"
    inflated = [f for f in findings if f["kind"] == "eval_score_inflation" and f["severity"] != "low"
                and f["failure_mode"]]
    assert v.headline.startswith("Not on") == bool(inflated)
    if skipped:
        assert any(s.startswith("Not checked: ") for s in v.sentences)


def test_the_verdict_opens_with_what_changed_since_the_last_run():
    from evalaudit import verdict

    new = {"key": "k1", "kind": "labeler_spam", "severity": "high", "message": "crowdly-900 answers at random."}
    changes = {"previous_run": {"run_id": "r1", "run_at": "2026-11-29T03:00:00+00:00"}, "comparable": True,
               "new": [new], "resolved": [], "n_new": 1, "n_resolved": 2, "n_persisting": 5, "moved": [],
               "moved_method": ""}
    doc = {"summary": {"changes": changes, "skipped": []}, "findings": []}
    first = verdict.build(doc, {}).sentences[0]
    assert first.startswith("Since the run of 2026-11-29: 1 new finding(s), 2 resolved, 5 persisting")
    assert "crowdly-900 answers at random." in first
    # a first run (no previous run) or a history without keys says nothing about changes
    for prev, comparable in ((None, False), ({"run_id": "r0", "run_at": "2026-11-28"}, False)):
        doc["summary"]["changes"] = {**changes, "previous_run": prev, "comparable": comparable}
        assert not any(s.startswith("Since the run") for s in verdict.build(doc, {}).sentences)


def test_seed_wilson_is_scipys_wilson_interval():
    from scipy import stats

    for score, n in ((0.876, 500), (0.0, 40), (1.0, 7), (0.5, 1)):
        ci = stats.binomtest(round(score * n), n).proportion_ci(confidence_level=0.95, method="wilson")
        assert seed.wilson(score, n) == (ci.low, ci.high)  # bit for bit (evalaudit.intervals)
    assert seed.wilson(None, 10) == (None, None) and seed.wilson(0.5, 0) == (None, None)
