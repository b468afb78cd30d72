"""Gold items: gold derivation, every flag on a constructed case whose answers are known, the audited gold."""

from __future__ import annotations

from datetime import timedelta

import pyarrow as pa
import pytest

from evalaudit import gold, items
from evalaudit.config import Config
from tests.helpers import T0, context


def j(item, labeler, label, fm="x", days=0, guideline="v2"):
    return {"item_id": item, "labeler_id": labeler, "label": label, "failure_mode": fm,
            "labeled_at": T0 + timedelta(days=days), "guideline_version": guideline}


LABELS = [
    j("i1", "lenient", "pass"),                                           # rests on the flagged labeler alone
    j("i2", "lenient", "pass"), j("i2", "b", "fail"), j("i2", "c", "fail"),  # flagged vote decided it
    j("i3", "b", "pass"), j("i3", "c", "pass"),                            # clean
    j("i4", "b", "fail", guideline="v1"), j("i4", "c", "fail", guideline="v1"),  # superseded guideline
    j("i5", "gone", "pass", days=1), j("i5", "gone", "fail", days=2),      # repeated: latest (fail) wins
    j("i7", "b", "pass", guideline="v1"), j("i7", "b", "pass", days=3),   # re-labeled under v2: not stale
    j("i8", "b", "pass"), j("i8", "c", "fail"),                            # tie, no gold given
    j("i9", "lenient", "pass", fm="y"),                                    # flagged on x only: kept on y
    j("hp", "b", "pass"),
]
ITEMS = [
    {"item_id": "i1", "gold_label": "pass"}, {"item_id": "i2", "gold_label": "pass"},
    {"item_id": "i3", "gold_label": "pass"}, {"item_id": "i4", "gold_label": "fail"},
    {"item_id": "i6", "failure_mode": "z", "gold_label": "pass"},          # never judged
    {"item_id": "hp", "honeypot_label": "fail"},
]
LABELERS = [{"labeler_id": "gone", "active_to": T0 - timedelta(days=400)}, {"labeler_id": "b"}]


@pytest.fixture
def result():
    cfg = Config()
    cfg.gold.as_of = "2026-06-01"
    ctx = context(cfg, labels=LABELS, items=ITEMS, labelers=LABELERS)
    ctx.tables["flagged_labelers"] = gold.flagged_table([("lenient", "x")])
    out = items.stage(ctx)
    return {r["item_id"]: r for r in out.tables["items"].to_pylist()}, out


def test_flags(result):
    rows, _ = result
    flags = {k: set(v["flags"]) for k, v in rows.items()}
    assert flags["i1"] == {"flagged_labeler_only", "single_label"}
    assert flags["i2"] == {"flagged_deciding_vote"}
    assert flags["i3"] == set()
    assert flags["i4"] == {"superseded_guideline"}
    assert flags["i5"] == {"single_label", "labelers_inactive"}
    assert flags["i6"] == {"no_judgments"}
    assert flags["i7"] == {"single_label"}  # judged under v1, then again under the current v2
    assert flags["i9"] == {"single_label"}  # the labeler is flagged on x, not y


def test_gold_sources_and_values(result):
    rows, out = result
    assert (rows["i1"]["gold_label"], rows["i1"]["gold_source"]) == ("pass", "items.gold_label")
    assert (rows["i5"]["gold_label"], rows["i5"]["gold_source"]) == ("fail", "majority")  # latest repeat wins
    assert (rows["hp"]["gold_label"], rows["hp"]["gold_source"], rows["hp"]["is_honeypot"]) == (
        "fail", "honeypot", True)
    assert rows["i8"]["gold_label"] is None and rows["i8"]["audited_status"] == "no_gold"  # a tie is not guessed
    assert out.summary["items"]["current_guideline"] == "v2"  # the most recent judgment's guideline


def test_audited_gold(result):
    rows, _ = result
    assert (rows["i1"]["audited_label"], rows["i1"]["audited_status"]) == (None, "excluded_no_judgment")
    assert (rows["i2"]["audited_label"], rows["i2"]["audited_status"]) == ("fail", "rederived")
    assert (rows["i3"]["audited_label"], rows["i3"]["audited_status"]) == ("pass", "unchanged")


def test_poison_score_without_posterior_is_smoothed_disagreement(result):
    rows, _ = result
    # i2: gold pass; 1 of 3 judgments agrees -> 1 - (1 + 0.5) / (3 + 1)
    assert rows["i2"]["poison_score"] == pytest.approx(1 - 1.5 / 4)
    assert rows["i3"]["poison_score"] == pytest.approx(1 - 2.5 / 3)
    assert rows["i6"]["poison_score"] == pytest.approx(0.5)  # never judged: no evidence either way


