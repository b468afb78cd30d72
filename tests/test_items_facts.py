"""The items stage's one query (`items_facts`): without repeated judgments it takes the per-item counts from the
judgments' own aggregation (``$repeats = 0``) instead of a second pass over the labels — the two must agree; and for
small label spaces it counts per item in one aggregation with a column per label (``facts_sql``), which must give
exactly what the two-step form (item × label, then item) gives."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

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
    args = {"current_guideline": "v2", "as_of": gold.as_of(ctx.cfg), **items.ALL_ITEMS}
    from_judgments = ctx.engine.sql(items.facts_sql(2), repeats=0, **args)
    from_labels = ctx.engine.sql(items.facts_sql(2), repeats=1, **args)
    assert from_judgments.num_rows == 91  # 90 judged items and one only in the items table
    assert from_judgments.equals(from_labels)
    assert from_judgments["n_current_guideline"].to_pylist() != [0] * 91  # the sums are exercised


@pytest.mark.parametrize("labels", [("pass",), ("pass", "fail"), ("a", "b", "c"), ("1", "2", "3", "4", "5")])
def test_one_aggregation_with_count_columns_equals_the_two_step_form(labels):
    """Ties, unanimous items, flagged labelers (all failure modes, one failure mode, since a date), a listed gold
    and a honeypot answer, items only in the items table: every column the same in both forms."""
    rng = np.random.default_rng(len(labels))
    rows, seen = [], set()
    for i in range(600):
        item, labeler = f"i{int(rng.integers(0, 120)):03d}", f"l{int(rng.integers(0, 15))}"
        if (item, labeler) in seen:
            continue
        seen.add((item, labeler))
        rows.append({"item_id": item, "labeler_id": labeler, "label": str(rng.choice(labels)),
                     "failure_mode": f"fm{int(item[1:]) % 3}", "guideline_version": ["v1", "v2"][i % 2],
                     "labeled_at": T0 + timedelta(days=int(rng.integers(0, 60)))})
    listed = [{"item_id": f"i{k:03d}", "gold_label": labels[k % len(labels)], "failure_mode": f"fm{k % 3}"}
              for k in range(0, 120, 7)]
    listed += [{"item_id": f"i{k:03d}", "honeypot_label": labels[-1], "failure_mode": f"fm{k % 3}"}
               for k in range(3, 120, 11)] + [{"item_id": "only-listed", "gold_label": labels[0]}]
    ctx = context(labels=rows, items=listed)
    define_judgments(ctx)
    ctx.engine.register("flagged_labelers", gold.flagged_table([("l1", None), ("l2", "fm1"),
                                                                ("l3", "fm0", T0 + timedelta(days=30))]))
    ctx.engine.register("items_consensus", items._CONSENSUS_SCHEMA.empty_table())
    assert items.register_label_codes(ctx.engine) == sorted(set(labels))
    args = {"current_guideline": "v2", "as_of": gold.as_of(ctx.cfg), "repeats": 0, **items.ALL_ITEMS}
    two_step = ctx.engine.sql(items.facts_sql(None), **args)
    one_pass = ctx.engine.sql(items.facts_sql(len(labels)), **args)
    assert "judged_by_count_columns" in items.facts_sql(len(labels)) and "judged_by_label" in items.facts_sql(None)
    assert two_step.num_rows > 100 and "only-listed" in two_step["item_id"].to_pylist()
    assert (sum(two_step["majority_tied"].to_pylist()) > 0 and sum(two_step["kept_tied"].to_pylist()) > 0) or \
        len(labels) == 1
    assert two_step["n_kept"].to_pylist() != two_step["n_labelers"].to_pylist()  # labelers were set aside
    assert one_pass.equals(two_step)
