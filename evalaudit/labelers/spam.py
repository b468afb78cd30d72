"""Spam and collusion.

Spam — a labeler whose judgments carry no information about the item:
- chance-level agreement: Cohen's kappa (Cohen 1960) of the labeler against the leave-this-labeler-out majority on
  shared items (or against honeypot answers when they share too few), with the chance agreement from both
  marginal rates; spam when the upper Clopper–Pearson bound of the observed agreement, mapped to kappa, is below
  ``kappa_max`` (the data exclude any useful agreement, not merely fail to prove it);
- answer patterns: constant answers (one label on every judgment while peers' rate lies in 5–95%), or alternating
  answers (the share of consecutive judgments switching label is >= ``switch_rate_min`` and above the 2p(1-p)
  expected of independent answers, one-sided exact binomial test p < 0.001);
- implausibly short durations: median duration below ``duration_ratio`` × the median of all labelers' medians.
The Dawid–Skene spammer score 1 - |sensitivity + specificity - 1| (Raykar & Yu 2012, JMLR 13, §3) is reported
per labeler; it is 1 for a labeler whose answers are independent of the truth.

Collusion — pairs who agree far beyond what their individual accuracies predict: under Dawid–Skene's conditional
independence the chance that labelers a and b disagree on an item of a failure mode with class prior pi is
``pi (s_a (1-s_b) + s_b (1-s_a)) + (1-pi) (t_a (1-t_b) + t_b (1-t_a))`` (s sensitivity, t specificity). Summed over
their shared items this is the expected disagreement, rescaled by the ratio observed/expected over all pairs of the
failure mode (items vary in difficulty, so honest pairs also agree a little more than the model says). Observed
disagreements are tested one-sided against a binomial with the expected rate (conservative against the exact
Poisson-binomial, whose variance is smaller), BH over pairs.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import stats

from evalaudit.config import SpamConfig
from evalaudit.engine import Engine
from evalaudit.findings import Finding
from evalaudit.labelers.evidence import num
from evalaudit.labelers.severity import bh

SPAM_METHOD = ("spam: Cohen's kappa vs leave-one-out consensus (Clopper–Pearson bound), constant/alternating answer "
               "patterns (exact binomial), median duration vs all labelers")
COLLUSION_METHOD = ("collusion: observed disagreements of a labeler pair vs those expected from their Dawid–Skene "
                    "accuracies (one-sided binomial), BH q-value over {n} pairs")


def kappa_bounds(n, b, c, own_pos, peer_pos, confidence: float = 0.95):
    """Cohen's kappa of labeler vs reference on n paired items, and its one-sided upper bound (from the exact
    Clopper–Pearson upper bound of the observed agreement, chance agreement held fixed). Vectorised."""
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        agree = n - np.asarray(b, float) - np.asarray(c, float)
        po = agree / n
        p1 = np.asarray(own_pos, float) / n
        p2 = np.asarray(peer_pos, float) / n
        pe = p1 * p2 + (1 - p1) * (1 - p2)
        hi = np.where(agree < n, stats.beta.ppf(confidence, agree + 1, n - agree), 1.0)
        denom = np.where(1 - pe > 1e-12, 1 - pe, np.nan)
        return (po - pe) / denom, (hi - pe) / denom


def switches(engine: Engine) -> pa.Table:
    return engine.query("labelers_switches")


def _by_labeler(t: pa.Table, cols: list[str]) -> dict[str, dict[str, float]]:
    if t.num_rows == 0:
        return {}
    g = t.group_by("labeler_id").aggregate([(c, "sum") for c in cols])
    return {r["labeler_id"]: {c: r[f"{c}_sum"] for c in cols} for r in g.to_pylist()}


def spam_findings(overall: pa.Table, overlap: pa.Table, honeypot: pa.Table, sw: pa.Table, peer_rate: float,
                  cfg: SpamConfig, confidence: float) -> tuple[list[Finding], dict[str, dict]]:
    """Spam findings and per-labeler spam facts. ``overall`` is the labelers' 'all' profile rows (n_judgments,
    n_positive, median_duration_s); ``peer_rate`` the positive rate over all judgments."""
    cols = ["n", "b", "c", "n_own_pos", "n_peer_pos"]
    ov = _by_labeler(overlap, cols)
    hp = _by_labeler(honeypot, cols)
    swd = {r["labeler_id"]: r for r in sw.to_pylist()}
    meds = np.array([r["median_duration_s"] for r in overall.to_pylist() if r["median_duration_s"] is not None])
    typical = float(np.median(meds)) if len(meds) else float("nan")
    out, facts = [], {}
    for r in overall.to_pylist():
        lab = r["labeler_id"]
        signals, info = [], {}
        ref = ov.get(lab)
        ref_kind = "overlap"
        if ref is None or ref["n"] < cfg.min_items:
            ref, ref_kind = hp.get(lab), "honeypot"
        kappa = kappa_hi = None
        if ref is not None and ref["n"] >= cfg.min_items:
            k, khi = kappa_bounds(ref["n"], ref["b"], ref["c"], ref["n_own_pos"], ref["n_peer_pos"], confidence)
            kappa, kappa_hi = float(k), float(khi)
            info.update(kappa=kappa, kappa_upper=kappa_hi, kappa_vs=ref_kind, kappa_n=int(ref["n"]))
            if np.isfinite(kappa_hi) and kappa_hi < cfg.kappa_max:
                signals.append("chance-level agreement")
        n, npos = int(r["n_judgments"]), int(r["n_positive"])
        if n >= cfg.min_items and 0.05 <= peer_rate <= 0.95 and npos in (0, n):
            signals.append("constant answers")
            info["constant_p"] = float((peer_rate if npos == n else 1 - peer_rate) ** n)
        s = swd.get(lab)
        if s is not None and s["n_pairs"] >= cfg.min_items:
            rate = s["n_switches"] / s["n_pairs"]
            p1 = npos / n if n else 0.0
            expected = 2 * p1 * (1 - p1)
            info.update(switch_rate=rate, switch_expected=expected)
            if rate >= cfg.switch_rate_min and expected < 1:
                p = stats.binom.sf(s["n_switches"] - 1, s["n_pairs"], expected)
                info["switch_p"] = float(p)
                if p < 1e-3:
                    signals.append("alternating answers")
        med = r["median_duration_s"]
        if med is not None and np.isfinite(typical) and n >= cfg.min_items and med < cfg.duration_ratio * typical:
            signals.append("implausibly short durations")
            info.update(median_duration_s=med, typical_median_duration_s=typical)
        facts[lab] = {"signals": signals, **info}
        if not signals:
            continue
        strong = [x for x in signals if x != "implausibly short durations"]
        sev = ("high" if strong and n >= 100 else "medium") if strong else "low"
        out.append(Finding(
            kind="labeler_spam", severity=sev, labeler_id=lab, failure_mode=None,
            effect=kappa, ci_low=None, ci_high=kappa_hi, n=n, evidence=SPAM_METHOD,
            message=f"Labeler {lab}'s {n} judgments look like spam: {', '.join(signals)}.",
            details={"signals": signals, **info},
        ))
    return out, facts


def collusion(engine: Engine, cfg: SpamConfig) -> tuple[pa.Table, list[Finding]]:
    """Per labeler pair: shared items, observed and expected disagreements, p and q; and collusion findings."""
    t = engine.query("labelers_pairs", min_pair_items=cfg.min_pair_items)
    if t.num_rows == 0:
        return t, []
    col = {c: num(t, c) for c in
           ("n", "n_disagree", "sens_a", "spec_a", "sens_b", "spec_b", "prior")}
    sa, sb, ta, tb, pi = col["sens_a"], col["sens_b"], col["spec_a"], col["spec_b"], col["prior"]
    pd_ = pi * (sa * (1 - sb) + sb * (1 - sa)) + (1 - pi) * (ta * (1 - tb) + tb * (1 - ta))
    expected = col["n"] * pd_
    # calibrate per failure mode: honest pairs agree a bit more than conditional independence predicts
    fm = pc.dictionary_encode(t["failure_mode"]).combine_chunks()
    idx = fm.indices.to_numpy(zero_copy_only=False)
    k = len(fm.dictionary)
    obs_fm = np.bincount(idx, weights=col["n_disagree"], minlength=k)
    exp_fm = np.bincount(idx, weights=expected, minlength=k)
    ratio = np.clip(np.where(exp_fm > 0, obs_fm / np.maximum(exp_fm, 1e-12), 1.0), 0.25, 1.0)
    expected = expected * ratio[idx]
    pairs = (t.select(["labeler_a", "labeler_b"])
             .append_column("n", pa.array(col["n"]))
             .append_column("n_disagree", pa.array(col["n_disagree"]))
             .append_column("expected", pa.array(expected)))
    g = pairs.group_by(["labeler_a", "labeler_b"]).aggregate(
        [("n", "sum"), ("n_disagree", "sum"), ("expected", "sum")])
    n = num(g, "n_sum")
    d = num(g, "n_disagree_sum")
    e = num(g, "expected_sum")
    p = np.where(e > 0, stats.binom.cdf(d, n, np.clip(e / np.maximum(n, 1), 0, 1)), 1.0)
    q = bh(p)
    out_t = pa.table({"labeler_a": g["labeler_a"], "labeler_b": g["labeler_b"], "n": n.astype(np.int64),
                      "n_disagree": d.astype(np.int64), "expected_disagree": e, "p_value": p, "q_value": q})
    findings = []
    method = COLLUSION_METHOD.format(n=len(p))
    hits = np.nonzero((q < cfg.collusion_q) & (d <= cfg.collusion_ratio * e))[0]
    for i in hits:
        a, b = out_t["labeler_a"][i].as_py(), out_t["labeler_b"][i].as_py()
        ratio_i = float(d[i] / e[i]) if e[i] > 0 else 0.0
        sev = "high" if ratio_i <= 0.2 and n[i] >= 50 else "medium"
        findings.append(Finding(
            kind="labeler_collusion", severity=sev, labeler_id=a, failure_mode=None, effect=ratio_i,
            p_value=float(p[i]), q_value=float(q[i]), n=int(n[i]), evidence=method,
            message=(f"Labelers {a} and {b} disagree on {int(d[i])} of {int(n[i])} shared items where their "
                     f"accuracies predict about {e[i]:.0f}: they may be copying each other."),
            details={"labeler_b": b, "observed_disagreements": int(d[i]), "expected_disagreements": float(e[i])},
        ))
    return out_t, findings
