"""Overlap evidence: on items a labeler shares with other labelers, their positive rate against the
leave-this-labeler-out majority of the others on the same items — a paired comparison, so item difficulty cancels
(the strongest evidence the data offers without known answers).

The test is McNemar's exact test on the discordant items (McNemar 1947), the interval Clopper–Pearson mapped to the
difference in positive rate; see :func:`evalaudit.labelers.evidence.paired_exact`.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from evalaudit.engine import Engine
from evalaudit.labelers.evidence import evidence_table, num, paired_exact

METHOD = "overlap: paired exact binomial (McNemar) test on discordant items vs leave-this-labeler-out majority"


EXCLUDED_VIEW = "labelers_excluded"


def counts(engine: Engine, exclude: list[str] | None = None) -> pa.Table:
    """Per labeler × failure mode: n, own and peer positives, discordant counts b and c (named query). Labelers in
    ``exclude`` (detected spammers) are tested themselves but never count as anyone's peer."""
    engine.register(EXCLUDED_VIEW, pa.table({"labeler_id": pa.array(sorted(exclude or []), pa.string())}))
    return engine.query("labelers_overlap")


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
