"""The directed Dawid–Skene evidence (labelers/truth_bias.py: directed_bias, third_cumulant, skew_corrected) and
where the stage uses it (labelers/stage.py _directed; labelers/leniency.py, one combined test per direction)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from evalaudit.config import Config
from evalaudit.engine import engine_for_tables
from evalaudit.labelers import simulate, stage, truth_bias
from evalaudit.stage import Context


def _workers(rng, n_workers, n_each, s, u, soft=0.3, flip=None):
    """Judgments of ``n_workers`` workers on one failure mode: per judgment a calibrated reference T (a share
    ``soft`` of items uncertain, the rest nearly 0 or 1), the truth drawn from T, the label from (s, u); ``flip``
    (per worker, signed): the share of negative answers turned positive (> 0) or positive answers turned negative
    (< 0)."""
    n = n_workers * n_each
    worker = np.repeat(np.arange(n_workers), n_each)
    T = np.where(rng.random(n) < soft, rng.uniform(0.2, 0.8, n),
                 np.where(rng.random(n) < 0.6, rng.uniform(0.97, 1.0, n), rng.uniform(0.0, 0.03, n)))
    truth = rng.random(n) < T
    y = np.where(truth, rng.random(n) < s, rng.random(n) < u)
    if flip is not None:
        f = np.asarray(flip)[worker]
        y = np.where((f > 0) & ~y & (rng.random(n) < f), True, y)
        y = np.where((f < 0) & y & (rng.random(n) < -f), False, y)
    return y.astype(np.int8), worker, T


def _reference(y, worker, T, n_workers, rates=None):
    """directed_bias written out judgment by judgment for one failure mode: least squares (s, u) per worker, the
    other workers' pooled least squares, the covariance A^-1 B A^-1 with B at ``rates[w]`` (default: the peers'
    — a labeler with no other failure mode), the GLS estimate along each direction, and its coefficients per
    judgment."""
    out = []
    X = np.stack([T, 1 - T], axis=1)
    for w in range(n_workers):
        m = worker == w
        A = X[m].T @ X[m]
        su = np.linalg.solve(A, X[m].T @ y[m])
        o = ~m
        s0, u0 = np.linalg.solve(X[o].T @ X[o], X[o].T @ y[o])
        q = X[m] @ (np.array([s0, u0]) if rates is None else np.asarray(rates[w]))
        B = (X[m] * (q * (1 - q))[:, None]).T @ X[m]
        Ai = np.linalg.inv(A)
        V = Ai @ B @ Ai
        p0 = s0 * T[m].mean() + u0 * (1 - T[m].mean())
        row = {}
        for name, delta, scale in (("pos", np.array([1 - s0, 1 - u0]), 1 - p0), ("neg", np.array([-s0, -u0]), -p0)):
            h = np.linalg.solve(V, delta)
            info = delta @ h
            f = h @ (su - np.array([s0, u0])) / info
            c = (X[m] @ Ai @ h) / info  # f = sum c_j y_j + const
            row[name] = {"effect": f * scale, "se": abs(scale) / np.sqrt(info), "z": f * np.sqrt(info),
                         "c": c, "q": q, "var": np.sum(c * c * q * (1 - q)), "info": info}
        out.append(row)
    return out


def test_directed_bias_is_the_gls_estimate_written_out():
    rng = np.random.default_rng(7)
    y, worker, T = _workers(rng, 6, 400, 0.9, 0.1, flip=[0.0, 0.2, 0.0, -0.2, 0.0, 0.0])
    mom = truth_bias.effect(y, worker, T, np.ones(len(y)), 6)
    got = truth_bias.directed_bias(mom, np.zeros(6, int), np.arange(6))
    ref = _reference(y, worker, T, 6)
    for w in range(6):
        for d in ("pos", "neg"):
            assert got[f"effect_{d}"][w] == pytest.approx(ref[w][d]["effect"], rel=1e-6, abs=1e-9)
            assert got[f"se_{d}"][w] == pytest.approx(ref[w][d]["se"], rel=1e-6)
            # the variance the coefficients give is the GLS one: sum c^2 q (1 - q) = 1 / info
            assert ref[w][d]["var"] == pytest.approx(1 / ref[w][d]["info"], rel=1e-6)
    assert got["ok"].all()
    # the flipped workers are found in their direction, the row shows it
    assert got["effect"][1] > 0 and got["p"][1] < 0.01
    assert got["effect"][3] < 0 and got["p"][3] < 0.01
    # each direction's own signed test: a flip toward positive moves both up (fewer false fails too), a flip
    # toward negative both down
    assert got["effect_pos"][1] > 0 and got["effect_neg"][1] > 0
    assert got["effect_pos"][3] < 0 and got["effect_neg"][3] < 0


def test_the_variance_is_taken_at_the_labelers_rates_on_its_other_failure_modes():
    """Workers 0-2 are one labeler's three failure modes (the same item mix and peers here, for the written-out
    reference): each one's variance is at the rates of the labeler's other two pooled, or the peers' where those
    are nearer 1/2 (the larger variance)."""
    rng = np.random.default_rng(9)
    y, worker, T = _workers(rng, 6, 500, 0.9, 0.1, flip=[0.15, 0.0, 0.0, 0.0, 0.0, 0.0])
    labeler = np.array([0, 0, 0, 1, 2, 3])
    mom = truth_bias.effect(y, worker, T, np.ones(len(y)), 6)
    got = truth_bias.directed_bias(mom, np.zeros(6, int), labeler)
    X = np.stack([T, 1 - T], axis=1)
    rates = {}
    for w in range(3):
        o = np.isin(worker, [v for v in range(3) if v != w])
        own = np.linalg.solve(X[o].T @ X[o], X[o].T @ y[o])
        peers = _peers(y, worker, T, w)
        rates[w] = np.array([min(own[0], peers[0]), max(own[1], peers[1])])
    ref = _reference(y, worker, T, 6, rates={**rates, **{w: None for w in range(3, 6)}} | {
        w: _peers(y, worker, T, w) for w in range(3, 6)})
    for w in range(6):
        for d in ("pos", "neg"):
            assert got[f"se_{d}"][w] == pytest.approx(ref[w][d]["se"], rel=1e-6)


def _peers(y, worker, T, w):
    X = np.stack([T, 1 - T], axis=1)
    o = worker != w
    return np.linalg.solve(X[o].T @ X[o], X[o].T @ y[o])


def _hist(T, w=None):
    """One worker's T distribution as truth_bias keeps it (judgments and sum of T per bin)."""
    B = truth_bias.TAIL_BINS
    w = np.ones(len(T)) if w is None else w
    k = np.minimum((T * B).astype(int), B - 1)
    return np.bincount(k, weights=w, minlength=B)[None, :], np.bincount(k, weights=w * T, minlength=B)[None, :]


