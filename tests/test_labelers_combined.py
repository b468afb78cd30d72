"""The combined leniency test (labelers/combine.py), declared random assignment and its balance check, and
the Dawid–Skene evidence against the leave-this-labeler-out truth (labelers/truth_bias.py)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from evalaudit.config import Config
from evalaudit.engine import engine_for_tables
from evalaudit.labelers import combine, severity, simulate, stage, truth_bias
from evalaudit.labelers.evidence import LENIENCY_SCHEMA, evidence_table
from evalaudit.stage import Context


def _rows(kinds, effects, ses, ps, n=100):
    """Evidence rows of one labeler × failure mode with Wald intervals of the given standard errors."""
    parts = []
    for k, e, se, p in zip(kinds, effects, ses, ps, strict=True):
        parts.append(evidence_table(["A"], ["fm"], k, [e], [e - 1.959963984540054 * se],
                                    [e + 1.959963984540054 * se], [p], [n], [0.5], [0.5], k))
    return pa.concat_tables(parts)


def _shared(kinds, share: dict[tuple[str, str], float], n=100.0):
    out = {}
    for a in kinds:
        for b in kinds:
            out[(a, b)] = np.array([n if a == b else share.get((a, b), share.get((b, a), 0.0))])
    return out


def test_single_part_passes_unchanged():
    t = _rows(["overlap"], [0.1], [0.04], [0.013])
    c = combine.combine(t, np.ones(1), np.zeros(1, int), np.ones(1, bool), _shared(["overlap"], {}))
    r = c.to_pylist()[0]
    assert r["evidence"] == "combined" and r["parts"] == "overlap"
    assert (r["effect"], r["p_value"]) == (pytest.approx(0.1), pytest.approx(0.013))


def test_independent_parts_are_scipys_weighted_stouffer():
    """Disjoint judgments: Z = sum w z / sqrt(sum w^2), w = 1/se — scipy.stats.combine_pvalues(method="stouffer")
    on the one-sided p-values gives the same (ours is two-sided: twice its p when Z > 0)."""
    kinds, effects, ses = ["honeypot", "overlap"], [0.08, 0.05], [0.03, 0.04]
    ps = [2 * stats.norm.sf(e / s) for e, s in zip(effects, ses, strict=True)]
    t = _rows(kinds, effects, ses, ps)
    c = combine.combine(t, np.ones(2), np.zeros(2, int), np.ones(2, bool), _shared(kinds, {})).to_pylist()[0]
    w = 1 / np.array(ses)
    want = stats.combine_pvalues([p / 2 for p in ps], method="stouffer", weights=w).pvalue
    assert c["p_value"] == pytest.approx(2 * want, rel=1e-6)
    v = w**2
    assert c["effect"] == pytest.approx(float(v @ np.array(effects) / v.sum()))
    assert c["ci_low"] < c["effect"] < c["ci_high"]
    assert c["p_value"] < min(ps)  # independent agreeing evidence adds up


def test_fully_shared_parts_count_once():
    """Two kinds read off the same judgments (r = 1): the combination is never stronger than its best part."""
    kinds = ["dawid_skene", "overlap"]
    t = _rows(kinds, [0.06, 0.06], [0.03, 0.03], [2 * stats.norm.sf(2.0)] * 2)
    c = combine.combine(t, np.ones(2), np.zeros(2, int), np.ones(2, bool),
                        _shared(kinds, {("dawid_skene", "overlap"): 100.0})).to_pylist()[0]
    assert c["p_value"] == pytest.approx(2 * stats.norm.sf(2.0), rel=1e-6)


@settings(max_examples=40, deadline=None)
@given(z=st.lists(st.floats(-4, 4), min_size=2, max_size=4),
       se=st.lists(st.floats(0.01, 0.2), min_size=4, max_size=4),
       share=st.floats(0.0, 100.0))
def test_combined_is_a_valid_z_for_any_correlation_bound(z, se, share):
    """Whatever the parts, the combined z never exceeds what independent parts would give, and with every pair
    sharing all judgments it lies between the parts' smallest and largest z (a weighted mean)."""
    kinds = ["assignment", "dawid_skene", "honeypot", "overlap"][:len(z)]
    se = se[:len(z)]
    effects = [zi * s for zi, s in zip(z, se, strict=True)]
    ps = [2 * stats.norm.sf(abs(zi)) for zi in z]
    t = _rows(kinds, effects, se, ps)
    pairs = {(a, b): share for a in kinds for b in kinds if a < b}
    full = {(a, b): 100.0 for a in kinds for b in kinds if a < b}
    args = (np.ones(len(z)), np.zeros(len(z), int), np.ones(len(z), bool))
    c_ind = combine.combine(t, *args, _shared(kinds, {})).to_pylist()[0]
    c_sh = combine.combine(t, *args, _shared(kinds, pairs)).to_pylist()[0]
    c_full = combine.combine(t, *args, _shared(kinds, full)).to_pylist()[0]
    assert 0.0 <= c_sh["p_value"] <= 1.0 and c_sh["ci_low"] <= c_sh["effect"] <= c_sh["ci_high"]
    zs = [np.sign(e) * stats.norm.isf(p / 2) if e != 0 else 0.0 for e, p in zip(effects, ps, strict=True)]
    z_full = np.sign(c_full["effect"]) * stats.norm.isf(c_full["p_value"] / 2)
    if all(np.sign(x) == np.sign(zs[0]) for x in zs):  # agreeing parts: sharing can only weaken them
        assert c_sh["p_value"] >= c_ind["p_value"] - 1e-12
        assert min(np.abs(zs)) - 1e-6 <= abs(z_full) <= max(np.abs(zs)) + 1e-6


