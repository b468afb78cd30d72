"""The labelers' decision rules as pure functions of numbers (docs/labelers.md): severity grading, concentration,
collusion and spam severity, on small cases whose answers follow from the stated rules by hand — and the stage side
turns them into findings of the stated kinds."""

from __future__ import annotations

import pyarrow as pa
import pytest

from evalaudit.config import Config
from evalaudit.labelers import concentration, severity, spam
from evalaudit.labelers import findings as labeler_findings

T = severity.Thresholds(q_high=0.01, effect_high=0.10, gold_items_high=50, q_medium=0.01, effect_medium=0.05,
                        q_medium_combined=0.05, effect_negligible=0.01, q_low=0.05)


@pytest.mark.parametrize(("evidence", "q", "effect", "gold", "scale", "expected"), [
    ("combined", 0.001, 0.12, 50, 1.0, "high"),
    ("combined", 0.001, 0.12, 49, 1.0, "medium"),     # too few gold items for high
    ("overlap", 0.001, -0.06, 0, 1.0, "medium"),      # the size counts, not the sign
    ("assignment", 0.001, 0.30, 500, 1.0, "low"),     # assignment alone never rises above low
    ("combined", 0.03, 0.30, 500, 1.0, "low"),
    ("combined", 0.06, 0.30, 500, 1.0, None),
    ("combined", 0.001, 12.0, 50, 100.0, "high"),     # ordered scales: a share of the scale's width
    ("combined", 0.001, 8.0, 50, 100.0, "medium"),
    ("combined", float("nan"), 0.3, 50, 1.0, None),
])
def test_grade_follows_the_thresholds(evidence, q, effect, gold, scale, expected):
    assert severity.grade(evidence, q, effect, gold, T, scale) == expected


def test_thresholds_are_the_leniency_settings():
    """The stage builds the thresholds from [leniency] by name: every field is a [leniency] setting."""
    lc = Config().leniency
    assert all(hasattr(lc, k) for k in severity.Thresholds._fields)


def _leniency(rows: list[tuple[str, str, str, float, float]]) -> pa.Table:
    """A leniency table from (labeler, failure mode, evidence, effect, q)."""
    lab, fm, ev, eff, q = zip(*rows, strict=True)
    return pa.table({"labeler_id": list(lab), "failure_mode": list(fm), "evidence": list(ev),
                     "effect": list(eff), "ci_low": [e - 0.02 for e in eff], "ci_high": [e + 0.02 for e in eff],
                     "p_value": list(q), "q_value": list(q), "n": [100] * len(rows),
                     "labeler_rate": [0.5] * len(rows), "peer_rate": [0.4] * len(rows),
                     "method": ["m"] * len(rows), "parts": ["overlap"] * len(rows), "label": [None] * len(rows)})


def test_headlines_grade_combined_rows_and_findings_carry_them():
    table = _leniency([
        ("a", "fm", "overlap", 0.20, 0.0001),    # a kind's row: listed in the finding, not graded
        ("a", "fm", "combined", 0.15, 0.001),
        ("b", "fm", "combined", -0.07, 0.001),
        ("c", "fm", "combined", 0.20, 0.20),     # not significant: no headline
    ])
    heads = severity.headlines(table, {("a", "fm"): 60}, T)
    assert [(h.key, h.severity, h.head["evidence"]) for h in heads] == [
        (("a", "fm"), "high", "combined"), (("b", "fm"), "medium", "combined")]
    found = labeler_findings.leniency_findings(table, {("a", "fm"): 60}, T)
    assert [(f.kind, f.labeler_id, f.severity) for f in found] == [
        ("labeler_leniency", "a", "high"), ("labeler_severity", "b", "medium")]
    assert set(found[0].details["evidence_kinds"]) == {"overlap"}


def test_per_label_finding_lists_the_evidence_of_its_own_label():
    """Per-label tables hold one row per kind for every label: the finding's evidence_kinds are its label's rows
    (a labeler over-using 'a' and under-using 'b' must not show the 'b' row as the evidence for 'a')."""
    rows = [("x", "fm", "overlap", 0.20, 0.0001), ("x", "fm", "combined", 0.20, 0.0001),
            ("x", "fm", "overlap", -0.12, 0.002), ("x", "fm", "combined", -0.12, 0.002)]
    table = _leniency(rows)
    table = table.set_column(table.schema.get_field_index("label"), "label", pa.array(["a", "a", "b", "b"]))
    for order in ([0, 1, 2, 3], [2, 3, 0, 1]):  # whichever label's rows come last
        found = labeler_findings.leniency_findings(table.take(order), {("x", "fm"): 60}, T, mode="per_label")
        assert [(f.kind, f.details["label"]) for f in found] == [("labeler_leniency", "a")]
        assert found[0].details["evidence_kinds"]["overlap"]["effect"] == pytest.approx(0.20)


