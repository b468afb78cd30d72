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

:func:`directed_bias` reads the same moment estimates in the two directions a labeler's threshold can move (a flip
of answers toward the positive label, toward the negative one), each a generalised-least-squares test against the
failure mode's other labelers with saddlepoint tails (:func:`saddlepoint_tails`) — the stage's Dawid–Skene evidence
where every labeler can be judged against their own honest level on their other failure modes (stage.py
``_directed``; leniency.py runs the combined test once per direction).

Pure statistics on per-judgment arrays; nothing here knows the configuration.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from scipy import stats

from evalaudit.labelers.evidence import evidence_table, z_interval
from evalaudit.labelers.judgments import bincount

METHOD = ("dawid_skene: bias against the leave-this-labeler-out Dawid–Skene posterior (moment estimates of "
          "sensitivity and specificity with the soft posterior as reference; (s - t) / 2, the positive rate on a "
          "balanced item mix minus 1/2; sandwich standard error, normal interval)")

METHOD_FLIP = ("dawid_skene: bias toward the positive label (leniency) or the negative one (severity), whichever "
               "one-sided p is smaller (doubled): the moment estimates of sensitivity and false-positive rate against "
               "the leave-this-labeler-out Dawid–Skene posterior (or the known answer) vs the failure mode's other "
               "labelers', read along the direction a flip of answers moves them (generalised least squares, O'Brien "
               "1984), covariance at the labeler's rates on its other failure modes (never below the peers'), "
               "saddlepoint tails (Lugannani & Rice 1980); effect = the flip's shift of the positive rate, "
               "normal interval")
METHOD_DIRECTION = {
    d: (f"dawid_skene: bias toward the {w} label — the moment estimates of sensitivity and false-positive rate "
        "against the leave-this-labeler-out Dawid–Skene posterior (or the known answer) vs the failure mode's other "
        f"labelers', read along the direction a flip toward the {w} label moves them (generalised least squares, "
        "O'Brien 1984), covariance at the labeler's rates on its other failure modes (never below the peers'), "
        "saddlepoint tails (Lugannani & Rice 1980); effect = the flip's shift of the positive "
        "rate, normal interval")
    for d, w in (("pos", "positive"), ("neg", "negative"))}

#: bins of T in the per-worker distribution :func:`saddlepoint_tails` reads (the judgments of a bin share one T, the
#: bin's mean: an error in T of at most 1/(2 TAIL_BINS) in a tail's shape, none in any estimate)
TAIL_BINS = 64

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
    ends = np.cumsum(bincount(worker, minlength=n_workers))
    out: dict[str, np.ndarray] = {}
    lo = 0
    while lo < n_workers:
        # the block's last worker: as many as fit in EFFECT_BLOCK judgments (at least one)
        hi = max(int(np.searchsorted(ends, (ends[lo - 1] if lo else 0) + EFFECT_BLOCK, side="right")), lo + 1)
        sel = np.flatnonzero((worker >= lo) & (worker < hi))
        part = _effect(np.asarray(y)[sel], worker[sel], loo_at(sel), np.asarray(weight)[sel], n_workers, min_class)
        del sel
        for k, v in part.items():
            out.setdefault(k, np.empty((n_workers, *v.shape[1:]), dtype=v.dtype))[lo:hi] = v[lo:hi]
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

    key = worker.astype(np.int64) * TAIL_BINS + np.minimum((T * TAIL_BINS).astype(np.int64), TAIL_BINS - 1)

    def hist(v):
        return np.bincount(key, weights=v, minlength=n_workers * TAIL_BINS).reshape(n_workers, TAIL_BINS)

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
            "ok": ok & np.isfinite(eff) & np.isfinite(se), "n": n,
            # the normal equations' sums and the powers of T, pooled over workers by :func:`directed_bias`
            "a11": a11, "a12": a12, "a22": a22, "b1": b1, "b2": b2, "t1": pos, "t3": S(T ** 3), "t4": S(T ** 4),
            # the distribution of T per worker (TAIL_BINS bins: judgments and their sum of T), for the tails
            "hist_n": hist(w), "hist_t": hist(w * T)}