def _combine_one_group_at_a_time(rows: pa.Table, sigma0, worker, include, shared, confidence=0.95) -> list[dict]:
    """The combination written group by group from the module docstring's formulas (the reference the
    vectorised :func:`combine.combine` is held to)."""
    zc = stats.norm.isf((1 - confidence) / 2)
    r = rows.to_pylist()
    groups: dict[tuple, list[int]] = {}
    for i, row in enumerate(r):
        se = (row["ci_high"] - row["ci_low"]) / (2 * zc) * sigma0[i]
        if include[i] and np.isfinite(row["effect"]) and np.isfinite(row["p_value_mid"]) and np.isfinite(se) \
                and se > 0:
            groups.setdefault((row["labeler_id"], row["failure_mode"], row["label"]), []).append(i)
    out = []
    for (lab, fm, label), members in groups.items():
        if len(members) == 1:
            row = r[members[0]]
            out.append({"labeler_id": lab, "failure_mode": fm, "label": label, "effect": row["effect"],
                        "p_value": row["p_value"], "n": round(row["n"]), "parts": row["evidence"]})
            continue
        members.sort(key=lambda i: r[i]["evidence"])
        ks = [r[i]["evidence"] for i in members]
        w = worker[members[0]]
        se = np.array([(r[i]["ci_high"] - r[i]["ci_low"]) / (2 * zc) * sigma0[i] for i in members])
        e = np.array([r[i]["effect"] for i in members])
        z = np.array([np.sign(r[i]["effect"]) * stats.norm.isf(r[i]["p_value_mid"] / 2) for i in members])
        R = np.array([[1.0 if a == b else shared[(ka, kb)][w] / np.sqrt(shared[(ka, ka)][w] * shared[(kb, kb)][w])
                       for b, kb in enumerate(ks)] for a, ka in enumerate(ks)])
        Z = (z / se).sum() / np.sqrt((1 / se) @ R @ (1 / se))
        v = 1 / se**2
        n = max(max(r[i]["n"] for i in members), sum(r[i]["n"] for i in members)
                - sum(shared[(ks[a], ks[b])][w] for a in range(len(ks)) for b in range(a + 1, len(ks))))
        out.append({"labeler_id": lab, "failure_mode": fm, "label": label, "effect": float(v @ e / v.sum()),
                    "p_value": float(2 * stats.norm.sf(abs(Z))), "n": round(n), "parts": ",".join(ks)})
    return out


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_combined_rows_are_the_group_by_group_formulas(data):
    """Many labeler × failure mode (× label) groups at once — any subset of the kinds, rows left out or unusable,
    labels null or not, groups interleaved in row order — give each group's own combination, in the order of the
    groups' first rows."""
    kinds = ["assignment", "dawid_skene", "honeypot", "overlap"]
    n_workers = data.draw(st.integers(1, 6))
    rows, workers, include = [], [], []
    for _ in range(data.draw(st.integers(1, 30))):
        w = data.draw(st.integers(0, n_workers - 1))
        kind = data.draw(st.sampled_from(kinds))
        label = data.draw(st.sampled_from([None, "pass", "fail"]))
        e = data.draw(st.floats(-0.3, 0.3))
        se = data.draw(st.sampled_from([0.0, 0.02, 0.05, 0.1]))
        p = float(2 * stats.norm.sf(abs(e) / se)) if se > 0 else 1.0
        t = evidence_table([f"L{w}"], ["fm"], kind, [e], [e - 1.959963984540054 * se], [e + 1.959963984540054 * se],
                           [p], [data.draw(st.integers(1, 500))], [0.5], [0.5], kind, label=label)
        if any((x["labeler_id"], x["label"], x["evidence"]) == (f"L{w}", label, kind) for x in rows):
            continue  # one row per kind and group, as the evidence gives
        rows.append(t.to_pylist()[0])
        workers.append(w)
        include.append(data.draw(st.sampled_from([True, True, True, False])))
    table = pa.Table.from_pylist(rows, schema=LENIENCY_SCHEMA)
    own = {k: np.array([data.draw(st.floats(100, 1000)) for _ in range(n_workers)]) for k in kinds}
    shared = {(k, k): own[k] for k in kinds}
    for a in kinds:
        for b in kinds:
            if a < b:  # what both read: a share of the smaller one's judgments
                share = np.array([data.draw(st.floats(0, 1)) for _ in range(n_workers)])
                shared[(a, b)] = shared[(b, a)] = share * np.minimum(own[a], own[b])
    sigma0 = np.ones(len(rows))
    got = combine.combine(table, sigma0, np.array(workers), np.array(include), shared).to_pylist()
    want = _combine_one_group_at_a_time(table, sigma0, workers, include, shared)
    assert [(g["labeler_id"], g["label"], g["parts"], g["n"]) for g in got] == \
        [(w["labeler_id"], w["label"], w["parts"], w["n"]) for w in want]
    for g, w in zip(got, want, strict=True):
        assert g["effect"] == pytest.approx(w["effect"], rel=1e-12, abs=1e-15)
        assert g["p_value"] == pytest.approx(w["p_value"], rel=1e-9, abs=1e-300)


