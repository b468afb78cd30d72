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


def _reference(y, worker, T, n_workers):
    """directed_bias written out judgment by judgment for one failure mode and one labeler per worker: least
    squares (s, u) per worker, the other workers' pooled least squares, the covariance A^-1 B A^-1 with B at the
    worker's own rates, the GLS estimate along each direction, and its coefficients per judgment."""
    out = []
    X = np.stack([T, 1 - T], axis=1)
    for w in range(n_workers):
        m = worker == w
        A = X[m].T @ X[m]
        su = np.linalg.solve(A, X[m].T @ y[m])
        o = ~m
        s0, u0 = np.linalg.solve(X[o].T @ X[o], X[o].T @ y[o])
        q = X[m] @ su  # the labeler's own rates (one failure mode: its pooled rates are its own)
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
    assert got["effect"][1] > 0 and got["p"][1] < 1e-4
    assert got["effect"][3] < 0 and got["p"][3] < 1e-4
    assert got["p_pos"][1] < got["p_neg"][1] and got["p_neg"][3] < got["p_pos"][3]


def test_third_cumulant_is_the_sum_over_judgments():
    rng = np.random.default_rng(1)
    T = rng.beta(0.3, 0.3, 500)
    a0, a1, e0, e1 = 0.02, -0.05, 0.1, 0.8
    powers = [np.array([np.sum(T**k)]) for k in range(7)]
    got = truth_bias.third_cumulant(np.array([a0]), np.array([a1]), np.array([e0]), np.array([e1]), powers)
    c, q = a0 + a1 * T, e0 + e1 * T
    assert got[0] == pytest.approx(np.sum(c**3 * q * (1 - q) * (1 - 2 * q)), rel=1e-10)


def test_skew_correction_is_closer_to_the_exact_tail_and_never_less_conservative():
    """A sum of 40 Bernoulli(0.1) (4 expected errors): the exact binomial upper tail against the normal one and the
    corrected one; the correction never lowers a p-value below the normal tail."""
    n, p = 40, 0.1
    mu, sd = n * p, np.sqrt(n * p * (1 - p))
    gamma = (1 - 2 * p) / sd
    k = np.arange(6, 14)
    z = (k - 0.5 - mu) / sd  # (the continuity-corrected point: both tails on the same footing)
    exact = stats.binom.sf(k - 1, n, p)
    up, down = truth_bias.skew_corrected(z, np.full(len(z), gamma))
    normal = stats.norm.sf(z)
    assert (up >= normal).all()
    assert (np.abs(np.log(up / exact)) <= np.abs(np.log(normal / exact)) + 1e-12).all()
    assert np.all(np.abs(np.log(up / exact))[z > 2] < 0.5)  # within a factor 1.65 where the normal is off by more
    assert np.allclose(down, stats.norm.cdf(z))  # right skew: the lower tail is left as it was
    z0 = np.array([-0.5, 0.0, 0.9])
    assert np.allclose(truth_bias.skew_corrected(z0, np.full(3, 0.8))[0], stats.norm.sf(z0))


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


def _store(n_failure_modes: int, seed: int = 3, effect: float = 0.1):
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
