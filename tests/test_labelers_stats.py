"""Labeler statistics on small cases with known answers, each checked against a reference implementation
(scipy.stats, statsmodels) or a value derivable by hand."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.contingency_tables import StratifiedTable

from evalaudit.contracts import compare
from evalaudit.engine import engine_for_tables
from evalaudit.labelers import assignment, dawid_skene, drift, honeypot, judgments, overlap, spam, truth_bias
from evalaudit.labelers.evidence import paired_exact
from evalaudit.labelers.severity import empirical_null
from evalaudit.multiplicity import bh


@settings(max_examples=60, deadline=None)
@given(b=st.integers(0, 60), c=st.integers(0, 60), extra=st.integers(0, 40))
def test_paired_exact_matches_scipy_binomtest(b, c, extra):
    """McNemar exact = two-sided binomial test of b out of b + c at 1/2; CI = Clopper–Pearson mapped to the effect."""
    n = b + c + extra
    if n == 0:
        return
    effect, lo, hi, p = paired_exact([b], [c], [n], 0.95)
    assert effect[0] == pytest.approx((b - c) / n)
    m = b + c
    if m == 0:
        assert p[0] == 1.0 and lo[0] == 0.0 and hi[0] == 0.0
        return
    ref = stats.binomtest(b, m, 0.5)
    assert p[0] == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-12)
    ci = ref.proportion_ci(0.95, method="exact")
    assert lo[0] == pytest.approx(m * (2 * ci.low - 1) / n, abs=1e-9)
    assert hi[0] == pytest.approx(m * (2 * ci.high - 1) / n, abs=1e-9)
    assert lo[0] <= effect[0] <= hi[0]


def test_bh_matches_scipy_and_skips_nan():
    rng = np.random.default_rng(1)
    p = np.concatenate([rng.uniform(size=50), rng.uniform(0, 1e-4, 5)])
    np.testing.assert_allclose(bh(p), stats.false_discovery_control(p, method="bh"))
    with_nan = np.array([0.01, np.nan, 0.04, 0.2])
    q = bh(with_nan)
    assert np.isnan(q[1])
    np.testing.assert_allclose(q[[0, 2, 3]], stats.false_discovery_control([0.01, 0.04, 0.2]))


def _strata(rng, k):
    return [[[int(rng.integers(1, 30)), int(rng.integers(1, 30))], [int(rng.integers(1, 60)), int(rng.integers(1, 60))]]
            for _ in range(k)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cmh_matches_statsmodels(seed):
    """Mantel & Haenszel 1959 chi-square (no continuity correction) as statsmodels computes it."""
    tables = _strata(np.random.default_rng(seed), 6)
    effect, lo, hi, p, chi2 = assignment.cmh_tables(tables)
    ref = StratifiedTable([np.array(t) for t in tables]).test_null_odds(correction=False)
    assert chi2 == pytest.approx(ref.statistic, rel=1e-10)
    assert p == pytest.approx(ref.pvalue, rel=1e-8)
    # the MH risk difference lies between the smallest and largest stratum risk differences
    rds = [t[0][0] / sum(t[0]) - t[1][0] / sum(t[1]) for t in tables]
    assert min(rds) <= effect <= max(rds) and lo < effect < hi


def test_cmh_single_stratum_risk_difference_is_plain_difference():
    effect, lo, hi, _, _ = assignment.cmh_tables([[[30, 10], [20, 20]]])
    assert effect == pytest.approx(30 / 40 - 20 / 40)
    se = np.sqrt(0.75 * 0.25 / 40 + 0.5 * 0.5 / 40)  # Wald interval of a difference of proportions
    assert hi - lo == pytest.approx(2 * 1.959963984540054 * se, rel=1e-9)


def _labels(rows):
    item, lab, label, fm, week = zip(*rows, strict=True)
    ts = np.datetime64("2025-01-06T12:00:00", "us") + np.array(week, dtype="timedelta64[W]").astype("timedelta64[us]")
    return pa.table({
        "item_id": list(item), "labeler_id": list(lab), "label": list(label), "failure_mode": list(fm),
        "labeled_at": pa.array(ts).cast(pa.timestamp("us", tz="UTC")),
        "batch_id": pa.array([None] * len(rows), pa.string()), "duration_s": [10.0] * len(rows),
    })


def test_cmh_judgment_path_equals_tables():
    """The stratum sums over judgments (assignment.sums) give the same test as explicit 2×2 tables per week."""
    rng = np.random.default_rng(5)
    rows, tables = [], []
    for week in range(4):
        counts = {}
        for lab in ("A", "B", "C"):
            n = int(rng.integers(5, 15))
            pos = int(rng.integers(0, n + 1))
            counts[lab] = (pos, n)
            rows += [(f"{lab}{week}-{i}", lab, "pass" if i < pos else "fail", "fm", week) for i in range(n)]
        a_pos, a_n = counts["A"]
        o_pos = counts["B"][0] + counts["C"][0]
        o_n = counts["B"][1] + counts["C"][1]
        tables.append([[a_pos, a_n - a_pos], [o_pos, o_n - o_pos]])
    J = judgments.load(engine_for_tables({"labels": _labels(rows)}), "pass")
    t = assignment.sums(J, "week")
    ev = assignment.evidence(t, 1, 0.95, "week").to_pylist()
    row = next(r for r in ev if r["labeler_id"] == "A")
    effect, lo, hi, p, _ = assignment.cmh_tables(tables)
    assert row["effect"] == pytest.approx(effect) and row["p_value"] == pytest.approx(p)
    assert row["ci_low"] == pytest.approx(lo) and row["ci_high"] == pytest.approx(hi)


def test_repeated_judgments_latest_wins():
    rows = [("i1", "A", "fail", "fm", 0), ("i1", "A", "pass", "fm", 3), ("i1", "B", "fail", "fm", 1)]
    eng = engine_for_tables({"labels": _labels(rows)})
    J = judgments.load(eng, "pass")
    got = sorted((J.labelers[int(J.worker_labeler[w])].as_py(), int(y)) for w, y in zip(J.worker, J.y, strict=True))
    assert got == [("A", 1), ("B", 0)]
    assert J.n_raw == 3 and len(J.y) == 2


def _ds_case(rng, n_items=400, lenient_flip=0.8):
    """Three accurate labelers and one who passes most true fails, every item judged by all four."""
    truth = (rng.random(n_items) < 0.5).astype(int)
    item = np.repeat(np.arange(n_items), 4)
    worker = np.tile(np.arange(4), n_items)
    t = truth[item]
    y = np.where(rng.random(len(item)) < 0.95, t, 1 - t)
    y = np.where((worker == 3) & (t == 0) & (rng.random(len(item)) < lenient_flip), 1, y)
    return truth, item, worker, y


def test_dawid_skene_recovers_truth_and_confusion():
    rng = np.random.default_rng(0)
    truth, item, worker, y = _ds_case(rng)
    r = dawid_skene.fit(y, item, worker, np.zeros(len(truth), int), np.zeros(4, int))
    assert r.converged
    assert np.mean((r.posterior >= 0.5) == truth) > 0.97
    assert np.all(r.sensitivity[:3] > 0.9) and np.all(r.specificity[:3] > 0.9)
    # the lenient labeler: P(fail | true fail) = 0.95 * 0.2 + 0.05 * 0.2 = 0.2 expected
    assert r.specificity[3] == pytest.approx(0.2, abs=0.07)
    assert r.sensitivity[3] > 0.9
    eff = truth_bias.effect(y, worker, dawid_skene.leave_one_out(r, item), np.ones(len(y)), 4)
    # bias against the leave-one-out truth on a balanced mix: (s - t) / 2 = (0.95 - 0.2) / 2 = 0.375
    assert eff["effect"][3] == pytest.approx(0.375, abs=0.06)
    assert np.all(np.abs(eff["effect"][:3]) < 0.05)


def _judgments(y, worker, n_workers, n_labels=2, reference=1):
    """The arrays of a Judgments the evidence reads: one failure mode, labeler i = worker i."""
    return SimpleNamespace(y=y, worker=worker, n_workers=n_workers, worker_fm=np.zeros(n_workers, int),
                           worker_labeler=np.arange(n_workers), n_labels=n_labels, reference=reference)


def test_dawid_skene_evidence_rows_are_the_truth_bias_effects():
    """truth_bias.evidence: one row per labeler with enough judgments (positive mode), the effect of
    truth_bias.effect; per label on two labels, the reference label's row and its mirror; none on more labels."""
    rng = np.random.default_rng(0)
    truth, item, worker, y = _ds_case(rng)
    loo = dawid_skene.leave_one_out(dawid_skene.fit(y, item, worker, np.zeros(len(truth), int), np.zeros(4, int)),
                                    item)
    J, w = _judgments(y, worker, 4), np.ones(len(y))
    labs, fms = np.array(["a", "b", "c", "lenient"], dtype=object), np.array(["fm"], dtype=object)
    eff = truth_bias.effect(y, worker, loo, w, 4)
    (rows,) = truth_bias.evidence(J, loo, w, np.array([True]), "positive", ("fail", "pass"), labs, fms, 50, 0.95)
    assert rows["labeler_id"].to_pylist() == list(labs) and set(rows["evidence"].to_pylist()) == {"dawid_skene"}
    assert rows["effect"].to_pylist() == pytest.approx(eff["effect"].tolist())
    assert rows["n"].to_pylist() == [400] * 4 and rows["ci_low"][3].as_py() > 0.2
    ref_rows, mirror = truth_bias.evidence(J, loo, w, np.array([True]), "per_label", ("fail", "pass"), labs, fms,
                                           50, 0.95)
    assert set(ref_rows["label"].to_pylist()) == {"pass"} and set(mirror["label"].to_pylist()) == {"fail"}
    assert mirror["effect"].to_pylist() == pytest.approx([-e for e in ref_rows["effect"].to_pylist()])
    assert mirror["ci_low"].to_pylist() == pytest.approx([-e for e in ref_rows["ci_high"].to_pylist()])
    # too few judgments, or a failure mode where Dawid–Skene did not run, or more than two labels: no rows
    assert truth_bias.evidence(J, loo, w, np.array([True]), "positive", ("fail", "pass"), labs, fms, 401,
                               0.95)[0].num_rows == 0
    assert truth_bias.evidence(J, loo, w, np.array([False]), "positive", ("fail", "pass"), labs, fms, 50,
                               0.95)[0].num_rows == 0
    J3 = _judgments(y, worker, 4, n_labels=3)
    assert truth_bias.evidence(J3, loo, w, np.array([True]), "per_label", ("a", "b", "c"), labs, fms, 50, 0.95) == []


