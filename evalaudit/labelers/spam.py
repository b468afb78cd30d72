"""Spam and collusion.

Spam — a labeler whose judgments carry no information about the item:
- chance-level agreement with the *leave-one-out consensus* (:mod:`evalaudit.labelers.reference`: per judgment, the
  most frequent label among the other labelers of the item, ties shared; the known answer on honeypots) — never one
  arbitrary peer, so a good labeler who happens to share items with a spammer is not dragged down by them. Labelers
  flagged as spam in a first pass serve as nobody's reference in the second, which decides. Categorical labels:
  Cohen's kappa (Cohen 1960) against that reference, chance agreement from the labeler's label shares and the
  reference's; spam when the one-sided upper Clopper–Pearson bound of the observed agreement, mapped to kappa, is
  below ``kappa_max``. Ordered labels (ordinal, numeric): Pearson's correlation of the labeler's values with the
  leave-one-out mean of the others' (Fisher z upper bound) below ``kappa_max``;
- answer patterns: constant answers (one label on every judgment while that label's share among all judgments lies
  in 5–95%), or alternating answers (the share of consecutive judgments, in time order, that change label is
  >= ``switch_rate_min`` and above the ``1 - sum p_k^2`` expected of independent answers with the labeler's own
  label shares, one-sided exact binomial test p < 0.001; judgments without a time take no part);
- implausibly short durations: median duration below ``duration_ratio`` × the median of all labelers' medians.
The Dawid–Skene spammer score 1 - |sensitivity + specificity - 1| (Raykar & Yu 2012, JMLR 13, §3) is reported
per labeler; it is 1 for a labeler whose answers are independent of the truth.

Collusion — pairs who agree far beyond what their individual accuracies predict: under Dawid–Skene's conditional
independence the chance that labelers a and b disagree on an item of a failure mode with class prior pi is
``pi (s_a (1-s_b) + s_b (1-s_a)) + (1-pi) (t_a (1-t_b) + t_b (1-t_a))`` (s sensitivity, t specificity). Summed over
their shared items this is the expected disagreement, rescaled by the ratio observed/expected over all pairs of the
failure mode (items vary in difficulty, so honest pairs also agree a little more than the model says). Observed
disagreements are tested one-sided against a binomial with the expected rate (conservative against the exact
Poisson-binomial, whose variance is smaller), BH over pairs.

Thresholds come in as plain numbers (the stage reads them from ``[spam]``); the findings are written by
:mod:`evalaudit.labelers.findings`.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from scipy import stats

from evalaudit.labelers import judgments
from evalaudit.multiplicity import bh

SPAM_METHOD = ("spam: Cohen's kappa vs the leave-one-out consensus of the other labelers on the same items "
               "(Clopper–Pearson bound; Pearson correlation with their leave-one-out mean for ordered labels), "
               "constant/alternating answer patterns (exact binomial), median duration vs all labelers")
COLLUSION_METHOD = ("collusion: observed disagreements of a labeler pair vs those expected from their Dawid–Skene "
                    "accuracies (one-sided binomial), BH q-value over {n} pairs")


def kappa_bounds(n, b, c, own_pos, peer_pos, confidence: float = 0.95):
    """Cohen's kappa of labeler vs reference on n paired items, and its one-sided upper bound (from the exact
    Clopper–Pearson upper bound of the observed agreement, chance agreement held fixed). Vectorised."""
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        agree = n - np.asarray(b, float) - np.asarray(c, float)
        po = agree / n
        p1 = np.asarray(own_pos, float) / n
        p2 = np.asarray(peer_pos, float) / n
        pe = p1 * p2 + (1 - p1) * (1 - p2)
        hi = np.where(agree < n, stats.beta.ppf(confidence, agree + 1, n - agree), 1.0)
        denom = np.where(1 - pe > 1e-12, 1 - pe, np.nan)
        return (po - pe) / denom, (hi - pe) / denom


def switches(J) -> pa.Table:
    """Per labeler: of their consecutive timed judgments (by labeled_at; equal times in arbitrary order), how many
    change label, out of how many consecutive pairs, and the ``1 - sum_k p_k^2`` expected of independent answers
    with the labeler's label shares. Untimed judgments take no part. One sort per block of labelers holding about
    :data:`ITEM_BLOCK` judgments (each labeler's sequence whole in one block; the counts are integers, so the
    blocks give the counts of one sort of every judgment)."""
    timed = J.timed if J.timed is not None else np.ones(len(J.worker), dtype=bool)
    n_lab = len(J.labelers)
    K = J.n_labels
    own = _labeler_label_counts(J).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = own / own.sum(axis=1, keepdims=True)
    expected = 1 - np.nansum(share**2, axis=1)
    n_timed = int(timed.sum())
    if n_timed == 0:
        return pa.table({"labeler_id": J.labelers, "n_pairs": np.zeros(n_lab, np.int64),
                         "n_switches": np.zeros(n_lab, np.int64), "expected": expected})
    t0 = int(J.ts.min(where=timed, initial=np.iinfo(np.int64).max))
    tbits = (int(J.ts.max(where=timed, initial=np.iinfo(np.int64).min)) - t0).bit_length()
    cbits = max(int(K - 1).bit_length(), 1)
    lbits = int(J.worker_labeler.max(initial=0)).bit_length()
    n_pairs, n_switches = np.zeros(n_lab, np.int64), np.zeros(n_lab, np.int64)
    # blocks of consecutive labeler codes of about ITEM_BLOCK judgments; each judgment's block as one byte or two
    ends = np.cumsum(own.sum(axis=1))
    block_of_lab = np.minimum(ends // ITEM_BLOCK, np.iinfo(np.uint16).max).astype(np.uint16)  # non-decreasing
    bt = np.uint8 if int(block_of_lab.max(initial=0)) < 255 else np.uint16
    block = block_of_lab.astype(bt)[J.worker_labeler][J.worker]
    for b in np.unique(block_of_lab):
        sel = np.flatnonzero((block == bt(b)) & timed)
        if len(sel) == 0:
            continue
        lab = J.worker_labeler[J.worker[sel]].astype(np.int64)
        # one int64 key (labeler, time, label) built and sorted in place when it fits, else a three-key lexsort
        if tbits + cbits + lbits <= 62:
            key = lab
            key <<= tbits + cbits
            part = J.ts[sel]
            part -= t0
            part <<= cbits
            key |= part
            part = J.code[sel].astype(np.int64)
            key |= part
            del part
            key.sort()
            cs = key & ((1 << cbits) - 1)
            key >>= tbits + cbits
            ls = key
        else:  # pragma: no cover - histories longer than the key can hold
            t, code = J.ts[sel] - t0, J.code[sel].astype(np.int64)
            order = np.lexsort((code, t, lab))
            ls, cs = lab[order], code[order]
        del sel
        same = ls[1:] == ls[:-1]
        switched = same & (cs[1:] != cs[:-1])
        n_pairs += np.bincount(ls[1:][same], minlength=n_lab)
        n_switches += np.bincount(ls[1:][switched], minlength=n_lab)
        del ls, cs, same, switched
    return pa.table({
        "labeler_id": J.labelers,
        "n_pairs": n_pairs,
        "n_switches": n_switches,
        "expected": expected,
    })


def _labeler_label_counts(J) -> np.ndarray:
    """Per labeler × label: judgments (int64), counted over chunks of judgments (integers: the same counts as one
    pass, without a per-judgment 8-byte key)."""
    L, K, n = len(J.labelers), J.n_labels, len(J.worker)
    own = np.zeros(L * K, dtype=np.int64)
    for lo, hi in judgments.ranges(n, size=ITEM_BLOCK):
        key = J.worker_labeler[J.worker[lo:hi]].astype(np.int64)
        key *= K
        key += J.code[lo:hi]
        own += np.bincount(key, minlength=L * K)
    return own.reshape(L, K)


def reference_agreement(J, ordered: bool, confidence: float, exclude: np.ndarray | None = None
                        ) -> dict[str, dict[str, float]]:
    """Per labeler: agreement with the leave-one-out reference (:mod:`evalaudit.labelers.reference`) — ``n``
    judgments with a reference, ``kappa`` (Cohen's kappa, or Pearson's r for ordered labels) and ``kappa_hi`` its
    one-sided upper bound at ``confidence``. ``exclude``: workers serving as nobody's reference."""
    from evalaudit.labelers import reference

    L = len(J.labelers)
    if ordered:
        lab = J.worker_labeler[J.worker].astype(np.int64)
        ref, has = reference.loo_mean(J, exclude)
        x, r = J.value[has], ref[has]
        lb = lab[has]

        def tot(w):
            return np.bincount(lb, weights=w, minlength=L)

        n = tot(np.ones(len(x)))
        with np.errstate(invalid="ignore", divide="ignore"):
            mx, mr = tot(x) / n, tot(r) / n
            sxx = tot(x * x) / n - mx**2
            srr = tot(r * r) / n - mr**2
            sxr = tot(x * r) / n - mx * mr
            rho = np.clip(sxr / np.sqrt(sxx * srr), -1, 1)
            z = stats.norm.isf(1 - confidence)
            hi = np.tanh(np.arctanh(np.clip(rho, -0.999999, 0.999999)) + z / np.sqrt(np.maximum(n - 3, 1)))
        kind = "pearson_r"
    else:
        # over blocks of whole items (the leave-one-out consensus needs one item's judgments at a time), its
        # per-judgment arrays one block at a time; the per-labeler sums accumulate block after block with np.add.at,
        # which adds the same terms in the same order as one np.bincount over every judgment: the same bits
        K = J.n_labels
        n, agree = np.zeros(L), np.zeros(L)
        own, refs = np.zeros((K, L)), np.zeros((K, L))
        for sub, lo, hi, _ in judgments.item_blocks(J, ITEM_BLOCK):
            ref = reference.categorical(sub, exclude)
            lb = J.worker_labeler[J.worker[lo:hi]].astype(np.int64)
            has = ref.has.astype(float)
            np.add.at(n, lb, has)
            np.add.at(agree, lb, ref.agree * has)
            for k in range(K):
                np.add.at(own[k], lb, (sub.code == k) * has)
                np.add.at(refs[k], lb, ref.ref_share[k] * has)
            del ref, has, sub
        pe = np.zeros(L)
        for k in range(K):
            pe += own[k] * refs[k]
        with np.errstate(invalid="ignore", divide="ignore"):
            pe = pe / (n * n)
            po = agree / n
            up = np.where(agree < n, stats.beta.ppf(confidence, agree + 1, np.maximum(n - agree, 1e-9)), 1.0)
            denom = np.where(1 - pe > 1e-12, 1 - pe, np.nan)
            rho, hi = (po - pe) / denom, (up - pe) / denom
        kind = "kappa"
    names = J.labelers.to_pylist()
    return {names[i]: {"n": float(n[i]), "kappa": float(rho[i]), "kappa_hi": float(hi[i]), "measure": kind}
            for i in range(L) if n[i] > 0}


