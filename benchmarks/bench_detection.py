"""Benchmark: detection power and false-positive rate of the labeler methods, measured on simulated histories
(``evalaudit.labelers.simulate``) over seeds, leniency sizes, the lenient labeler's share of judgments and the
share of items judged by several labelers (overlap).

    .venv/bin/python -m benchmarks.bench_detection [--seeds 3] [--items 20000]

Per scenario one labeler (L000, holding ``share`` of all judgments) is lenient by ``effect`` points on fm0 and one
(L005) turns lenient by ``effect`` on fm1 from week 13 of 26; everyone else is honest (sensitivity and specificity
around 0.9). Reported per method:
- detection: the planted labeler × failure mode is significant (BH q < 0.05, effect > 0) in that evidence kind;
- finding: the stage raises a medium/high labeler_leniency (or labeler_drift) finding for it;
- false positives: share of honest labeler × failure-mode tests with q < 0.05 (per method) and honest labelers
  with a medium/high finding of any labeler kind (per run).
Prints a markdown table for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections import defaultdict

import numpy as np

from benchmarks.machine import facts
from evalaudit.config import Config
from evalaudit.engine import engine_for_tables
from evalaudit.labelers import simulate, stage
from evalaudit.stage import Context

EFFECTS = (0.05, 0.10, 0.20, 0.40)
SHARES = (0.03, 0.15)
OVERLAPS = (0.0, 0.1, 0.3)
KINDS = ("overlap", "honeypot", "assignment", "dawid_skene")


def run_one(effect: float, share: float, overlap: float, seed: int, n_items: int) -> dict:
    n_labelers = 40
    heavy = (n_labelers - 1) * share / (1 - share)
    sc = simulate.Scenario(n_items=n_items, n_labelers=n_labelers, overlap=overlap, honeypot_share=0.03, seed=seed,
                           heavy_weight=heavy,
                           faults=[simulate.Fault("labeler_leniency", 0, 0, effect),
                                   simulate.Fault("labeler_drift", 5, 1, effect, 13)])
    tables, _ = simulate.generate(sc)
    r = stage(Context(engine=engine_for_tables(tables), cfg=Config()))
    rows = r.tables["leniency"].to_pylist()
    out: dict = {"detect": {}, "fp_tests": {}, "n_tests": {}}
    for k in KINDS:
        mine = [x for x in rows if x["evidence"] == k and x["labeler_id"] == "L000" and x["failure_mode"] == "fm0"]
        out["detect"][k] = bool(mine and mine[0]["q_value"] < 0.05 and mine[0]["effect"] > 0)
        honest = [x for x in rows if x["evidence"] == k and x["labeler_id"] not in ("L000", "L005")]
        out["fp_tests"][k] = sum(1 for x in honest if x["q_value"] is not None and x["q_value"] < 0.05)
        out["n_tests"][k] = len(honest)
    serious = [f for f in r.findings if f.severity in ("medium", "high")]
    out["finding"] = any(f.kind == "labeler_leniency" and f.labeler_id == "L000" and f.failure_mode == "fm0"
                         for f in serious)
    out["drift"] = any(f.kind == "labeler_drift" and f.labeler_id == "L005" and f.failure_mode == "fm1"
                       for f in r.findings)
    out["honest_flagged"] = len({f.labeler_id for f in serious
                                 if f.labeler_id not in ("L000", "L005") and f.kind != "labeler_concentration"})
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--items", type=int, default=20_000)
    args = ap.parse_args()
    print(facts())
    start = time.perf_counter()
    agg: dict = defaultdict(lambda: defaultdict(list))
    fp_tests: dict = defaultdict(lambda: [0, 0])
    honest_runs = []
    for effect, share, overlap, seed in itertools.product(EFFECTS, SHARES, OVERLAPS, range(args.seeds)):
        o = run_one(effect, share, overlap, seed, args.items)
        key = (effect, share, overlap)
        for k in KINDS:
            agg[key][k].append(o["detect"][k])
            fp_tests[k][0] += o["fp_tests"][k]
            fp_tests[k][1] += o["n_tests"][k]
        agg[key]["finding"].append(o["finding"])
        agg[key]["drift"].append(o["drift"])
        honest_runs.append(o["honest_flagged"])
    n_runs = len(honest_runs)
    print(f"{n_runs} runs of {args.items:,} items (40 labelers, 3% honeypots) in {time.perf_counter() - start:.0f} s")
    print()
    print("| leniency | lenient share | overlap | " + " | ".join(KINDS) + " | finding (med/high) | drift found |")
    print("|---|---|---|" + "---|" * (len(KINDS) + 2))
    for key in sorted(agg):
        cells = [f"{np.mean(agg[key][k]):.0%}" for k in (*KINDS, "finding", "drift")]
        print(f"| +{key[0]:.2f} | {key[1]:.0%} | {key[2]:.0%} | " + " | ".join(cells) + " |")
    print()
    print("False positives on honest labelers: share of tests with q < 0.05 — "
          + ", ".join(f"{k} {fp_tests[k][0]}/{fp_tests[k][1]} ({fp_tests[k][0] / max(fp_tests[k][1], 1):.2%})"
                      for k in KINDS)
          + f"; runs with an honest labeler flagged medium/high: {sum(1 for h in honest_runs if h)}/{n_runs}.")


if __name__ == "__main__":
    main()
