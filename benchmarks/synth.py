"""Synthetic labeling histories for benchmarks: the canonical `labels` columns, at scale, in a few seconds.

``make_labels()`` is fully vectorised numpy (no Python loop over rows), deterministic in ``seed``, and shaped
like a real eval-labeling history rather than uniform noise, so that grouping, slicing and agreement code
meets the distributions it will meet in production:

- every item is labeled at least once; the rest of the judgments land on items at random, so items carry
  1 + Poisson(mean - 1) labels (mean = n_judgments / n_items), i.e. a sparse, overlapping design;
- one labeler never labels the same item twice (the labelers of an item are distinct by construction);
- labelers differ in activity (gamma-distributed), accuracy (beta-distributed) and a few are lenient (say the
  positive label too often); each belongs to one of ``n_vendors`` vendors;
- failure modes have different pass rates (60%-97%, i.e. one label dominates as in real evals);
- judgments are spread over one year (UTC), batches are (vendor, ISO week) deliveries, guideline
  versions change twice during the year, durations are log-normal.

``cached_parquet()`` writes the table once under ``benchmarks/_work/`` (git-ignored) and reuses it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

WORK = Path(__file__).resolve().parent / "_work"
START = datetime(2025, 1, 6, tzinfo=UTC)  # a Monday
YEAR_US = 365 * 24 * 3600 * 1_000_000


def _strings(prefix: str, n: int, width: int) -> pa.Array:
    """``prefix0000..`` ids as an Arrow string array, built without a Python loop over Arrow."""
    return pa.array(np.char.add(prefix, np.char.zfill(np.arange(n).astype(str), width)), type=pa.string())


#: how labelers are assigned to items (``make_labels(assignment=...)``): "queue" (default: an item's labelers are
#: consecutive in activity order from a geometric start, so a few hundred labelers hold most judgments), "random"
#: (every labeler equally likely, an item's labelers drawn at random: about as many distinct labeler pairs as the
#: store allows), "concentrated" (80% of items start within the ten most active labelers, so about ten labelers
#: hold most judgments)
ASSIGNMENTS = ("queue", "random", "concentrated")


def make_labels(n_judgments: int = 10_000_000, n_items: int = 2_500_000, n_labelers: int = 2_000,
                n_failure_modes: int = 20, seed: int = 0, n_vendors: int = 5, assignment: str = "queue",
                n_guidelines: int = 3) -> pa.Table:
    """A labels table (docs/schema.md columns, without provenance) of exactly ``n_judgments`` rows. ``assignment`` (see
    ``ASSIGNMENTS``) and ``n_guidelines`` (versions in use over the year, changing at equal intervals) shape the
    store; the defaults give the tables earlier benchmarks measured, byte for byte."""
    if assignment not in ASSIGNMENTS:
        raise ValueError(f"assignment must be one of {ASSIGNMENTS}")
    if n_judgments < n_items:
        raise ValueError("n_judgments must be at least n_items (every item is labeled at least once)")
    rng = np.random.default_rng(seed)

    # -- items: failure mode, true label, when the item entered the labeling queue
    fm_weight = rng.gamma(1.5, 1.0, n_failure_modes)
    item_fm = rng.choice(n_failure_modes, n_items, p=fm_weight / fm_weight.sum())
    fm_pass_rate = rng.uniform(0.60, 0.97, n_failure_modes)
    item_truth = rng.random(n_items) < fm_pass_rate[item_fm]  # True = pass
    item_start = rng.integers(0, YEAR_US - 14 * 24 * 3600 * 1_000_000, n_items)

    # -- judgments -> items: each item once, the rest at random; sorted by item so ranks within items are easy
    extra = rng.integers(0, n_items, n_judgments - n_items)
    j_item = np.sort(np.concatenate([np.arange(n_items), extra]))
    first = np.searchsorted(j_item, np.arange(n_items))
    rank = np.arange(n_judgments) - first[j_item]  # 0-based position of the judgment within its item

    # -- labelers: distinct within an item (consecutive in activity order), unequal activity via the start
    # point
    activity = rng.gamma(2.0, 1.0, n_labelers)
    order = np.argsort(-activity)
    start_rank = np.minimum(rng.geometric(3.0 / n_labelers, n_items) - 1, n_labelers - 1)
    if assignment == "queue":
        j_labeler = order[(start_rank[j_item] + rank) % n_labelers]
    else:  # drawn from a generator of its own, so the draws below match the queue shape's
        arng = np.random.default_rng([seed, 1])
        if assignment == "random":
            # distinct within an item: random positive steps whose sum over an item stays below n_labelers
            max_k = int(np.bincount(j_item).max())
            step = arng.integers(1, max(2, n_labelers // max_k), n_judgments)
            step[first] = 0
            offset = np.cumsum(step) - np.cumsum(step)[first][j_item]
            start = arng.integers(0, n_labelers, n_items)
            j_labeler = arng.permutation(n_labelers)[(start[j_item] + offset) % n_labelers]
        else:
            start = np.where(arng.random(n_items) < 0.8, np.minimum(arng.geometric(0.3, n_items) - 1, 9),
                             arng.integers(0, n_labelers, n_items))
            j_labeler = order[(start[j_item] + rank) % n_labelers]
    accuracy = rng.beta(18, 2, n_labelers)  # mean 0.9
    lenient = rng.random(n_labelers) < 0.03
    vendor_of = rng.integers(0, n_vendors, n_labelers)

    correct = rng.random(n_judgments) < accuracy[j_labeler]
    label_pass = np.where(correct, item_truth[j_item], ~item_truth[j_item])
    label_pass |= lenient[j_labeler] & (rng.random(n_judgments) < 0.5)

    # -- time: within two weeks of the item's start, exponential delay
    day_us = 24 * 3600 * 1e6
    delay = np.minimum(rng.exponential(2.0 * day_us, n_judgments), 13 * day_us).astype(np.int64)
    t_us = int(START.timestamp() * 1_000_000) + item_start[j_item] + delay
    week = ((t_us - int(START.timestamp() * 1_000_000)) // (7 * 24 * 3600 * 1_000_000)).astype(np.int64)
    n_weeks = int(week.max()) + 1
    batch_code = vendor_of[j_labeler] * n_weeks + week
    since_start = t_us - int(START.timestamp() * 1e6)
    cuts = np.array([k * YEAR_US // n_guidelines for k in range(1, n_guidelines)], dtype=np.int64)
    guideline = np.searchsorted(cuts, since_start, side="right")

    items = _strings("item-", n_items, 7)
    labelers = _strings("labeler-", n_labelers, 5)
    fms = _strings("fm-", n_failure_modes, 2)
    vendors = pa.array([f"vendor-{chr(ord('a') + v)}" for v in range(n_vendors)], type=pa.string())
    batches = pa.array([f"{vendors[v].as_py()}-w{w:02d}" for v in range(n_vendors) for w in range(n_weeks)],
                       type=pa.string())
    guidelines = pa.array([f"v{k + 1}" for k in range(max(n_guidelines, 1))], type=pa.string())

    def take(dictionary: pa.Array, codes: np.ndarray) -> pa.Array:
        return pc.take(dictionary, pa.array(codes.astype(np.int32)))

    return pa.table(
        {
            "item_id": take(items, j_item),
            "labeler_id": take(labelers, j_labeler),
            "label": take(pa.array(["fail", "pass"]), label_pass.astype(np.int32)),
            "failure_mode": take(fms, item_fm[j_item]),
            "labeled_at": pa.array(t_us, type=pa.timestamp("us", tz="UTC")),
            "batch_id": take(batches, batch_code),
            "vendor": take(vendors, vendor_of[j_labeler]),
            "guideline_version": take(guidelines, guideline),
            "duration_s": pa.array(rng.lognormal(3.0, 0.8, n_judgments)),
        }
    )


def cached_parquet(name: str, **kwargs: int | str) -> Path:
    """``benchmarks/_work/<name>.parquet`` made by ``make_labels(**kwargs)`` unless it already exists."""
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"{name}.parquet"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        pq.write_table(make_labels(**kwargs), tmp, row_group_size=1_000_000)
        tmp.replace(path)
    return path


if __name__ == "__main__":  # pragma: no cover - manual use
    import time

    t = time.perf_counter()
    table = make_labels()
    print(f"{table.num_rows:,} rows in {time.perf_counter() - t:.1f} s, {table.nbytes / 2**20:.0f} MiB")