def test_dawid_skene_honeypots_are_clamped():
    rng = np.random.default_rng(3)
    truth, item, worker, y = _ds_case(rng, n_items=100)
    known = np.full(len(truth), -1, dtype=np.int8)
    known[:10] = 1 - truth[:10]  # deliberately contradict the labels: clamping must win
    r = dawid_skene.fit(y, item, worker, np.zeros(len(truth), int), np.zeros(4, int), truth=known)
    np.testing.assert_array_equal(r.posterior[:10], known[:10])


def test_dawid_skene_prior_keeps_small_labelers_nondegenerate():
    """A labeler with two judgments gets rates near the pool's, not 0 or 1."""
    rng = np.random.default_rng(4)
    truth, item, worker, y = _ds_case(rng, n_items=200)
    item = np.concatenate([item, [0, 1]])
    worker = np.concatenate([worker, [4, 4]])
    y = np.concatenate([y, [1 - truth[0], 1 - truth[1]]])  # both wrong
    r = dawid_skene.fit(y, item, worker, np.zeros(200, int), np.zeros(5, int), prior_strength=4.0)
    assert 0.3 < r.sensitivity[4] < 0.95 and 0.3 < r.specificity[4] < 0.95


def test_drift_finds_known_change_point():
    """Discordance 0 for weeks 0-9, +0.4 from week 10: the change is dated week 10 with the right sizes."""
    rng = np.random.default_rng(0)
    weeks = np.repeat(np.arange(20), 30)
    shift = np.where(weeks >= 10, 0.4, 0.0)
    d = (rng.random(len(weeks)) < 0.3 + shift).astype(float) - 0.3
    worker = np.zeros(len(d), dtype=np.int32)
    cp = drift.change_points(worker, weeks + 2900, d, 1, 50, 4, 0.01)
    assert cp["change_week"][0] == 2910
    assert cp["p_value"][0] < 1e-6
    assert cp["before"][0] == pytest.approx(0.0, abs=0.08)
    assert cp["after"][0] == pytest.approx(0.4, abs=0.08)
    assert cp["stat"][0] > cp["threshold"]


