"""Benchmark: detection power of the labelers stage against the truth-knowing limit, measured on simulated
histories (``evalaudit.labelers.simulate``) over seeds, leniency sizes, the lenient labeler's share of judgments
and the share of items judged by several labelers (overlap).

    .venv/bin/python -m benchmarks.bench_detection [--seeds 25] [--items 60000] [--effects 0.05,0.10,0.20]
        [--shares 0.03,0.15] [--overlaps 0,0.1,0.3] [--log runs.jsonl]
    .venv/bin/python -m benchmarks.bench_detection --summarize runs.jsonl [more.jsonl ...]

Seeds are the outer loop, so a run cut short (``--log``) still covers every cell with the seeds it finished.

Per scenario one labeler (L000, holding ``share`` of all judgments) is lenient by ``effect`` points on fm0 (true
negatives flipped to positive), 40 labelers, 3% honeypots; everyone else is honest (sensitivity and specificity
around 0.9). Per run:
- evalaudit: the stage raises a medium/high labeler_leniency finding for L000 on fm0, with ``[labelers]
  assignment`` unknown (the default) and declared ``random`` (true in the simulator);
- oracle: knows every item's true label — per labeler × failure mode, a one-sided Fisher exact test of their false
  passes on truly negative items against everyone else's (scipy.stats.fisher_exact, alternative "greater"), BH
  q < 0.05 over all labeler × failure modes; detected when L000 × fm0 is significant;
- honeypot-only oracle: the same test on honeypot items only;
- label-only oracle: no truth — the same test on the pass rate over all the labeler's items (knows assignment is
  random, no correction for honest differences in accuracy): about what a truth-free test can see;
- false positives: honest labeler × failure modes (all but L000's) flagged medium/high by evalaudit (any labeler
  kind naming that failure mode, or spam), and significant in each oracle, over all such tests.
Prints a markdown table for benchmarks/RESULTS.md and docs/labelers.md.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from benchmarks.machine import facts
from evalaudit.config import Config
from evalaudit.engine import engine_for_tables
from evalaudit.labelers import simulate, stage
from evalaudit.labelers.honeypot import fisher_greater
from evalaudit.labelers.severity import empirical_null
from evalaudit.multiplicity import bh
from evalaudit.stage import Context

N_LABELERS = 40
METHODS = ("unknown", "random", "oracle", "honeypot_oracle", "label_oracle", "truth_free_limit")


def oracle(tables: dict, honeypots_only: bool, labels_only: bool = False) -> dict[tuple[str, str], bool]:
    """Per labeler × failure mode: lenient at BH q < 0.05 by the one-sided Fisher test of false passes on truly
    negative items (all items, or honeypots only) against everyone else's on the same failure mode.
    ``labels_only``: no truth — the pass rate on all of the labeler's items against everyone else's (what a
    truth-free test can see when it knows assignment is random and ignores honest differences in accuracy)."""
    lab = tables["labels"]
    truth = dict(zip(tables["truth"]["item_id"].to_pylist(), tables["truth"]["truth"].to_pylist(), strict=True))
    hp = dict(zip(tables["items"]["item_id"].to_pylist(),
                  (x is not None for x in tables["items"]["honeypot_label"].to_pylist()), strict=True))
    items = lab["item_id"].to_pylist()
    t = np.array([truth[i] for i in items])
    use = np.ones(len(t), dtype=bool) if labels_only else (
        (t == 0) & (np.array([hp[i] for i in items]) if honeypots_only else True))
    said = np.asarray(lab["label"].to_pylist(), dtype=object) == "pass"
    who = np.asarray(lab["labeler_id"].to_pylist(), dtype=object)[use]
    fm = np.asarray(lab["failure_mode"].to_pylist(), dtype=object)[use]
    said = said[use]
    keys = sorted(set(zip(who, fm, strict=True)))
    k_of = {k: i for i, k in enumerate(keys)}
    code = np.array([k_of[k] for k in zip(who, fm, strict=True)], dtype=np.int64)
    n = np.bincount(code, minlength=len(keys)).astype(float)
    fp = np.bincount(code, weights=said, minlength=len(keys))
    fms = np.array([k[1] for k in keys], dtype=object)
    tot_n = {f: n[fms == f].sum() for f in set(fms)}
    tot_fp = {f: fp[fms == f].sum() for f in set(fms)}
    ref_n = np.array([tot_n[f] for f in fms]) - n
    ref_fp = np.array([tot_fp[f] for f in fms]) - fp
    q = bh(fisher_greater(fp, n, ref_fp, ref_n))
    return {k: bool(q[i] < 0.05) for i, k in enumerate(keys)}


def likelihood_ratio_draws(tables: dict, effect: float, base_rate: float, rng: np.random.Generator,
                           target: tuple[str, str] = ("L000", "fm0")) -> Callable[[int, bool], np.ndarray]:
    """A sampler of the Neyman–Pearson log likelihood ratio, "lenient by ``effect``" against "honest", of
    ``target``'s judgments given every parameter of the simulation: ``draw(reps, lenient)`` simulates the target's
    judgments (truth, the other labels on each item, the target's label) ``reps`` times under either hypothesis and
    returns the statistic of each draw (see :func:`truth_free_limit`)."""
    lab, items, lt = tables["labels"], tables["items"], tables["labeler_truth"]
    sens = dict(zip(lt["labeler_id"].to_pylist(), lt["sensitivity"].to_pylist(), strict=True))
    spec = dict(zip(lt["labeler_id"].to_pylist(), lt["specificity"].to_pylist(), strict=True))
    hp_items = {i for i, h in zip(items["item_id"].to_pylist(), items["honeypot_label"].to_pylist(), strict=True)
                if h is not None}
    who, item, fm = (lab[c].to_pylist() for c in ("labeler_id", "item_id", "failure_mode"))
    mine = [i for w, i, f in zip(who, item, fm, strict=True) if (w, f) == target]
    others: dict[str, list[str]] = defaultdict(list)
    wanted = set(mine)
    for w, i in zip(who, item, strict=True):
        if i in wanted and w != target[0]:
            others[i].append(w)
    k = max((len(v) for v in others.values()), default=0)
    n = len(mine)
    # the other labelers' sensitivity / specificity per item (padded with NaN: no label)
    o_sens, o_spec = np.full((n, max(k, 1)), np.nan), np.full((n, max(k, 1)), np.nan)
    for r, i in enumerate(mine):
        for c, w in enumerate(others.get(i, [])):
            o_sens[r, c], o_spec[r, c] = sens[w], spec[w]
    honeypot = np.array([i in hp_items for i in mine])
    se, sp = sens[target[0]], spec[target[0]]
    flip = min(1.0, effect / max(1 - (base_rate * se + (1 - base_rate) * (1 - sp)), 1e-9))
    pass0 = np.array([1 - sp, se])  # P(says pass | truth 0, truth 1), honest
    pass1 = pass0 + (1 - pass0) * flip  # lenient: a fail answer flipped to pass

    def llr(reps: int, lenient: bool) -> np.ndarray:
        t = rng.random((reps, n)) < base_rate
        p_says = np.where(t, (pass1 if lenient else pass0)[1], (pass1 if lenient else pass0)[0])
        y = rng.random((reps, n)) < p_says
        present = ~np.isnan(o_sens)
        o_pass = np.where(t[..., None], o_sens, 1 - o_spec)
        o = rng.random((reps, n, o_sens.shape[1])) < o_pass
        # likelihood of the other labels under truth 1 and truth 0 (absent labels contribute 1)
        l1 = np.where(present, np.where(o, o_sens, 1 - o_sens), 1.0).prod(axis=2)
        l0 = np.where(present, np.where(o, 1 - o_spec, o_spec), 1.0).prod(axis=2)
        w1, w0 = base_rate * l1, (1 - base_rate) * l0
        w1, w0 = np.where(honeypot, t.astype(float), w1), np.where(honeypot, (~t).astype(float), w0)

        def said(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return np.where(y, p[1], 1 - p[1]), np.where(y, p[0], 1 - p[0])

        a1, a0 = said(pass1)
        b1, b0 = said(pass0)
        return np.log((w1 * a1 + w0 * a0) / (w1 * b1 + w0 * b0)).sum(axis=1)

    def draw(reps: int, lenient: bool) -> np.ndarray:
        step = max(1, 4_000_000 // max(n * max(k, 1), 1))
        return np.concatenate([llr(min(step, reps - s), lenient) for s in range(0, reps, step)])

    return draw


def truth_free_limit(tables: dict, effect: float, base_rate: float, n_tests: int, rng: np.random.Generator,
                     target: tuple[str, str] = ("L000", "fm0"), reps: int = 4_000) -> float:
    """Power of the most powerful truth-free test of ``target``, entered into the oracle's BH family.

    An upper bound on what any method that sees only the labels and the honeypot answers can detect: the
    Neyman–Pearson likelihood ratio of "honest" against "lenient by ``effect``" (Neyman & Pearson 1933, Phil.
    Trans. R. Soc. A 231) is the most powerful test of one simple hypothesis against another, and it is given every
    parameter no real method knows — the class prior, every labeler's sensitivity and specificity, the target's own
    honest accuracy and the fault's form (the simulator flips a fail answer to pass with probability
    effect / (1 - honest pass rate)). Per judgment of the target: its label, the other labels on the item and, on a
    honeypot, the true answer. The statistic is drawn ``reps`` times under the alternative; its p-value under the null
    comes from the same draws by importance sampling, P0(LLR >= c) = E1[exp(-LLR) 1{LLR >= c}] (the alternative is
    the null tilted by the likelihood ratio itself, so the draws sit exactly in the tail that matters). Each p-value
    is entered, with the other ``n_tests - 1`` tests' p-values uniform (all honest), into Benjamini–Hochberg at
    q < 0.05 like the oracle. Returns the share of draws in which BH rejects the target. Hand-written: no library
    computes the power of a likelihood ratio over this design."""
    p = null_tail(likelihood_ratio_draws(tables, effect, base_rate, rng, target)(reps, True))
    return bh_power(p, n_tests, rng)


def null_tail(alt: np.ndarray) -> np.ndarray:
    """P0(LLR >= each draw) from draws of the log likelihood ratio under the alternative, by importance sampling
    (each draw weighted by exp(-LLR), the null's density over the alternative's); ties counted whole."""
    order = np.argsort(-alt)
    desc = -alt[order]  # ascending
    tail = np.cumsum(np.exp(-alt[order]))[np.searchsorted(desc, desc, side="right") - 1] / len(alt)
    p = np.empty(len(alt))
    p[order] = np.minimum(tail, 1.0)
    return p


def bh_power(p: np.ndarray, n_tests: int, rng: np.random.Generator, q: float = 0.05) -> float:
    """Share of the target's p-values ``p`` that Benjamini–Hochberg at ``q`` rejects when entered with
    ``n_tests - 1`` uniform (honest) p-values."""
    allp = np.sort(np.concatenate([p[:, None], rng.random((len(p), n_tests - 1))], axis=1), axis=1)
    below = allp <= q * np.arange(1, n_tests + 1) / n_tests
    cutoff = np.where(below.any(axis=1), n_tests - 1 - np.argmax(below[:, ::-1], axis=1), -1)
    return float(np.mean(p <= np.where(cutoff >= 0, allp[np.arange(len(p)), np.maximum(cutoff, 0)], -1.0)))


def _evalaudit(engine, assignment: str, target: tuple[str, str] = ("L000", "fm0")
               ) -> tuple[set[tuple[str, str | None]], dict]:
    """The labeler × failure modes flagged medium/high, and why ``target`` was or was not (:func:`why`)."""
    cfg = Config()
    cfg.labelers = replace(cfg.labelers, assignment=assignment)
    r = stage(Context(engine=engine, cfg=cfg))
    found = {(f.labeler_id, f.failure_mode) for f in r.findings if f.severity in ("medium", "high")
             and f.kind in ("labeler_leniency", "labeler_severity", "labeler_drift", "labeler_spam")
             and (f.kind != "labeler_severity" or f.labeler_id != "L000")}
    return found, why(r.tables["leniency"], target, cfg)


def why(leniency, target: tuple[str, str], cfg) -> dict:
    """The target's rows, for the diagnosis of a miss: per kind its effect, z (effect over the interval's standard
    error) and theoretical p; the combined row's parts, q, interval, sigma0 and which gate of the medium rule it
    failed (``q``: q >= q_medium_combined; ``band``: the interval reaches into ±effect_negligible)."""
    rows = [r for r in leniency.to_pylist() if (r["labeler_id"], r["failure_mode"]) == target]
    kinds = np.asarray(leniency["evidence"].to_pylist(), dtype=object)
    p_theo, eff = (leniency[c].to_numpy(zero_copy_only=False).astype(float) for c in ("p_value_theoretical", "effect"))
    out: dict = {"sigma0": {k: round(empirical_null(p_theo[kinds == k], eff[kinds == k])[1], 3)
                            for k in sorted(set(kinds)) if k != "combined"}}
    for r in rows:
        se = (r["ci_high"] - r["ci_low"]) / (2 * 1.959963984540054)
        out[r["evidence"]] = {"effect": round(r["effect"], 4), "z": round(r["effect"] / se, 2) if se > 0 else None,
                              "p": r["p_value_theoretical"], "q": r["q_value"]}
        if r["evidence"] == "combined":
            m = re.search(r"sigma0 = ([0-9.]+)", r["method"] or "")
            lc = cfg.leniency
            near = min(abs(r["ci_low"]), abs(r["ci_high"])) if r["ci_low"] * r["ci_high"] > 0 else 0.0
            t = re.search(r"tau between labelers = ([0-9.]+), within a labeler = ([0-9.]+)", r["method"] or "")
            out["combined"].update(parts=r["parts"], sigma0=float(m.group(1)) if m else 1.0,
                                   tau=[float(t.group(1)), float(t.group(2))] if t else None,
                                   ci=[round(r["ci_low"], 4), round(r["ci_high"], 4)],
                                   gate="q" if not r["q_value"] < lc.q_medium_combined else (
                                       "band" if near <= lc.effect_negligible else "pass"))
    return out


def run_one(effect: float, share: float, overlap: float, seed: int, n_items: int, evalaudit: bool = True) -> dict:
    heavy = (N_LABELERS - 1) * share / (1 - share)
    sc = simulate.Scenario(n_items=n_items, n_labelers=N_LABELERS, overlap=overlap, honeypot_share=0.03,
                           seed=seed, heavy_weight=heavy,
                           faults=[simulate.Fault("labeler_leniency", 0, 0, effect)])
    tables, _ = simulate.generate(sc, with_truth=True)
    honest = [(f"L{i:03d}", f"fm{m}") for i in range(N_LABELERS) for m in range(sc.n_failure_modes)
              if (i, m) != (0, 0)]
    target = ("L000", "fm0")
    out: dict = {"detect": {}, "fp": {}, "n_honest": len(honest)}
    engine = engine_for_tables({k: v for k, v in tables.items() if k in ("labels", "items")})  # both settings
    for method in ("unknown", "random") if evalaudit else ():
        found, out.setdefault("why", {})[method] = _evalaudit(engine, method, target)
        out["detect"][method] = target in found
        out.setdefault("fp_keys", {})[method] = sorted(f"{a}/{b}" for a, b in found if (a, b) != target)
        out["fp"][method] = sum(1 for k in honest if k in found or (k[0], None) in found)
    for method, hp_only, labels_only in (("oracle", False, False), ("honeypot_oracle", True, False),
                                         ("label_oracle", False, True)):
        sig = oracle(tables, hp_only, labels_only)
        out["detect"][method] = sig.get(target, False)
        out["fp"][method] = sum(1 for k in honest if sig.get(k, False))
    # a power (share of simulated draws), not a 0/1 detection; it flags no honest labeler by construction
    out["detect"]["truth_free_limit"] = truth_free_limit(tables, effect, sc.base_rate, len(honest) + 1,
                                                         np.random.default_rng([seed, 1]))
    return out


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(x) for x in text.split(","))


def table(records: list[dict]) -> str:
    """The markdown table and false-positive counts from per-run records (``run_one``'s output with the cell)."""
    agg: dict = defaultdict(lambda: defaultdict(list))
    fp: dict = defaultdict(lambda: [0, 0])
    for o in records:
        for m in METHODS:
            if m not in o["detect"]:
                continue
            agg[(o["effect"], o["share"], o["overlap"])][m].append(o["detect"][m])
            if m in o["fp"]:
                fp[m][0] += o["fp"][m]
                fp[m][1] += o["n_honest"]
    lines = ["| lenient by | share of judgments | overlap | evalaudit (assignment unknown) | evalaudit (assignment "
             "random) | oracle | honeypot-only oracle | label-only oracle | truth-free limit |",
             "|---|---|---|---|---|---|---|---|---|"]
    for key in sorted(agg):
        cells = [f"{np.mean(agg[key][m]):.0%}" if agg[key][m] else "–" for m in METHODS]
        lines.append(f"| +{key[0]:.2f} | {key[1]:.0%} | {key[2]:.0%} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Honest labeler × failure modes flagged (evalaudit: medium/high; oracles: q < 0.05): "
                 + ", ".join(f"{m} {fp[m][0]}/{fp[m][1]} ({fp[m][0] / max(fp[m][1], 1):.3%})" for m in METHODS
                             if m in fp)
                 + ".")
    seeds = sorted({o["seed"] for o in records})
    lines.append(f"{len(records)} runs over {len(agg)} cells; seeds {seeds[0]}..{seeds[-1]}" if seeds else "no runs")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=25)
    ap.add_argument("--items", type=int, default=60_000)
    ap.add_argument("--effects", type=_floats, default=(0.05, 0.10, 0.20))
    ap.add_argument("--shares", type=_floats, default=(0.03, 0.15))
    ap.add_argument("--overlaps", type=_floats, default=(0.0, 0.1, 0.3))
    ap.add_argument("--first-seed", type=int, default=0, help="seeds first-seed .. first-seed + seeds - 1 (to split "
                    "a run over processes)")
    ap.add_argument("--log", help="append one JSON line per run to this file (the table can be rebuilt from it)")
    ap.add_argument("--no-evalaudit", action="store_true", help="only the oracles and the truth-free limit (fast)")
    ap.add_argument("--summarize", nargs="+", help="print the table from --log files of earlier (or cut-short) runs")
    args = ap.parse_args()
    if args.summarize:
        records = []
        for path in args.summarize:
            with open(path, encoding="utf-8") as fh:
                records += [json.loads(line) for line in fh if line.strip()]
        print(table(records))
        return
    print(facts(), flush=True)
    start = time.perf_counter()
    records = []
    # seeds outermost: a run cut short still covers every cell with the seeds it finished
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    for seed, effect, share, overlap in itertools.product(seeds, args.effects, args.shares,
                                                          args.overlaps):
        t0 = time.perf_counter()
        o = run_one(effect, share, overlap, seed, args.items, evalaudit=not args.no_evalaudit)
        o.update(effect=effect, share=share, overlap=overlap, seed=seed, seconds=round(time.perf_counter() - t0, 2))
        records.append(o)
        if args.log:
            with open(args.log, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(o) + "\n")
    print(f"{len(records)} runs of {args.items:,} items ({N_LABELERS} labelers, 3% honeypots, seeds "
          f"{seeds[0]}..{seeds[-1]}) in {time.perf_counter() - start:.0f} s")
    print()
    print(table(records))


if __name__ == "__main__":
    main()
