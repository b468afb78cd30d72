"""Overlap evidence: on items a labeler shares with other labelers, their label against a peer's label on the same
item — a paired comparison, so item difficulty cancels (the strongest evidence the data offers without known
answers).

The reference is **one peer per item** (the next other labeler of the item, cyclically, in a fixed order), not the
majority of all peers: a majority of several labelers is more accurate than any one labeler, so every honest but
imperfect labeler would look severe on pass-heavy failure modes (lenient on fail-heavy ones) against it — the
classic regression of a noisy rater toward 1/2. Against a single peer an honest labeler as accurate as their peers
has no expected difference. The test is McNemar's exact test on the discordant items (McNemar 1947), the interval
Clopper–Pearson mapped to the difference in positive rate; see :func:`evalaudit.labelers.evidence.paired_exact`.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from evalaudit.labelers.evidence import evidence_table, num, paired_exact, paired_mid_p, worker_table
from evalaudit.labelers.judgments import bincount, item_blocks

METHOD = "overlap: paired exact binomial (McNemar) test on discordant items vs a peer on the same items"


def peer_choice(J, exclude: np.ndarray | None = None) -> np.ndarray:
    """Per judgment: the index of the peer judgment it is compared with — the next judgment of the same item,
    cyclically, skipping workers (labeler × failure mode codes) in ``exclude``; -1 when the item has no eligible
    peer.
    Judgments are sorted by item, so an item's judgments are contiguous; one pass per offset. At offset ``o`` the
    candidate of judgment ``i`` is ``i + o``, less the item's size when that passes the item's end (``o`` is below
    the size): the cyclic next without a division. Offset 1, where most judgments find their peer, runs over every
    judgment in order (no index of those still looking); later offsets over the few left."""
    n = len(J.item)
    # positions fit 32 bits below 2^31 judgments: half the memory of this pass's per-judgment arrays
    ix = np.int32 if n < 2**31 else np.int64
    n_item = bincount(J.item, minlength=J.n_items).astype(ix)
    k = n_item[J.item]
    stop = np.cumsum(n_item, dtype=ix)[J.item]  # one past the last judgment of the judgment's item
    ok_peer = None if exclude is None else ~exclude[J.worker]
    cand = np.arange(1, n + 1, dtype=ix)
    # (a single-judgment item's candidate wraps to itself: never chosen, k is 1); arithmetic on every judgment, not
    # a masked update (a third of this function's time)
    cand -= k * (cand >= stop)
    several = k > 1
    hit = several if ok_peer is None else several & ok_peer[cand]
    chosen = np.where(hit, cand, ix(-1))
    del cand
    if ok_peer is None:
        return chosen
    # judgments still looking for a peer; few after offset 1
    todo = np.flatnonzero(several & ~hit).astype(ix, copy=False)
    del several, hit
    for o in range(2, int(n_item.max(initial=1))):
        todo = todo[k[todo] > o]
        if len(todo) == 0:
            break
        cand = todo + ix(o)
        wrap = cand >= stop[todo]
        cand[wrap] -= k[todo[wrap]]
        del wrap
        hit = ok_peer[cand]
        chosen[todo[hit]] = cand[hit]
        todo = todo[~hit]
    return chosen


def counts(J, exclude: np.ndarray | None = None) -> pa.Table:
    """Per labeler × failure mode: n items compared, own and peer positives, discordant counts b (own positive,
    peer not) and c (own not, peer positive), against one peer per item (:func:`peer_choice`). Workers with
    ``exclude[worker code]`` (spammers, labeler × failure modes already found lenient or severe) are tested
    themselves but never serve as anyone's peer."""
    W = J.n_workers
    # one count per worker × (own label, peer's label) over the compared judgments: every column below is a sum of
    # those four cells (integers, so exactly what per-column weighted sums give), without per-judgment float arrays;
    # block by block of whole items (a judgment's peer is on its item): the same counts, one block's arrays at a time
    cells = np.zeros(4 * W, dtype=np.int64)
    for b, _, _, _ in item_blocks(J):
        chosen = peer_choice(b, exclude)
        # the cell of every judgment (built in place, 32 bits when the cells fit), then counted where compared: one
        # selection instead of one per term (a judgment without a peer reads y[-1], a cell never counted)
        cell = b.worker.astype(np.int32 if 4 * W < 2**31 else np.int64)
        cell <<= 2
        cell += b.y << 1
        cell += b.y[chosen]
        cells += np.bincount(cell[chosen >= 0], minlength=4 * W)
        del chosen, cell
    c = cells.reshape(W, 4).astype(np.float64)
    return worker_table(J, {
        "n": c.sum(axis=1), "n_own_pos": c[:, 2] + c[:, 3], "n_peer_pos": c[:, 1] + c[:, 3],
        "b": c[:, 2], "c": c[:, 1],
    })


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
    return evidence_table(t["labeler_id"], t["failure_mode"], kind, effect, lo, hi, p, n, own, peer, method,
                          p_mid=paired_mid_p(b, c))
