"""Drift: has a labeler's leniency on a failure mode changed over time, when, and by how much?

Per labeler × failure mode, the discordance of each judgment with the leave-this-labeler-out Dawid–Skene posterior
(``d = label - P(positive | everyone else)``) is summed by ISO week. The CUSUM of deviations from the overall mean
(Page 1954, "Continuous inspection schemes", Biometrika 41; the retrospective two-sided form of Hinkley 1971 /
Csörgő & Horváth 1997 §1.4), ``S_k = sum_{t<=k} (d_t - mean d)``, peaks in absolute value at the most likely
change point. Its threshold is calibrated, not tuned: under no change, ``max_k |S_k| / (sigma sqrt(n))``
converges to the supremum of a Brownian bridge (Kolmogorov distribution, ``scipy.stats.kstwobign``), which gives
the p-value. Evaluating S only at week boundaries can only lower the maximum, so the test is conservative.
sigma is the standard deviation of d over all the labeler's judgments (inflated by a change, again conservative).

Reports the change date (first week after the peak), the mean discordance before and after, the statistic and the
threshold at the configured level. Vectorised over all labeler × failure modes on a dense week grid.

:func:`tables` assembles the stage's ``drift`` (detected changes, BH q-values over the tests) and ``drift_series``
(weekly rate vs peers) tables from these pieces; which discordance it is fed (Dawid–Skene, paired shift on ordered
scales, disagreement with the leave-one-out consensus) is the stage's choice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from scipy import stats

from evalaudit.labelers.judgments import ranges
from evalaudit.multiplicity import bh

METHOD = ("drift: CUSUM change-point test (Page 1954) on weekly discordance with the leave-one-out Dawid–Skene "
          "consensus, Kolmogorov (Brownian-bridge) calibrated threshold")


def _grid(worker: np.ndarray, week: np.ndarray, values: list[np.ndarray], n_workers: int):
    w0 = int(week.min())
    n_weeks = int(week.max()) - w0 + 1
    cell = worker.astype(np.int64) * n_weeks + (week - w0)
    size = n_workers * n_weeks
    out = [np.bincount(cell, weights=v, minlength=size).reshape(n_workers, n_weeks) for v in values]
    count = np.bincount(cell, minlength=size).reshape(n_workers, n_weeks).astype(float)
    return w0, n_weeks, count, out


def change_points(worker: np.ndarray, week: np.ndarray, d: np.ndarray, n_workers: int, min_judgments: int,
                  min_weeks: int, alpha: float = 0.01) -> dict[str, np.ndarray]:
    """Per worker: statistic, p-value, change week, mean d before/after and n. Workers with too few judgments or
    weeks get NaN statistics. ``week`` is a week number (days since 1970-01-05 // 7)."""
    if len(d) == 0:
        empty = np.zeros(n_workers)
        return {"stat": empty + np.nan, "p_value": empty + np.nan, "change_week": empty.astype(np.int64),
                "before": empty + np.nan, "after": empty + np.nan, "n": empty.astype(np.int64),
                "threshold": float(stats.kstwobign.isf(alpha)), "weeks_active": empty.astype(np.int64)}
    w0, _, count, (sd, sd2) = _grid(worker, week, [d, d * d], n_workers)
    return _change_points(w0, count, sd, sd2, min_judgments, min_weeks, alpha)


def change_points_over(pieces, n_workers: int, w0: int, n_weeks: int, min_judgments: int, min_weeks: int,
                       alpha: float = 0.01) -> dict[str, np.ndarray]:
    """:func:`change_points` over the judgments given piece by piece: ``pieces`` yields ``(worker, week, d)`` of
    consecutive parts of the judgments that take part (in their order), whose weeks span ``w0`` to ``w0 + n_weeks -
    1``. The worker × week sums are accumulated piece after piece with ``np.add.at``, which adds the same terms in
    the same order as one ``np.bincount`` over all of them: the same numbers to the last bit, with per-judgment
    arrays of one piece at a time."""
    size = n_workers * n_weeks
    count, sd, sd2 = np.zeros(size, dtype=np.int64), np.zeros(size), np.zeros(size)
    any_rows = False
    for worker, week, d in pieces:
        cell = worker.astype(np.int64) * n_weeks + (week - w0)
        np.add.at(count, cell, 1)
        np.add.at(sd, cell, d)
        np.add.at(sd2, cell, d * d)
        any_rows = any_rows or len(d) > 0
        del cell
    if not any_rows:
        return change_points(np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0), n_workers, min_judgments,
                             min_weeks, alpha)
    shape = (n_workers, n_weeks)
    return _change_points(w0, count.reshape(shape).astype(float), sd.reshape(shape), sd2.reshape(shape),
                          min_judgments, min_weeks, alpha)


