"""Honeypot evidence: a labeler's judgments of control items against their known answers, compared with how their
peers fare on the same failure mode's honeypots.

Leniency is a shifted decision threshold — more false passes *and* fewer false fails than peers — which differs
from (in)accuracy, more (or fewer) errors of both kinds. Against the known answer alone, the net bias
``(false passes - false fails) / n`` of an honest but imperfect labeler is negative on pass-heavy failure modes
(more true passes to miss), and a flawless labeler would look "lenient" next to imperfect peers. So the effect is
the threshold shift on a balanced mix of truly positive and negative items,
``((fpr - fpr_peers) - (ffr - ffr_peers)) / 2``: the difference in positive rate against peers on comparable
items, zero for an honest labeler whatever their accuracy. fpr = false passes / truly negative honeypots, ffr =
false fails / truly positive honeypots, peers pooled over the other labelers of the failure mode. Normal interval
(binomial variances, half an error added to each count so a clean record on few honeypots is not taken as
certainty). False-pass and false-fail rates are kept for the labeler's profile.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from evalaudit.labelers.evidence import evidence_table, num, worker_table, z_interval

METHOD = ("honeypot: false-pass minus false-fail rate on known honeypot answers, vs peers' on the same failure "
          "mode's honeypots (threshold shift on a balanced item mix; normal interval)")


def counts(J) -> pa.Table:
    """Per labeler × failure mode on honeypots: n judged, own positives, truly positive answers (n_peer_pos, the
    reference's positives), false passes b, false fails c, and how many answers were negative / positive."""
    t = J.truth[J.item]
    m = (t >= 0).astype(np.float64)
    y = J.y.astype(np.float64)
    tp = (t == 1).astype(np.float64)

    def per_worker(weights):
        return np.bincount(J.worker, weights=weights, minlength=J.n_workers)

    return worker_table(J, {
        "n": per_worker(m), "n_own_pos": per_worker(m * y), "n_peer_pos": per_worker(tp),
        "b": per_worker(m * y * (1 - tp)), "c": per_worker(tp * (1 - y)),
        "n_truth_neg": per_worker(m * (1 - tp)), "n_truth_pos": per_worker(tp),
    })


def evidence(table: pa.Table, min_items: int, confidence: float, exclude: np.ndarray | None = None) -> pa.Table:
    """Leniency rows from honeypot counts (labeler × failure modes with at least ``min_items`` honeypots).
    Workers with ``exclude[worker code]`` (spammers, labeler × failure modes already found biased) are tested but
    left out of the peers' pool."""
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
    with np.errstate(invalid="ignore", divide="ignore"):
        fpr, ffr = (b + 0.5) / (nn + 1), (c + 0.5) / (npos + 1)
        p_fpr, p_ffr = (p_b + 0.5) / (p_nn + 1), (p_c + 0.5) / (p_np + 1)
        effect = ((b / nn - p_b / p_nn) - (c / npos - p_c / p_np)) / 2
        se = 0.5 * np.sqrt(fpr * (1 - fpr) / nn + ffr * (1 - ffr) / npos
                           + p_fpr * (1 - p_fpr) / p_nn + p_ffr * (1 - p_ffr) / p_np)
        rate = num(table, "n_own_pos") / n
    lo, hi, p = z_interval(effect, se, confidence)
    keep = (n >= min_items) & (nn >= 1) & (npos >= 1) & (p_nn >= 1) & (p_np >= 1)
    return evidence_table(np.asarray(table["labeler_id"].to_pylist(), dtype=object)[keep], fm[keep], "honeypot",
                          effect[keep], lo[keep], hi[keep], p[keep], n[keep], rate[keep], (rate - effect)[keep],
                          METHOD)


def error_rates(table: pa.Table) -> dict[str, np.ndarray]:
    """False-pass rate (positive on a negative honeypot) and false-fail rate, per row of ``counts``."""
    neg = num(table, "n_truth_neg").astype(float)
    pos = num(table, "n_truth_pos").astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "false_pass_rate": num(table, "b") / np.where(neg > 0, neg, np.nan),
            "false_fail_rate": num(table, "c") / np.where(pos > 0, pos, np.nan),
        }