@pytest.mark.parametrize("errors", [8, 10, 12, 14, 16])
def test_saddlepoint_tail_is_the_mid_p_of_a_binomial(errors):
    """A hard reference: 63 truly positive items at a false-fail rate of 0.07 (4.4 expected) and 40 negative ones
    that do not count (c = 0): the tail of the false fails is within 20% of the binomial mid-p (Lancaster 1961),
    where the normal tail is off by up to a factor 500."""
    T = np.r_[np.ones(63), np.zeros(40)]
    n, t = _hist(T)
    a0, a1, e0, e1 = np.array([0.0]), np.array([-1.0]), np.array([0.1]), np.array([0.83])  # c = -T, q(1) = 0.93
    mu, sd = -63 * 0.93, np.sqrt(63 * 0.93 * 0.07)
    z = (-(63 - errors) - mu) / sd
    up, down = truth_bias.saddlepoint_tails(np.array([z]), a0, a1, e0, e1, n, t)
    mid = stats.binom.sf(errors, 63, 0.07) + 0.5 * stats.binom.pmf(errors, 63, 0.07)
    assert up[0] == pytest.approx(mid, rel=0.2)
    assert down[0] == pytest.approx(stats.norm.cdf(z))  # the other tail of a positive z is the normal one


def test_saddlepoint_tail_of_a_soft_weighted_sum_against_simulation():
    """Soft references (T spread over [0, 1]): the saddlepoint tail of sum c_j y_j against 400,000 simulated
    draws of the labels, where the normal tail is far off."""
    rng = np.random.default_rng(4)
    T = np.clip(rng.beta(0.4, 0.4, 150), 0, 1)
    a0, a1, e0, e1 = 0.03, -0.028, 0.1, 0.8
    c, q = a0 + a1 * T, e0 + e1 * T
    mu, sd = np.sum(c * q), np.sqrt(np.sum(c * c * q * (1 - q)))
    draws = (rng.random((400_000, len(T))) < q) @ c
    n, t = _hist(T)
    for z in (2.5, 3.0, 3.5):
        up, _ = truth_bias.saddlepoint_tails(np.array([z]), *(np.array([v]) for v in (a0, a1, e0, e1)), n, t)
        sim = np.mean(draws >= mu + z * sd)
        assert up[0] == pytest.approx(sim, rel=0.25), (z, up[0], sim, stats.norm.sf(z))