def _change_points(w0: int, count: np.ndarray, sd: np.ndarray, sd2: np.ndarray, min_judgments: int,
                   min_weeks: int, alpha: float) -> dict[str, np.ndarray]:
    """:func:`change_points` from the worker × week counts, sums of d and of d² (weeks from ``w0``)."""
    n = count.sum(axis=1)
    total = sd.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / n
        var = sd2.sum(axis=1) / n - mean**2
        cn = np.cumsum(count, axis=1)
        cs = np.cumsum(sd, axis=1)
        s = cs - cn * mean[:, None]
        # only boundaries after a week with judgments and before the last one count as change points
        last = cn < n[:, None]
        valid = (count > 0) & last
        score = np.where(valid, np.abs(s), -1.0)
        k = np.argmax(score, axis=1)
        peak = score[np.arange(len(k)), k]
        stat = peak / np.sqrt(np.maximum(var, 1e-12) * n)
    weeks_active = (count > 0).sum(axis=1)
    ok = (n >= min_judgments) & (weeks_active >= min_weeks) & (peak >= 0) & (var > 1e-12)
    stat = np.where(ok, stat, np.nan)
    p = np.where(ok, stats.kstwobign.sf(np.nan_to_num(stat)), np.nan)
    rows = np.arange(len(k))
    n_before = cn[rows, k]
    s_before = cs[rows, k]
    # the change week: first week with judgments after the peak boundary
    after_mask = (np.arange(count.shape[1])[None, :] > k[:, None]) & (count > 0)
    change = np.where(after_mask.any(axis=1), np.argmax(after_mask, axis=1), k + 1) + w0
    with np.errstate(invalid="ignore", divide="ignore"):
        before = s_before / n_before
        after = (total - s_before) / (n - n_before)
    return {"stat": stat, "p_value": p, "change_week": change.astype(np.int64), "before": before, "after": after,
            "n": n.astype(np.int64), "threshold": float(stats.kstwobign.isf(alpha)),
            "weeks_active": weeks_active.astype(np.int64)}


@dataclass
class WeekGrid:
    """Judgments and positives per worker × week and per failure mode × week (dense), computed once."""

    w0: int
    count: np.ndarray
    pos: np.ndarray
    fm_count: np.ndarray
    fm_pos: np.ndarray


def week_grid(worker: np.ndarray, week: np.ndarray, y: np.ndarray, worker_fm: np.ndarray, n_workers: int,
              n_fm: int) -> WeekGrid:
    if len(y) == 0:
        z = np.zeros((n_workers, 1))
        return WeekGrid(0, z, z, np.zeros((n_fm, 1)), np.zeros((n_fm, 1)))
    # chunk by chunk of judgments (one chunk's cell codes and float labels at a time): counts and sums of integer
    # labels are whole numbers, exact in any grouping; other values (an ordered scale's) are added with np.add.at in
    # the judgments' order — either way the numbers of one bincount over every judgment
    whole = np.issubdtype(y.dtype, np.integer) or y.dtype == bool
    w0 = int(week.min())
    n_weeks = int(week.max()) - w0 + 1
    size = n_workers * n_weeks
    counts, positives = np.zeros(size, dtype=np.int64), np.zeros(size)
    for lo, hi in ranges(len(y)):
        cell = worker[lo:hi].astype(np.int64) * n_weeks + (week[lo:hi] - w0)
        counts += np.bincount(cell, minlength=size)
        if whole:
            positives += np.bincount(cell, weights=y[lo:hi].astype(float), minlength=size)
        else:
            np.add.at(positives, cell, y[lo:hi].astype(float))
        del cell
    count = counts.reshape(n_workers, n_weeks).astype(float)
    pos = positives.reshape(n_workers, n_weeks)
    del counts, positives
    fm_count = np.zeros((n_fm, n_weeks))
    fm_pos = np.zeros((n_fm, n_weeks))
    np.add.at(fm_count, worker_fm.astype(np.int64), count)
    np.add.at(fm_pos, worker_fm.astype(np.int64), pos)
    return WeekGrid(w0, count, pos, fm_count, fm_pos)


def week_peer_rate(g: WeekGrid, worker: np.ndarray, week: np.ndarray, worker_fm: np.ndarray,
                   rate: np.ndarray | None = None) -> np.ndarray:
    """Per judgment: the positive rate of the other labelers on the same failure mode in the same week (NaN when
    nobody else labeled it that week). ``rate``: :func:`peer_rate_grid`, when already made."""
    if len(worker) == 0:
        return np.zeros(0)
    # the rate per worker × week cell once (the same arithmetic per cell), then one gather per judgment
    if rate is None:
        rate = peer_rate_grid(g, worker_fm)
    cell = worker.astype(np.int64) * rate.shape[1] + (week - g.w0)
    return rate.ravel()[cell]