def test_drift_without_change_is_calibrated():
    """Under no change the Brownian-bridge p-values are (conservatively) uniform: few fall below 0.05."""
    rng = np.random.default_rng(1)
    n_workers, per = 400, 200
    worker = np.repeat(np.arange(n_workers), per).astype(np.int32)
    weeks = np.tile(np.repeat(np.arange(20), per // 20), n_workers)
    d = (rng.random(len(worker)) < 0.3).astype(float)
    cp = drift.change_points(worker, weeks, d, n_workers, 50, 4, 0.01)
    assert np.mean(cp["p_value"] < 0.05) < 0.06


def test_drift_tables_list_the_detected_change_and_the_weekly_series():
    """drift.tables: labeler 'drifts' moves by +0.4 at week 10, 'steady' does not; the drift table holds the one
    change (dated week 10, BH q below q_max), the series each labeler's weekly rate beside the other's."""
    rng = np.random.default_rng(0)
    weeks = np.tile(np.repeat(np.arange(20), 30), 2) + 2900
    worker = np.repeat([0, 1], 600)
    y = (rng.random(1200) < np.where((worker == 0) & (weeks >= 2910), 0.7, 0.3)).astype(float)
    d = y - 0.3
    grid = drift.week_grid(worker, weeks, y, np.zeros(2, int), 2, 1)
    names, fms = np.array(["drifts", "steady"], dtype=object), np.array(["fm"], dtype=object)
    table, series, n_tests = drift.tables(grid, worker, weeks, d, np.arange(2), np.zeros(2, int), names, fms,
                                          50, 4, 0.01, 0.1)
    assert n_tests == 2 and table["labeler_id"].to_pylist() == ["drifts"]
    assert table["change_date"].to_pylist() == drift.week_dates(np.array([2910])).to_pylist()
    assert table["q_value"][0].as_py() < 0.01 and table["change"][0].as_py() == pytest.approx(0.4, abs=0.1)
    # a change narrower than min_change of the scale is not reported
    assert drift.tables(grid, worker, weeks, d, np.arange(2), np.zeros(2, int), names, fms, 50, 4, 0.01, 0.6)[
        0].num_rows == 0
    rows = {(r["labeler_id"], r["week"]): r for r in series.to_pylist()}
    assert len(rows) == 40 and all(r["n"] == 30 for r in rows.values())
    for (lab, week), r in rows.items():
        other = rows[("steady" if lab == "drifts" else "drifts", week)]
        assert r["peer_rate"] == pytest.approx(other["rate"])
    # the week-peer discordance: vs the other labeler's rate that week where the item has no other evidence
    dd = drift.discordance(np.zeros(1200), np.zeros(1200), grid, y, worker, weeks, np.ones(1200, bool),
                           np.zeros(2, int))
    peer = drift.week_peer_rate(grid, worker, weeks, np.zeros(2, int))
    assert dd == pytest.approx(y - peer)


def test_week_dates_are_mondays():
    dates = drift.week_dates(np.array([0, 2900])).to_pylist()
    assert all(d.weekday() == 0 for d in dates)


def test_kappa_bounds_by_hand():
    # 100 items, 10 + 10 discordant, both say positive on 50: po = .8, pe = .5, kappa = .6
    k, hi = spam.kappa_bounds(100, 10, 10, 50, 50)
    assert float(k) == pytest.approx(0.6)
    upper = stats.beta.ppf(0.95, 81, 20)
    assert float(hi) == pytest.approx((upper - 0.5) / 0.5)


def _hp_table(rows):
    cols = ["labeler_id", "failure_mode", "worker", "n", "n_own_pos", "b", "c", "n_truth_neg", "n_truth_pos"]
    return pa.table({c: [r[i] for r in rows] for i, c in enumerate(cols)})


def test_honeypot_effect_is_a_rate_difference_not_accuracy():
    """On 100 true-fail and 100 true-pass honeypots: peers err 10% both ways. A flawless labeler is not lenient
    (effect .5 (0 - .1) - .5 (0 - .1) = 0, and neither direction significant); one passing half the fails and
    missing no pass is lenient by .5 (.5 - .1) - .5 (0 - .1) = 0.25, found with the exact tests."""
    peers = [(f"P{i}", "fm", i, 200, 100, 10, 10, 100, 100) for i in range(5)]
    flawless = ("A", "fm", 5, 200, 100, 0, 0, 100, 100)
    lenient = ("B", "fm", 6, 200, 150, 50, 0, 100, 100)
    ev = honeypot.evidence(_hp_table([*peers, flawless, lenient]), 20, 0.95,
                           exclude=np.array([False] * 6 + [True])).to_pylist()
    by = {r["labeler_id"]: r for r in ev}
    assert by["A"]["effect"] == pytest.approx(0.0, abs=1e-12)
    assert by["A"]["p_value"] > 0.5
    assert by["B"]["effect"] == pytest.approx(0.25)
    assert by["B"]["ci_low"] > 0.15 and by["B"]["p_value"] < 1e-6
    assert by["P0"]["effect"] == pytest.approx(0.0, abs=1e-12)


def test_honeypot_tests_are_scipy_fisher_and_clopper_pearson():
    """The vectorised one-sided Fisher tail (and its mid-p) and the exact interval match scipy one test at a time."""
    cases = [(3, 8, 20, 400), (0, 5, 50, 300), (7, 18, 65, 608), (8, 8, 10, 100)]
    for k, n, kr, nr in cases:
        table = [[k, n - k], [kr, nr - kr]]
        want = stats.fisher_exact(table, alternative="greater").pvalue
        assert float(honeypot.fisher_greater(k, n, kr, nr)[()]) == pytest.approx(want, rel=1e-9)
        point = stats.hypergeom.pmf(k, n + nr, k + kr, n)
        assert float(honeypot.fisher_greater(k, n, kr, nr, mid=True)[()]) == pytest.approx(want - point / 2)
        ci = stats.binomtest(k, n).proportion_ci(0.95, method="exact")
        lo, hi = compare.clopper_pearson(k, n, 0.95)  # the interval honeypot evidence uses
        assert (float(lo), float(hi)) == pytest.approx((ci.low, ci.high), rel=1e-9, abs=1e-12)


def test_a_labeler_with_eight_honeypots_counts():
    """8 honeypots on a failure mode (4 true fails, 4 true passes), every true fail passed against peers' 10%
    false passes: the exact lenient direction is significant; a labeler with a clean record on 8 is not."""
    peers = [(f"P{i}", "fm", i, 100, 55, 5, 5, 50, 50) for i in range(8)]
    lenient = ("B", "fm", 8, 8, 8, 4, 0, 4, 4)   # every true fail passed: 4/4 false passes vs 10%
    clean = ("C", "fm", 9, 8, 4, 0, 0, 4, 4)
    ev = {r["labeler_id"]: r for r in honeypot.evidence(_hp_table([*peers, lenient, clean]), 20, 0.95).to_pylist()}
    assert ev["B"]["n"] == 8 and ev["B"]["effect"] > 0.3 and ev["B"]["p_value"] < 0.01
    assert ev["B"]["ci_low"] <= ev["B"]["effect"] <= ev["B"]["ci_high"]
    assert ev["C"]["p_value"] > 0.3


def test_empirical_null_widens_only_when_the_bulk_is_wide():
    rng = np.random.default_rng(0)
    for scale, expect in ((1.0, 1.0), (1.6, 1.6)):
        z = rng.normal(0, scale, 4000)
        p = 2 * stats.norm.sf(np.abs(z))
        p_adj, sigma = empirical_null(p, z)
        assert sigma == pytest.approx(expect, rel=0.06)
        assert np.all(p_adj >= p - 1e-15)
    few_p, few_sigma = empirical_null([0.01, 0.5], [1.0, -1.0])
    assert few_sigma == 1.0 and list(few_p) == [0.01, 0.5]


def test_overlap_peer_choice_skips_excluded_and_is_within_item():
    rows = [("i1", "A", "pass", "fm", 0), ("i1", "B", "fail", "fm", 0), ("i1", "C", "pass", "fm", 0),
            ("i2", "A", "pass", "fm", 0)]
    J = judgments.load(engine_for_tables({"labels": _labels(rows)}), "pass")
    excluded = np.zeros(J.n_workers, dtype=bool)
    excluded[J.worker_labeler == J.labelers.to_pylist().index("B")] = True
    chosen = overlap.peer_choice(J, excluded)
    ids = [J.labelers[int(c)].as_py() for c in J.worker_labeler[J.worker]]
    items = [J.item_id[int(c)].as_py() for c in J.item]
    picks = {(items[i], ids[i]): (ids[c] if c >= 0 else None) for i, c in enumerate(chosen)}
    assert picks[("i2", "A")] is None  # alone on its item
    assert picks[("i1", "A")] == "C" and picks[("i1", "C")] == "A"  # B is never a peer
    assert picks[("i1", "B")] in ("A", "C")  # but B is still compared


def test_honeypot_rows_always_have_a_p_value():
    """A side without honeypots is p = 1 on that side, never a NaN that would drop the row (or make two runs'
    tables unequal): a labeler who saw only truly negative honeypots and passed 4 of 6 is tested, and lenient."""
    peers = [(f"P{i}", "fm", i, 100, 55, 5, 5, 50, 50) for i in range(8)]
    only_neg = ("B", "fm", 8, 6, 4, 4, 0, 6, 0)
    clean = ("C", "fm", 9, 10, 5, 0, 0, 5, 5)
    ev = {r["labeler_id"]: r for r in honeypot.evidence(_hp_table([*peers, only_neg, clean]), 20, 0.95).to_pylist()}
    assert all(np.isfinite(r["p_value"]) and np.isfinite(r["p_value_mid"]) for r in ev.values())
    assert ev["B"]["effect"] > 0 and ev["B"]["p_value"] < 0.01
    assert ev["C"]["p_value"] == pytest.approx(1.0)