#: judgments per block of whole items in :func:`reference_agreement` and of labelers in :func:`switches` (bounds
#: their per-judgment working sets)
ITEM_BLOCK = judgments.ITEM_BLOCK


def label_counts(J) -> dict[str, tuple[int, float]]:
    """Per labeler: how many judgments give their most used label, and that label's share among all judgments."""
    own = _labeler_label_counts(J)
    overall = own.sum(axis=0) / max(own.sum(), 1)
    top = own.argmax(axis=1)
    names = J.labelers.to_pylist()
    return {names[i]: (int(own[i, top[i]]), float(overall[top[i]])) for i in range(len(names))}


def signals(overall: pa.Table, reference: dict[str, dict[str, float]], sw: pa.Table,
            top_labels: dict[str, tuple[int, float]], min_items: int, kappa_max: float, switch_rate_min: float,
            duration_ratio: float) -> dict[str, dict]:
    """Per labeler (in ``overall``'s order): the spam signals they show (``signals``, a list, empty for none) and
    the facts behind them (kappa, switch rate, durations). ``overall`` is the labelers' 'all' profile rows
    (n_judgments, median_duration_s); ``reference`` the agreement with the leave-one-out consensus
    (:func:`reference_agreement`); ``sw`` the label switches (:func:`switches`); ``top_labels`` per labeler the count
    of their most used label and that label's share among all judgments (:func:`label_counts`)."""
    swd = {r["labeler_id"]: r for r in sw.to_pylist()}
    meds = np.array([r["median_duration_s"] for r in overall.to_pylist() if r["median_duration_s"] is not None])
    typical = float(np.median(meds)) if len(meds) else float("nan")
    facts = {}
    for r in overall.to_pylist():
        lab = r["labeler_id"]
        found, info = [], {}
        ref = reference.get(lab)
        if ref is not None and ref["n"] >= min_items and np.isfinite(ref["kappa"]):
            kappa, kappa_hi = ref["kappa"], ref["kappa_hi"]
            info.update(kappa=kappa, kappa_upper=kappa_hi, kappa_vs="leave-one-out consensus",
                        kappa_measure=ref["measure"], kappa_n=int(ref["n"]))
            if np.isfinite(kappa_hi) and kappa_hi < kappa_max:
                found.append("chance-level agreement")
        n = int(r["n_judgments"])
        n_top, share_top = top_labels.get(lab, (0, 0.0))
        if n >= min_items and n_top == n and 0.05 <= share_top <= 0.95:
            found.append("constant answers")
            info["constant_p"] = float(share_top ** n)
        s = swd.get(lab)
        if s is not None and s["n_pairs"] >= min_items:
            rate = s["n_switches"] / s["n_pairs"]
            expected = float(s["expected"])
            info.update(switch_rate=rate, switch_expected=expected)
            if rate >= switch_rate_min and expected < 1:
                p = stats.binom.sf(s["n_switches"] - 1, s["n_pairs"], expected)
                info["switch_p"] = float(p)
                if p < 1e-3:
                    found.append("alternating answers")
        med = r["median_duration_s"]
        if med is not None and np.isfinite(typical) and n >= min_items and med < duration_ratio * typical:
            found.append("implausibly short durations")
            info.update(median_duration_s=med, typical_median_duration_s=typical)
        facts[lab] = {"signals": found, **info}
    return facts


