"""Dawid–Skene: the latent true label of every item and every labeler's confusion matrix, by EM over all labels
(Dawid & Skene 1979, "Maximum likelihood estimation of observer error-rates using the EM algorithm", JRSS C 28(1),
§2–3), for the binary question evalaudit asks (positive label vs anything else), all failure modes at once.

- Unit of truth: an item × failure mode; unit of confusion matrix: a labeler × failure mode ("worker"), so a
  labeler lenient on one failure mode is modelled as such; class prior per failure mode.
- Honeypots are known truth: their posterior is clamped to the answer in every E-step (semi-supervised DS).
- Initialisation: the share of positive labels per item (soft majority vote), as Dawid & Skene suggest; this also
  fixes the labelling of the two classes.
- Prior / smoothing: each worker's sensitivity and specificity get ``prior_strength`` pseudo-judgments at the
  failure mode's pooled rates (a Beta prior centred on the pool, i.e. MAP-EM with empirical-Bayes shrinkage), and
  the class prior gets one pseudo-item of each class. A labeler with three items thus gets nearly the average
  labeler's matrix instead of a degenerate 0/1 one; with hundreds of items the prior is negligible. Rates are kept
  in [0.001, 0.999] so log-odds stay finite.
- Convergence: stop when item posteriors move by less than ``tol`` (default 1e-4) on average between
  iterations, or after ``max_iter`` (default 50) iterations (``converged`` says which; the summary reports it).
  The average, not the maximum: EM converges linearly and a few labelers with a handful of judgments on a
  failure mode with almost no negatives keep wobbling long after every estimate that matters has settled.
Vectorised with numpy (three passes over the judgments per iteration, chunk by chunk of whole items);
hand-written because no maintained library fits DS with honeypot clamping at 10M judgments (crowd-kit is pandas
row-wise and unclamped).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from evalaudit.labelers.judgments import bincount, nondecreasing, ranges

_EPS = 1e-3


@dataclass
class DSResult:
    posterior: np.ndarray  # per item: P(true label is positive)
    log_odds: np.ndarray  # per item: posterior log-odds (before honeypot clamping)
    sensitivity: np.ndarray  # per worker: P(says positive | truly positive)
    specificity: np.ndarray  # per worker: P(says not positive | truly not positive)
    prior: np.ndarray  # per failure mode: P(positive)
    n_iter: int
    converged: bool
    #: per worker × (said positive): the log likelihood ratio a judgment adds to its item's log-odds (at index
    #: ``2 worker + said positive``), of the last E-step — each judgment's own contribution, read through
    #: :meth:`contribution_at` instead of a per-judgment array held from the fit to its last reader
    ratio: np.ndarray
    #: per failure mode: the typical labeler's sensitivity and specificity (median over its workers, weighted by
    #: judgments) — "a peer" when a labeler is compared with what peers would say on the same items
    peer_sensitivity: np.ndarray
    peer_specificity: np.ndarray
    #: the fit's per-judgment worker codes and 0/1 labels, in the caller's order (the caller's arrays, not copies)
    worker: np.ndarray | None = None
    y: np.ndarray | None = None

    def contribution_at(self, sel: slice | np.ndarray = slice(None)) -> np.ndarray:
        """Per judgment of ``sel`` (of the fit's input, in its order): its worker's log likelihood ratio, the
        judgment's own part of its item's log-odds (for leave-one-out posteriors)."""
        return self.ratio[np.asarray(self.worker[sel]).astype(np.int64) * 2 + (self.y[sel] > 0)]

    @property
    def contribution(self) -> np.ndarray:
        """Per judgment (the fit's input order): :meth:`contribution_at` of every judgment."""
        return self.contribution_at()


#: judgments per chunk of whole items in :func:`fit`'s EM steps: its per-judgment buffers exist for one chunk at a
#: time, so its working set does not grow with the store
EM_CHUNK = 1 << 20


def fit(y: np.ndarray, item: np.ndarray, worker: np.ndarray, item_group: np.ndarray, worker_group: np.ndarray,
        truth: np.ndarray | None = None, prior_strength: float = 4.0, tol: float = 1e-4,
        max_iter: int = 50) -> DSResult:
    """Binary Dawid–Skene EM.

    ``y`` (0/1 per judgment), ``item`` and ``worker`` (codes per judgment), ``item_group`` / ``worker_group``
    (failure-mode code per item / per worker), ``truth`` (per item: 1/0 known answer, -1 unknown).

    Judgments are sorted by item once, so the per-item gathers and sums of every iteration are sequential
    (``np.add.reduceat``) rather than random access; per-worker arrays are small enough to stay in cache. Every
    pass over the judgments runs over chunks of whole items (:data:`EM_CHUNK` judgments): the per-item sums are
    each over one item's judgments, and the per-worker sums are accumulated chunk after chunk with ``np.add.at``,
    which adds the same terms in the same order as one ``np.bincount`` over every judgment — the same numbers to
    the last bit for any chunk size, with per-judgment buffers of one chunk."""
    n_items, n_workers = len(item_group), len(worker_group)
    n_groups = int(max(item_group.max(initial=-1), worker_group.max(initial=-1))) + 1
    if truth is None:
        truth = np.full(n_items, -1, dtype=np.int8)
    known = truth >= 0
    presorted = nondecreasing(item)
    order = slice(None) if presorted else np.argsort(item, kind="stable")  # presorted: views, not copies
    ys = np.asarray(y)[order]
    ws = np.asarray(worker)[order]
    n_item = bincount(item, minlength=n_items)
    has = n_item > 0
    first = np.concatenate([[0], np.cumsum(n_item)[:-1]])
    # the item code of each sorted judgment (the item codes themselves when already sorted, not a copy)
    it_s = (np.asarray(item) if presorted else
            np.repeat(np.arange(n_items, dtype=np.int32 if n_items < 2**31 else np.int64), n_item))
    chunks = ranges(len(it_s), it_s, EM_CHUNK)
    n_judgments = len(ys)
    buf = np.empty(min(n_judgments, max((hi - lo for lo, hi in chunks), default=0)))

    def per_item_sum(value_of) -> np.ndarray:
        """Per item, the sum of ``value_of(lo, hi)`` (values of judgments lo:hi, whole items) over its judgments."""
        out = np.zeros(n_items)
        for lo, hi in chunks:
            i0, i1 = int(it_s[lo]), int(it_s[hi - 1]) + 1
            h = has[i0:i1]
            out[i0:i1][h] = np.add.reduceat(value_of(lo, hi), first[i0:i1][h] - lo)
        return out

    def as_float(lo: int, hi: int) -> np.ndarray:
        v = buf[:hi - lo]
        v[...] = ys[lo:hi]
        return v

    n_w = bincount(ws, minlength=n_workers).astype(float)
    pos_w = np.zeros(n_workers)
    for lo, hi in chunks:
        np.add.at(pos_w, ws[lo:hi], as_float(lo, hi))
    items_per_group = np.bincount(item_group, minlength=n_groups).astype(float)

    post = per_item_sum(as_float) / np.maximum(n_item, 1)
    post[known] = truth[known]
    log_odds = np.zeros(n_items)
    lr = np.empty(2 * n_workers)
    cell_t = np.int32 if 2 * n_workers < 2**31 else np.int64

    def contributions(lo: int, hi: int) -> np.ndarray:
        """Each judgment's log likelihood ratio (its cell in the two-column table ``lr``: worker, said positive)."""
        cell = ws[lo:hi].astype(cell_t)
        cell *= 2
        cell += ys[lo:hi] > 0
        return np.take(lr, cell, out=buf[:hi - lo])

    sens = np.full(n_workers, 0.5)
    spec = np.full(n_workers, 0.5)
    prior = np.full(n_groups, 0.5)
    converged = False
    it = 0
    a = prior_strength
    for it in range(1, max_iter + 1):  # noqa: B007 - n_iter is reported
        # M-step: class prior per failure mode, worker rates shrunk toward the failure mode's pool.
        prior = (np.bincount(item_group, weights=post, minlength=n_groups) + 1.0) / (items_per_group + 2.0)
        t_w = np.zeros(n_workers)  # sum of T over the worker's items
        tp_w = np.zeros(n_workers)  # sum T*y
        for lo, hi in chunks:
            t = np.take(post, it_s[lo:hi], out=buf[:hi - lo])
            np.add.at(t_w, ws[lo:hi], t)
            np.copyto(t, 0.0, where=ys[lo:hi] == 0)  # T*y for y in {0, 1}
            np.add.at(tp_w, ws[lo:hi], t)
        tn_w = (n_w - pos_w) - (t_w - tp_w)  # sum (1-T)(1-y)
        neg_w = n_w - t_w  # sum (1-T)
        g_pos = np.bincount(worker_group, weights=t_w, minlength=n_groups)
        g_sens = np.bincount(worker_group, weights=tp_w, minlength=n_groups) / np.maximum(g_pos, 1e-12)
        g_neg = np.bincount(worker_group, weights=neg_w, minlength=n_groups)
        g_spec = np.bincount(worker_group, weights=tn_w, minlength=n_groups) / np.maximum(g_neg, 1e-12)
        g_sens = np.clip(np.where(g_pos > 0, g_sens, 0.8), 0.5, 1 - _EPS)
        g_spec = np.clip(np.where(g_neg > 0, g_spec, 0.8), 0.5, 1 - _EPS)
        sens = np.clip((tp_w + a * g_sens[worker_group]) / (t_w + a), _EPS, 1 - _EPS)
        spec = np.clip((tn_w + a * g_spec[worker_group]) / (neg_w + a), _EPS, 1 - _EPS)
        # E-step: posterior log-odds = prior log-odds + sum of each judgment's likelihood ratio.
        when_pos = np.log(sens) - np.log1p(-spec)
        when_neg = np.log1p(-sens) - np.log(spec)
        lr[0::2], lr[1::2] = when_neg, when_pos
        log_odds = np.log(prior[item_group]) - np.log1p(-prior[item_group]) + per_item_sum(contributions)
        new = expit(log_odds)
        new[known] = truth[known]
        delta = float(np.mean(np.abs(new - post))) if n_items else 0.0
        post = new
        if delta < tol:
            converged = True
            break
    peer_sens = _weighted_median(sens, worker_group, n_w, n_groups)
    peer_spec = _weighted_median(spec, worker_group, n_w, n_groups)
    return DSResult(post, log_odds, sens, spec, prior, it, converged, lr, peer_sens, peer_spec,
                    worker=np.asarray(worker), y=np.asarray(y))


def _weighted_median(values: np.ndarray, group: np.ndarray, weight: np.ndarray, n_groups: int) -> np.ndarray:
    """Per group, the weighted median of ``values`` (robust to one heavy, biased labeler dominating a pool)."""
    out = np.full(n_groups, np.nan)
    order = np.lexsort((values, group))
    g, v, w = group[order], values[order], weight[order]
    bounds = np.searchsorted(g, np.arange(n_groups + 1))
    for k in range(n_groups):  # one step per failure mode, not per row
        lo, hi = bounds[k], bounds[k + 1]
        if hi > lo:
            cw = np.cumsum(w[lo:hi])
            out[k] = v[lo:hi][np.searchsorted(cw, cw[-1] / 2)]
    return out


def peer_expected(result: DSResult, item: np.ndarray, item_group: np.ndarray, loo: np.ndarray) -> np.ndarray:
    """Per judgment: the probability that a typical peer says positive on the same item, given everyone else's
    evidence: ``T s + (1 - T)(1 - t)`` with T the leave-one-out posterior and (s, t) the failure mode's typical
    sensitivity and specificity. An honest labeler as accurate as their peers has label minus this near zero."""
    g = item_group[item]
    return loo * result.peer_sensitivity[g] + (1 - loo) * (1 - result.peer_specificity[g])


def leave_one_out(result: DSResult, item: np.ndarray, truth: np.ndarray | None = None,
                  sel: slice | np.ndarray = slice(None)) -> np.ndarray:
    """Per judgment (of ``sel``, a part of the fit's judgments in their order; all by default): the item's
    posterior without that judgment's own evidence (its worker's likelihood ratio removed from the log-odds), i.e.
    what everyone else plus the prior say. Honeypots keep their known answer. ``item``: the fit's item codes (all
    judgments). Element by element, so any part gives the same numbers as the whole."""
    it = item[sel]
    loo = expit(result.log_odds[it] - result.contribution_at(sel))
    if truth is not None:
        t = truth[it]
        loo = np.where(t >= 0, t, loo)
    return loo


def majority(y: np.ndarray, item: np.ndarray, n_items: int, truth: np.ndarray | None = None) -> np.ndarray:
    """Per item: share of positive labels (the fallback consensus), honeypots at their known answer."""
    n = np.bincount(item, minlength=n_items).astype(float)
    share = np.bincount(item, weights=np.asarray(y, dtype=float), minlength=n_items) / np.maximum(n, 1)
    if truth is not None:
        share = np.where(truth >= 0, truth, share)
    return share


@dataclass
class MultiResult:
    """Multi-class Dawid–Skene: per item the posterior over the K labels, per worker a K×K confusion matrix."""

    posterior: np.ndarray  # (items, K): P(true label = k | all judgments)
    confusion: np.ndarray  # (workers, K, K): P(says l | truly k), rows sum to 1
    prior: np.ndarray  # (failure modes, K): class prior
    n_iter: int
    converged: bool


def fit_multiclass(code: np.ndarray, item: np.ndarray, worker: np.ndarray, item_group: np.ndarray,
                   worker_group: np.ndarray, n_labels: int, truth: np.ndarray | None = None,
                   prior_strength: float = 4.0, tol: float = 1e-4, max_iter: int = 50,
                   eps: float = 1e-6) -> MultiResult:
    """Dawid–Skene EM with full K×K confusion matrices (Dawid & Skene 1979, §2: multi-class by construction).

    ``code`` is the label index (0..K-1) per judgment, ``truth`` the known label code per item (-1 unknown;
    honeypots are clamped in every E-step, as in :func:`fit`). Initialisation: the share of each label among the
    item's judgments (soft majority vote). M-step: class prior per failure mode (one pseudo-item spread over the
    K classes) and confusion rows ``theta[w, k, :]`` = expected counts of (truly k, says l) plus ``prior_strength``
    pseudo-judgments distributed like the failure mode's pooled row (MAP-EM with empirical-Bayes shrinkage, the
    multi-class form of the binary Beta prior); with ``prior_strength = 0`` this is the plain maximum-likelihood EM
    of the paper (crowd-kit's ``DawidSkene``). E-step: ``log P(k | item) = log prior_k + sum_j log theta[w_j, k,
    l_j]``, normalised. Stops when the item posteriors move by less than ``tol`` on average (max abs over classes,
    averaged over items) or after ``max_iter`` steps. Vectorised: one bincount per class per step."""
    K = int(n_labels)
    n_items, n_workers = len(item_group), len(worker_group)
    n_groups = int(max(item_group.max(initial=-1), worker_group.max(initial=-1))) + 1
    code = np.asarray(code, dtype=np.int64)
    item = np.asarray(item, dtype=np.int64)
    worker = np.asarray(worker, dtype=np.int64)
    if truth is None:
        truth = np.full(n_items, -1)
    known = truth >= 0
    n_item = np.bincount(item, minlength=n_items).astype(float)
    counts = np.bincount(item * K + code, minlength=n_items * K).reshape(n_items, K).astype(float)
    post = counts / np.maximum(n_item, 1)[:, None]
    post[n_item == 0] = 1.0 / K
    post[known] = np.eye(K)[truth[known]]
    items_per_group = np.bincount(item_group, minlength=n_groups).astype(float)
    wl = worker * K + code  # (worker, said label) cell of each judgment
    converged, it = False, 0
    prior = np.full((n_groups, K), 1.0 / K)
    theta = np.full((n_workers, K, K), 1.0 / K)
    for it in range(1, max_iter + 1):  # noqa: B007 - n_iter is reported
        # M-step
        prior = np.stack([np.bincount(item_group, weights=post[:, k], minlength=n_groups) for k in range(K)], 1)
        prior = (prior + 1.0 / K) / (items_per_group[:, None] + 1.0)
        cnt = np.stack([np.bincount(wl, weights=post[item, k], minlength=n_workers * K).reshape(n_workers, K)
                        for k in range(K)], axis=1)  # (workers, true k, said l)
        if prior_strength > 0:
            pool = np.zeros((n_groups, K, K))
            np.add.at(pool, worker_group, cnt)
            pool = (pool + eps) / (pool + eps).sum(axis=2, keepdims=True)
            cnt = cnt + prior_strength * pool[worker_group]
        rows = cnt.sum(axis=2, keepdims=True)
        theta = np.where(rows > 0, cnt / np.where(rows > 0, rows, 1.0), 1.0 / K)
        theta = np.clip(theta, eps, 1.0)
        # E-step
        log_t = np.log(theta)  # (workers, k, l)
        logp = np.log(prior)[item_group].copy()
        for k in range(K):
            logp[:, k] += np.bincount(item, weights=log_t[worker, k, code], minlength=n_items)
        logp -= logp.max(axis=1, keepdims=True)
        new = np.exp(logp)
        new /= new.sum(axis=1, keepdims=True)
        new[known] = np.eye(K)[truth[known]]
        delta = float(np.mean(np.abs(new - post).max(axis=1))) if n_items else 0.0
        post = new
        if delta < tol:
            converged = True
            break
    return MultiResult(post, theta, prior, it, converged)


def decide(posterior: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per item: the label with the highest posterior (ties: the lowest code) and its posterior."""
    best = np.argmax(posterior, axis=1)
    return best, posterior[np.arange(len(best)), best]