def test_empty_input_gives_the_schema():
    c = combine.combine(LENIENCY_SCHEMA.empty_table(), np.ones(0), np.zeros(0, int), np.zeros(0, bool), {})
    assert c.num_rows == 0 and c.schema == LENIENCY_SCHEMA


# -- the Dawid–Skene evidence against the estimated truth ----------------------------------------------------------

def test_truth_bias_with_a_hard_reference_is_plain_rates():
    """With T exactly 0/1 the moment estimates are the plain sensitivity and specificity, and the effect is
    (s - t) / 2: a labeler passing 18 of 20 true passes and 14 of 20 true fails is lenient by (.9 - .7) / 2."""
    T = np.array([1.0] * 20 + [0.0] * 20)
    y = np.array([1] * 18 + [0] * 2 + [1] * 6 + [0] * 14)
    r = truth_bias.effect(y, np.zeros(40, int), T, np.ones(40), 1)
    assert r["sensitivity"][0] == pytest.approx(0.9) and r["specificity"][0] == pytest.approx(0.7)
    assert r["effect"][0] == pytest.approx(0.1) and r["ok"][0]
    # the sandwich variance with hard T: binomial variances of s and t
    assert r["se"][0] == pytest.approx(0.5 * np.sqrt(0.9 * 0.1 / 20 + 0.7 * 0.3 / 20), rel=1e-6)


