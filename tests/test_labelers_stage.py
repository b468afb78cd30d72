"""The labelers stage end to end on simulated histories with planted faults (evalaudit.labelers.simulate): every
planted fault is found, no honest labeler is flagged medium or high, and the tables keep the docs/outputs.md
contract."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from evalaudit.config import Config
from evalaudit.engine import engine_for_tables
from evalaudit.labelers import flagged_labelers, simulate, stage
from evalaudit.stage import Context, StageResult

FAULTS = [
    simulate.Fault("labeler_leniency", 1, 0, 0.20),
    simulate.Fault("labeler_severity", 4, 2, -0.20),
    simulate.Fault("labeler_drift", 3, 1, 0.35, 13),
    simulate.Fault("labeler_spam", 2),
]


@pytest.fixture(scope="module")
def result() -> StageResult:
    tables, _ = simulate.generate(simulate.Scenario(seed=11, honeypot_share=0.15, faults=FAULTS))
    return stage(Context(engine=engine_for_tables(tables), cfg=Config()))


def _serious(result):
    return [f for f in result.findings if f.severity in ("medium", "high")]


def test_every_planted_fault_found(result):
    found = {(f.kind, f.labeler_id, f.failure_mode) for f in _serious(result)}
    assert ("labeler_leniency", "L001", "fm0") in found
    assert ("labeler_severity", "L004", "fm2") in found
    assert ("labeler_drift", "L003", "fm1") in found
    assert ("labeler_spam", "L002", None) in found


def test_no_honest_labeler_flagged(result):
    planted = {"L001", "L002", "L003", "L004"}
    assert not [f for f in _serious(result) if f.labeler_id not in planted]


def test_drift_is_dated(result):
    row = next(r for r in result.tables["drift"].to_pylist() if r["labeler_id"] == "L003")
    # planted from week 13 = 2025-04-07; the change-point estimate lands within a few weeks
    assert abs((row["change_date"] - pa.scalar(simulate.START.date()).as_py()).days - 13 * 7) <= 21
    assert row["effect_after"] - row["effect_before"] > 0.15


def test_leniency_table_contract(result):
    t = result.tables["leniency"]
    assert t.column_names[:10] == ["labeler_id", "failure_mode", "evidence", "label", "effect", "ci_low",
                                   "ci_high", "p_value", "q_value", "n"]
    assert t["label"].null_count == t.num_rows  # a known positive label: no per-label rows
    assert set(t["evidence"].to_pylist()) == {"overlap", "honeypot", "assignment", "dawid_skene", "combined"}
    rows = [r for r in t.to_pylist() if r["p_value"] is not None and r["effect"] == r["effect"]]
    assert all(r["ci_low"] <= r["effect"] <= r["ci_high"] for r in rows)
    assert all(r["q_value"] >= r["p_value"] - 1e-12 for r in rows)


def test_one_finding_per_labeler_and_failure_mode(result):
    keys = [(f.labeler_id, f.failure_mode) for f in result.findings
            if f.kind in ("labeler_leniency", "labeler_severity")]
    assert len(keys) == len(set(keys))
    lenient = next(f for f in result.findings if f.kind == "labeler_leniency" and f.labeler_id == "L001")
    assert lenient.effect > 0.1 and lenient.q_value < 0.01 and lenient.details["gold_items"] > 0
    assert "BH q-value over" in lenient.evidence and lenient.message


def test_consensus_one_row_per_item(result):
    c = result.tables["consensus"]
    assert c.num_rows == len(set(c["item_id"].to_pylist()))
    post = c["posterior_positive"].to_pylist()
    assert all(0 <= p <= 1 for p in post)
    assert set(c["method"].to_pylist()) == {"dawid_skene"}


def test_labeler_stats_and_flagged(result):
    s = result.tables["labeler_stats"].to_pylist()
    overall = [r for r in s if r["failure_mode"] == "all"]
    assert len(overall) == 40
    assert sum(r["share_of_judgments"] for r in overall) == pytest.approx(1.0)
    assert sum(r["gold_weight_share"] for r in overall) == pytest.approx(1.0)
    assert all(r["honeypots"] and 0 <= r["false_pass_rate"] <= 1 for r in overall)
    lenient = next(r for r in s if r["labeler_id"] == "L001" and r["failure_mode"] == "fm0")
    honest = [r["false_pass_rate"] for r in s if r["failure_mode"] == "fm0" and r["labeler_id"] not in
              ("L001", "L002") and r["false_pass_rate"] is not None]
    assert lenient["false_pass_rate"] > max(honest)
    flagged = flagged_labelers(result)
    assert ("L001", "fm0") in flagged and ("L002", None) in flagged
    assert {r["labeler_id"] for r in overall if r["flagged"]} == {"L001", "L002", "L003", "L004"}


def test_concentration_finding_for_a_heavy_labeler():
    tables, _ = simulate.generate(simulate.Scenario(seed=3, n_items=6000, heavy_weight=25.0))
    r = stage(Context(engine=engine_for_tables(tables), cfg=Config()))
    conc = [f for f in r.findings if f.kind == "labeler_concentration"]
    assert conc and {f.labeler_id for f in conc} == {"L000"}


def test_empty_labels_give_empty_result():
    empty = simulate.generate(simulate.Scenario(n_items=10))[0]["labels"].slice(0, 0)
    r = stage(Context(engine=engine_for_tables({"labels": empty}), cfg=Config()))
    assert r.findings == [] and r.tables["leniency"].num_rows == 0 and r.tables["consensus"].num_rows == 0


def test_row_order_does_not_matter(result):
    """Shuffling the labels table gives the same leniency table and findings (codes and sorts are internal)."""
    tables, _ = simulate.generate(simulate.Scenario(seed=11, honeypot_share=0.15, faults=FAULTS))
    perm = np.random.default_rng(0).permutation(tables["labels"].num_rows)
    shuffled = {**tables, "labels": tables["labels"].take(pa.array(perm))}
    again = stage(Context(engine=engine_for_tables(shuffled), cfg=Config()))
    key = [("labeler_id", "ascending"), ("failure_mode", "ascending"), ("evidence", "ascending")]
    a = result.tables["leniency"].sort_by(key)
    b = again.tables["leniency"].sort_by(key)
    assert a["labeler_id"].to_pylist() == b["labeler_id"].to_pylist()
    np.testing.assert_allclose(a["effect"].to_numpy(), b["effect"].to_numpy(), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(a["q_value"].to_numpy(), b["q_value"].to_numpy(), rtol=1e-4, atol=1e-9)
    assert sorted((f.kind, f.labeler_id, f.failure_mode) for f in result.findings) == sorted(
        (f.kind, f.labeler_id, f.failure_mode) for f in again.findings)


def test_collusion_pair_found():
    """Two labelers who copy each other's answers on shared items: their disagreements fall far below what their
    accuracies predict."""
    sc = simulate.Scenario(seed=5, n_items=5_000, n_labelers=10, overlap=0.5, faults=[])
    tables, _ = simulate.generate(sc)
    lab = tables["labels"]
    ids, labels = lab["labeler_id"].to_pylist(), lab["label"].to_pylist()
    items = lab["item_id"].to_pylist()
    copied = {i: lbl for i, who, lbl in zip(items, ids, labels, strict=True) if who == "L003"}
    new = [copied.get(i, lbl) if who == "L004" else lbl for i, who, lbl in zip(items, ids, labels, strict=True)]
    tables["labels"] = lab.set_column(lab.schema.get_field_index("label"), "label", pa.array(new))
    r = stage(Context(engine=engine_for_tables(tables), cfg=Config()))
    coll = [f for f in r.findings if f.kind == "labeler_collusion"]
    assert [(f.labeler_id, f.details["labeler_b"]) for f in coll] == [("L003", "L004")]
    assert coll[0].details["observed_disagreements"] == 0


def test_default_demo_every_planted_labeler_fault_found_no_honest_flagged():
    """The project's demo (seed 0): each planted labeler fault of truth.json has a finding of its kind on that
    labeler (and failure mode, when named), and no honest labeler gets a medium or high finding."""
    from evalaudit import demo

    data = demo.generate(seed=0)
    r = stage(Context(engine=engine_for_tables(dict(data.tables)), cfg=Config()))
    planted = [p for p in data.truth["planted"] if p["kind"].startswith("labeler_")]
    assert planted
    for p in planted:
        hits = [f for f in r.findings if f.kind == p["kind"] and f.labeler_id == p["labeler_id"]
                and (p["failure_mode"] is None or f.failure_mode == p["failure_mode"])]
        assert hits, f"planted {p['kind']} of {p['labeler_id']} on {p['failure_mode']} not found"
    faulty = {p["labeler_id"] for p in planted}
    assert not [(f.kind, f.labeler_id, f.failure_mode) for f in r.findings
                if f.labeler_id not in faulty and f.severity in ("medium", "high")]