#: effective items of each class (sum T, sum 1 - T) a labeler's other failure modes need for :func:`directed_bias`
#: to take its variance at the labeler's own rates (as :func:`effect`'s ``min_class``)
MIN_CLASS = 10.0

#: the pooled rates :func:`directed_bias` reads are kept in [RATE_EPS, 1 - RATE_EPS] (as Dawid–Skene keeps its rates)
RATE_EPS = 1e-3


def _solve(a11, a12, a22, b1, b2) -> tuple[np.ndarray, np.ndarray]:
    """(s, u) from the normal equations' sums of :func:`_effect`, kept in [RATE_EPS, 1 - RATE_EPS]."""
    with np.errstate(invalid="ignore", divide="ignore"):
        det = a11 * a22 - a12 * a12
        s = (a22 * b1 - a12 * b2) / det
        u = (a11 * b2 - a12 * b1) / det
    return (np.clip(np.nan_to_num(s, nan=0.5), RATE_EPS, 1 - RATE_EPS),
            np.clip(np.nan_to_num(u, nan=0.5), RATE_EPS, 1 - RATE_EPS))


def directed_bias(moments: dict[str, np.ndarray], worker_fm: np.ndarray, worker_labeler: np.ndarray
             ) -> dict[str, np.ndarray]:
    """Per worker, from :func:`effect`'s moment estimates: the bias read in the two directions a labeler's
    threshold can move, each a signed normal test — ``pos``: toward the positive label (leniency), ``neg``: toward
    the negative one (severity).

    Model: a labeler who turns a share f of their negative answers positive has sensitivity and false-positive
    rate ``(s + (1 - s) f, u + (1 - u) f)``; one who turns a share f of their positive answers negative,
    ``(s (1 - f), u (1 - f))``. Against the failure mode's other workers' pooled rates ``(s0, u0)`` (the moment
    estimates of :func:`_effect` pooled over them), the worker's estimate ``d = (s - s0, u - u0)`` has mean
    ``f delta`` with ``delta = (1 - s0, 1 - u0)`` toward positive and ``(-s0, -u0)`` toward negative. The
    generalised-least-squares estimate of f along delta, ``f = delta' V^-1 d / delta' V^-1 delta`` with standard
    error ``(delta' V^-1 delta)^-1/2``, is the most powerful linear test of a shift along a known direction of a
    bivariate normal estimate (O'Brien 1984, "Procedures for comparing samples with multiple endpoints",
    Biometrics 40, 1079–1087, the GLS test; Pocock, Geller & Tsiatis 1987, Biometrics 43, 487–498): a lenient
    labeler's false-positive rate moves ~9 times as far as their sensitivity (u0 ~ 0.1), so the test reads
    mostly the false passes, where the threshold-shift effect (s - t) / 2 gives the sensitivity, which barely
    moves, half the weight. V is the covariance of the moment estimates (the M-estimator's ``A^-1 B A^-1``,
    Stefanski & Boos 2002) with B at the labeler's own rates pooled over their *other* failure modes — the
    variance under "this failure mode is like the labeler's others", the hypothesis the honest spread of labelers
    tests (:mod:`evalaudit.labelers.honest_spread`), as a score test takes the variance under its null (Rao 1948);
    not read off this worker's own labels, which would couple the variance to the estimate (a worker with more
    false passes would get a larger variance, a left-skewed test) — or at the peers' rates where the labeler has
    too few other judgments (:data:`MIN_CLASS`); and never below the variance at the peers' rates (of the two, the
    sensitivity and false-positive rate nearer 1/2), a conservative guard against an own rate that is small by
    chance. ``Var(y | T) = q (1 - q)``, ``q = s_l T + u_l (1 - T)``, is a
    quadratic in T, so B needs only the sums of T to the fourth power. The tails of each direction's test are the
    saddlepoint approximation of a weighted sum of the labels (:func:`saddlepoint_tails`), not the normal one.

    Why each direction is its own test: a direction-specific error rate also moves with accuracy — a labeler less
    specific than peers has more false passes on every failure mode — which (s - t) / 2 cancels and these tests
    do not. So they are read only where each labeler is judged against their own honest level on their other
    failure modes, each direction against its own honest spread (:func:`evalaudit.labelers.leniency.table`).

    Returns per direction ``effect_*`` (f times the shift of the positive rate a whole flip would make on the
    worker's items: ``1 - p0`` toward positive, ``-p0`` toward negative, p0 the peers' expected positive rate),
    ``se_*``, ``p_*`` (two-sided), and ``effect``, ``se``, ``p`` of the direction with the smaller one-sided p
    (doubled: Bonferroni over the two directions, as the honeypot rows), ``peer_rate`` (p0), ``ok``."""
    keys = ("a11", "a12", "a22", "b1", "b2")
    m = {k: np.nan_to_num(np.asarray(moments[k], dtype=float)) for k in (*keys, "n", "t1", "t3", "t4")}
    n_fm = int(np.max(worker_fm, initial=-1)) + 1
    n_lab = int(np.max(worker_labeler, initial=-1)) + 1
    s0, u0 = _solve(*(np.bincount(worker_fm, weights=m[k], minlength=n_fm)[worker_fm] - m[k] for k in keys))
    # the rates the variance is taken at: the labeler's own, pooled over their other failure modes (independent of
    # this worker's labels: a variance read off the same labels couples to the estimate and skews the test), or
    # the peers' where the labeler has too few other judgments (at least MIN_CLASS effective items of each class)
    other = {k: np.bincount(worker_labeler, weights=m[k], minlength=n_lab)[worker_labeler] - m[k]
             for k in (*keys, "n", "t1")}
    sl, ul = _solve(*(other[k] for k in keys))
    own = (other["t1"] >= MIN_CLASS) & (other["n"] - other["t1"] >= MIN_CLASS)
    # of those and the peers', the error rates nearer 1/2 (the larger variance): the labeler's rates elsewhere are
    # estimated from a few hundred judgments, and one that lands at a small error rate by chance would make a
    # chance excess of errors here look several times rarer than it is (measured: an honest labeler's 12 false
    # fails where its other failure modes suggested 4)
    sl, ul = np.minimum(np.where(own, sl, s0), s0), np.maximum(np.where(own, ul, u0), u0)
    s, u = _solve(*(m[k] for k in keys))
    a11, a12, a22 = m["a11"], m["a12"], m["a22"]  # sums of T^2, T (1 - T), (1 - T)^2
    S0, S1, S2, S3, S4 = m["n"], m["t1"], a11, m["t3"], m["t4"]
    # B = sum q (1 - q) x x', x = (T, 1 - T), q (1 - q) = c0 + c1 T + c2 T^2
    c0, c1, c2 = ul * (1 - ul), (sl - ul) * (1 - 2 * ul), -(sl - ul) ** 2
    B11 = c0 * S2 + c1 * S3 + c2 * S4
    B12 = c0 * (S1 - S2) + c1 * (S2 - S3) + c2 * (S3 - S4)
    B22 = c0 * (S0 - 2 * S1 + S2) + c1 * (S1 - 2 * S2 + S3) + c2 * (S2 - 2 * S3 + S4)
    out: dict[str, np.ndarray] = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        det = a11 * a22 - a12 * a12
        i11, i12, i22 = a22 / det, -a12 / det, a11 / det  # A^-1
        vss = i11 * i11 * B11 + 2 * i11 * i12 * B12 + i12 * i12 * B22
        vuu = i12 * i12 * B11 + 2 * i12 * i22 * B12 + i22 * i22 * B22
        vsu = i11 * i12 * B11 + (i11 * i22 + i12 * i12) * B12 + i12 * i22 * B22
        dv = vss * vuu - vsu * vsu
        w11, w12, w22 = vuu / dv, -vsu / dv, vss / dv  # V^-1
        d1, d2 = s - s0, u - u0
        T_mean = S1 / S0
        p0 = s0 * T_mean + u0 * (1 - T_mean)
        upper = {}
        for name, (g1, g2), scale in (("pos", (1 - s0, 1 - u0), 1 - p0), ("neg", (-s0, -u0), -p0)):
            h1, h2 = w11 * g1 + w12 * g2, w12 * g1 + w22 * g2  # V^-1 delta
            info = g1 * h1 + g2 * h2
            f = (h1 * d1 + h2 * d2) / info
            z = f * np.sqrt(info)
            # f is linear in the labels, f = sum c_j y_j + const with c_j = a0 + a1 T_j: its tails under the
            # labeler's own rates by the saddlepoint approximation (see saddlepoint_tails)
            a0 = (h1 * i12 + h2 * i22) / info
            a1 = (h1 * (i11 - i12) + h2 * (i12 - i22)) / info
            up, down = saddlepoint_tails(z, a0, a1, ul, sl - ul, moments["hist_n"], moments["hist_t"])
            upper[name] = up
            out[f"effect_{name}"] = f * scale
            out[f"se_{name}"] = np.abs(scale) / np.sqrt(info)
            out[f"p_{name}"] = np.minimum(1.0, 2 * np.minimum(up, down))
        p_pos, p_neg = upper["pos"], upper["neg"]
        toward_pos = p_pos <= p_neg
        out["p"] = np.minimum(1.0, 2 * np.minimum(p_pos, p_neg))
        out["effect"] = np.where(toward_pos, out["effect_pos"], out["effect_neg"])
        out["se"] = np.where(toward_pos, out["se_pos"], out["se_neg"])
    out["peer_rate"] = p0
    out["ok"] = np.all([np.isfinite(out[k]) for k in ("effect_pos", "se_pos", "effect_neg", "se_neg", "p")], axis=0) \
        & (out["se_pos"] > 0) & (out["se_neg"] > 0)
    return out