def test_truth_bias_corrects_soft_references():
    """A calibrated soft reference (T = 0.8 / 0.2) attenuates plain ratios; the moment estimates recover s, t."""
    rng = np.random.default_rng(3)
    n = 40_000
    T = np.where(rng.random(n) < 0.5, 0.8, 0.2)
    truth = rng.random(n) < T
    s, t = 0.95, 0.75
    y = np.where(truth, rng.random(n) < s, rng.random(n) >= t).astype(int)
    r = truth_bias.effect(y, np.zeros(n, int), T, np.ones(n), 1)
    assert r["sensitivity"][0] == pytest.approx(s, abs=0.02) and r["specificity"][0] == pytest.approx(t, abs=0.02)
    assert r["effect"][0] == pytest.approx((s - t) / 2, abs=0.015)
    naive = (T * y).sum() / T.sum()
    assert naive < s - 0.1  # what the ratio would have said


# -- declared random assignment ----------------------------------------------------------------------------------

def _run(scenario: simulate.Scenario, assignment: str):
    tables, _ = simulate.generate(scenario)
    cfg = Config()
    cfg.labelers = replace(cfg.labelers, assignment=assignment)
    return stage(Context(engine=engine_for_tables(tables), cfg=cfg))


def _serious(r, kind="labeler_leniency"):
    return {(f.labeler_id, f.failure_mode) for f in r.findings if f.kind == kind and f.severity in ("medium", "high")}


@pytest.fixture(scope="module")
def no_overlap():
    """Every item judged once, no honeypots: only the assignment evidence can see L000's leniency (L000 holds
    about a tenth of the judgments, like the seed story's labeler)."""
    sc = simulate.Scenario(n_items=12_000, overlap=0.0, honeypot_share=0.0, seed=5, heavy_weight=4.0,
                           faults=[simulate.Fault("labeler_leniency", 0, 0, 0.20)])
    return {a: _run(sc, a) for a in ("unknown", "random")}


def test_undeclared_assignment_is_capped_and_said(no_overlap):
    r = no_overlap["unknown"]
    assert ("L000", "fm0") not in _serious(r)
    f = next(f for f in r.findings if f.labeler_id == "L000" and f.failure_mode == "fm0")
    assert f.severity == "low" and "capped" in f.message and "assignment_capped" in f.details
    reasons = {s["analysis"]: s["reason"] for s in r.skipped}
    assert "not declared" in reasons["leniency evidence 'assignment' at full strength"]


def test_declared_random_assignment_reaches_medium(no_overlap):
    r = no_overlap["random"]
    assert ("L000", "fm0") in _serious(r)
    f = next(f for f in r.findings if f.labeler_id == "L000" and f.failure_mode == "fm0")
    assert f.details["combined_of"] == ["assignment"]
    honest = {k for k in _serious(r) | _serious(r, "labeler_severity") if k[0] != "L000"}
    assert not honest
    assert r.summary["labelers"]["assignment"]["declared"] == "random"
    assert not [s for s in r.skipped if s["analysis"].startswith("leniency evidence 'assignment'")]


