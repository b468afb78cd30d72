"""The gold owner (evalaudit.gold): one rule for flagged labelers, one gold set, one definition of stale — and the
places that used to restate them (labelers stage, report, notebooks, gold-set contract) now agree with it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from evalaudit import gold, items, labelers, pipeline
from evalaudit.config import Config
from evalaudit.findings import KINDS, SEVERITIES, Finding
from evalaudit.labelers import flagged_labelers as reexported
from evalaudit.labelers import judgments
from tests.helpers import T0, context
from tests.test_items import ITEMS, LABELERS, LABELS

SINCE = "2026-03-01T00:00:00+00:00"


def finding(kind: str, severity: str, labeler: str | None, fm: str | None, since: str | None = None) -> Finding:
    return Finding(kind, severity, "m", "e", labeler_id=labeler, failure_mode=fm,
                   details={"since": since} if since else {})


FINDINGS = [
    finding("labeler_leniency", "high", "a", "x"),
    finding("labeler_severity", "low", "b", "x"),           # below the run's floor
    finding("labeler_drift", "medium", "c", "y", SINCE),    # drift alone: only what follows the change point
    finding("labeler_drift", "medium", "d", "x", SINCE),
    finding("labeler_leniency", "low", "d", "x"),           # ... unless also lenient (any severity): whole history
    finding("labeler_spam", "medium", "e", None),           # spam: every failure mode
    finding("labeler_leniency", "medium", "e", "x"),        # redundant beside the labeler's spam row
    finding("labeler_collusion", "high", "f", None),        # not a flag: which of the pair copies is unknown
    finding("labeler_concentration", "high", "g", "x"),     # not a flag: concentration is no bias
    finding("poisoned_items", "high", None, "x"),
]


def test_flagged_rule_kinds_floor_since_and_spam() -> None:
    assert gold.flagged_labelers(FINDINGS) == [("a", "x"), ("c", "y"), ("d", "x"), ("e", None), ("e", "x")]
    assert gold.flagged_labelers(FINDINGS, "low") == [("a", "x"), ("b", "x"), ("c", "y"), ("d", "x"), ("e", None),
                                                      ("e", "x")]
    assert gold.flagged_labelers(FINDINGS, "high") == [("a", "x")]
    assert reexported is gold.flagged_labelers  # `from evalaudit.labelers import flagged_labelers` still works
    # the same answer from findings.json as from the Finding objects (the report and history read the JSON)
    assert gold.flagged_labelers([f.to_json() for f in FINDINGS]) == gold.flagged_labelers(FINDINGS)
    since = datetime.fromisoformat(SINCE)
    assert gold.triples(gold.flagged(FINDINGS)) == [("a", "x", None), ("c", "y", since), ("d", "x", None),
                                                    ("e", None, None)]
    # a floor, labelers added on every failure mode, labelers kept: parameters of the one rule
    assert gold.triples(gold.flagged(FINDINGS, exclude=["z"], min_severity="high", keep=["a"])) == [
        ("z", None, None)]


def test_is_flagged_reads_pairs_like_the_audited_gold() -> None:
    pairs = gold.flagged_labelers(FINDINGS)
    labs = ["a", "a", "a", "e", "e", "c", "b", "g"]
    fms = ["x", "y", "all", "w", "all", "y", "x", "x"]
    assert gold.is_flagged(pairs, labs, fms) == [True, False, True, True, True, True, False, False]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(KINDS), st.sampled_from(SEVERITIES), st.sampled_from(["a", "b", None]),
                          st.sampled_from(["x", "y", None]), st.booleans()), max_size=12),
       st.lists(st.sampled_from(["a", "b", "c"]), max_size=2), st.lists(st.sampled_from(["a", "b", "c"]), max_size=2))
def test_flagged_table_properties(rows, exclude, keep) -> None:
    findings = [finding(k, s, lab, fm, SINCE if drift else None) for k, s, lab, fm, drift in rows]
    floors = [gold.triples(gold.flagged(findings, exclude, s, keep)) for s in SEVERITIES]
    labs = [{t[0] for t in f} for f in floors]
    assert labs[2] <= labs[1] <= labs[0]  # a higher floor never flags more labelers
    for table in floors:
        keys = [(lab, fm) for lab, fm, _ in table]
        assert len(keys) == len(set(keys))  # a judgment matches at most one row (the SQL relies on it)
        everywhere = {lab for lab, fm, _ in table if fm is None}
        assert not any(fm is not None and lab in everywhere for lab, fm, _ in table)
        assert not {lab for lab, _, _ in table} & set(keep)
        assert {(lab, None, None) for lab in exclude if lab not in keep} <= set(table)
        # only drift sets a since, and never when the pair is flagged over its whole history
        whole = {(f.labeler_id, f.failure_mode) for f in findings if f.kind in gold.WHOLE_HISTORY_KINDS}
        assert all(since is None for lab, fm, since in table if (lab, fm) in whole)


def test_labelers_stage_gold_set_is_the_items_stage_gold_set() -> None:
    """One gold set: the items the labelers stage weighs as gold (concentration, gold weight share) are the judged
    items of items.parquet that are gold — here the items table lists a gold label for some judged items only
    (before, the labelers stage counted only those)."""
    cfg = Config()
    cfg.gold.as_of = "2026-06-01"
    ctx = context(cfg, labels=LABELS, items=ITEMS, labelers=LABELERS)
    pipeline.run_stages(ctx, [("labelers", labelers.stage), ("items", items.stage)])  # consensus for every item
    table = ctx.tables["items"]
    judged = table.filter(pa.array(np.asarray(table["n_labelers"].to_pylist()) > 0))
    expected = {r["item_id"] for r, g in zip(judged.to_pylist(), gold.in_gold_set(judged), strict=True) if g}
    J = judgments.load(ctx.engine, ctx.labels)
    got = {i for i, g in zip(J.item_id.to_pylist(), J.gold, strict=True) if g}
    assert got == expected == {"i1", "i2", "i3", "i4", "i5", "i7", "i8", "i9"}


def test_stale_is_one_definition() -> None:
    """The items stage's stale flags and the gold-set contract's stale share come from the same rule."""
    cfg = Config()
    cfg.gold.max_age_days = 30
    moment = T0 + timedelta(days=100)
    last = pa.array([T0 + timedelta(days=99), T0, None, T0], pa.timestamp("us", tz="UTC"))
    out = gold.stale_flags(cfg, moment, "v2", np.array([2, 1, 1, 2]), np.array([0, 0, 1, 1]), last,
                           np.array([2, 1, 0, 2]), np.array([2, 0, 0, 1]))
    assert out["superseded_guideline"].tolist() == [False, True, False, False]
    assert out["too_old"].tolist() == [False, True, False, True]  # no time: never too old
    assert out["labelers_inactive"].tolist() == [False, False, True, False]
    flags = pa.array([["single_label"], ["too_old"], None, ["labelers_inactive", "x"], []], pa.list_(pa.string()))
    assert gold.stale_mask(flags).tolist() == [False, True, False, True, False]
    assert set(gold.STALE_FLAGS) <= set(items.FLAGS)


def test_as_of_is_read_once() -> None:
    cfg = Config()
    cfg.gold.as_of = "2026-06-01"
    assert gold.as_of(cfg) == datetime(2026, 6, 1, tzinfo=UTC)