def severity(found: list[str], n: int) -> str:
    """A spammer's severity from their signals and judgments: an implausible speed alone is low; any other signal
    is medium, high with at least 100 judgments."""
    strong = [x for x in found if x != "implausibly short durations"]
    return ("high" if strong and n >= 100 else "medium") if strong else "low"


def pair_counts(y: np.ndarray, item: np.ndarray, worker: np.ndarray, worker_labeler: np.ndarray,
                worker_fm: np.ndarray) -> dict[str, np.ndarray]:
    """Per pair of labelers × failure mode sharing an item: shared items and disagreements. Vectorised:
    judgments sorted by item, then every offset o pairs positions i and i + o of the same item (o up to the
    largest number of labels on an item), so the work is the number of pairs, in numpy."""
    presorted = judgments.nondecreasing(item)
    order = slice(None) if presorted else np.argsort(item, kind="stable")
    it, wk, yy = item[order], worker[order], y[order]
    n_items = int(it.max()) + 1 if len(it) else 0
    max_k = int(judgments.bincount(it, minlength=n_items).max()) if len(it) else 0
    W = len(worker_fm)
    # one key per pair (worker_a, worker_b, disagreed) — both workers share the item's failure mode — in 32 bits
    # when 2 W^2 fits (40,000 workers do), else 64: half the memory of the sort below at 10M judgments
    kt = np.uint32 if 2 * W * W <= 2**32 else np.int64
    # the keys are written into one array sized for every pair (sum over items of k(k-1)/2), offset after offset
    # in the order a list of per-offset arrays joined would give (not the list and its join: twice the bytes)
    n_per_item = judgments.bincount(it, minlength=n_items) if len(it) else np.zeros(0, np.int64)
    key = np.empty(int(np.sum(n_per_item * (n_per_item - 1) // 2)), dtype=kt)
    del n_per_item
    at = 0
    # the positions i whose item still has a judgment at i + o: a mask over every position while most do (read in
    # blocks of PAIR_BLOCK positions), then (after the offset where fewer than a quarter do) their index, which only
    # shrinks — the later offsets, where few items are that large, no longer pass over every judgment. The pairs
    # come in position order either way, offset after offset.
    todo = None  # once indexed: the positions i whose item has a judgment at i + o
    for o in range(1, max_k):
        if todo is None:
            m = 0
            for lo in range(0, len(it) - o, PAIR_BLOCK):
                hi = min(lo + PAIR_BLOCK, len(it) - o)
                same = it[lo:hi] == it[lo + o:hi + o]
                c = int(np.count_nonzero(same))
                _pair_keys(key[at + m:at + m + c], wk[lo:hi][same], wk[lo + o:hi + o][same], yy[lo:hi][same],
                           yy[lo + o:hi + o][same], W)
                m += c
                del same
            if 4 * m < len(it):  # the next offsets read these positions only (indexed once, here)
                todo = np.flatnonzero(it[:-o] == it[o:])
        else:
            todo = todo[todo + o < len(it)]
            todo = todo[it[todo + o] == it[todo]]
            m = len(todo)
            _pair_keys(key[at:at + m], wk[todo], wk[todo + o], yy[todo], yy[todo + o], W)
        if m == 0:
            break
        at += m
    if len(key) == 0:
        z = np.zeros(0, dtype=np.int64)
        return {"worker_a": z, "worker_b": z, "n": z, "n_disagree": z}
    key.sort()  # in place
    # per pair (the key without its disagreement bit; each pair's keys are now adjacent): how many shared items
    # and how many disagreements — integer counts, as np.unique(return_counts=True) of the keys gave them — block by
    # block of about PAIR_BLOCK keys that never splits a pair, so the per-pair temporaries (8-byte positions and
    # counts) exist for one block at a time
    columns: dict[str, list[np.ndarray]] = {"worker_a": [], "worker_b": [], "n": [], "n_disagree": []}
    lo = 0
    while lo < len(key):
        hi = min(lo + PAIR_BLOCK, len(key))
        if hi < len(key):  # (the block's last pair whole: its keys are (pair << 1) | disagreed)
            hi = int(np.searchsorted(key, key[hi - 1] | kt(1), side="right"))
        block = key[lo:hi]
        disagree = (block & kt(1)).astype(np.uint8)
        block = block >> kt(1)
        new = np.empty(len(block), dtype=bool)
        new[0] = True
        np.not_equal(block[1:], block[:-1], out=new[1:])
        starts = np.flatnonzero(new)
        del new
        pairs = block[starts]
        columns["n"].append(_narrow(np.diff(np.append(starts, len(block)))))
        columns["n_disagree"].append(_narrow(np.add.reduceat(disagree, starts, dtype=np.int32)))
        columns["worker_a"].append(_narrow(pairs // kt(W)))
        columns["worker_b"].append(_narrow(pairs % kt(W)))
        del block, disagree, starts, pairs
        lo = hi
    del key
    # the narrowest of uint16 and int32 that holds each column's values (the same numbers): the pairs grow with the
    # store until every worker pair occurs, and are held while Dawid–Skene finishes — 8 bytes a pair when worker
    # codes and shared-item counts stay below 65,536 (40,000 workers do), else 16
    return {name: _joined(pieces) for name, pieces in columns.items()}


#: judgments per block of the pair counts' passes over positions, and keys per block of their per-pair sums
PAIR_BLOCK = 1 << 22


def _pair_keys(out: np.ndarray, wa: np.ndarray, wbo: np.ndarray, ya: np.ndarray, yb: np.ndarray, W: int) -> None:
    """Write into ``out`` the key of each pair of judgments (worker ``wa`` with ``wbo``, their binary labels):
    ((smaller worker × W + larger worker) << 1) | (they disagree), in ``out``'s unsigned type."""
    kt = out.dtype.type
    out[...] = wa
    wb = wbo.astype(out.dtype)
    np.maximum(out, wb, out=wb)  # the larger worker code of the pair
    np.minimum(out, wbo, out=out, casting="unsafe")
    out *= kt(W)
    out += wb
    out <<= kt(1)
    out |= (ya != yb).astype(out.dtype)


def _joined(pieces: list[np.ndarray]) -> np.ndarray:
    """Blocks of :func:`_narrow` values as one array of the type :func:`_narrow` gives the whole."""
    if all(p.dtype == np.uint16 for p in pieces):
        return np.concatenate(pieces)
    return np.concatenate([p.astype(np.int32) for p in pieces])


def _narrow(values: np.ndarray) -> np.ndarray:
    """Non-negative integer codes or counts as uint16 when they fit, else int32 (exact either way)."""
    return values.astype(np.uint16 if int(values.max(initial=0)) < 2**16 else np.int32)


def collusion(pairs: dict[str, np.ndarray], sensitivity: np.ndarray, specificity: np.ndarray, prior: np.ndarray,
              worker_labeler: np.ndarray, worker_fm: np.ndarray, labelers: np.ndarray, min_pair_items: int
              ) -> pa.Table:
    """Per labeler pair sharing at least ``min_pair_items`` items: shared items, observed and expected
    disagreements, p and q (:func:`colluding` says which pairs are suspect). ``sensitivity``/``specificity`` per
    worker and ``prior`` per failure mode come from Dawid–Skene."""
    wa = pairs["worker_a"]
    empty = pa.table({"labeler_a": pa.array([], pa.string()), "labeler_b": pa.array([], pa.string()),
                      "n": pa.array([], pa.int64()), "n_disagree": pa.array([], pa.int64()),
                      "expected_disagree": pa.array([], pa.float64()), "p_value": pa.array([], pa.float64()),
                      "q_value": pa.array([], pa.float64())})
    if len(wa) == 0:
        return empty
    n_lab = len(labelers)
    k = int(worker_fm.max()) + 1
    # per failure mode: observed and model-expected disagreements over all pairs (accumulated chunk by chunk in
    # the pairs' order, as one bincount would: the same sums to the last bit)
    obs_fm, exp_fm = np.zeros(k), np.zeros(k)
    for lo, hi in _chunks(len(wa)):
        fm, expected = _expected_disagree(pairs, lo, hi, sensitivity, specificity, prior, worker_fm)
        np.add.at(obs_fm, fm, pairs["n_disagree"][lo:hi].astype(float))
        np.add.at(exp_fm, fm, expected)
    # calibrate per failure mode: honest pairs agree a bit more than conditional independence predicts
    ratio = np.clip(np.where(exp_fm > 0, obs_fm / np.maximum(exp_fm, 1e-12), 1.0), 0.25, 1.0)
    # per labeler pair: worker pairs in chunks that never split a labeler pair (cut where labeler a changes, in a
    # stable order by labeler a), so every sum runs over the same terms in the same order as over all pairs at once
    la_all = worker_labeler[wa]
    order = None if judgments.nondecreasing(la_all) else np.argsort(la_all, kind="stable")
    if order is not None:  # each chunk's pairs are gathered in that order (not a sorted copy of every pair)
        la_all = la_all[order]
    parts: list[tuple[np.ndarray, ...]] = []
    for lo, hi in _chunks(len(la_all), la_all):
        chunk, a, b = ((pairs, lo, hi) if order is None
                       else ({name: v[order[lo:hi]] for name, v in pairs.items()}, 0, hi - lo))
        fm, expected = _expected_disagree(chunk, a, b, sensitivity, specificity, prior, worker_fm)
        expected = expected * ratio[fm]
        la = la_all[lo:hi].astype(np.int64)
        lb = worker_labeler[chunk["worker_b"][a:b]].astype(np.int64)
        uniq_c, inv = np.unique(la * n_lab + lb, return_inverse=True)
        parts.append((uniq_c, np.bincount(inv, weights=chunk["n"][a:b].astype(float)),
                      np.bincount(inv, weights=chunk["n_disagree"][a:b].astype(float)),
                      np.bincount(inv, weights=expected)))
        del chunk
    del order
    del la_all
    uniq, n, d, e = (np.concatenate([p[i] for p in parts]) for i in range(4))
    enough = n >= min_pair_items
    uniq, n, d, e = uniq[enough], n[enough], d[enough], e[enough]
    p = np.where(e > 0, stats.binom.cdf(d, n, np.clip(e / np.maximum(n, 1), 0, 1)), 1.0)
    q = bh(p)
    names_a, names_b = labelers[uniq // n_lab], labelers[uniq % n_lab]
    out_t = pa.table({"labeler_a": pa.array(names_a, pa.string()), "labeler_b": pa.array(names_b, pa.string()),
                      "n": n.astype(np.int64), "n_disagree": d.astype(np.int64), "expected_disagree": e,
                      "p_value": p, "q_value": q})
    return out_t


def colluding(pairs: pa.Table, q_max: float, ratio_max: float) -> np.ndarray:
    """Which rows of the :func:`collusion` table are suspect: BH q-value below ``q_max`` and at most ``ratio_max``
    times the disagreements their accuracies predict."""
    d = np.asarray(pairs["n_disagree"].to_numpy(), dtype=float)
    e = pairs["expected_disagree"].to_numpy()
    return (pairs["q_value"].to_numpy() < q_max) & (d <= ratio_max * e)


#: worker pairs handled at once by :func:`collusion` (bounds its working set: about 120 bytes per pair)
PAIR_CHUNK = 500_000  # 60 MB: the same sums for any size (chunks never split a labeler pair)


def _chunks(n: int, boundary: np.ndarray | None = None, size: int | None = None) -> list[tuple[int, int]]:
    """[lo, hi) ranges of about ``size`` (:data:`PAIR_CHUNK`) rows (:func:`evalaudit.labelers.judgments.ranges`)."""
    return judgments.ranges(n, boundary, size or PAIR_CHUNK)


def _expected_disagree(pairs: dict[str, np.ndarray], lo: int, hi: int, sensitivity: np.ndarray,
                       specificity: np.ndarray, prior: np.ndarray, worker_fm: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
    """For worker pairs ``lo:hi``: their failure mode and the disagreements Dawid–Skene's conditional independence
    predicts on their shared items (see the module docstring)."""
    wa, wb = pairs["worker_a"][lo:hi], pairs["worker_b"][lo:hi]
    sa, sb, ta, tb = sensitivity[wa], sensitivity[wb], specificity[wa], specificity[wb]
    fm = worker_fm[wa]
    pi = prior[fm]
    pd_ = pi * (sa * (1 - sb) + sb * (1 - sa)) + (1 - pi) * (ta * (1 - tb) + tb * (1 - ta))
    return fm, pairs["n"][lo:hi].astype(float) * pd_