def test_declared_random_on_easier_items_is_caught():
    """L001 is honest but handed easier items (half of their truly failing items go to someone else): their pass
    rate on single-label items is higher than peers' — the assignment evidence alone would call them lenient —
    and the balance check (known answers and other labelers' labels on L001's items) says so instead."""
    sc = simulate.Scenario(n_items=20_000, overlap=0.3, honeypot_share=0.05, seed=2, easy_labeler=1,
                           easy_skip=0.6)
    r = _run(sc, "random")
    rows = [x for x in r.tables["leniency"].to_pylist() if x["labeler_id"] == "L001"]
    assign = [x for x in rows if x["evidence"] == "assignment"]
    assert sum(x["effect"] > 0.05 and x["p_value"] < 0.01 for x in assign) >= 3  # the trap is real
    reason = next(s["reason"] for s in r.skipped if s["analysis"] == "leniency evidence 'assignment' at full "
                                                                     "strength")
    caught = {f"fm{m}" for m in range(4) if f"L001 on fm{m}" in reason}
    assert "balance check" in reason and len(caught) >= 2
    assert not [k for k in _serious(r) if k[0] == "L001"]
    # where caught, the assignment evidence falls back to capped: out of the combined test
    assert all("assignment" not in (x["parts"] or "") for x in rows
               if x["evidence"] == "combined" and x["failure_mode"] in caught)


@pytest.mark.parametrize(("evidence", "q", "effect", "ci", "want"), [
    ("combined", 0.03, 0.040, (0.020, 0.060), "medium"),   # q < 0.05 and the interval clear of ±0.01
    ("combined", 0.03, -0.040, (-0.060, -0.020), "medium"),  # severe alike
    ("combined", 0.03, 0.040, (0.005, 0.075), "low"),      # the interval reaches the negligible band
    ("combined", 0.03, 0.040, (-0.010, 0.090), "low"),     # the interval spans zero
    ("combined", 0.07, 0.040, (0.020, 0.060), None),       # not significant
    ("overlap", 0.03, 0.040, (0.020, 0.060), "low"),       # the interval route is the combined test's only
    ("assignment", 0.03, 0.040, (0.020, 0.060), "low"),    # assignment alone stays low
    ("combined", 0.005, 0.060, (0.040, 0.080), "medium"),  # the q < q_medium, |effect| >= effect_medium route
    ("overlap", 0.005, 0.060, (0.005, 0.115), "medium"),
])
def test_medium_rule_for_the_combined_test(evidence, q, effect, ci, want):
    """Medium for a combined row: q < q_medium_combined (0.05) and the whole interval beyond ±effect_negligible
    (0.01) — a minimum-effect test — or the general rule (q < 0.01, |effect| >= 0.05); high stays strict."""
    from evalaudit.labelers.severity import grade
    assert grade(evidence, q, effect, 0, severity.Thresholds.of(Config().leniency), 1.0, ci) == want


def test_medium_interval_rule_on_an_ordered_scale_is_a_share_of_its_width():
    from evalaudit.labelers.severity import grade
    lc = severity.Thresholds.of(Config().leniency)
    # on a 0..100 scale the negligible band is ±1 point: an interval from 2 to 6 points clears it, 0.5 to 6 does not
    assert grade("combined", 0.03, 4.0, 0, lc, 100.0, (2.0, 6.0)) == "medium"
    assert grade("combined", 0.03, 4.0, 0, lc, 100.0, (0.5, 6.0)) == "low"


@pytest.mark.parametrize(("spread", "widened"), [(1.5, True), (0.8, False)])
def test_combined_rows_against_their_own_empirical_null(spread, widened):
    """Where no labeler is seen on two failure modes (no within-labeler spread to model), combined z-scores
    spreading wider than N(0, 1) are judged against their own spread (Efron's empirical null), intervals widened
    alike — an interval excludes 0 exactly when the adjusted p-value is below 0.05; a spread below 1 leaves the
    rows as they are."""
    from evalaudit.labelers.leniency import _against_empirical_null
    rng = np.random.default_rng(7)
    z = rng.normal(0, spread, 400)
    se = 0.02
    p = 2 * stats.norm.sf(np.abs(z))
    t = evidence_table(["A"] * 400, [f"fm{i}" for i in range(400)], "combined", z * se, z * se - 1.959963984540054
                       * se, z * se + 1.959963984540054 * se, p, [100] * 400, [0.5] * 400, [0.5] * 400, "m")
    out = _against_empirical_null(t)
    p_adj = out["p_value"].to_numpy()
    if not widened:
        assert np.array_equal(p_adj, p) and out["ci_low"].equals(t["ci_low"]) and out["method"].equals(t["method"])
        return
    sigma0 = abs(z[0]) / stats.norm.isf(p_adj[0] / 2)
    assert sigma0 == pytest.approx(spread, rel=0.15)
    assert np.all(p_adj >= p - 1e-15)
    lo, hi = out["ci_low"].to_numpy(), out["ci_high"].to_numpy()
    assert np.array_equal((lo > 0) | (hi < 0), p_adj < 0.05)
    assert "empirical null" in out["method"][0].as_py()


