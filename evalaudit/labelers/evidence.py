"""The shape every kind of leniency evidence takes (one row per labeler × failure mode × evidence, docs/outputs.md
``leniency.parquet``) and the paired exact test the overlap and honeypot evidence share."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import stats

from evalaudit.intervals import clopper_pearson

#: docs/outputs.md columns first, then ours.
LENIENCY_SCHEMA = pa.schema(
    [
        ("labeler_id", pa.string()),
        ("failure_mode", pa.string()),
        ("evidence", pa.string()),
        ("label", pa.string()),
        ("effect", pa.float64()),
        ("ci_low", pa.float64()),
        ("ci_high", pa.float64()),
        ("p_value", pa.float64()),
        ("q_value", pa.float64()),
        ("n", pa.int64()),
        ("labeler_rate", pa.float64()),
        ("peer_rate", pa.float64()),
        ("method", pa.string()),
        # the kinds a `combined` row rests on, comma-separated (null on the kinds' own rows)
        ("parts", pa.string()),
        # the mid-p value (Lancaster 1961) of a discrete exact test — what the combined test reads, since exact
        # p-values of discrete tests are conservative and would be so again inside a combination; equal to
        # p_value for continuous tests
        ("p_value_mid", pa.float64()),
    ]
)


def worker_table(J, columns: dict[str, np.ndarray], keep: np.ndarray | None = None) -> pa.Table:
    """Per-worker arrays (labeler × failure mode) as a table with labeler_id and failure_mode first; rows where
    ``keep`` (default: n > 0) holds."""
    if keep is None:
        keep = np.asarray(columns["n"] if "n" in columns else columns["n_judgments"]) > 0
    w = np.nonzero(keep)[0]
    out = {
        "labeler_id": pc.take(J.labelers, pa.array(J.worker_labeler[w])),
        "failure_mode": pc.take(J.failure_modes, pa.array(J.worker_fm[w])),
        "worker": w.astype(np.int64),
    }
    for name, arr in columns.items():
        arr = np.asarray(arr)[w]
        out[name] = arr.astype(np.int64) if name.startswith("n") or name in ("b", "c") else arr
    return pa.table(out)


def num(table: pa.Table, name: str) -> np.ndarray:
    """A numeric column as float64 numpy (SQL sums arrive as int128/decimal on DuckDB, bigint on Spark)."""
    return table[name].cast(pa.float64()).to_numpy(zero_copy_only=False)


def evidence_table(labeler_id, failure_mode, evidence: str, effect, ci_low, ci_high, p_value, n,
                   labeler_rate, peer_rate, method: str, label: str | None = None, p_mid=None) -> pa.Table:
    """Assemble rows of one kind of evidence; q_value is filled later by the BH step over all tests. ``label``:
    the label whose over-use the rows measure (per-label leniency), else None. ``p_mid``: the mid-p values of a
    discrete test (default: ``p_value``)."""
    k = len(effect)
    return pa.table(
        {
            "labeler_id": pa.array(labeler_id, pa.string()),
            "failure_mode": pa.array(failure_mode, pa.string()),
            "evidence": pa.array([evidence] * k, pa.string()),
            "label": pa.array([label] * k, pa.string()),
            "effect": np.asarray(effect, dtype=float),
            "ci_low": np.asarray(ci_low, dtype=float),
            "ci_high": np.asarray(ci_high, dtype=float),
            "p_value": np.asarray(p_value, dtype=float),
            "q_value": np.full(k, np.nan),
            "n": np.asarray(n, dtype=np.int64),
            "labeler_rate": np.asarray(labeler_rate, dtype=float),
            "peer_rate": np.asarray(peer_rate, dtype=float),
            "method": pa.array([method] * k, pa.string()),
            "parts": pa.nulls(k, pa.string()),
            "p_value_mid": np.asarray(p_value if p_mid is None else p_mid, dtype=float),
        },
        schema=LENIENCY_SCHEMA,
    )


def paired_exact(b, c, n, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Effect, exact CI and exact p-value for a paired difference in positive rate.

    On ``n`` paired items, ``b`` are positive for the labeler but not for the reference (peers' consensus or the
    honeypot answer) and ``c`` the reverse, so the difference in positive rate is ``(b - c) / n``. Conditional on
    the ``m = b + c`` discordant items, ``b ~ Binomial(m, 1/2)`` under no difference — McNemar's exact test
    (McNemar 1947; two-sided binomial p-value as in ``scipy.stats.binomtest``). The interval maps the
    Clopper–Pearson interval (Clopper & Pearson 1934) of ``pi = b / m`` to the effect ``m (2 pi - 1) / n``.
    Vectorised over tests because scipy.stats.binomtest handles one test per call.
    """
    b = np.asarray(b, dtype=float)
    c = np.asarray(c, dtype=float)
    n = np.asarray(n, dtype=float)
    m = b + c
    lo, hi = clopper_pearson(b, m, confidence)
    lo, hi = np.where(m > 0, lo, 0.0), np.where(m > 0, hi, 1.0)  # no discordant item: the whole range
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(m > 0, np.minimum(1.0, 2.0 * stats.binom.cdf(np.minimum(b, c), m, 0.5)), 1.0)
        nn = np.where(n > 0, n, np.nan)
        effect = (b - c) / nn
        ci_low = m * (2 * lo - 1) / nn
        ci_high = m * (2 * hi - 1) / nn
    return effect, ci_low, ci_high, p


def paired_mid_p(b, c) -> np.ndarray:
    """Two-sided mid-p value (Lancaster 1961) of the exact McNemar test: ``2 (P(X < k) + P(X = k) / 2)`` with
    ``k = min(b, c)``, ``X ~ Binomial(b + c, 1/2)``; under no difference it is closer to uniform than the exact p."""
    b = np.asarray(b, dtype=float)
    c = np.asarray(c, dtype=float)
    m = b + c
    k = np.minimum(b, c)
    with np.errstate(invalid="ignore"):
        p = 2 * (stats.binom.cdf(k, m, 0.5) - 0.5 * stats.binom.pmf(k, m, 0.5))
    return np.where(m > 0, np.clip(p, 0.0, 1.0), 1.0)


def z_interval(mean, se, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normal-approximation interval and two-sided p-value for ``mean`` with standard error ``se``."""
    mean = np.asarray(mean, dtype=float)
    se = np.asarray(se, dtype=float)
    z = stats.norm.isf((1 - confidence) / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        stat = np.where(se > 0, mean / se, np.where(mean == 0, 0.0, np.inf))
    p = 2 * stats.norm.sf(np.abs(stat))
    return mean - z * se, mean + z * se, p
