"""Honeypot evidence: a labeler's judgments of control items against their known answers. The difference in positive
rate is (false passes - false fails) / honeypots judged, tested with McNemar's exact test on the discordant items
exactly as for overlap (the known answer plays the peers' consensus), with Clopper–Pearson intervals. False-pass
and false-fail rates are kept for the labeler's profile.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from evalaudit.engine import Engine
from evalaudit.labelers.evidence import num
from evalaudit.labelers.overlap import _rows

METHOD = "honeypot: paired exact binomial (McNemar) test of judgments vs known honeypot answers"


def counts(engine: Engine) -> pa.Table:
    """Per labeler × failure mode: honeypots judged, false passes b, false fails c (named query)."""
    return engine.query("labelers_honeypot")


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
