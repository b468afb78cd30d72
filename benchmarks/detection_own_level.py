"""How much of the truth-free limit a method can reach when it must estimate the lenient labeler's own honest
accuracy: the price of the labeler's own level, measured on the simulated histories of ``bench_detection``.

    .venv/bin/python -m benchmarks.detection_own_level [--seeds 25] [--effect 0.05] [--share 0.15] [--overlap 0.1]

``bench_detection``'s truth-free limit is handed every parameter, the lenient labeler's own honest sensitivity and
specificity included. No method has those: evalaudit judges a labeler × failure mode against the labeler's own
level on its other failure modes (labelers/honest_spread.py). Per seed this script takes the stage's
leave-this-labeler-out Dawid–Skene posterior T of every judgment (a honeypot at its known answer) and computes,
on L000's fm0 judgments on items another labeler judged or with a known answer (what a method that does not
assume random assignment reads), the efficient score test of "a share f of fail answers turned pass" at f = 0
(Rao 1948): ``U = sum (y - p) / p``, ``I = sum (1 - p) / p``, ``p = s T + u (1 - T)``, with (s, u)

- ``known``: L000's honest sensitivity and false-positive rate as simulated (what the limit is handed);
- ``estimated``: the moment estimates from L000's other three failure modes (the same judgments), their sampling
  covariance carried into the variance of U (``I + g' V g``, g = dU/d(s, u));
- ``shrunk``: those estimates shrunk toward the honest labelers' population (mean 0.9, sd 0.02 each, the
  simulator's truth, given exactly) — the best linear unbiased predictor of the level (Henderson 1975), as the
  honest-spread model does with an estimated spread.

Each z is referred to BH at q < 0.05 among 160 tests (159 honest uniform p-values, ``bench_detection.bh_power``),
one-sided (leniency only) and two-sided (leniency or severity, as a method testing both directions must).
Prints per seed the z-scores and the power of each. Hand-written: it needs the stage's posterior, so it runs the
stage once per seed with ``truth_bias.evidence`` wrapped to keep its inputs (nothing is changed).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from scipy import stats

from benchmarks.bench_detection import N_LABELERS, bh_power
from evalaudit.config import Config
from evalaudit.engine import engine_for_tables
from evalaudit.labelers import simulate, truth_bias
from evalaudit.stage import Context


def _inputs(effect: float, share: float, overlap: float, seed: int, n_items: int):
    """The simulated history and the stage's judgments and leave-one-out posterior (per judgment)."""
    import evalaudit.labelers  # noqa: F401  (registers the stage module)

    stage_mod = sys.modules["evalaudit.labelers.stage"]
    sc = simulate.Scenario(n_items=n_items, n_labelers=N_LABELERS, overlap=overlap, honeypot_share=0.03,
                           seed=seed, heavy_weight=(N_LABELERS - 1) * share / (1 - share),
                           faults=[simulate.Fault("labeler_leniency", 0, 0, effect)])
    tables, _ = simulate.generate(sc, with_truth=True)
    got: dict = {}
    orig = truth_bias.evidence

    def keep(J, loo, weight, *a, **k):
        got["J"], got["loo"], got["names"] = J, (loo(slice(None)) if callable(loo) else loo), a[3:5]
        return orig(J, loo, weight, *a, **k)

    stage_mod.truth_bias.evidence = keep
    try:
        stage_mod.stage(Context(engine=engine_for_tables({k: tables[k] for k in ("labels", "items")}), cfg=Config()))
    finally:
        stage_mod.truth_bias.evidence = orig
    return tables, got


def z_scores(effect: float, share: float, overlap: float, seed: int, n_items: int = 60_000) -> dict[str, float]:
    tables, got = _inputs(effect, share, overlap, seed, n_items)
    J, loo = got["J"], np.clip(got["loo"], 0.0, 1.0)
    lab_names, fm_names = got["names"]
    truth = dict(zip(tables["labeler_truth"]["labeler_id"].to_pylist(),
                     zip(tables["labeler_truth"]["sensitivity"].to_pylist(),
                         tables["labeler_truth"]["specificity"].to_pylist(), strict=True), strict=True))
    n_item = np.bincount(J.item, minlength=J.n_items)
    known = J.truth[J.item]
    T = np.where(known >= 0, known, loo).astype(float)
    read = (n_item[J.item] >= 2) | (known >= 0)
    mine = {fm_names[J.worker_fm[w]]: w for w in range(J.n_workers) if lab_names[J.worker_labeler[w]] == "L000"}
    m0 = read & (J.worker == mine["fm0"])
    mo = read & np.isin(J.worker, [mine[f] for f in mine if f != "fm0"])
    T0, y0 = T[m0], J.y[m0].astype(float)

    def score(s, u, V=None):
        p = np.clip(s * T0 + u * (1 - T0), 1e-6, 1 - 1e-6)
        U, info = np.sum((y0 - p) / p), np.sum((1 - p) / p)
        if V is not None:
            g = np.array([-np.sum(T0 / p), -np.sum((1 - T0) / p)])
            info = info + g @ V @ g
        return U / np.sqrt(info)

    Xo = np.stack([T[mo], 1 - T[mo]], axis=1)
    A = Xo.T @ Xo
    th = np.linalg.solve(A, Xo.T @ J.y[mo].astype(float))
    q = Xo @ th
    Ai = np.linalg.inv(A)
    V = Ai @ ((Xo * (q * (1 - q))[:, None]).T @ Xo) @ Ai
    prior = np.diag([1 / 0.02**2, 1 / 0.02**2])
    Vs = np.linalg.inv(np.linalg.inv(V) + prior)
    ths = Vs @ (np.linalg.inv(V) @ th + prior @ np.array([0.9, 0.1]))
    sens, spec = truth["L000"]
    return {"known": score(sens, 1 - spec), "estimated": score(*th, V), "shrunk": score(*ths, Vs),
            "n": int(m0.sum())}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=25)
    ap.add_argument("--effect", type=float, default=0.05)
    ap.add_argument("--share", type=float, default=0.15)
    ap.add_argument("--overlap", type=float, default=0.1)
    ap.add_argument("--items", type=int, default=60_000)
    args = ap.parse_args()
    rows = []
    for seed in range(args.seeds):
        rows.append(z_scores(args.effect, args.share, args.overlap, seed, args.items))
        print(seed, {k: round(v, 2) for k, v in rows[-1].items()}, flush=True)
    rng = np.random.default_rng(0)
    n_tests = N_LABELERS * 4
    for k in ("known", "estimated", "shrunk"):
        z = np.array([r[k] for r in rows])
        one = bh_power(np.repeat(stats.norm.sf(z), 200), n_tests, rng)
        two = bh_power(np.repeat(2 * stats.norm.sf(np.abs(z)), 200), n_tests, rng)
        print(f"{k}: mean z {z.mean():.2f}; BH power one-sided {one:.0%}, two-sided {two:.0%}")


if __name__ == "__main__":
    main()
