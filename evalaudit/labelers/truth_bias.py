"""Dawid–Skene evidence: a labeler's bias against the estimated truth, not against a typical peer.

Why not against peers: where the crowd itself leans one way (workers who under-report a class), an accurate
labeler differs from a typical peer and would be called biased in the crowd's direction's opposite. The
leave-this-labeler-out Dawid–Skene posterior ``T_j = P(item truly positive | everyone else's labels, the known
answer)`` does not contain the labeler's own label, so it can serve as the reference truth.

Estimator (method of moments with a soft reference): with sensitivity ``s`` and false-positive rate ``u = 1 - t``
(specificity t), a calibrated ``T_j`` gives ``E[y_j | others] = T_j s + (1 - T_j) u``. Plain ratios
``sum T y / sum T`` are attenuated toward the labeler's overall rate when T is soft; instead (s, u) solve the two
estimating equations ``sum_j (y_j - T_j s - (1 - T_j) u) (1, T_j) = 0`` (least squares of y on T and 1 - T). The
effect is the labeler's bias on a balanced mix of truly positive and negative items,
``(s - t) / 2 = (s + u - 1) / 2``: the positive rate they would give such a mix minus 1/2 — zero for a labeler
whose errors are symmetric, positive for one passing too much. Standard error: the sandwich (robust) variance of
the M-estimator (Huber 1967; Stefanski & Boos 2002, "The calculus of M-estimation", Am. Stat. 56(1)),
``A^-1 B A^-T`` with ``A = sum (1, T)(T, 1 - T)^T`` and ``B = sum psi psi^T``.

:func:`evidence` turns the effects into the ``dawid_skene`` rows of the leniency table (one per labeler × failure
mode, or a row per label and its mirror when leniency is measured per label on two labels).

Pure statistics on per-judgment arrays; nothing here knows the configuration.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from evalaudit.labelers.evidence import evidence_table, z_interval
from evalaudit.labelers.judgments import ranges

METHOD = ("dawid_skene: bias against the leave-this-labeler-out Dawid–Skene posterior (moment estimates of "
          "sensitivity and specificity with the soft posterior as reference; (s - t) / 2, the positive rate on a "
          "balanced item mix minus 1/2; sandwich standard error, normal interval)")


#: judgments per block of workers in :func:`effect`: its dozen per-judgment temporaries exist for one block at a
#: time, so the working set does not grow with the store
EFFECT_BLOCK = 1 << 20


def effect(y: np.ndarray, worker: np.ndarray, loo, weight: np.ndarray, n_workers: int,
           min_class: float = 10.0) -> dict[str, np.ndarray]:
    """Per worker: ``effect`` (s - t)/2, ``se``, ``rate`` (own positive rate on the weighted judgments),
    ``peer_rate`` (the reference's: mean of T), ``sensitivity``, ``specificity``, ``ok`` (at least ``min_class``
    effective items of each class, sum T and sum 1 - T, and a non-degenerate system). ``weight``: 1 (or True) for
    the judgments to use (items where others or a known answer speak), 0 otherwise.

    Computed over blocks of consecutive worker codes of about :data:`EFFECT_BLOCK` judgments: a block holds every
    judgment of its workers in their order, so each worker's sums run over the same terms in the same order as
    over all judgments at once — the same numbers to the last bit, for any block size. ``loo`` is the per-judgment
    array, or a function giving its entries at given positions (element by element: the posterior of one block
    of judgments at a time, never the whole array)."""
    worker = np.asarray(worker)
    loo_at = loo if callable(loo) else (lambda sel: np.asarray(loo)[sel])
    if len(worker) <= EFFECT_BLOCK:
        return _effect(y, worker, loo_at(slice(None)), weight, n_workers, min_class)
    ends = np.cumsum(np.bincount(worker, minlength=n_workers))
    out: dict[str, np.ndarray] = {}
    lo = 0
    while lo < n_workers:
        # the block's last worker: as many as fit in EFFECT_BLOCK judgments (at least one)
        hi = max(int(np.searchsorted(ends, (ends[lo - 1] if lo else 0) + EFFECT_BLOCK, side="right")), lo + 1)
        sel = np.flatnonzero((worker >= lo) & (worker < hi))
        part = _effect(np.asarray(y)[sel], worker[sel], loo_at(sel), np.asarray(weight)[sel], n_workers, min_class)
        del sel
        for k, v in part.items():
            out.setdefault(k, np.empty(n_workers, dtype=v.dtype))[lo:hi] = v[lo:hi]
        lo = hi
    return out


def _effect(y: np.ndarray, worker: np.ndarray, loo: np.ndarray, weight: np.ndarray, n_workers: int,
            min_class: float) -> dict[str, np.ndarray]:
    """:func:`effect` over the given judgments at once."""
    y = np.asarray(y, dtype=float)
    T = np.clip(np.asarray(loo, dtype=float), 0.0, 1.0)
    w = np.asarray(weight, dtype=float)

    def S(v):
        return np.bincount(worker, weights=w * v, minlength=n_workers)

    # normal equations of y ~ s T + u (1 - T): [[sum T^2, sum T(1-T)], [sum T(1-T), sum (1-T)^2]] (s, u) = ...
    a11, a12, a22 = S(T * T), S(T * (1 - T)), S((1 - T) ** 2)
    b1, b2 = S(T * y), S((1 - T) * y)
    det = a11 * a22 - a12 * a12
    pos, neg, n = S(T), S(1 - T), S(np.ones_like(y))
    ok = (pos >= min_class) & (neg >= min_class) & (det > 1e-9 * np.maximum(a11 * a22, 1e-300))
    with np.errstate(invalid="ignore", divide="ignore"):
        s = (a22 * b1 - a12 * b2) / det
        u = (a11 * b2 - a12 * b1) / det
        s, u = np.clip(s, 0.0, 1.0), np.clip(u, 0.0, 1.0)
        # sandwich: psi_j = r_j (T_j, 1 - T_j), r_j = y_j - s T_j - u (1 - T_j)
        r = y - s[worker] * T - u[worker] * (1 - T)
        # a residual of a 0/1 label is never below the binomial spread of its fitted rate: guard clean records
        r2 = np.maximum(r * r, 0.25 / np.maximum(n[worker], 1.0))
        b11, b12, b22 = S(r2 * T * T), S(r2 * T * (1 - T)), S(r2 * (1 - T) ** 2)
        # A^-1 = [[a22, -a12], [-a12, a11]] / det; var(s + u) = c' A^-1 B A^-1 c with c = (1, 1)
        g1, g2 = (a22 - a12) / det, (a11 - a12) / det  # A^-1 c (A symmetric)
        var = g1 * g1 * b11 + 2 * g1 * g2 * b12 + g2 * g2 * b22
        se = 0.5 * np.sqrt(var)
        eff = (s + u - 1) / 2
        rate = S(y) / n
        peer = pos / n
    return {"effect": eff, "se": se, "rate": rate, "peer_rate": peer, "sensitivity": s, "specificity": 1 - u,
            "ok": ok & np.isfinite(eff) & np.isfinite(se)}


def evidence(J, loo, weight: np.ndarray, fm_ok: np.ndarray, mode: str, labels, lab_names: np.ndarray,
             fm_names: np.ndarray, min_items: int, confidence: float) -> list[pa.Table]:
    """The ``dawid_skene`` evidence rows, from the leave-this-labeler-out posterior ``loo`` of each judgment of
    ``J`` (an array, or a function of positions as :func:`effect` takes): per worker (labeler × failure mode)
    with at least ``min_items`` weighted judgments, on a failure mode where Dawid–Skene ran (``fm_ok``, per
    failure mode) and a well-determined :func:`effect`. ``mode`` "positive": one row per worker; another mode on
    two labels (per label): the reference label's row and its mirror for the other label (``labels``: the label
    space's labels); on more labels none. ``weight``: as in :func:`effect`."""
    parts = []
    if np.asarray(weight).dtype == bool:  # judgments counted chunk by chunk (whole numbers: exact in any grouping)
        n_w = np.zeros(J.n_workers)
        for lo, hi in ranges(len(weight)):
            n_w += np.bincount(J.worker[lo:hi][weight[lo:hi]], minlength=J.n_workers)
    else:
        n_w = np.bincount(J.worker, weights=weight, minlength=J.n_workers)
    ds_eff = effect(J.y, J.worker, loo, weight, J.n_workers)
    mean_d, se, rate_w = ds_eff["effect"], ds_eff["se"], ds_eff["rate"]
    lo, hi, p = z_interval(mean_d, se, confidence)
    keep = (n_w >= min_items) & fm_ok[J.worker_fm] & ds_eff["ok"]
    labs, fms = lab_names[J.worker_labeler][keep], fm_names[J.worker_fm][keep]
    if mode == "positive":
        parts.append(evidence_table(labs, fms, "dawid_skene", mean_d[keep], lo[keep], hi[keep], p[keep],
                                    n_w[keep], rate_w[keep], ds_eff["peer_rate"][keep], METHOD))
    elif J.n_labels == 2:  # per label: the reference label's row and its mirror for the other label
        ref = J.reference
        for k, sign in ((ref, 1.0), (1 - ref, -1.0)):
            lo_k, hi_k = (lo, hi) if sign > 0 else (-hi, -lo)
            rate_k = rate_w if sign > 0 else 1 - rate_w
            parts.append(evidence_table(labs, fms, "dawid_skene", sign * mean_d[keep], lo_k[keep], hi_k[keep],
                                        p[keep], n_w[keep], rate_k[keep], (rate_k - sign * mean_d)[keep],
                                        METHOD, label=labels[k]))
    return parts