def test_poison_score_uses_the_dawid_skene_posterior(result):
    cfg = Config()
    ctx = context(cfg, labels=LABELS, items=ITEMS)
    ctx.tables["flagged_labelers"] = gold.flagged_table([])
    ctx.tables["consensus"] = pa.table({"item_id": ["i2", "i3"], "posterior_positive": [0.02, 0.97]})
    rows = {r["item_id"]: r for r in items.stage(ctx).tables["items"].to_pylist()}
    assert rows["i2"]["poison_score"] == pytest.approx(0.98)  # gold pass, P(pass) = 0.02
    assert rows["i3"]["poison_score"] == pytest.approx(0.03)
    assert "gold_disagrees_with_consensus" in rows["i2"]["flags"]
    assert "gold_disagrees_with_consensus" not in rows["i3"]["flags"]


def test_relabel_priority_follows_poison(result):
    rows, _ = result
    gold = [r for r in rows.values() if r["gold_label"] is not None and not r["is_honeypot"]]
    ranked = sorted(gold, key=lambda r: r["relabel_priority"])
    poisons = [r["poison_score"] for r in ranked]
    assert poisons == sorted(poisons, reverse=True)
    assert sorted(r["relabel_priority"] for r in rows.values()) == list(range(1, len(rows) + 1))


def test_too_old_and_as_of():
    cfg = Config()
    cfg.gold.as_of = (T0 + timedelta(days=100)).isoformat()
    cfg.gold.max_age_days = 30
    labels = [j("old", "b", "pass"), j("new", "b", "pass", days=90)]
    ctx = context(cfg, labels=labels)
    rows = {r["item_id"]: r for r in items.stage(ctx).tables["items"].to_pylist()}
    assert "too_old" in rows["old"]["flags"] and "too_old" not in rows["new"]["flags"]


def test_flagged_table_dedupes_so_each_judgment_matches_once():
    t = gold.flagged_table([("a", "x"), ("a", None), ("b", "x", T0), ("b", "x")])
    rows = sorted(t.to_pylist(), key=lambda r: r["labeler_id"])
    assert rows == [{"labeler_id": "a", "failure_mode": None, "since": None},
                    {"labeler_id": "b", "failure_mode": "x", "since": None}]


def test_drift_since_limits_what_is_set_aside():
    labels = [j("early", "d", "pass", days=1), j("early", "e", "pass", days=1),
              j("late", "d", "pass", days=50), j("late", "e", "fail", days=50), j("late", "f", "fail", days=50)]
    ctx = context(Config(), labels=labels)
    ctx.tables["flagged_labelers"] = gold.flagged_table([("d", "x", T0 + timedelta(days=30))])
    rows = {r["item_id"]: r for r in items.stage(ctx).tables["items"].to_pylist()}
    assert rows["early"]["audited_status"] == "unchanged"
    assert rows["late"]["audited_status"] == "rederived" and rows["late"]["audited_label"] == "fail"


def test_findings_name_reason_and_counts():
    labels = [j(f"s{k}", "b", "fail", guideline="v1") for k in range(12)] + [j("now", "b", "pass", days=5)]
    ctx = context(Config(), labels=labels)
    out = items.stage(ctx)
    (f,) = [f for f in out.findings if f.kind == "stale_items"]
    assert f.details["reason"] == "superseded_guideline" and f.n == 12
    assert f.effect == pytest.approx(12 / 13)
    assert f.severity == "high" and "v2" in f.message


def _by_item(table: pa.Table) -> list[dict]:
    return sorted(table.to_pylist(), key=lambda r: r["item_id"])


@pytest.mark.parametrize(("first", "then"), [([("lenient", "x")], []), ([], [("lenient", "x")]),
                                             ([("lenient", None)], [("b", "x", T0 + timedelta(days=1))])])
def test_rederive_equals_a_fresh_stage(first, then):
    """Re-deriving the run's items table for other flagged labelers gives what the whole stage would."""
    cfg = Config()
    cfg.gold.as_of = "2026-06-01"
    ctx = context(cfg, labels=LABELS, items=ITEMS, labelers=LABELERS)
    ctx.tables["flagged_labelers"] = gold.flagged_table(first)
    run = items.stage(ctx)
    ctx.tables["flagged_labelers"] = gold.flagged_table(then)
    again = items.rederive(ctx, run.tables["items"])
    fresh = items.stage(ctx)
    assert _by_item(again.tables["items"]) == _by_item(fresh.tables["items"])
    assert _by_item(again.tables["gold_items"]) == _by_item(fresh.tables["gold_items"])
    assert [f.to_json() for f in again.findings] == [f.to_json() for f in fresh.findings]
    assert again.summary == fresh.summary
    assert _by_item(again.tables["items"]) != _by_item(run.tables["items"])  # the flagged labelers mattered


