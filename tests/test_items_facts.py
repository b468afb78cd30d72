"""The items stage's one query (`items_facts`): without repeated judgments it takes the per-item counts from the
judgments' own aggregation (``$repeats = 0``) instead of a second pass over the labels — the two must agree."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from evalaudit import gold, items
from evalaudit.stage import define_judgments
from tests.helpers import T0, context


def test_counts_from_the_judgments_equal_those_from_the_labels_when_nothing_repeats():
    rng = np.random.default_rng(0)
    rows = [{"item_id": f"i{i % 90:03d}", "labeler_id": f"l{(i * 7) % 13}", "label": str(rng.choice(["pass", "fail"])),
             "failure_mode": f"fm{i % 90 % 3}", "guideline_version": [None, "v1", "v2"][i % 3],
             "labeled_at": None if i % 11 == 0 else T0 + timedelta(days=int(i))} for i in range(300)]
    seen, unique = set(), []
    for r in rows:  # one judgment per labeler and item
        if (r["item_id"], r["labeler_id"]) not in seen:
            seen.add((r["item_id"], r["labeler_id"]))
            unique.append(r)
    ctx = context(labels=unique, items=[{"item_id": "i001", "gold_label": "pass", "failure_mode": "fm1"},
                                        {"item_id": "zz", "gold_label": "fail", "failure_mode": "fm0"}])
    counted = define_judgments(ctx)
    assert counted["n_rows"] == counted["n_judgments"]
    items._register_inputs(ctx)
    args = {"current_guideline": "v2", "as_of": gold.as_of(ctx.cfg)}
    from_judgments = ctx.engine.query("items_facts", repeats=0, **args)
    from_labels = ctx.engine.query("items_facts", repeats=1, **args)
    assert from_judgments.num_rows == 91  # 90 judged items and one only in the items table
    assert from_judgments.equals(from_labels)
    assert from_judgments["n_current_guideline"].to_pylist() != [0] * 91  # the sums are exercised