def peer_rate_grid(g: WeekGrid, worker_fm: np.ndarray) -> np.ndarray:
    """Per worker × week: the positive rate of the other labelers on the same failure mode (NaN when none)."""
    fm_count, fm_pos = g.fm_count[worker_fm], g.fm_pos[worker_fm]
    fm_count -= g.count
    fm_pos -= g.pos
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(fm_count > 0, fm_pos / fm_count, np.nan)


def week_dates(week: np.ndarray) -> pa.Array:
    """Week numbers back to the Monday they start on (date32)."""
    return pa.array((np.asarray(week, dtype=np.int64) * 7 + 4).astype("datetime64[D]"), pa.date32())


def series(g: WeekGrid, worker_fm: np.ndarray) -> dict[str, np.ndarray]:
    """Weekly positive rate per worker and the rate of their peers (all other labelers, same failure mode, same
    week): the ``drift_series`` chart data. Flat arrays over the (worker, week) cells with judgments."""
    wi, ki = np.nonzero(g.count)
    c = g.count[wi, ki]
    peer_n = g.fm_count[worker_fm[wi], ki] - c
    with np.errstate(invalid="ignore", divide="ignore"):
        peer = np.where(peer_n > 0, (g.fm_pos[worker_fm[wi], ki] - g.pos[wi, ki]) / peer_n, np.nan)
    return {"worker": wi, "week": ki + g.w0, "n": c, "rate": g.pos[wi, ki] / np.maximum(c, 1), "peer_rate": peer}


def discordance(d: np.ndarray, informative: np.ndarray, grid: WeekGrid, y: np.ndarray, worker: np.ndarray,
                week: np.ndarray, timed: np.ndarray, worker_fm: np.ndarray, rate: np.ndarray | None = None
                ) -> np.ndarray:
    """Discordance per judgment: ``d`` (vs the DS peer expectation) where the item has other evidence
    (``informative`` > 0), else vs peers' rate on the same failure mode in the same week (what an item-less
    comparison can stratify on); 0 where there is neither. Element by element (``rate``: :func:`peer_rate_grid`),
    so a part of the judgments gives the same numbers as the whole."""
    week_peer = np.full(len(y), np.nan)
    week_peer[timed] = week_peer_rate(grid, worker[timed], week[timed], worker_fm, rate)
    return np.where(informative > 0, d, y - np.where(np.isnan(week_peer), y, week_peer))


def tables(grid: WeekGrid, worker: np.ndarray | None, week: np.ndarray | None, d: np.ndarray | None,
           worker_labeler: np.ndarray, worker_fm: np.ndarray, lab_names: np.ndarray, fm_names: np.ndarray,
           min_judgments: int, min_weeks: int, q_max: float, min_change: float, scale: float = 1.0,
           cp: dict[str, np.ndarray] | None = None) -> tuple[pa.Table, pa.Table, int]:
    """The ``drift`` table (the labeler × failure modes whose change point is significant after BH, ``q <
    q_max``, and at least ``min_change`` of the scale wide), the ``drift_series`` table (weekly rate and peer rate,
    from ``grid``) and the number of change-point tests run. ``worker``, ``week``, ``d``: the judgments that take
    part (timed, with a discordance); ``worker_labeler``, ``worker_fm``: per worker, codes into ``lab_names`` and
    ``fm_names``. ``cp``: the change points when already computed (:func:`change_points_over`; ``worker``,
    ``week`` and ``d`` are then not read)."""
    if cp is None:
        cp = change_points(worker, week, d, len(worker_labeler), min_judgments, min_weeks, q_max)
    drift_q = bh(cp["p_value"])
    change = cp["after"] - cp["before"]
    detected = (drift_q < q_max) & (np.abs(change) / scale >= min_change)
    det = np.nonzero(np.nan_to_num(detected, nan=0).astype(bool))[0]
    drift_table = pa.table({
        "labeler_id": pa.array(lab_names[worker_labeler][det], pa.string()),
        "failure_mode": pa.array(fm_names[worker_fm][det], pa.string()),
        "change_date": week_dates(cp["change_week"][det]),
        "effect_before": cp["before"][det], "effect_after": cp["after"][det], "change": change[det],
        "statistic": cp["stat"][det], "threshold": np.full(len(det), cp["threshold"]),
        "p_value": cp["p_value"][det], "q_value": drift_q[det], "n": cp["n"][det],
    })
    ser = series(grid, worker_fm)
    drift_series = pa.table({
        "labeler_id": pa.array(lab_names[worker_labeler[ser["worker"]]], pa.string()),
        "failure_mode": pa.array(fm_names[worker_fm[ser["worker"]]], pa.string()),
        "week": week_dates(ser["week"]), "n": ser["n"].astype(np.int64),
        "rate": ser["rate"], "peer_rate": ser["peer_rate"],
    })
    return drift_table, drift_series, int(np.sum(~np.isnan(cp["p_value"])))
