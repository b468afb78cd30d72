"""A small labeling-history simulator with planted labeler faults, for the labelers tests and the detection-power
benchmark (the project's demo generator tells one story; measuring power needs the fault sizes as parameters).

Truth per item is positive with probability ``base_rate``; an honest labeler reports it with sensitivity and
specificity drawn around ``accuracy``. A lenient labeler on a failure mode says the positive label ``effect``
points more often than they otherwise would (fail answers flipped to pass); a drifting one does so only after
``since``; a spammer answers at random. ``overlap`` is the share of items judged by 3 labelers (the rest by one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa


@dataclass
class Fault:
    kind: str  # "labeler_leniency", "labeler_severity", "labeler_drift" or "labeler_spam"
    labeler: int
    failure_mode: int | None = None
    effect: float = 0.2
    since_week: int = 0


@dataclass
class Scenario:
    n_items: int = 20_000
    n_labelers: int = 40
    n_failure_modes: int = 4
    overlap: float = 0.2
    honeypot_share: float = 0.0
    base_rate: float = 0.6
    accuracy: float = 0.9
    weeks: int = 26
    seed: int = 0
    faults: list[Fault] = field(default_factory=list)
    #: weight of labeler 0 in assignment (the "seed story" labeler holding a large share), 1 = like everyone
    heavy_weight: float = 1.0
    #: non-random assignment: this labeler is handed easier items — each truly negative item first drawn for them
    #: goes to another labeler with probability ``easy_skip`` (None: assignment is random)
    easy_labeler: int | None = None
    easy_skip: float = 0.5


START = datetime(2025, 1, 6, tzinfo=UTC)


def generate(s: Scenario, with_truth: bool = False) -> tuple[dict[str, pa.Table], list[dict]]:
    """(tables {labels, items}, planted faults in truth.json's shape). ``with_truth``: the tables also hold
    ``truth`` (item_id, truth 0/1) and ``labeler_truth`` (labeler_id, sensitivity, specificity) for benchmarks that
    compare against a truth-knowing oracle or a bound that knows every parameter."""
    rng = np.random.default_rng(s.seed)
    truth = (rng.random(s.n_items) < s.base_rate).astype(np.int8)
    fm = rng.integers(0, s.n_failure_modes, s.n_items)
    week = rng.integers(0, s.weeks, s.n_items)
    k = np.where(rng.random(s.n_items) < s.overlap, 3, 1)
    item = np.repeat(np.arange(s.n_items), k)
    w = np.ones(s.n_labelers)
    w[0] = s.heavy_weight
    w /= w.sum()
    # distinct labelers per item: draw with weights, redraw collisions once then drop duplicates
    lab = rng.choice(s.n_labelers, size=len(item), p=w)
    if s.easy_labeler is not None:
        moved = (lab == s.easy_labeler) & (truth[item] == 0) & (rng.random(len(item)) < s.easy_skip)
        others = (s.easy_labeler + rng.integers(1, s.n_labelers, len(item))) % s.n_labelers
        lab = np.where(moved, others, lab)
    key = item.astype(np.int64) * s.n_labelers + lab
    _, first = np.unique(key, return_index=True)
    keep = np.zeros(len(item), bool)
    keep[first] = True
    item, lab = item[keep], lab[keep]
    sens = np.clip(rng.normal(s.accuracy, 0.02, s.n_labelers), 0.5, 0.99)
    spec = np.clip(rng.normal(s.accuracy, 0.02, s.n_labelers), 0.5, 0.99)
    t = truth[item]
    says = np.where(t == 1, rng.random(len(item)) < sens[lab], rng.random(len(item)) >= spec[lab]).astype(np.int8)
    f_item = fm[item]
    wk = week[item] + rng.integers(0, 1, len(item))
    planted = []
    for f in s.faults:
        mine = (lab == f.labeler) & ((f_item == f.failure_mode) if f.failure_mode is not None else True)
        if f.kind == "labeler_spam":
            says = np.where(mine, (rng.random(len(item)) < 0.5).astype(np.int8), says)
        else:
            active = mine & (wk >= f.since_week)
            p_pass = s.base_rate * sens[f.labeler] + (1 - s.base_rate) * (1 - spec[f.labeler])
            if f.kind in ("labeler_leniency", "labeler_drift") and f.effect > 0:
                flip = min(1.0, f.effect / max(1 - p_pass, 1e-9))
                says = np.where(active & (says == 0) & (rng.random(len(item)) < flip), 1, says).astype(np.int8)
            else:
                flip = min(1.0, abs(f.effect) / max(p_pass, 1e-9))
                says = np.where(active & (says == 1) & (rng.random(len(item)) < flip), 0, says).astype(np.int8)
        planted.append({"kind": f.kind, "labeler_id": f"L{f.labeler:03d}",
                        "failure_mode": None if f.failure_mode is None else f"fm{f.failure_mode}",
                        "effect": f.effect,
                        "since": (START + timedelta(weeks=f.since_week)).date().isoformat()})
    seconds = rng.integers(0, 7 * 86400, len(item))
    ts = np.datetime64(START.replace(tzinfo=None), "us") + (wk * 7 * 86400 + seconds).astype("timedelta64[s]")
    hp = rng.random(s.n_items) < s.honeypot_share
    labels = pa.table({
        "item_id": pa.array([f"i{i:07d}" for i in item]),
        "labeler_id": pa.array([f"L{x:03d}" for x in lab]),
        "label": pa.array(np.where(says == 1, "pass", "fail")),
        "failure_mode": pa.array([f"fm{x}" for x in f_item]),
        "labeled_at": pa.array(ts).cast(pa.timestamp("us", tz="UTC")),
        "batch_id": pa.array([f"b{x}" for x in wk]),
        "duration_s": rng.gamma(4.0, 8.0, len(item)),
    })
    items = pa.table({
        "item_id": pa.array([f"i{i:07d}" for i in range(s.n_items)]),
        "failure_mode": pa.array([f"fm{x}" for x in fm]),
        "gold_label": pa.array([None] * s.n_items, pa.string()),
        "honeypot_label": pa.array(np.where(hp, np.where(truth == 1, "pass", "fail"), None).tolist(), pa.string()),
        # ingested once, after the last judgment: the items table as a store holds it (an item's latest row wins)
        "ingested_at": pa.array([START + timedelta(weeks=s.weeks)] * s.n_items, pa.timestamp("us", tz="UTC")),
    })
    tables = {"labels": labels, "items": items}
    if with_truth:
        tables["truth"] = pa.table({"item_id": items["item_id"], "truth": pa.array(truth.astype(np.int64))})
        tables["labeler_truth"] = pa.table({"labeler_id": pa.array([f"L{x:03d}" for x in range(s.n_labelers)]),
                                            "sensitivity": pa.array(sens), "specificity": pa.array(spec)})
    return tables, planted
