"""Concentration: how much of the labeling, and of each failure mode's gold, rests on one labeler.

Per labeler × failure mode (and over all failure modes): share of judgments, share of gold items they touched,
gold items resting on them alone, and their *gold weight share* — each gold item's calibration shared equally among
the labelers who judged it (1/n_labels each), so shares sum to 1 over labelers. The Herfindahl–Hirschman index
(Hirschman 1945; Herfindahl 1950), the sum of squared shares, summarises a failure mode: 1/HHI is the "effective
number of labelers". A labeler with a large gold weight share is a finding even when no bias is proven: the eval
then rests on one person's calibration (:func:`concentrated`; thresholds passed in, the stage reads them from
``[concentration]`` and writes the findings, :mod:`evalaudit.labelers.findings`).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from evalaudit.labelers.evidence import num, worker_table
from evalaudit.labelers.judgments import bincount, ranges

METHOD = ("concentration: share of the failure mode's gold items, each item's weight split equally among its "
          "labelers (Herfindahl–Hirschman index over labelers)")


def profile(J, activity: pa.Table) -> tuple[pa.Table, pa.Table]:
    """(per labeler × failure mode + 'all' profile, per failure mode + 'all' totals).

    Counts are numpy aggregates over the de-duplicated judgments: judgments, positives, gold items labeled,
    gold items resting on the labeler alone, gold weight (each gold item's 1/n_labels); median duration and
    first/last judgment are joined from ``activity`` (the named query ``labelers_activity``, which the stage runs:
    labeler_id, failure_mode and the activity columns)."""
    n_item = bincount(J.item, minlength=J.n_items).astype(np.float64)
    W = J.n_workers
    # chunk by chunk of judgments (per-judgment arrays of one chunk at a time). The counts are sums of 0/1, exact in
    # any grouping; the gold weight (fractions) is accumulated with np.add.at in the judgments' order, the
    # additions one np.bincount over every judgment makes (its zero terms, identities, are skipped): the same bits
    cols = {"n_judgments": bincount(J.worker, minlength=W)}
    cols.update({k: np.zeros(W) for k in ("n_positive", "n_gold_items", "n_sole_gold_items", "gold_weight")})
    for lo, hi in ranges(len(J.item)):
        item, worker = J.item[lo:hi], J.worker[lo:hi]
        g = J.gold[item].astype(np.float64)
        cols["n_positive"] += np.bincount(worker, weights=J.y[lo:hi].astype(np.float64), minlength=W)
        cols["n_gold_items"] += np.bincount(worker, weights=g, minlength=W)
        per_item = n_item[item]
        cols["n_sole_gold_items"] += np.bincount(worker, weights=g * (per_item == 1), minlength=W)
        gold = np.flatnonzero(g)
        np.add.at(cols["gold_weight"], worker[gold], g[gold] / per_item[gold])
        del item, worker, g, per_item, gold
    per_fm = worker_table(J, cols).drop_columns(["worker"])
    labs = len(J.labelers)
    overall = {k: np.bincount(J.worker_labeler, weights=v, minlength=labs) for k, v in cols.items()}
    keep = np.nonzero(overall["n_judgments"] > 0)[0]
    all_rows = {"labeler_id": pc.take(J.labelers, pa.array(keep)),
                "failure_mode": pa.array(["all"] * len(keep), pa.string())}
    for k, v in overall.items():
        all_rows[k] = v[keep] if k == "gold_weight" else v[keep].astype(np.int64)
    prof = pa.concat_tables([per_fm, pa.table(all_rows)])
    prof = prof.join(activity, ["labeler_id", "failure_mode"], join_type="left outer")
    n_fm = len(J.failure_modes)
    tj = np.bincount(J.worker_fm, weights=cols["n_judgments"], minlength=n_fm)
    ti = np.bincount(J.item_fm, minlength=n_fm)
    tg = np.bincount(J.item_fm, weights=J.gold.astype(np.float64), minlength=n_fm)
    totals = pa.table({
        "failure_mode": pa.concat_arrays([J.failure_modes, pa.array(["all"], pa.string())]),
        "n_judgments": np.append(tj, tj.sum()).astype(np.int64),
        "n_items": np.append(ti, ti.sum()).astype(np.int64),
        "n_gold_items": np.append(tg, tg.sum()).astype(np.int64),
    })
    return prof, totals


def shares(prof: pa.Table, totals: pa.Table) -> pa.Table:
    """``prof`` with share_of_judgments, share_of_gold, gold_weight_share and the failure mode's HHI columns."""
    tot = {r["failure_mode"]: r for r in totals.to_pylist()}
    fm = prof["failure_mode"].to_pylist()
    tj = np.array([tot.get(f, {}).get("n_judgments") or 0 for f in fm], dtype=float)
    tg = np.array([tot.get(f, {}).get("n_gold_items") or 0 for f in fm], dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        sj = num(prof, "n_judgments") / np.where(tj > 0, tj, np.nan)
        sg = num(prof, "n_gold_items") / np.where(tg > 0, tg, np.nan)
        sw = num(prof, "gold_weight") / np.where(tg > 0, tg, np.nan)
    codes = pc.dictionary_encode(prof["failure_mode"]).combine_chunks()
    idx = codes.indices.to_numpy(zero_copy_only=False)
    k = len(codes.dictionary)
    # summed in (failure mode, labeler) order, not in the row order of the join above (which follows the order in
    # which the engine returned its groups), so the index is the same to the last bit on every run
    by = pc.sort_indices(prof, [("failure_mode", "ascending"), ("labeler_id", "ascending")]).to_numpy()
    hhi_j = np.bincount(idx[by], weights=(np.nan_to_num(sj) ** 2)[by], minlength=k)[idx]
    hhi_g = np.bincount(idx[by], weights=(np.nan_to_num(sw) ** 2)[by], minlength=k)[idx]
    out = prof
    for name, arr in (("share_of_judgments", sj), ("share_of_gold", sg), ("gold_weight_share", sw),
                      ("hhi_judgments", hhi_j), ("hhi_gold", hhi_g), ("fm_gold_items", tg)):
        out = out.append_column(name, pa.array(arr, pa.float64()))
    return out


def hhi(stats: pa.Table) -> dict[str, dict[str, float | None]]:
    """Per failure mode (and 'all'): HHI of judgments and of gold weight, and the effective number of labelers
    of the gold (1 / HHI)."""
    out: dict[str, dict[str, float | None]] = {}
    for r in stats.select(["failure_mode", "hhi_judgments", "hhi_gold"]).to_pylist():
        if r["failure_mode"] not in out:
            hg = r["hhi_gold"]
            out[r["failure_mode"]] = {"hhi_judgments": r["hhi_judgments"], "hhi_gold": hg,
                                      "effective_labelers_gold": (1 / hg) if hg else None}
    return out


def concentrated(stats: pa.Table, share_medium: float, fm_share_medium: float, min_gold_items: int,
                 fair_share_ratio: float) -> np.ndarray:
    """Which rows of :func:`shares`' table hold too much of the gold: gold weight share at or above ``share_medium``
    overall (failure_mode 'all') or ``fm_share_medium`` on a failure mode, with at least ``min_gold_items`` gold
    items there, and at least ``fair_share_ratio`` times the fair share 1 / (labelers there) — five labelers
    holding 20% each is not concentration."""
    fm = stats["failure_mode"]
    codes = pc.dictionary_encode(fm).combine_chunks()
    idx = codes.indices.to_numpy(zero_copy_only=False)
    n_labelers = np.bincount(idx)[idx]
    share = np.nan_to_num(num(stats, "gold_weight_share"))
    overall = np.asarray(pc.equal(fm, "all").to_numpy(zero_copy_only=False), dtype=bool)
    floor = np.where(overall, share_medium, fm_share_medium)
    return ((share >= floor) & (num(stats, "fm_gold_items") >= min_gold_items)
            & (share >= fair_share_ratio / n_labelers))
