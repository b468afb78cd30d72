"""Overlap evidence: on items a labeler shares with other labelers, their positive rate against the
leave-this-labeler-out majority of the others on the same items — a paired comparison, so item difficulty cancels
(the strongest evidence the data offers without known answers).

The test is McNemar's exact test on the discordant items (McNemar 1947), the interval Clopper–Pearson mapped to the
difference in positive rate; see :func:`evalaudit.labelers.evidence.paired_exact`.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from evalaudit.labelers.evidence import evidence_table, num, paired_exact, worker_table

METHOD = "overlap: paired exact binomial (McNemar) test on discordant items vs leave-this-labeler-out majority"


def counts(J, exclude: np.ndarray | None = None) -> pa.Table:
    """Per labeler × failure mode: n items compared, own and peer-consensus positives, discordant counts b (own
    positive, peers not) and c (own not, peers positive), against the leave-this-labeler-out majority of the other
    labelers on the same item (items where the others tie are skipped). Labelers with ``exclude[labeler code]``
    (detected spammers) are tested themselves but never count as anyone's peer. Vectorised over judgments."""
    y = J.y.astype(np.float64)
    peer = np.ones(len(y)) if exclude is None else (~exclude[J.worker_labeler[J.worker]]).astype(np.float64)
    n_lab = np.bincount(J.item, weights=peer, minlength=J.n_items)
    n_pos = np.bincount(J.item, weights=peer * y, minlength=J.n_items)
    others = n_lab[J.item] - peer
    others_pos = n_pos[J.item] - peer * y
    decided = ((others >= 1) & (2 * others_pos != others)).astype(np.float64)
    consensus = (2 * others_pos > others).astype(np.float64)
    W = J.n_workers

    def per_worker(weights):
        return np.bincount(J.worker, weights=weights, minlength=W)

    return worker_table(J, {
        "n": per_worker(decided), "n_own_pos": per_worker(decided * y), "n_peer_pos": per_worker(decided * consensus),
        "b": per_worker(decided * y * (1 - consensus)), "c": per_worker(decided * (1 - y) * consensus),
    })


def evidence(table: pa.Table, min_items: int, confidence: float) -> pa.Table:
    """Leniency rows from overlap (or honeypot) counts with at least ``min_items`` compared items."""
    t = table.filter(np.asarray(num(table, "n")) >= min_items) if table.num_rows else table
    return _rows(t, "overlap", METHOD, confidence)


def _rows(t: pa.Table, kind: str, method: str, confidence: float) -> pa.Table:
    n = num(t, "n").astype(float)
    b = num(t, "b").astype(float)
    c = num(t, "c").astype(float)
    effect, lo, hi, p = paired_exact(b, c, n, confidence)
    own = num(t, "n_own_pos") / np.where(n > 0, n, np.nan)
    peer = num(t, "n_peer_pos") / np.where(n > 0, n, np.nan)
    return evidence_table(t["labeler_id"], t["failure_mode"], kind, effect, lo, hi, p, n, own, peer, method)
