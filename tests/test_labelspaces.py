"""The labelers and items stages on every label space (docs/labelers.md, "Label spaces"): multi-class Dawid–Skene
against crowd-kit, gold for every judged item (ties resolved by the posterior), per-label leniency, the ordered-scale
shift, spam judged against the leave-one-out consensus, flagged labelers never serving as peers, and stores without
timestamps."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalaudit import impact, items, labelers
from evalaudit.config import Config
from evalaudit.labelers import dawid_skene, judgments, reference
from evalaudit.pipeline import run_stages
from tests.helpers import T0, context, table


def _cfg(**labels) -> Config:
    cfg = Config()
    for k, v in labels.items():
        setattr(cfg.labels, k, v)
    return cfg


def _rows(item_labels: list[tuple[str, str, str]], timed: bool = True, seed: int = 0) -> list[dict]:
    """Label rows from (item, labeler, label), spread over 12 weeks (or without a time)."""
    rng = np.random.default_rng(seed)
    return [{"item_id": i, "labeler_id": w, "label": lab, "failure_mode": "fm",
             "labeled_at": (T0 + timedelta(days=int(rng.integers(0, 84)))) if timed else None}
            for i, w, lab in item_labels]


def _nominal(n_items: int, n_lab: int, per_item: int, labels: list[str], seed: int, acc: float = 0.8,
             overuse: dict[str, tuple[str, float]] | None = None, spam: set[str] | None = None,
             everyone: bool = False) -> tuple[list[tuple[str, str, str]], np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, len(labels), n_items)
    names = [f"L{j:02d}" for j in range(n_lab)]
    out = []
    for i in range(n_items):
        who = range(n_lab) if everyone else rng.choice(n_lab, per_item, replace=False)
        for j in who:
            w = names[j]
            k = truth[i] if rng.random() < acc else rng.integers(0, len(labels))
            if overuse and w in overuse and rng.random() < overuse[w][1]:
                k = labels.index(overuse[w][0])
            if spam and w in spam:
                k = rng.integers(0, len(labels))
            out.append((f"i{i:04d}", w, labels[k]))
    return out, truth


def _run(cfg: Config, rows: list[dict], **tables):
    ctx = context(cfg, labels=rows, **tables)
    run_stages(ctx, [("labelers", labelers.stage), ("items", items.stage), ("impact", impact.stage)])
    return ctx


def _serious(ctx, kinds=("labeler_leniency", "labeler_severity", "labeler_spam", "labeler_drift")):
    return [f for f in ctx.findings if f.kind in kinds and f.severity in ("medium", "high")]


# -- multi-class Dawid–Skene ------------------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning", "ignore:.*:Warning:crowdkit")
@pytest.mark.parametrize("seed", [1, 2])
def test_multiclass_dawid_skene_matches_crowdkit(seed):
    pd = pytest.importorskip("pandas")
    crowdkit = pytest.importorskip("crowdkit.aggregation")
    rng = np.random.default_rng(seed)
    K, n_items, n_workers = 4, 250, 10
    truth = rng.integers(0, K, n_items)
    acc = rng.uniform(0.35, 0.95, n_workers)
    rows = []
    for i in range(n_items):
        for w in rng.choice(n_workers, 5, replace=False):
            rows.append((i, w, truth[i] if rng.random() < acc[w] else rng.integers(0, K)))
    df = pd.DataFrame(rows, columns=["task", "worker", "label"])
    ck = crowdkit.DawidSkene(n_iter=100, tol=1e-9).fit(df)
    ours = dawid_skene.fit_multiclass(df.label.to_numpy(), df.task.to_numpy(), df.worker.to_numpy(),
                                      np.zeros(n_items, int), np.zeros(n_workers, int), K, prior_strength=0,
                                      tol=1e-10, max_iter=500, eps=1e-12)
    probas = ck.probas_.sort_index().reindex(columns=range(K)).to_numpy()
    assert np.abs(probas - ours.posterior).max() < 0.01
    assert (ck.labels_.sort_index().to_numpy() == ours.posterior.argmax(axis=1)).mean() >= 0.99
    # each confusion row is a distribution
    assert np.allclose(ours.confusion.sum(axis=2), 1.0)


def test_multiclass_with_shrinkage_recovers_truth_better_than_majority():
    rows, truth = _nominal(400, 10, 3, ["a", "b", "c", "d"], seed=5, acc=0.6)
    it = np.array([int(i[1:]) for i, _, _ in rows])
    wk = np.array([int(w[1:]) for _, w, _ in rows])
    code = np.array(["abcd".index(x) for _, _, x in rows])
    res = dawid_skene.fit_multiclass(code, it, wk, np.zeros(400, int), np.zeros(10, int), 4)
    assert (res.posterior.argmax(axis=1) == truth).mean() > 0.75
    assert res.converged


# -- gold on every judged item -----------------------------------------------------------------------------------------

def test_every_judged_item_gets_gold_ties_resolved_by_the_posterior():
    raw, _ = _nominal(300, 8, 2, ["a", "b", "c"], seed=3, acc=0.6)
    ctx = _run(Config(), _rows(raw))
    t = ctx.tables["items"]
    assert t["gold_label"].null_count == 0
    cons = ctx.tables["consensus"]
    tied = np.asarray(cons["tie_resolved"].to_pylist())
    assert tied.sum() > 10  # two labelers, three labels: many items tie, and each got a label
    assert ctx.summary["labelers"]["gold_consensus"]["ties_resolved_by_posterior"] == int(tied.sum())
    assert ctx.summary["labelers"]["dawid_skene"]["model"].startswith("multi-class")
    # a tied item's gold is the label of highest posterior among the tied ones
    row = cons.filter(pa.array(tied)).slice(0, 1).to_pylist()[0]
    assert row["consensus_label"] in {"a", "b", "c"} and row["posterior_consensus"] >= 1 / 3


# -- leniency per label, and on ordered scales ---------------------------------------------------------------------

def test_per_label_leniency_finds_the_labeler_who_overuses_one_label_of_four():
    raw, _ = _nominal(900, 12, 5, ["a", "b", "c", "d"], seed=8, acc=0.8, overuse={"L03": ("c", 0.35)})
    ctx = _run(Config(), _rows(raw))
    len_t = ctx.tables["leniency"]
    assert len_t["label"].null_count == 0 and set(len_t["label"].to_pylist()) == {"a", "b", "c", "d"}
    serious = _serious(ctx)
    assert {(f.kind, f.labeler_id, f.details.get("label")) for f in serious} == {("labeler_leniency", "L03", "c")}
    f = serious[0]
    assert f.effect > 0.1 and "'c'" in f.message
    assert any(s["analysis"] == "leniency toward the acceptable label" for s in ctx.skipped)


def test_binary_without_a_positive_label_measures_per_label_and_says_so():
    raw, _ = _nominal(600, 10, 4, ["0", "1"], seed=4, acc=0.85, overuse={"L05": ("1", 0.4)})
    ctx = _run(Config(), _rows(raw))
    assert ctx.labels.positive is None
    rows = ctx.tables["leniency"].to_pylist()
    assert {r["label"] for r in rows} == {"0", "1"}
    serious = _serious(ctx)
    assert [(f.kind, f.labeler_id, f.details.get("label")) for f in serious] == [("labeler_leniency", "L05", "1")]
    ds = ctx.summary["labelers"]["dawid_skene"]
    assert ds["iterations"] > 1 and ds["model"] == "binary"
    skipped = {s["analysis"]: s["reason"] for s in ctx.skipped}
    assert "[labels] positive" in skipped["leniency toward the acceptable label"]
    assert ctx.tables["items"]["gold_label"].null_count == 0


def _ordinal(n_items: int, n_lab: int, per_item: int, seed: int, harsh: str | None, shift: float,
             levels: int = 5) -> list[tuple[str, str, str]]:
    rng = np.random.default_rng(seed)
    truth = rng.integers(1, levels + 1, n_items)
    out = []
    for i in range(n_items):
        for j in rng.choice(n_lab, per_item, replace=False):
            w = f"L{j:02d}"
            v = truth[i] + rng.normal(0, 0.7) + (shift if w == harsh else 0.0)
            out.append((f"i{i:04d}", w, str(int(np.clip(np.rint(v), 1, levels)))))
    return out


def test_ordinal_shift_finds_the_harsher_rater():
    raw = _ordinal(700, 10, 4, seed=2, harsh="L07", shift=-0.8)
    ctx = _run(_cfg(level="ordinal", order=["1", "2", "3", "4", "5"], positive="high"), _rows(raw))
    serious = _serious(ctx)
    assert [(f.kind, f.labeler_id) for f in serious] == [("labeler_severity", "L07")]
    assert serious[0].effect < -0.4 and "category steps" in serious[0].message
    rows = [r for r in ctx.tables["leniency"].to_pylist() if r["labeler_id"] == "L07"]
    assert rows and all(r["label"] is None for r in rows) and rows[0]["effect"] < 0
    assert ctx.tables["items"]["gold_label"].null_count == 0


def test_low_is_better_turns_the_sign():
    raw = _ordinal(700, 10, 4, seed=2, harsh="L07", shift=-0.8)
    ctx = _run(_cfg(level="ordinal", order=["1", "2", "3", "4", "5"], positive="low"), _rows(raw))
    assert [(f.kind, f.labeler_id) for f in _serious(ctx)] == [("labeler_leniency", "L07")]


def test_numeric_scores_with_over_a_thousand_distinct_values():
    rng = np.random.default_rng(9)
    truth = rng.uniform(-100, 100, 400)
    raw = []
    for i in range(400):
        for j in rng.choice(8, 4, replace=False):
            v = truth[i] + rng.normal(0, 5) + (20 if j == 3 else 0)
            raw.append((f"i{i:04d}", f"L{j:02d}", f"{v:.2f}"))
    preds = [{"model_version": "m1", "item_id": f"i{i:04d}", "prediction": f"{v:.2f}"} for i, v in enumerate(truth)]
    ctx = _run(_cfg(level="interval", positive="high"), _rows(raw), predictions=preds)
    assert ctx.labels.n_values >= 1000
    skipped = {s["analysis"] for s in ctx.skipped}
    assert {"impact", "items: flagged_deciding_vote", "labeler collusion"} <= skipped
    assert ctx.summary["impact"]["computed"] is False
    t = ctx.tables["items"]
    assert t["gold_label"].null_count == 0
    assert set(t["gold_source"].to_pylist()) == {"mean"}
    cons = ctx.tables["consensus"]
    assert np.all(np.isfinite(np.asarray(cons["consensus_se"].to_pylist(), dtype=float)))
    assert [(f.kind, f.labeler_id) for f in _serious(ctx)] == [("labeler_leniency", "L03")]
    assert 15 < _serious(ctx)[0].effect < 25


# -- spam against the leave-one-out consensus; flagged labelers are nobody's peer ------------------------------------

def test_a_good_labeler_whose_next_peer_is_a_spammer_is_not_spam():
    # everyone labels every item, so the "next labeler" of L00 on every item is the spammer L01
    raw, _ = _nominal(200, 6, 0, ["fail", "pass"], seed=6, acc=0.9, spam={"L01"}, everyone=True)
    ctx = _run(Config(), _rows(raw))
    spam = {f.labeler_id for f in ctx.findings if f.kind == "labeler_spam" and f.severity in ("medium", "high")}
    assert spam == {"L01"}
    facts = {r["labeler_id"]: r for r in ctx.tables["labeler_stats"].to_pylist() if r["failure_mode"] == "all"}
    assert facts["L00"]["spam_signals"] is None


def test_leave_one_out_consensus_by_hand():
    rows = _rows([("i1", "A", "x"), ("i1", "B", "y"), ("i1", "C", "y"), ("i1", "D", "z"),
                  ("i2", "A", "x"), ("i2", "B", "y")])
    ctx = context(Config(), labels=rows)
    J = judgments.load(ctx.engine, ctx.labels)
    ref = reference.categorical(J)
    # judgments sorted by item then labeler: i1 A,B,C,D then i2 A,B
    # A on i1: others y,y,z -> y; B: x,y,z tie of three -> 1/3 agree; C: x,y,z -> 1/3; D: x,y,y -> y
    assert np.allclose(ref.agree, [0, 1 / 3, 1 / 3, 0, 0, 0])
    # B excluded: A's reference on i1 is C and D (y, z tie): share 1/2 each, agreement 0; B itself still compared
    excl = np.zeros(J.n_workers, dtype=bool)
    excl[J.worker[1]] = True
    ref2 = reference.categorical(J, excl)
    assert np.isclose(ref2.agree[0], 0) and np.isclose(ref2.ref_share[J.scale.tolist().index(1)][0], 0.5)
    assert np.isclose(ref2.agree[1], 1 / 3)  # B is still compared: x, y, z tie
    assert not ref2.has[4]  # i2: A's only peer B is excluded


def test_a_labeler_flagged_in_the_first_pass_serves_as_nobodys_peer():
    # L09 says pass on 60% of true fails and holds half of all items: without the second pass every honest labeler
    # sharing items with them would look severe against them
    rng = np.random.default_rng(12)
    raw = []
    for i in range(1200):
        truth = rng.random() < 0.5
        who = list(rng.choice(9, 2, replace=False)) + ([9] if i % 2 == 0 else [])
        for j in who:
            said = truth if rng.random() < 0.9 else not truth
            if j == 9 and not truth and rng.random() < 0.6:
                said = True
            raw.append((f"i{i:04d}", f"L{j:02d}", "pass" if said else "fail"))
    ctx = _run(Config(), _rows(raw))
    serious = _serious(ctx)
    assert {(f.kind, f.labeler_id) for f in serious} == {("labeler_leniency", "L09")}
    # no honest labeler's overlap comparison rests on L09: their peer rate is not L09's rate
    ov = [r for r in ctx.tables["leniency"].to_pylist() if r["evidence"] == "overlap"]
    l9 = next(r for r in ov if r["labeler_id"] == "L09")
    assert all(abs(r["peer_rate"] - l9["labeler_rate"]) > 0.05 for r in ov if r["labeler_id"] != "L09")


# -- no timestamps ---------------------------------------------------------------------------------------------------

def test_a_store_without_timestamps_runs_end_to_end(tmp_path):
    from evalaudit.ingest import ingest_files
    from evalaudit.run import audit

    raw, _ = _nominal(800, 8, 4, ["fail", "pass"], seed=7, acc=0.85, overuse={"L02": ("pass", 0.4)})
    # no time at all (docs/schema.md), and no provenance columns: ingest records those itself
    t = table("labels", _rows(raw, timed=False)).drop_columns(
        ["labeled_at", "source_file", "source_sha256", "source_row", "ingested_at"])
    pq.write_table(t, tmp_path / "untimed.parquet")
    ingest_files(tmp_path / "store", [tmp_path / "untimed.parquet"], table="labels")
    store = tmp_path / "store"
    cfg = Config()
    cfg.gold.max_age_days = 30
    audit(store, tmp_path / "out", cfg, fail_on="never")
    import json

    doc = json.loads((tmp_path / "out" / "findings.json").read_text())
    skipped = {s["analysis"] for s in doc["summary"]["skipped"]}
    assert {"labeler drift", "leniency evidence 'assignment'", "stale items: too_old"} <= skipped
    kinds = {(f["kind"], f["labeler_id"]) for f in doc["findings"] if f["severity"] in ("medium", "high")}
    assert ("labeler_leniency", "L02") in kinds
    items_t = pq.read_table(tmp_path / "out" / "items.parquet")
    assert items_t["gold_label"].null_count == 0


# -- invariants ------------------------------------------------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(st.integers(2, 5), st.integers(0, 10_000))
def test_multiclass_dawid_skene_is_equivariant_under_relabelling(K, seed):
    rng = np.random.default_rng(seed)
    n_items, n_workers = 40, 6
    item = np.repeat(np.arange(n_items), 3)
    worker = np.concatenate([rng.choice(n_workers, 3, replace=False) for _ in range(n_items)])
    code = rng.integers(0, K, len(item))
    perm = rng.permutation(K)
    args = (item, worker, np.zeros(n_items, int), np.zeros(n_workers, int), K)
    a = dawid_skene.fit_multiclass(code, *args)
    b = dawid_skene.fit_multiclass(perm[code], *args)
    assert np.allclose(a.posterior.sum(axis=1), 1.0)
    assert np.allclose(a.posterior, b.posterior[:, perm], atol=1e-8)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 4), st.integers(0, 2)), min_size=1, max_size=40,
                unique_by=lambda t: (t[0], t[1])))
def test_leave_one_out_reference_is_a_distribution(triples):
    rows = _rows([(f"i{i}", f"L{w}", "xyz"[k]) for i, w, k in triples])
    ctx = context(Config(), labels=rows)
    J = judgments.load(ctx.engine, ctx.labels)
    ref = reference.categorical(J)
    total = np.sum(ref.ref_share, axis=0)
    assert np.allclose(total, ref.has.astype(float))
    assert np.all((ref.agree >= 0) & (ref.agree <= ref.has + 1e-9))
    assert np.array_equal(ref.has, ref.n_other > 0)