def test_honest_workers_are_calibrated():
    """400 honest workers of equal accuracy on soft and hard references: each direction's two-sided p-value and the
    row's doubled one-sided p are about uniform (at most a little conservative)."""
    rng = np.random.default_rng(11)
    nw = 400
    y, worker, T = _workers(rng, nw, 250, 0.9, 0.1)
    mom = truth_bias.effect(y, worker, T, np.ones(len(y)), nw)
    got = truth_bias.directed_bias(mom, np.zeros(nw, int), np.arange(nw))
    for key in ("p_pos", "p_neg", "p"):
        share = np.mean(got[key] < 0.05)
        assert 0.02 <= share <= 0.075, (key, share)
        assert np.mean(got[key] < 0.01) <= 0.02


def test_a_less_accurate_labeler_is_one_direction_not_the_other():
    """A labeler less specific than peers (more false passes, same sensitivity) moves the test toward positive,
    not the one toward negative: the two are separate tests, each against its own honest spread (in the stage)."""
    rng = np.random.default_rng(5)
    nw = 30
    y, worker, T = _workers(rng, nw, 2000, 0.9, 0.1)
    y2, _, T2 = _workers(rng, 1, 2000, 0.9, 0.2)  # worker 0 replaced: specificity 0.8
    y[worker == 0], T[worker == 0] = y2, T2
    mom = truth_bias.effect(y, worker, T, np.ones(len(y)), nw)
    got = truth_bias.directed_bias(mom, np.zeros(nw, int), np.arange(nw))
    assert got["effect_pos"][0] > 0.03 and got["p_pos"][0] < 1e-6
    assert abs(got["effect_neg"][0]) < 0.03 and got["p_neg"][0] > 0.01


def _store(n_failure_modes: int, seed: int = 3, effect: float = 0.2):
    sc = simulate.Scenario(n_items=12_000, n_labelers=20, n_failure_modes=n_failure_modes, overlap=0.4,
                           honeypot_share=0.05, seed=seed,
                           faults=[simulate.Fault("labeler_leniency", 0, 0, effect)])
    tables, _ = simulate.generate(sc)
    return stage(Context(engine=engine_for_tables(tables), cfg=Config()))


def test_the_stage_uses_the_directed_rows_where_labelers_have_their_own_level():
    """Labelers on four failure modes: the Dawid–Skene rows are the directed tests, they read the honeypots, and the
    combined rows stand for the honeypot rows (which stay in the table as explanation); the planted lenient
    labeler is found."""
    r = _store(4)
    t = r.tables["leniency"]
    kinds = t["evidence"].to_pylist()
    ds_methods = {m for m, k in zip(t["method"].to_pylist(), kinds, strict=True) if k == "dawid_skene"}
    assert ds_methods == {truth_bias.METHOD_FLIP}
    assert "honeypot" in kinds
    parts = {p for p, k in zip(t["parts"].to_pylist(), kinds, strict=True) if k == "combined"}
    assert not any("honeypot" in p and "dawid_skene" in p for p in parts)
    assert any("Dawid–Skene read toward" in m for m, k in zip(t["method"].to_pylist(), kinds, strict=True)
               if k == "combined")
    found = {(f.labeler_id, f.failure_mode) for f in r.findings
             if f.kind == "labeler_leniency" and f.severity in ("medium", "high")}
    assert ("L000", "fm0") in found


def test_one_failure_mode_keeps_the_threshold_shift_rows():
    """Every labeler on one failure mode (no own level to judge them against): the Dawid–Skene rows stay (s - t)/2."""
    r = _store(1)
    t = r.tables["leniency"]
    ds_methods = {m for m, k in zip(t["method"].to_pylist(), t["evidence"].to_pylist(), strict=True)
                  if k == "dawid_skene"}
    assert ds_methods == {truth_bias.METHOD}
