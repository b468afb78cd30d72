"""One test per labeler × failure mode (× label) from the kinds of leniency evidence: a weighted Stouffer combination
corrected for the judgments the kinds share.

Why: each kind (overlap, honeypot, Dawid–Skene, assignment) sees part of a labeler's judgments. Tested apart, a
labeler whose bias shows a little in each kind is significant in none, and BH runs over four times as many rows.

Method (the weighted Z-method of Lipták 1958 / Stouffer, with the correction for correlated tests of Strube 1985,
"Combining and comparing significance levels from nonindependent hypothesis tests", Psychological Bulletin 97(2),
316–321; see also Whitlock 2005, J. Evol. Biol. 18, 1368–1373, for the weights):

- each part i gives a signed z-score ``z_i = sign(effect_i) * Phi^-1(1 - p_i / 2)`` from its two-sided p-value
  — the mid-p value (Lancaster 1961) for the discrete exact tests (overlap, honeypot), whose exact p-values are
  conservative (null z-scores spread 0.7–0.8 on simulated honest labelers) and would make the combination
  conservative again — and a standard error ``se_i`` from its interval. The caller decides whether the parts are
  already adjusted for honest differences (``sigma0``, an empirical-null factor) or the combination is judged
  against them afterwards (:mod:`evalaudit.labelers.honest_spread`);
- weights ``w_i = 1 / se_i``, so ``Z = sum w_i z_i / sqrt(sum_ij w_i w_j r_ij)`` — with ``z_i = effect_i / se_i``
  this is exactly the inverse-variance (GLS) weighted mean of the effects over its standard error;
- ``r_ij``, the correlation between two kinds' statistics, is bounded by the share of the labeler's judgments both
  use, ``r_ij = n_ij / sqrt(n_i n_j)`` (each statistic is a sum over the labeler's judgments; two sums over the same
  judgments cannot correlate more than that when the per-judgment terms have equal variance). Taking the bound
  makes the test conservative: overlap and Dawid–Skene, read off the same multi-label items, count nearly once,
  while honeypots and single-label (assignment) items, disjoint from them, add their full information;
- the effect is the inverse-variance weighted mean of the parts' effects, with standard error
  ``sqrt(sum_ij v_i v_j r_ij se_i se_j) / sum v_i`` (``v_i = 1/se_i^2``) and a normal interval;
- a single part is passed on unchanged (its own exact test and interval);
- ``n`` is the distinct judgments behind the parts (their counts less what pairs of them share).

Pure statistics: arrays and Arrow tables in, a table out; nothing here knows the configuration or findings.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
from scipy import stats

from evalaudit.labelers.evidence import LENIENCY_SCHEMA, num

METHOD = ("combined: weighted Stouffer (Lipták) of the {parts} evidence, inverse-standard-error weights, "
          "corrected for shared judgments (Strube 1985); inverse-variance weighted effect, normal interval")


def shared_by_code(worker: np.ndarray, code: np.ndarray, kinds: Sequence[str], n_workers: int
                   ) -> dict[tuple[str, str], np.ndarray]:
    """Per pair of kinds (and per kind with itself): how many of each worker's judgments both use. ``code``: per
    judgment, the kinds that use it (bit i: ``kinds[i]``, at most eight kinds).

    One pass over the judgments, not one weighted count per pair of kinds: one count per worker × code, and a
    pair's count is the sum over the codes that have both bits. The counts are integers, so they are exactly what
    per-pair weighted counts give (float64, as those are)."""
    k = len(kinds)
    out: dict[tuple[str, str], np.ndarray] = {}
    if not len(worker):  # (what the weighted counts give on no judgments: numpy's integer zeros)
        for a_i, a in enumerate(kinds):
            for b in kinds[a_i:]:
                out[(a, b)] = out[(b, a)] = np.bincount(worker, weights=np.zeros(0), minlength=n_workers)
        return out
    worker = np.asarray(worker)
    rows = max(n_workers, int(worker.max()) + 1)
    key = worker.astype(np.int32 if rows << k < 2**31 else np.int64)  # (a copy: shifted in place below)
    key <<= k
    key += code
    # per code, each worker's count (a row per code: a pair's sum below reads whole rows)
    cells = np.bincount(key, minlength=rows << k).reshape(rows, 1 << k).T.copy()
    del key
    for a_i, a in enumerate(kinds):
        for b_i in range(a_i, k):
            both = [c for c in range(1 << k) if (c >> a_i) & 1 and (c >> b_i) & 1]
            out[(a, kinds[b_i])] = out[(kinds[b_i], a)] = cells[both].sum(axis=0).astype(np.float64)
    return out


def _signed_z(p: np.ndarray, effect: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        z = stats.norm.isf(np.clip(p, 1e-300, 1.0) / 2)
    return np.where(np.isfinite(effect) & (effect != 0), np.sign(effect) * z, 0.0)


def combine(rows: pa.Table, sigma0: np.ndarray, worker: np.ndarray, include: np.ndarray,
            shared: dict[tuple[str, str], np.ndarray], confidence: float = 0.95) -> pa.Table:
    """Combined rows (evidence ``combined``, ``parts`` naming the kinds used), one per labeler × failure mode ×
    label among the ``include``-d rows of ``rows`` (leniency evidence rows with adjusted ``p_value_mid``).

    ``sigma0``: per row, the empirical-null factor its kind's p-value was adjusted by (1 = none); ``worker``: per
    row, the worker code (labeler × failure mode) the ``shared`` judgment counts are indexed by. The q-value is left
    NaN (BH over the combined tests is the caller's step)."""
    zc = stats.norm.isf((1 - confidence) / 2)
    idx = np.nonzero(include)[0]
    if len(idx) == 0:
        return LENIENCY_SCHEMA.empty_table()
    kind = np.asarray(rows["evidence"].to_pylist(), dtype=object)
    label = rows["label"].to_pylist()
    lab = rows["labeler_id"].to_pylist()
    fm = rows["failure_mode"].to_pylist()
    effect, lo, hi, p = (num(rows, c) for c in ("effect", "ci_low", "ci_high", "p_value_mid"))
    n_row, p_exact = num(rows, "n"), num(rows, "p_value")
    labeler_rate, peer_rate = rows["labeler_rate"].to_pylist(), rows["peer_rate"].to_pylist()
    with np.errstate(invalid="ignore", divide="ignore"):
        se = (hi - lo) / (2 * zc) * sigma0
    z = _signed_z(p, effect)
    with np.errstate(invalid="ignore"):
        usable = np.isfinite(effect) & np.isfinite(p) & np.isfinite(se) & (se > 0)
    groups: dict[tuple, list[int]] = {}
    for i in idx[usable[idx]].tolist():  # in row order: groups come in the order their first row does
        groups.setdefault((lab[i], fm[i], label[i]), []).append(i)
    cols: dict[str, list] = {c: [] for c in ("e", "ci_l", "ci_h", "pv", "n", "head")}
    parts: list[str] = []
    methods: dict[str, str] = {}
    for members in groups.values():
        if len(members) == 1:  # a single part is passed on unchanged
            i = members[0]
            for c, v in zip(cols, (effect[i], lo[i], hi[i], p_exact[i], n_row[i], i), strict=True):
                cols[c].append(v)
            parts.append(kind[i])
            continue
        members.sort(key=lambda i: kind[i])
        m = np.asarray(members)
        ks = [kind[i] for i in m]
        w = int(worker[m[0]])
        R = np.empty((len(m), len(m)))
        for a in range(len(m)):
            for b in range(len(m)):
                na, nb = shared[(ks[a], ks[a])][w], shared[(ks[b], ks[b])][w]
                R[a, b] = 1.0 if a == b else (shared[(ks[a], ks[b])][w] / np.sqrt(na * nb)
                                              if na > 0 and nb > 0 else 0.0)
        s = se[m]
        wz = 1 / s
        Z = float(wz @ z[m] / np.sqrt(wz @ R @ wz))
        pv = float(2 * stats.norm.sf(abs(Z)))
        v = 1 / s**2
        e = float(v @ effect[m] / v.sum())
        se_c = float(np.sqrt((v * s) @ R @ (v * s)) / v.sum())
        # distinct judgments: the parts' counts less what pairs of them share (inclusion–exclusion to pairs)
        n = max(float(n_row[m].max()), float(n_row[m].sum()) - sum(
            shared[(ks[a], ks[b])][w] for a in range(len(m)) for b in range(a + 1, len(m))))
        head = m[np.argmin(se[m])]  # the most precise part describes the rates
        for c, val in zip(cols, (e, e - zc * se_c, e + zc * se_c, pv, n, int(head)), strict=True):
            cols[c].append(val)
        parts.append(",".join(ks))
    k = len(parts)
    head = np.asarray(cols["head"], dtype=np.int64)
    pv = np.asarray(cols["pv"], dtype=np.float64)
    out = {
        "labeler_id": [key[0] for key in groups], "failure_mode": [key[1] for key in groups],
        "evidence": ["combined"] * k, "label": [key[2] for key in groups],
        "effect": np.asarray(cols["e"], dtype=np.float64), "ci_low": np.asarray(cols["ci_l"], dtype=np.float64),
        "ci_high": np.asarray(cols["ci_h"], dtype=np.float64), "p_value": pv, "q_value": np.full(k, np.nan),
        "n": [round(float(x)) for x in cols["n"]],
        "labeler_rate": [labeler_rate[i] for i in head], "peer_rate": [peer_rate[i] for i in head],
        "method": [methods.get(x) or methods.setdefault(x, METHOD.format(parts=x.replace(",", ", ")))
                   for x in parts],
        "parts": parts, "p_value_mid": pv,
    }
    return pa.table(out, schema=LENIENCY_SCHEMA)
