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
import pyarrow.compute as pc
from scipy import stats

from evalaudit.labelers.evidence import LENIENCY_SCHEMA, num
from evalaudit.labelers.judgments import ranges

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
    # per code, each worker's count (a row per code: a pair's sum below reads whole rows), a block of judgments at a
    # time (whole numbers: the same in any grouping; no key array for every judgment)
    cells = np.zeros(rows << k, dtype=np.int64)
    for lo, hi in ranges(len(worker)):
        key = worker[lo:hi].astype(np.int64)
        key <<= k
        key += code[lo:hi]
        cells += np.bincount(key, minlength=rows << k)
    del key
    cells = cells.reshape(rows, 1 << k).T.copy()
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
    label among the ``include``-d rows of ``rows`` (leniency evidence rows with adjusted ``p_value_mid``), in the
    order of each group's first row.

    ``sigma0``: per row, the empirical-null factor its kind's p-value was adjusted by (1 = none); ``worker``: per
    row, the worker code (labeler × failure mode) the ``shared`` judgment counts are indexed by. The q-value is left
    NaN (BH over the combined tests is the caller's step).

    Every group at once: a group's parts (in kind order) fill a row of a (groups × most parts) array, and the
    module's sums run over its columns (tens of thousands of groups at 10M judgments; a loop over them cost
    0.1–0.2 s per call, three calls per leniency table)."""
    zc = stats.norm.isf((1 - confidence) / 2)
    effect, lo, hi, p = (num(rows, c) for c in ("effect", "ci_low", "ci_high", "p_value_mid"))
    with np.errstate(invalid="ignore", divide="ignore"):
        se = (hi - lo) / (2 * zc) * sigma0
        usable = np.isfinite(effect) & np.isfinite(p) & np.isfinite(se) & (se > 0)
    use = np.nonzero(np.asarray(include, dtype=bool) & usable)[0]
    if len(use) == 0:
        return LENIENCY_SCHEMA.empty_table()
    z = _signed_z(p[use], effect[use])
    n_row = num(rows, "n")[use]
    kinds, kind_code = _codes(rows["evidence"].take(use))  # kinds sorted: a code's order is the kinds' order
    group, first = _groups(rows.select(["labeler_id", "failure_mode", "label"]).take(use))
    # members in group order, each group's parts in kind order (rows of one kind in row order)
    order = np.lexsort((np.arange(len(use)), kind_code, group))
    g_of = group[order]
    size = np.bincount(group)
    start = np.r_[0, np.cumsum(size)[:-1]]
    slot = np.arange(len(order)) - start[g_of]
    G, K = len(size), int(size.max())

    def dense(values: np.ndarray, fill: float) -> np.ndarray:
        out = np.full((G, K), fill, dtype=np.float64)
        out[g_of, slot] = values[order]
        return out

    z_d, s_d, e_d, n_d = dense(z, 0.0), dense(se[use], np.inf), dense(effect[use], 0.0), dense(n_row, 0.0)
    k_d = np.full((G, K), -1, dtype=np.int64)
    k_d[g_of, slot] = kind_code[order]
    w = np.asarray(worker)[use][order][start]  # a group's worker (its parts are one labeler × failure mode's)
    # per pair of slots, the judgments both parts read (and each part's own): the correlation bound r_ab
    counts = np.zeros((len(kinds), len(kinds), G))
    multi = size > 1
    present = np.zeros((G, len(kinds)), dtype=bool)
    present[g_of, kind_code[order]] = True
    present &= multi[:, None]
    for a, ka in enumerate(kinds):
        for b, kb in enumerate(kinds):
            if (present[:, a] & present[:, b]).any():  # (the counts of the pairs some group has)
                counts[a, b, multi] = np.asarray(shared[(ka, kb)], dtype=np.float64)[w[multi]]
    rows_g = np.arange(G)
    n_ab = np.zeros((K, K, G))
    R = np.zeros((K, K, G))
    for a in range(K):
        for b in range(K):
            there = (k_d[:, a] >= 0) & (k_d[:, b] >= 0)
            ka, kb = np.maximum(k_d[:, a], 0), np.maximum(k_d[:, b], 0)
            n_ab[a, b] = np.where(there, counts[ka, kb, rows_g], 0.0)
            if a == b:
                R[a, b] = np.where(there, 1.0, 0.0)
                continue
            na, nb = counts[ka, ka, rows_g], counts[kb, kb, rows_g]
            with np.errstate(invalid="ignore", divide="ignore"):
                R[a, b] = np.where(there & (na > 0) & (nb > 0), n_ab[a, b] / np.sqrt(na * nb), 0.0)
    wz = 1 / s_d  # (0 in the empty slots)
    v = wz * wz
    with np.errstate(invalid="ignore", divide="ignore"):
        vs = np.where(np.isfinite(s_d), v * s_d, 0.0)
        Z = _sum(wz * z_d) / np.sqrt(_quad(wz, R))
        e = _sum(v * e_d) / _sum(v)
        se_c = np.sqrt(_quad(vs, R)) / _sum(v)
    pv = 2 * stats.norm.sf(np.abs(Z))
    # distinct judgments: the parts' counts less what pairs of them share (inclusion–exclusion to pairs)
    pair_shared = sum((n_ab[a, b] for a in range(K) for b in range(a + 1, K)), np.zeros(G))
    n = np.maximum(n_d.max(axis=1), _sum(n_d) - pair_shared)
    head = order[start + np.argmin(s_d, axis=1)]  # the most precise part describes the rates
    one = ~multi  # a single part is passed on unchanged (its own exact test and interval)
    head[one] = order[start[one]]
    pos = use[head]
    e = np.where(one, effect[pos], e)
    lo_c = np.where(one, lo[pos], e - zc * se_c)
    hi_c = np.where(one, hi[pos], e + zc * se_c)
    pv = np.where(one, num(rows, "p_value")[pos], pv)
    n = np.where(one, n_row[head], n)
    combo = np.zeros(G, dtype=np.int64)  # the group's kinds as digits (base: kinds + 1; empty slots 0)
    for a in range(K):
        combo = combo * (len(kinds) + 1) + (k_d[:, a] + 1)
    names: dict[int, str] = {}
    for c, g in zip(*np.unique(combo, return_index=True), strict=True):
        names[int(c)] = ",".join(kinds[k] for k in k_d[g] if k >= 0)
    parts = [names[c] for c in combo.tolist()]
    methods = {x: METHOD.format(parts=x.replace(",", ", ")) for x in names.values()}
    keys = rows.take(use[first])
    taken = rows.take(pos)
    out = {
        "labeler_id": keys["labeler_id"], "failure_mode": keys["failure_mode"],
        "evidence": pa.array(["combined"] * G, pa.string()), "label": keys["label"],
        "effect": e, "ci_low": lo_c, "ci_high": hi_c, "p_value": pv, "q_value": np.full(G, np.nan),
        "n": np.rint(n).astype(np.int64),
        "labeler_rate": taken["labeler_rate"], "peer_rate": taken["peer_rate"],
        "method": pa.array([methods[x] for x in parts], pa.string()),
        "parts": pa.array(parts, pa.string()), "p_value_mid": pv,
    }
    return pa.table(out, schema=LENIENCY_SCHEMA)


def _sum(x: np.ndarray) -> np.ndarray:
    """Row sums, term after term (the order a loop over a group's parts adds them in)."""
    out = x[:, 0].copy()
    for k in range(1, x.shape[1]):
        out += x[:, k]
    return out


def _quad(w: np.ndarray, R: np.ndarray) -> np.ndarray:
    """Per row g, ``w_g @ R_g @ w_g`` (R: slots × slots × rows)."""
    K = w.shape[1]
    t = [sum((w[:, a] * R[a, b] for a in range(1, K)), w[:, 0] * R[0, b]) for b in range(K)]
    return sum((t[b] * w[:, b] for b in range(1, K)), t[0] * w[:, 0])


def _codes(values: pa.Array | pa.ChunkedArray) -> tuple[list[str], np.ndarray]:
    """(the distinct strings in sorted order, each value's index among them)."""
    uniq = sorted(set(pc.unique(values).to_pylist()))
    code = pc.index_in(values, pa.array(uniq, pa.string())).to_numpy(zero_copy_only=False)
    return uniq, code.astype(np.int64)


def _groups(keys: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """(per row, its group's number: groups numbered in the order of their first row; per group, its first row)
    for the rows' distinct combinations of the key columns (a null is a value of its own)."""
    key = np.zeros(keys.num_rows, dtype=np.int64)
    for name in keys.column_names:
        col = pc.dictionary_encode(keys[name]).combine_chunks()
        code = pc.fill_null(col.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64) + 1
        key = key * (len(col.dictionary) + 1) + code
        key = np.unique(key, return_inverse=True)[1].astype(np.int64)  # compact (no overflow however many columns)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inverse], np.sort(first)
