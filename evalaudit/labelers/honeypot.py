"""Honeypot evidence: a labeler's judgments of control items against their known answers. The difference in positive
rate is (false passes - false fails) / honeypots judged, tested with McNemar's exact test on the discordant items
exactly as for overlap (the known answer plays the peers' consensus), with Clopper–Pearson intervals. False-pass
and false-fail rates are kept for the labeler's profile.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from evalaudit.labelers.evidence import num, worker_table
from evalaudit.labelers.overlap import _rows

METHOD = "honeypot: paired exact binomial (McNemar) test of judgments vs known honeypot answers"


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


def evidence(table: pa.Table, min_items: int, confidence: float) -> pa.Table:
    t = table.filter(np.asarray(num(table, "n")) >= min_items) if table.num_rows else table
    return _rows(t, "honeypot", METHOD, confidence)


def error_rates(table: pa.Table) -> dict[str, np.ndarray]:
    """False-pass rate (positive on a negative honeypot) and false-fail rate, per row of ``counts``."""
    neg = num(table, "n_truth_neg").astype(float)
    pos = num(table, "n_truth_pos").astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "false_pass_rate": num(table, "b") / np.where(neg > 0, neg, np.nan),
            "false_fail_rate": num(table, "c") / np.where(pos > 0, pos, np.nan),
        }