@pytest.mark.parametrize("tau", [0.0, 0.03])
def test_combined_rows_against_the_honest_spread(tau):
    """Combined rows are judged against the honest spread of labelers (labelers/honest_spread.py): with no spread
    beyond the standard errors the rows keep their p-values and Wald intervals; with a labeler-level spread the
    spread is found, the method says so, and an interval excludes 0 exactly when the p-value is below 0.05."""
    from evalaudit.labelers.leniency import _against_honest_spread
    rng = np.random.default_rng(7)
    n_lab, k, se = 100, 4, 0.02
    x = np.repeat(rng.normal(0, tau, n_lab), k) + rng.normal(0, se, n_lab * k)
    p = 2 * stats.norm.sf(np.abs(x / se))
    t = evidence_table(np.repeat([f"L{i}" for i in range(n_lab)], k).tolist(), [f"fm{j}" for j in range(k)] * n_lab,
                       "combined", x, x - 1.959963984540054 * se, x + 1.959963984540054 * se, p, [100] * len(x),
                       [0.5] * len(x), [0.5] * len(x), "m")
    out = _against_honest_spread(t, 0.95)
    p_new, lo, hi = (out[c].to_numpy() for c in ("p_value", "ci_low", "ci_high"))
    assert "honest spread" in out["method"][0].as_py()
    assert np.array_equal((lo > 0) | (hi < 0), p_new < 0.05)
    if tau == 0.0:
        tau_u = float(out["method"][0].as_py().split("tau between labelers = ")[1].split(",")[0])
        assert tau_u < 0.008
        assert np.mean(p_new < 0.01) < 0.03
    else:
        assert "own honest level" in out["method"][0].as_py()
        # against the theoretical null about 15% of honest rows would be flagged at 0.01; against the spread, ~1%
        assert np.mean(p < 0.01) > 0.08 and np.mean(p_new < 0.01) < 0.03


_RANKS = {None: -1, "low": 0, "medium": 1, "high": 2}


@settings(max_examples=40, deadline=None)
@given(q=st.floats(0, 1), effect=st.floats(-1, 1), half=st.floats(0, 0.5), shrink=st.floats(0, 1),
       toward=st.floats(0, 1))
def test_grade_is_monotone_in_evidence(q, effect, half, shrink, toward):
    """Stronger evidence never earns a lower severity: a smaller q-value, or a narrower interval around the same
    effect (sign kept), gives at least the same grade; the severity is the same for a severe (negative) effect."""
    from evalaudit.labelers.severity import grade
    lc = severity.Thresholds.of(Config().leniency)
    base = grade("combined", q, effect, 0, lc, 1.0, (effect - half, effect + half))
    assert _RANKS[grade("combined", q * shrink, effect, 0, lc, 1.0, (effect - half, effect + half))] >= _RANKS[base]
    narrow = half * toward
    assert _RANKS[grade("combined", q, effect, 0, lc, 1.0, (effect - narrow, effect + narrow))] >= _RANKS[base]
    assert grade("combined", q, -effect, 0, lc, 1.0, (-effect - half, -effect + half)) == base