def test_rederive_moves_the_posterior_threshold():
    cfg = Config()
    ctx = context(cfg, labels=LABELS, items=ITEMS)
    ctx.tables["flagged_labelers"] = gold.flagged_table([])
    ctx.tables["consensus"] = pa.table({"item_id": ["i2", "i3"], "posterior_positive": [0.2, 0.97]})
    run = items.stage(ctx)
    assert "gold_disagrees_with_consensus" not in {r["item_id"]: r for r in run.tables["items"].to_pylist()}[
        "i2"]["flags"]  # P(gold wrong) = 0.8 < 0.9 by default
    ctx.cfg.items.consensus_min_posterior = 0.75
    again = {r["item_id"]: r for r in items.rederive(ctx, run.tables["items"]).tables["items"].to_pylist()}
    assert "gold_disagrees_with_consensus" in again["i2"]["flags"]
    assert "gold_disagrees_with_consensus" not in again["i3"]["flags"]


def test_ties_among_many_labels_are_not_guessed():
    """Majority and audited gold over a label space of four: a tie at the top is no gold, whatever the codes."""
    labels = [j("t3", "a", "red"), j("t3", "b", "green"), j("t3", "c", "blue"),           # three-way tie
              j("m", "a", "red"), j("m", "b", "red"), j("m", "c", "blue"), j("m", "d", "amber"),  # red wins
              j("k", "a", "red"), j("k", "b", "blue"), j("k", "lenient", "red"),         # kept: red vs blue tie
              j("w", "a", "amber"), j("w", "b", "amber"), j("w", "lenient", "blue"), j("w", "c", "blue"),
              j("w", "d", "blue")]                                                       # kept: amber 2 : blue 2
    ctx = context(Config(), labels=labels, items=[{"item_id": "w", "gold_label": "blue"}])
    ctx.tables["flagged_labelers"] = gold.flagged_table([("lenient", None)])
    rows = {r["item_id"]: r for r in items.stage(ctx).tables["items"].to_pylist()}
    assert rows["t3"]["gold_label"] is None and rows["t3"]["audited_status"] == "no_gold"
    assert (rows["m"]["gold_label"], rows["m"]["gold_source"]) == ("red", "majority")
    assert rows["m"]["poison_score"] == pytest.approx(1 - 2.5 / 5)  # 2 of 4 agree, Jeffreys-smoothed
    assert (rows["k"]["gold_label"], rows["k"]["audited_label"], rows["k"]["audited_status"]) == (
        "red", None, "excluded_tie")
    assert "flagged_deciding_vote" in rows["k"]["flags"]
    assert (rows["w"]["gold_label"], rows["w"]["audited_status"]) == ("blue", "excluded_tie")


def test_rederive_agrees_with_the_stage_on_ties():
    labels = [j("k", "a", "red"), j("k", "b", "blue"), j("k", "lenient", "red"),
              j("w", "a", "amber"), j("w", "b", "amber"), j("w", "lenient", "blue"), j("w", "c", "blue"),
              j("w", "d", "blue"), j("z", "a", "red"), j("z", "lenient", "red", days=2), j("z", "lenient", "blue")]
    ctx = context(Config(), labels=labels, items=[{"item_id": "w", "gold_label": "blue"}])
    ctx.tables["flagged_labelers"] = gold.flagged_table([])
    run = items.stage(ctx)
    ctx.tables["flagged_labelers"] = gold.flagged_table([("lenient", None)])
    again, fresh = items.rederive(ctx, run.tables["items"]), items.stage(ctx)
    assert _by_item(again.tables["items"]) == _by_item(fresh.tables["items"])
    statuses = {r["item_id"]: r["audited_status"] for r in fresh.tables["items"].to_pylist()}
    assert statuses == {"k": "excluded_tie", "w": "excluded_tie", "z": "rederived"}


def test_excluded_labelers_are_set_aside_on_every_failure_mode():
    """`[labelers] exclude` sets a labeler aside in the audited gold with no finding against them, on every failure
    mode and over their whole history; without it the same store leaves their judgments in."""
    labels = [j("a", "d", "pass"), j("a", "e", "fail"), j("a", "f", "fail"),
              j("b", "d", "pass", fm="y"), j("b", "e", "pass", fm="y"), j("b", "f", "fail", fm="y"),
              j("c", "e", "pass")]
    plain = {r["item_id"]: r for r in items.stage(context(Config(), labels=labels)).tables["items"].to_pylist()}
    assert all(r["audited_status"] == "unchanged" for r in plain.values())
    cfg = Config()
    cfg.labelers.exclude = ["d"]
    ctx = context(cfg, labels=labels)
    assert gold.flagged_for_run(ctx).to_pylist() == [{"labeler_id": "d", "failure_mode": None, "since": None}]
    rows = {r["item_id"]: r for r in items.stage(ctx).tables["items"].to_pylist()}
    # on failure mode x: re-derived from e and f, the same label; on y: d's vote decided it, and without it e and f tie
    assert rows["a"]["audited_status"] == "rederived" and rows["a"]["audited_label"] == "fail"
    assert rows["b"]["audited_status"] == "excluded_tie" and rows["b"]["flags"] == ["flagged_deciding_vote"]
    assert rows["c"]["audited_status"] == "unchanged"
