"""Honeypot evidence: a labeler's judgments of control items against their known answers, compared with how their
peers fare on the same failure mode's honeypots.

Leniency shows where it happens: a lenient labeler passes outputs that should fail, so most of the signal is in
their **false passes on truly negative honeypots** (a little in fewer false fails on truly positive ones); severity
mirrors it. So each direction is tested by weighting the two sides by where that direction shows
(:func:`directional_p`): one-sided Fisher exact tests on the 2×2 tables (labeler, peers' pooled honeypots of the
failure mode) × (error, no error), as ``scipy.stats.fisher_exact(alternative="greater")`` computes them (here
the hypergeometric tail, vectorised), combined by a weighted Stouffer with weights from the expected shift — about
nine tenths on the side where the bias shows. The row's two-sided p-value is twice the smaller directional p
(Bonferroni over the two directions). Valid at any size: a labeler with 8 honeypots on a failure mode counts (at
least ``MIN_HONEYPOTS``). The threshold-shift effect used before gave the side carrying little signal half the
weight and needed ~20 honeypots per labeler × failure mode.

Effect, on the scale of every other evidence row: the difference in positive rate against peers on the failure
mode's honeypot mix, ``(1 - pi) (fpr - fpr_peers) - pi (ffr - ffr_peers)`` (pi the share of truly positive
honeypots; a flawless labeler next to peers erring equally both ways has 0). Interval: MOVER (Zou & Donner 2008,
the method behind Newcombe's 1998 difference intervals) from the Clopper–Pearson exact intervals of the labeler's
two error rates (``scipy.stats.binomtest(...).proportion_ci("exact")``), the peers' rates, pooled over many
labelers' honeypots, taken as known. An honest but less accurate labeler has more false passes too (and more
false fails, which the weights count against leniency only a little); the empirical null over all honeypot rows
(:func:`evalaudit.labelers.severity.empirical_null`) absorbs that honest spread. False-pass and false-fail rates
are kept for the labeler's profile.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from scipy import stats

from evalaudit.intervals import clopper_pearson
from evalaudit.labelers.evidence import evidence_table, num, worker_table
from evalaudit.labelers.judgments import ranges

METHOD = ("honeypot: one-sided Fisher exact tests of false passes (leniency) and false fails (severity) on known "
          "honeypot answers vs peers on the same failure mode's honeypots, each direction weighted toward where it "
          "shows, the smaller doubled; MOVER interval from Clopper–Pearson")
#: a labeler × failure mode needs this many honeypots for a row (the exact test is valid at any size)
MIN_HONEYPOTS = 5


def counts(J) -> pa.Table:
    """Per labeler × failure mode on honeypots: n judged, own positives, truly positive answers (n_peer_pos, the
    reference's positives), false passes b, false fails c, and how many answers were negative / positive."""
    # over the honeypots' judgments only, a block at a time (every count is zero elsewhere): whole numbers, the same
    # in any grouping, without the float copies of every judgment's weights (0.22 GiB each at 30M judgments)
    W = J.n_workers
    cols = {k: np.zeros(W) for k in ("n", "n_own_pos", "n_peer_pos", "b", "c", "n_truth_neg", "n_truth_pos")}
    for lo, hi in ranges(len(J.item)):
        t = J.truth[J.item[lo:hi]]
        on = np.flatnonzero(t >= 0)
        worker, y, tp = J.worker[lo:hi][on], J.y[lo:hi][on] > 0, t[on] == 1
        for k, where in (("n", None), ("n_own_pos", y), ("n_peer_pos", tp), ("b", y & ~tp), ("c", tp & ~y),
                         ("n_truth_neg", ~tp), ("n_truth_pos", tp)):
            cols[k] += np.bincount(worker if where is None else worker[where], minlength=W)
    return worker_table(J, cols)


def evidence(table: pa.Table, min_items: int, confidence: float, exclude: np.ndarray | None = None) -> pa.Table:
    """Leniency rows from honeypot counts (labeler × failure modes with at least ``min(min_items,
    MIN_HONEYPOTS)`` honeypots). Workers with ``exclude[worker code]`` (spammers, labeler × failure modes already
    found biased) are tested but left out of the peers' pool."""
    if table.num_rows == 0:
        return evidence_table([], [], "honeypot", [], [], [], [], [], [], [], METHOD)
    n, b, c = num(table, "n"), num(table, "b"), num(table, "c")
    nn, npos = num(table, "n_truth_neg"), num(table, "n_truth_pos")
    fm = np.asarray(table["failure_mode"].to_pylist(), dtype=object)
    _, f = np.unique(fm, return_inverse=True)
    pool = np.ones(len(n)) if exclude is None else (~exclude[num(table, "worker").astype(np.int64)]).astype(float)

    def others(v: np.ndarray) -> np.ndarray:
        return np.bincount(f, weights=v * pool)[f] - pool * v

    p_b, p_c, p_nn, p_np = others(b), others(c), others(nn), others(npos)
    # share of truly positive honeypots on the failure mode (everyone's): maps error rates to positive rates
    pi = np.bincount(f, weights=npos)[f] / np.maximum(np.bincount(f, weights=nn + npos)[f], 1)
    p_len, p_sev = directional_p(b, nn, c, npos, p_b, p_nn, p_c, p_np)
    lenient = p_len <= p_sev
    p = np.minimum(1.0, 2 * np.minimum(p_len, p_sev))
    p_mid = np.minimum(1.0, 2 * np.min(directional_p(b, nn, c, npos, p_b, p_nn, p_c, p_np, mid=True), axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        fpr, ffr = np.nan_to_num(b / nn), np.nan_to_num(c / npos)
        peer_fpr, peer_ffr = np.nan_to_num(p_b / p_nn), np.nan_to_num(p_c / p_np)
        rate = num(table, "n_own_pos") / n
    # positive-rate difference on the failure mode's honeypot mix (more false passes, fewer false fails); a side
    # without honeypots adds nothing
    a1, a2 = np.where(nn > 0, 1 - pi, 0.0), np.where(npos > 0, pi, 0.0)
    effect = a1 * (fpr - peer_fpr) - a2 * (ffr - peer_ffr)
    # MOVER (Zou & Donner 2008; Newcombe 1998) from the two exact intervals
    # (a side without honeypots has no interval; its weight is 0, so its bounds are taken as 0)
    fpr_lo, fpr_hi = np.nan_to_num(clopper_pearson(b, nn, confidence))
    ffr_lo, ffr_hi = np.nan_to_num(clopper_pearson(c, npos, confidence))
    lo = effect - np.sqrt((a1 * (fpr - fpr_lo)) ** 2 + (a2 * (ffr_hi - ffr)) ** 2)
    hi = effect + np.sqrt((a1 * (fpr_hi - fpr)) ** 2 + (a2 * (ffr - ffr_lo)) ** 2)
    side_ok = np.where(lenient, (nn >= 1) & (p_nn >= 1), (npos >= 1) & (p_np >= 1))
    keep = (n >= min(min_items, MIN_HONEYPOTS)) & side_ok & np.isfinite(effect)
    return evidence_table(np.asarray(table["labeler_id"].to_pylist(), dtype=object)[keep], fm[keep], "honeypot",
                          effect[keep], lo[keep], hi[keep], p[keep], n[keep], rate[keep], (rate - effect)[keep],
                          METHOD, p_mid=p_mid[keep])


def directional_p(b, nn, c, npos, p_b, p_nn, p_c, p_np, mid: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """One-sided p-values for leniency and for severity on honeypots, each side weighted by where that bias shows.

    A lenient labeler turns some of their "fail" answers into "pass": their false-pass rate rises by about
    ``f * spec`` on truly negative honeypots and their false-fail rate falls by ``f * (1 - sens)`` on truly
    positive ones (f the share turned). So the leniency test is a weighted Stouffer (Lipták 1958) of two
    independent one-sided Fisher exact tests (disjoint honeypots) — false passes up and false fails down — with
    weights proportional to each side's expected z under that alternative,
    ``w = rate change * sqrt(n) / sqrt(rate (1 - rate))`` at the peers' rates; severity mirrors it (false fails up
    by ``f * sens``, false passes down by ``f * (1 - spec)``). At peers' rates near 0.1 the side where the bias
    shows carries about nine tenths of the weight. ``mid``: from the Fisher tests' mid-p values (for combining)."""
    b, nn, c, npos, p_b, p_nn, p_c, p_np = (np.asarray(x, dtype=float)
                                            for x in (b, nn, c, npos, p_b, p_nn, p_c, p_np))
    with np.errstate(invalid="ignore", divide="ignore"):
        fpr0 = np.clip((p_b + 0.5) / (p_nn + 1), 1e-3, 1 - 1e-3)
        ffr0 = np.clip((p_c + 0.5) / (p_np + 1), 1e-3, 1 - 1e-3)
        info_fp = np.sqrt(nn / (fpr0 * (1 - fpr0)))
        info_ff = np.sqrt(npos / (ffr0 * (1 - ffr0)))
    # p = 1 (an empty side, or nothing to see) would be z = -inf, and 0 * -inf a NaN: clip to finite z
    z = {name: stats.norm.isf(np.clip(pv, 1e-300, 1 - 1e-12)) for name, pv in (
        ("fp_up", fisher_greater(b, nn, p_b, p_nn, mid)),
        ("fp_down", fisher_greater(nn - b, nn, p_nn - p_b, p_nn, mid)),
        ("ff_up", fisher_greater(c, npos, p_c, p_np, mid)),
        ("ff_down", fisher_greater(npos - c, npos, p_np - p_c, p_np, mid)))}

    def stouffer(z1, w1, z2, w2):
        w1, w2 = np.nan_to_num(w1), np.nan_to_num(w2)
        norm = np.sqrt(w1 * w1 + w2 * w2)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(norm > 0, stats.norm.sf((w1 * z1 + w2 * z2) / norm), 1.0)

    p_len = stouffer(z["fp_up"], (1 - fpr0) * info_fp, z["ff_down"], ffr0 * info_ff)
    p_sev = stouffer(z["ff_up"], (1 - ffr0) * info_ff, z["fp_down"], fpr0 * info_fp)
    return p_len, p_sev


def fisher_greater(k, n, k_ref, n_ref, mid: bool = False) -> np.ndarray:
    """One-sided Fisher exact p-values that ``k / n`` exceeds ``k_ref / n_ref`` (the 2×2 table [[k, n - k],
    [k_ref, n_ref - k_ref]], ``scipy.stats.fisher_exact(..., alternative="greater")``): the hypergeometric upper
    tail, vectorised over tests; ``mid``: Lancaster's mid-p (half the probability of the observed table). 1 where
    either row is empty."""
    k, n, k_ref, n_ref = (np.asarray(x, dtype=float) for x in (k, n, k_ref, n_ref))
    ok = (n > 0) & (n_ref > 0)
    with np.errstate(invalid="ignore"):
        p = stats.hypergeom.sf(k - 1, n + n_ref, k + k_ref, n)
        if mid:
            p = p - 0.5 * stats.hypergeom.pmf(k, n + n_ref, k + k_ref, n)
    return np.where(ok, np.clip(p, 0.0, 1.0), 1.0)


def error_rates(table: pa.Table) -> dict[str, np.ndarray]:
    """False-pass rate (positive on a negative honeypot) and false-fail rate, per row of ``counts``."""
    neg = num(table, "n_truth_neg").astype(float)
    pos = num(table, "n_truth_pos").astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "false_pass_rate": num(table, "b") / np.where(neg > 0, neg, np.nan),
            "false_fail_rate": num(table, "c") / np.where(pos > 0, pos, np.nan),
        }
