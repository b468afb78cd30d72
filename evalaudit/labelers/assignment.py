"""Assignment evidence: where items carry a single label there is no peer on the same item, so a labeler's positive
rate is compared with peers' on the same failure mode *within strata* (ISO week or batch), combined over strata by
Cochran–Mantel–Haenszel. Weaker evidence than overlap or honeypots: it assumes items were assigned to labelers at
random within a stratum (a labeler handed easier items looks lenient).

- Test: the CMH statistic without continuity correction (Mantel & Haenszel 1959; Cochran 1954),
  ``(sum_k a_k - E a_k)^2 / sum_k Var a_k`` with the hypergeometric variance, chi-square on 1 df — the same as
  ``statsmodels.stats.contingency_tables.StratifiedTable.test_null_odds(correction=False)``.
- Effect: the Mantel–Haenszel weighted risk difference ``sum_k (a_k n0_k - c_k n1_k)/N_k / sum_k n1_k n0_k/N_k``
  (Greenland & Robins 1985) — a difference in positive rate like every other evidence row.
- Interval: Wald, with the large-strata variance ``sum_k w_k^2 (p1(1-p1)/n1 + p0(1-p0)/n0) / (sum_k w_k)^2``,
  ``w_k = n1_k n0_k / N_k``.
The per-stratum sums are numpy aggregates over the judgments (:func:`sums`); the same formulas over
explicit 2×2 tables are in :func:`cmh_tables`, which the tests check against statsmodels and against
:func:`sums`. Hand-written because
statsmodels is not a runtime dependency and its StratifiedTable handles one labeler at a time.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from scipy import stats

from evalaudit.labelers.evidence import evidence_table, num, worker_table
from evalaudit.labelers.judgments import bincount

METHOD = ("assignment: Cochran–Mantel–Haenszel test of positive rate vs peers on single-label items of the same "
          "failure mode, stratified by {strata}; assumes random assignment (weaker evidence)")


def sums(J, strata: str) -> pa.Table:
    """Per labeler × failure mode: CMH and MH risk-difference sums over strata, on single-label items.

    A stratum is a failure mode × (ISO week, or batch when ``strata == "batch"`` and the judgment names one);
    strata holding only this labeler carry no comparison and are skipped, and so are judgments with no stratum
    (no time, and no batch when stratifying by batch). Vectorised with numpy over the
    de-duplicated judgments."""
    n_item = bincount(J.item, minlength=J.n_items)
    single = n_item[J.item] == 1
    if J.timed is not None:  # a judgment without a time has no week stratum (nor batch stratum without a batch)
        single = single & (J.timed | ((J.batch >= 0) if strata == "batch" else False))
    w = J.worker[single].astype(np.int64)
    yv = J.y[single].astype(np.float64)
    wk = J.week[single].astype(np.int64)
    wk = wk - (wk.min() if len(wk) else 0)
    if strata == "batch":
        b = J.batch[single].astype(np.int64)
        n_b = int(b.max()) + 1 if len(b) else 0
        s = np.where(b >= 0, b, n_b + wk)
    else:
        s = wk
    S = int(s.max()) + 1 if len(s) else 1
    uc, inv = np.unique(w * S + s, return_inverse=True)
    n1 = np.bincount(inv).astype(np.float64)
    a = np.bincount(inv, weights=yv)
    cw, cs = uc // S, uc % S
    _, sinv = np.unique(J.worker_fm[cw].astype(np.int64) * S + cs, return_inverse=True)
    nt = np.bincount(sinv, weights=n1)[sinv]
    m1 = np.bincount(sinv, weights=a)[sinv]
    n0, c0 = nt - n1, m1 - a
    ok = n0 > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        wgt = np.where(ok, n1 * n0 / nt, 0.0)
        terms = {
            "n": n1, "n_own_pos": a, "n_peer": n0, "n_peer_pos": c0, "n_strata": np.ones_like(n1),
            "o_minus_e": a - n1 * m1 / nt,
            "var_null": np.where(nt > 1, n1 * n0 * m1 * (nt - m1) / (nt * nt * (nt - 1)), 0.0),
            "rd_num": (a * n0 - c0 * n1) / nt,
            "rd_den": wgt,
            "rd_var_num": wgt * wgt * (a * (n1 - a) / n1**3 + np.where(ok, c0 * (n0 - c0) / n0**3, 0.0)),
        }
    cols = {k: np.bincount(cw, weights=np.where(ok, v, 0.0), minlength=J.n_workers) for k, v in terms.items()}
    return worker_table(J, cols)


def from_sums(o_minus_e, var_null, rd_num, rd_den, rd_var_num, confidence: float = 0.95):
    """(effect, ci_low, ci_high, p_value, chi2) from the stratum sums; vectorised over tests."""
    o_minus_e, var_null, rd_num, rd_den, rd_var_num = (
        np.asarray(x, dtype=float) for x in (o_minus_e, var_null, rd_num, rd_den, rd_var_num)
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        chi2 = np.where(var_null > 0, o_minus_e**2 / var_null, np.nan)
        p = np.where(var_null > 0, stats.chi2.sf(chi2, 1), 1.0)
        effect = np.where(rd_den > 0, rd_num / rd_den, np.nan)
        se = np.where(rd_den > 0, np.sqrt(rd_var_num) / rd_den, np.nan)
    z = stats.norm.isf((1 - confidence) / 2)
    return effect, effect - z * se, effect + z * se, p, chi2


def cmh_tables(tables, confidence: float = 0.95):
    """The same statistics from explicit 2×2 tables ``[[a, b], [c, d]]`` per stratum (rows: labeler, peers;
    columns: positive, not positive). Returns (effect, ci_low, ci_high, p_value, chi2) as floats."""
    t = np.asarray(tables, dtype=float).reshape(-1, 2, 2)
    a, b, c, d = t[:, 0, 0], t[:, 0, 1], t[:, 1, 0], t[:, 1, 1]
    n1, n0 = a + b, c + d
    nt = n1 + n0
    m1 = a + c
    keep = (n1 > 0) & (n0 > 0)
    a, c, n1, n0, nt, m1 = a[keep], c[keep], n1[keep], n0[keep], nt[keep], m1[keep]
    w = n1 * n0 / nt
    out = from_sums(
        np.sum(a - n1 * m1 / nt),
        np.sum(n1 * n0 * m1 * (nt - m1) / (nt * nt * (nt - 1))),
        np.sum((a * n0 - c * n1) / nt),
        np.sum(w),
        np.sum(w * w * (a * (n1 - a) / n1**3 + c * (n0 - c) / n0**3)),
        confidence,
    )
    return tuple(float(x) for x in out)


def evidence(table: pa.Table, min_items: int, confidence: float, strata: str) -> pa.Table:
    if table.num_rows:
        table = table.filter(np.asarray(num(table, "n")) >= min_items)
    col = {name: num(table, name) for name in table.column_names
           if name not in ("labeler_id", "failure_mode")}
    effect, lo, hi, p, _ = from_sums(col["o_minus_e"], col["var_null"], col["rd_num"], col["rd_den"],
                                     col["rd_var_num"], confidence)
    n = col["n"].astype(float)
    n_peer = col["n_peer"].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        own = col["n_own_pos"] / np.where(n > 0, n, np.nan)
        peer = col["n_peer_pos"] / np.where(n_peer > 0, n_peer, np.nan)
    return evidence_table(table["labeler_id"], table["failure_mode"], "assignment", effect, lo, hi, p, n, own, peer,
                          METHOD.format(strata="ISO week" if strata == "week" else "batch"))


BALANCE_METHOD = ("balance of assignment: mean difficulty proxy (known answer on honeypots, else the other labelers' "
                  "positive rate on the item) of the labeler's items vs the rest of the failure mode's, two-sample "
                  "z-test with the pooled (permutation) variance, BH over labeler × failure modes")


def balance(J, min_items: int = 20) -> dict[str, np.ndarray]:
    """Per worker (labeler × failure mode): is the labeler handed items like everyone else's? Under random
    assignment the items a labeler gets are a random draw of the failure mode's, so any property of the item
    measured *without the labeler's own label* has the same mean on their items as on the others'. The proxy for
    how positive an item is: its known answer on a honeypot, else the mean label of the item's other labelers
    (items nobody else judged carry none). Effect: the labeler's items' mean proxy minus the rest of the failure
    mode's (other workers' judgments). Test: the two-sample z with the pooled variance of all the failure mode's
    proxies — the variance of a random subset's mean under random assignment (the permutation null; a
    labeler-only variance would be zero on a handful of identical honeypot answers). At least ``min_items``
    proxied items. Returns arrays ``diff``, ``p_value`` (NaN where untested) and ``n``."""
    n_item = bincount(J.item, minlength=J.n_items).astype(float)
    y = J.y.astype(float)
    s_item = bincount(J.item, weights=y, minlength=J.n_items)
    k = n_item[J.item]
    with np.errstate(invalid="ignore", divide="ignore"):
        proxy = np.where(k >= 2, (s_item[J.item] - y) / (k - 1), np.nan)
    t = J.truth[J.item]
    proxy = np.where(t >= 0, t.astype(float), proxy)
    has = np.isfinite(proxy)
    w, x = J.worker[has], proxy[has]
    W = J.n_workers
    n = np.bincount(w, minlength=W).astype(float)
    s1 = np.bincount(w, weights=x, minlength=W)
    s2 = np.bincount(w, weights=x * x, minlength=W)
    g = J.worker_fm
    G = int(g.max(initial=-1)) + 1
    gn, gs1, gs2 = (np.bincount(g, weights=v, minlength=G)[g] for v in (n, s1, s2))
    rn, rs1 = gn - n, gs1 - s1
    with np.errstate(invalid="ignore", divide="ignore"):
        m, rm = s1 / n, rs1 / rn
        gm = gs1 / gn
        v = np.maximum(gs2 / gn - gm * gm, 0) * gn / np.maximum(gn - 1, 1)
        diff = m - rm
        se = np.sqrt(v * (1 / n + 1 / rn))
        z = np.where(se > 0, diff / se, 0.0)
    p = np.where((n >= min_items) & (rn >= min_items), 2 * stats.norm.sf(np.abs(z)), np.nan)
    return {"diff": diff, "p_value": p, "n": n}


def pooled_by_labeler(p_values: np.ndarray, diffs: np.ndarray, worker_labeler: np.ndarray, n_labelers: int
                      ) -> np.ndarray:
    """Per labeler: the two-sided p-value of the unweighted Stouffer sum of their balance z-scores over failure
    modes (and label views; rows of ``p_values``/``diffs``, columns workers); NaN where nothing was tested."""
    p = np.asarray(p_values, dtype=float)
    ok = np.isfinite(p)
    z = np.where(ok, np.sign(diffs) * stats.norm.isf(np.clip(np.where(ok, p, 1.0), 1e-300, 1.0) / 2), 0.0)
    lab = np.broadcast_to(worker_labeler, p.shape).ravel()
    zsum = np.bincount(lab, weights=z.ravel(), minlength=n_labelers)
    k = np.bincount(lab, weights=ok.ravel().astype(float), minlength=n_labelers)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(k > 0, 2 * stats.norm.sf(np.abs(zsum) / np.sqrt(k)), np.nan)