def saddlepoint_tails(z: np.ndarray, a0, a1, e0, e1, hist_n: np.ndarray, hist_t: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Per worker, (upper, lower) one-sided p-values of ``X = sum_j c_j y_j`` lying ``z`` standard deviations from
    its mean, for independent 0/1 labels with ``P(y_j = 1) = q_j = e0 + e1 T_j`` and ``c_j = a0 + a1 T_j``: the
    saddlepoint approximation of Lugannani & Rice (1980, Adv. Appl. Prob. 12, 475–490; Daniels 1987, Int. Stat.
    Rev. 55, "Tail probability approximations"), ``P(X >= x) ~ 1 - Phi(r) + phi(r) (1/v - 1/r)`` with the
    cumulant generating function ``K(t) = sum log(1 - q_j + q_j e^(t c_j))``, ``K'(t) = x``,
    ``r = sign(t) sqrt(2 (t x - K(t)))`` and ``v = t sqrt(K''(t))`` — relative error O(n^-3/2) uniformly in the
    tail, where the normal tail of a sum of a few dozen rare errors was up to ten times too small (9 false fails
    where 3.5 were expected: normal 0.0013, Poisson 0.01). No continuity correction: a sum of labels with soft
    weights is not on one lattice, and for a hard reference the value is about the mid-p (Lancaster 1961) the
    other discrete tests give the combination. The judgments are taken in :data:`TAIL_BINS` bins of T (``hist_n``
    judgments, ``hist_t`` their sum of T, per worker × bin). Where |z| < 1 the normal tails."""
    z = np.asarray(z, dtype=float)
    up, down = stats.norm.sf(z), stats.norm.cdf(z)
    chosen = np.flatnonzero(np.isfinite(z) & (np.abs(z) >= 1))  # (the rest keep the normal tails)
    # a block of workers at a time: a dozen (workers × TAIL_BINS) float arrays are alive in the Newton steps
    # (at 40,000 workers, 20 MB each when all of them at once)
    for lo in range(0, len(chosen), TAIL_BLOCK):
        sel = chosen[lo:lo + TAIL_BLOCK]
        up[sel], down[sel] = _saddlepoint_block(z[sel], np.asarray(a0)[sel], np.asarray(a1)[sel],
                                                np.asarray(e0)[sel], np.asarray(e1)[sel],
                                                np.asarray(hist_n)[sel], np.asarray(hist_t)[sel], up[sel], down[sel])
    return up, down


#: workers per block of :func:`saddlepoint_tails`
TAIL_BLOCK = 4096


def _saddlepoint_block(z, a0, a1, e0, e1, hist_n, hist_t, up, down) -> tuple[np.ndarray, np.ndarray]:
    """:func:`saddlepoint_tails` for the workers given (every argument per worker, ``hist_*`` per worker × bin;
    ``up``, ``down``: their normal tails, replaced where the saddlepoint's are finite)."""
    n = np.asarray(hist_n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        Tb = np.where(n > 0, np.asarray(hist_t) / n, (np.arange(n.shape[1]) + 0.5) / n.shape[1])
        c = np.asarray(a0)[:, None] + np.asarray(a1)[:, None] * Tb
        q = np.clip(np.asarray(e0)[:, None] + np.asarray(e1)[:, None] * Tb, 1e-12, 1 - 1e-12)
        lq, l1q = np.log(q), np.log1p(-q)
        mu = np.sum(n * c * q, axis=1)
        sd = np.sqrt(np.sum(n * c * c * q * (1 - q), axis=1))
        x = mu + z * sd

        def K(t):
            return np.sum(n * np.logaddexp(l1q, lq + t[:, None] * c), axis=1)

        def pi(t, rows=slice(None)):
            return 1 / (1 + np.exp(-(lq[rows] - l1q[rows] + t[:, None] * c[rows])))

        # K' is increasing in t: Newton from the normal approximation's root, kept inside a bracket that bisection
        # narrows whenever a step would leave it (|t c| <= 60: beyond, the labels are certain), vectorised over the
        # workers whose root is not yet found (a worker stops at its own convergence, not at the slowest one's:
        # 10M judgments, 40,000 workers: most stop within a few steps, and the 40th step ran for every worker)
        span = 60 / np.maximum(np.max(np.where(n > 0, np.abs(c), 0.0), axis=1), 1e-300)
        lo, hi = -span, span.copy()
        t = np.clip(z / sd, lo, hi)
        todo = np.arange(len(t))
        for _ in range(40):
            tt, nn, cc = t[todo], n[todo], c[todo]
            p_t = pi(tt, todo)
            g = np.sum(nn * cc * p_t, axis=1) - x[todo]
            lo[todo], hi[todo] = np.where(g < 0, tt, lo[todo]), np.where(g > 0, tt, hi[todo])
            step = tt - g / np.sum(nn * cc * cc * p_t * (1 - p_t), axis=1)
            inside = np.isfinite(step) & (step > lo[todo]) & (step < hi[todo])
            t_new = np.where(inside, step, (lo[todo] + hi[todo]) / 2)
            done = np.abs(t_new - tt) <= 1e-12 * np.maximum(np.abs(tt), 1e-300)
            t[todo] = t_new
            todo = todo[~done]
            if len(todo) == 0:
                break
        p_t = pi(t)
        k2 = np.sum(n * c * c * p_t * (1 - p_t), axis=1)
        r = np.sign(t) * np.sqrt(np.maximum(2 * (t * x - K(t)), 0.0))
        v = t * np.sqrt(k2)
        tail = stats.norm.sf(np.abs(r)) + stats.norm.pdf(r) * (1 / np.abs(v) - 1 / np.abs(r))
    ok = np.isfinite(tail) & (np.abs(r) > 1e-8)
    tail = np.clip(tail, 0.0, 1.0)
    return np.where(ok & (z > 0), tail, up), np.where(ok & (z < 0), tail, down)


def worker_counts(J, weight: np.ndarray) -> np.ndarray:
    """Per worker, its judgments' total ``weight`` (per judgment; a boolean counts the judgments where it holds),
    as floats, block by block (:func:`evalaudit.labelers.judgments.bincount`)."""
    return bincount(J.worker, weights=weight, minlength=J.n_workers)


def evidence(J, loo, weight: np.ndarray, fm_ok: np.ndarray, mode: str, labels, lab_names: np.ndarray,
             fm_names: np.ndarray, min_items: int, confidence: float, directed: bool = False,
             directions: dict[str, pa.Table] | None = None) -> list[pa.Table]:
    """The ``dawid_skene`` evidence rows, from the leave-this-labeler-out posterior ``loo`` of each judgment of
    ``J`` (an array, or a function of positions as :func:`effect` takes): per worker (labeler × failure mode)
    with at least ``min_items`` weighted judgments, on a failure mode where Dawid–Skene ran (``fm_ok``, per
    failure mode) and a well-determined :func:`effect`. ``mode`` "positive": one row per worker; another mode on
    two labels (per label): the reference label's row and its mirror for the other label (``labels``: the label
    space's labels); on more labels none. ``weight``: as in :func:`effect`. ``directed``: the rows are the
    :func:`directed_bias` tests (the stage's choice where labelers are seen on several failure modes, so each is
    judged against their own honest level; see :func:`directed_bias`), else the threshold-shift effect (s - t) / 2;
    the row shows the direction with the smaller p. ``directions`` (a dict, directed in "positive" mode): filled
    with each direction's signed rows under "pos" (toward the positive label) and "neg" (toward the negative one),
    row for row as the returned rows, each with its own two-sided test — what the combined test reads."""
    parts = []
    n_w = worker_counts(J, weight)
    ds_eff = effect(J.y, J.worker, loo, weight, J.n_workers)
    mean_d, se, rate_w = ds_eff["effect"], ds_eff["se"], ds_eff["rate"]
    lo, hi, p = z_interval(mean_d, se, confidence)
    keep = (n_w >= min_items) & fm_ok[J.worker_fm] & ds_eff["ok"]
    peer, method = rate_w - mean_d, METHOD
    if directed:
        fl = directed_bias(ds_eff, J.worker_fm, J.worker_labeler)
        mean_d, se, p, peer, method = fl["effect"], fl["se"], fl["p"], fl["peer_rate"], METHOD_FLIP
        lo, hi, _ = z_interval(mean_d, se, confidence)
        keep &= fl["ok"]
        if mode == "positive" and directions is not None:  # each direction's signed test, for the combination
            for d in ("pos", "neg"):
                lo_d, hi_d, _ = z_interval(fl[f"effect_{d}"], fl[f"se_{d}"], confidence)
                directions[d] = evidence_table(
                    lab_names[J.worker_labeler][keep], fm_names[J.worker_fm][keep], "dawid_skene",
                    fl[f"effect_{d}"][keep], lo_d[keep], hi_d[keep], fl[f"p_{d}"][keep], n_w[keep], rate_w[keep],
                    peer[keep], METHOD_DIRECTION[d])
    labs, fms = lab_names[J.worker_labeler][keep], fm_names[J.worker_fm][keep]
    if mode == "positive":
        parts.append(evidence_table(labs, fms, "dawid_skene", mean_d[keep], lo[keep], hi[keep], p[keep],
                                    n_w[keep], rate_w[keep], (peer if directed else ds_eff["peer_rate"])[keep],
                                    method))
    elif J.n_labels == 2:  # per label: the reference label's row and its mirror for the other label
        ref = J.reference
        for k, sign in ((ref, 1.0), (1 - ref, -1.0)):
            lo_k, hi_k = (lo, hi) if sign > 0 else (-hi, -lo)
            rate_k = rate_w if sign > 0 else 1 - rate_w
            peer_k = (peer if sign > 0 else 1 - peer) if directed else rate_k - sign * mean_d
            parts.append(evidence_table(labs, fms, "dawid_skene", sign * mean_d[keep], lo_k[keep], hi_k[keep],
                                        p[keep], n_w[keep], rate_k[keep], peer_k[keep], method,
                                        label=labels[k]))
    return parts