def test_a_finding_without_known_answers_says_its_reference_is_the_crowd():
    """Against peers alone, a lean the whole crowd shares makes an accurate labeler look biased the other way
    (docs/realdata.md, zheng_face): the finding says so unless honeypots are among its evidence."""
    table = _leniency([("x", "fm", "combined", 0.20, 0.0001), ("y", "fm", "combined", 0.20, 0.0001)])
    table = table.set_column(table.schema.get_field_index("parts"), "parts", pa.array(["overlap", "overlap,honeypot"]))
    found = {f.labeler_id: f for f in labeler_findings.leniency_findings(table, {}, T)}
    assert found["x"].details["reference"] == "labels_only" and "No known answers" in found["x"].message
    assert "reference" not in found["y"].details and "No known answers" not in found["y"].message


def test_concentrated_needs_the_floor_the_gold_and_more_than_a_fair_share():
    stats = pa.table({
        "labeler_id": ["a", "b", "a", "b", "x", "y", "z", "w"],
        "failure_mode": ["fm1", "fm1", "all", "all", "fm2", "fm2", "fm2", "fm2"],
        "gold_weight_share": [0.8, 0.2, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25],
        "fm_gold_items": [100, 100, 200, 200, 10, 10, 10, 10],
    })
    # a holds 80% of fm1 (two labelers: fair share 50%, 1.5 × = 75%); overall 50% each is exactly the fair share;
    # fm2 has too few gold items
    got = concentration.concentrated(stats, share_medium=0.3, fm_share_medium=0.5, min_gold_items=20,
                                     fair_share_ratio=1.5)
    assert got.tolist() == [True, False, False, False, False, False, False, False]


def test_colluding_pairs_are_significant_and_far_below_expectation():
    pairs = pa.table({"labeler_a": ["a", "a", "b"], "labeler_b": ["b", "c", "c"], "n": [100, 100, 100],
                      "n_disagree": [2, 9, 2], "expected_disagree": [20.0, 20.0, 20.0],
                      "p_value": [1e-6, 1e-3, 0.2], "q_value": [1e-5, 1e-3, 0.2]})
    suspect = spam.colluding(pairs, q_max=0.01, ratio_max=0.3)
    assert suspect.tolist() == [True, False, False]  # 9 > 0.3 × 20; q = 0.2 not significant
    (f,) = labeler_findings.collusion_findings(pairs, suspect)
    assert (f.kind, f.labeler_id, f.details["labeler_b"], f.severity) == ("labeler_collusion", "a", "b", "high")
    assert f.effect == pytest.approx(0.1)


@pytest.mark.parametrize(("signals", "n", "expected"), [
    (["implausibly short durations"], 500, "low"),
    (["chance-level agreement"], 99, "medium"),
    (["chance-level agreement", "implausibly short durations"], 100, "high"),
])
def test_spam_severity(signals, n, expected):
    assert spam.severity(signals, n) == expected


def test_spam_signals_name_constant_answers():
    overall = pa.table({"labeler_id": ["a", "b"], "n_judgments": [40, 40], "median_duration_s": [30.0, 30.0]})
    sw = pa.table({"labeler_id": ["a", "b"], "n_pairs": [0, 0], "n_switches": [0, 0], "expected": [0.5, 0.5]})
    facts = spam.signals(overall, {}, sw, {"a": (40, 0.6), "b": (25, 0.6)}, min_items=20, kappa_max=0.2,
                         switch_rate_min=0.8, duration_ratio=0.2)
    assert facts["a"]["signals"] == ["constant answers"] and facts["b"]["signals"] == []
    assert facts["a"]["constant_p"] == pytest.approx(0.6 ** 40)
    (f,) = labeler_findings.spam_findings(overall, facts)
    assert (f.labeler_id, f.severity, f.details["signals"]) == ("a", "medium", ["constant answers"])
    assert f.effect is None and f.ci_high is None  # no reference agreement: no kappa to report
